"""The layers the README states: domain code in pipeline/ knows nothing of Dagster; only the application layer
(pipeline/definitions.py, pipeline/demo.py, pipeline/cli.py) wires Dagster, resources and domain code together;
assets, checks and sensors take their values from resources, never from the environment."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPLICATION_LAYER = {"pipeline/definitions.py", "pipeline/demo.py", "pipeline/cli.py"}
DAGSTER_SIDE = ("dagster", "dagster_aws", "dagster_pyspark", "assets", "resources", "sensors")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_domain_code_does_not_import_dagster_or_the_asset_layer():
    offenders = {}
    for path in sorted((ROOT / "pipeline").rglob("*.py")):
        name = str(path.relative_to(ROOT))
        if name in APPLICATION_LAYER:
            continue
        wrong = sorted(m for m in imported_modules(path) if m.split(".")[0] in DAGSTER_SIDE)
        if wrong:
            offenders[name] = wrong
    assert offenders == {}


def test_only_the_application_layer_reads_the_settings():
    readers = set()
    for folder in ("assets", "sensors", "resources", "pipeline"):
        for path in (ROOT / folder).rglob("*.py"):
            if "get_settings" in {n.id for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Name)}:
                readers.add(str(path.relative_to(ROOT)))
    # pipeline/services and the HTTP API are applications of their own (`pipeline services`, `pipeline serve`
    # with several workers builds its app from the environment).
    assert readers == APPLICATION_LAYER - {"pipeline/demo.py"} | {"pipeline/services/__init__.py",
                                                                 "pipeline/serving/api.py"}


def test_nothing_but_the_settings_module_reads_the_environment():
    readers = set()
    for folder in ("assets", "sensors", "resources", "pipeline"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            if "os.environ.get(" in text or "os.environ[" in text or "getenv(" in text:
                readers.add(str(path.relative_to(ROOT)))
    assert readers == set()
