"""docker-compose.yml, Dockerfile and deploy/: the containerised stack is valid and wired like the local one.

No Docker engine is needed: `docker compose config` (Compose v2 plugin) or `docker-compose config`
(Compose v1, Debian's `docker-compose` package) parses, interpolates and validates the file against the
Compose schema without talking to a daemon. When neither is installed the validation test FAILS and
says how to install one (`apt-get install -y docker-compose` on Debian/Ubuntu); it never skips.

The structural tests read the YAML themselves (merge keys resolved by PyYAML, `${VAR:-default}`
replaced by its default), so they report precise problems even when the validator is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from pipeline.settings import LOCAL_ONLY, Settings, env_name

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
DEPLOY_DAGSTER_YAML = ROOT / "deploy" / "dagster.yaml"
DEPLOY_WORKSPACE_YAML = ROOT / "deploy" / "workspace.yaml"

INFRA_SERVICES = {"kafka", "cassandra", "minio", "postgres"}
DAGSTER_SERVICES = {"code", "webserver", "daemon", "api"}
DAGSTER_HOME = "/opt/dagster/home"

INSTALL_HINT = (
    "No Compose implementation found to validate docker-compose.yml. Install one (no Docker engine "
    "is needed for `config`):\n"
    "  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y --no-install-recommends docker-compose\n"
    "  or the Docker Compose v2 CLI plugin (`docker compose version` must work)."
)

_INTERPOLATION = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


# --------------------------------------------------------------------------------------------------
# Helpers


def _with_defaults(value: Any) -> Any:
    """Compose interpolation with an empty environment: `${X:-d}` -> d, `${X}` -> '', `$$` -> `$`."""
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            op = match.group("op")
            if op in (":-", "-"):
                return match.group("arg")
            if op in (":?", "?"):
                raise AssertionError(f"{match.group(0)} has no default: the file must work without a .env")
            return ""

        return _INTERPOLATION.sub(replace, value)
    if isinstance(value, dict):
        return {key: _with_defaults(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_defaults(item) for item in value]
    return value


def _env_dict(environment: Any) -> dict[str, str]:
    if environment is None:
        return {}
    if isinstance(environment, list):
        pairs = (entry.split("=", 1) if "=" in entry else (entry, "") for entry in environment)
        return {key: value for key, value in pairs}
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def _compose_variables() -> set[str]:
    return {match.group("name") for match in _INTERPOLATION.finditer(COMPOSE_FILE.read_text()) if match.group("name")}


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    assert COMPOSE_FILE.is_file(), f"{COMPOSE_FILE} is missing"
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any]) -> dict[str, Any]:
    return _with_defaults(raw)


@pytest.fixture(scope="module")
def compose_services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def _compose_command() -> list[str]:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=60)
        if probe.returncode == 0:
            return [docker, "compose"]
    docker_compose = shutil.which("docker-compose")
    if docker_compose:
        return [docker_compose]
    pytest.fail(INSTALL_HINT, pytrace=False)


# --------------------------------------------------------------------------------------------------
# (a) A real Compose implementation accepts the file


def test_compose_config_accepts_the_file(compose_services: dict[str, Any], tmp_path: Path) -> None:
    command = _compose_command()
    # Only the file's own defaults: a developer's exported variables or .env must not hide a broken default.
    env = {key: value for key, value in os.environ.items() if key not in _compose_variables()}
    env.pop("COMPOSE_FILE", None)
    env["COMPOSE_PROJECT_NAME"] = "learning-platform-config-test"
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    result = subprocess.run(
        [
            *command,
            "--env-file",
            str(empty_env_file),
            "-f",
            str(COMPOSE_FILE),
            "--project-directory",
            str(ROOT),
            "config",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        f"`{' '.join(command)} config` rejected docker-compose.yml:\n{result.stderr}\n{result.stdout}"
    )

    rendered = yaml.safe_load(result.stdout)
    assert set(rendered["services"]) == set(compose_services)
    # The validator's interpolation and merge-key handling agree with what the tests below check.
    for name in DAGSTER_SERVICES:
        assert _env_dict(rendered["services"][name].get("environment")) == _env_dict(
            compose_services[name].get("environment")
        ), name
    for name, service in compose_services.items():
        assert rendered["services"][name].get("image") == service.get("image"), name


# --------------------------------------------------------------------------------------------------
# (b) Structure


def test_all_services_exist(compose_services: dict[str, Any]) -> None:
    missing = (INFRA_SERVICES | DAGSTER_SERVICES) - set(compose_services)
    assert not missing, f"services missing from docker-compose.yml: {sorted(missing)}"


def test_every_image_is_pinned(compose_services: dict[str, Any]) -> None:
    for name, service in compose_services.items():
        image = service.get("image")
        assert image, f"{name}: every service names its image (built ones too), so none is untagged"
        if "@sha256:" in image:
            continue
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag and tag != "latest", f"{name}: image {image!r} is not pinned"
        if "build" not in service and service.get("pull_policy") != "never":
            # A released version, not a moving major/minor tag like `cassandra:5` or `postgres:17`.
            assert re.search(r"\d+\.\d+", tag) or tag.startswith("RELEASE."), f"{name}: {image!r} is a moving tag"


def test_infrastructure_images(compose_services: dict[str, Any]) -> None:
    kafka = compose_services["kafka"]["image"]
    assert kafka.startswith("apache/kafka:4."), kafka
    assert re.fullmatch(r"cassandra:5\.0\.\d+", compose_services["cassandra"]["image"]), compose_services["cassandra"]["image"]
    assert compose_services["minio"]["image"].startswith(("minio/minio:", "quay.io/minio/minio:"))
    assert compose_services["postgres"]["image"].startswith("postgres:")


def test_dagster_containers_get_the_pipeline_settings(compose_services: dict[str, Any]) -> None:
    for name in DAGSTER_SERVICES:
        env = _env_dict(compose_services[name].get("environment"))
        assert env.get("KAFKA_BOOTSTRAP_SERVERS") == "kafka:9092", name
        assert env.get("CASSANDRA_CONTACT_POINTS") == "cassandra", name
        assert env.get("CASSANDRA_PORT") == "9042", name
        assert env.get("LAKE_ROOT", "").startswith("s3://"), name
        assert re.fullmatch(r"https?://minio:9000/?", env.get("S3_ENDPOINT_URL", "")), name
        assert env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"), name
        assert env.get("DAGSTER_HOME") == DAGSTER_HOME, name
        assert re.fullmatch(r"postgresql\+psycopg2://.+@postgres:5432/.+", env.get("DAGSTER_POSTGRES_URL", "")), name


def test_pipeline_env_is_one_anchor_read_by_settings(raw: dict[str, Any]) -> None:
    text = COMPOSE_FILE.read_text()
    assert re.search(r"^x-pipeline-env:\s*&pipeline-env\s*$", text, re.M), "x-pipeline-env anchor missing"
    pipeline_env = raw["x-pipeline-env"]
    # The same set as pipeline/settings.py, but for what only the local services use, and DAGSTER_HOME and
    # DAGSTER_POSTGRES_URL (set by x-dagster-env, for Dagster too).
    dagster_env = {"DAGSTER_HOME", "DAGSTER_POSTGRES_URL"}
    expected = {env_name(f) for f in Settings.model_fields if f not in LOCAL_ONLY} - dagster_env
    assert set(pipeline_env) == expected, (f"only in x-pipeline-env: {set(pipeline_env) - expected}; "
                                           f"only in pipeline/settings.py: {expected - set(pipeline_env)}")
    assert dagster_env <= set(raw["x-dagster-env"])
    for name in DAGSTER_SERVICES:
        assert set(pipeline_env) <= set(_env_dict(raw["services"][name].get("environment"))), name


def test_secrets_come_from_variables(raw: dict[str, Any]) -> None:
    secrets = {
        "minio": ["MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"],
        "postgres": ["POSTGRES_PASSWORD"],
    }
    for service, keys in secrets.items():
        env = _env_dict(raw["services"][service]["environment"])
        for key in keys:
            assert re.fullmatch(r"\$\{[A-Z_]+:-[^}]*\}", env[key]), f"{service}.{key} must be ${{VAR:-dev default}}"
    pipeline_env = raw["x-pipeline-env"]
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert pipeline_env[key].startswith("${"), key
    assert "${DAGSTER_POSTGRES_PASSWORD:-" in raw["x-dagster-env"]["DAGSTER_POSTGRES_URL"]


def test_kafka_listeners(compose_services: dict[str, Any]) -> None:
    env = _env_dict(compose_services["kafka"]["environment"])
    assert "broker" in env["KAFKA_PROCESS_ROLES"] and "controller" in env["KAFKA_PROCESS_ROLES"]
    advertised = env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert any(entry.endswith("://kafka:9092") for entry in advertised), advertised
    assert any(entry.endswith("://127.0.0.1:9092") or entry.endswith("://localhost:9092") for entry in advertised)
    ports = [str(port) for port in compose_services["kafka"]["ports"]]
    assert any(port.startswith("127.0.0.1:9092:") for port in ports), ports


def test_healthchecks_and_dependencies(compose_services: dict[str, Any]) -> None:
    for name in ("kafka", "cassandra", "minio", "postgres", "code"):
        assert "test" in compose_services[name].get("healthcheck", {}), f"{name} has no healthcheck"
    assert "kafka-broker-api-versions" in str(compose_services["kafka"]["healthcheck"]["test"])
    assert "cqlsh" in str(compose_services["cassandra"]["healthcheck"]["test"])
    assert "pg_isready" in str(compose_services["postgres"]["healthcheck"]["test"])

    for name, service in compose_services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on should carry conditions"
        for target, spec in depends_on.items():
            assert target in compose_services, f"{name} depends on unknown service {target}"
            condition = spec.get("condition")
            if condition == "service_healthy":
                assert "healthcheck" in compose_services[target], f"{name} waits for {target}'s health, which it lacks"
            elif condition == "service_completed_successfully":
                assert compose_services[target].get("restart", "no") == "no", f"{target} is one-shot"

    code_deps = compose_services["code"]["depends_on"]
    for target in ("kafka", "cassandra", "postgres"):
        assert code_deps[target]["condition"] == "service_healthy", target
    bucket_inits = [target for target, spec in code_deps.items() if spec["condition"] == "service_completed_successfully"]
    assert bucket_inits, "code must wait for the MinIO bucket to be created"
    for name in ("webserver", "daemon"):
        assert compose_services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_minio_bucket_init(compose_services: dict[str, Any]) -> None:
    init = [
        name
        for name, service in compose_services.items()
        if "minio/mc" in service.get("image", "")
    ]
    assert len(init) == 1, init
    service = compose_services[init[0]]
    assert service["depends_on"]["minio"]["condition"] == "service_healthy"
    script = " ".join(map(str, service.get("command") or [])) + " " + " ".join(map(str, service.get("entrypoint") or []))
    assert "mc mb" in script and "--ignore-existing" in script
    assert _env_dict(service["environment"]).get("LAKE_BUCKET") == "lake"
    assert any(str(port).startswith("127.0.0.1:9001:9001") for port in compose_services["minio"]["ports"])


def test_dagster_services_commands_and_mounts(compose_services: dict[str, Any]) -> None:
    commands = {name: " ".join(compose_services[name]["command"]) for name in DAGSTER_SERVICES}
    assert "-p 4000" in commands["code"] and "-m pipeline.definitions" in commands["code"]
    assert commands["code"].startswith(("dagster code-server start", "dagster api grpc"))
    assert commands["webserver"].startswith("dagster-webserver")
    assert f"-w {DAGSTER_HOME}/workspace.yaml" in commands["webserver"] and "-p 3000" in commands["webserver"]
    assert commands["daemon"] == (f"sh -c pipeline dagster-home --keep-config && exec dagster-daemon run -w "
                                  f"{DAGSTER_HOME}/workspace.yaml")
    assert commands["api"].startswith("pipeline serve") and "--host 0.0.0.0" in commands["api"]
    assert compose_services["api"]["depends_on"]["cassandra"]["condition"] == "service_healthy"
    images = {compose_services[name]["image"] for name in DAGSTER_SERVICES}
    assert len(images) == 1, f"code, webserver and daemon should share one image: {images}"
    # One build (two services building the same tag in parallel can collide); the others reuse it.
    assert compose_services["code"]["build"]["context"] == "."
    for name in DAGSTER_SERVICES - {"code"}:
        assert "build" not in compose_services[name] and compose_services[name].get("pull_policy") == "never", name
        assert compose_services[name]["depends_on"]["code"]["condition"] == "service_healthy", name
    for name in DAGSTER_SERVICES:
        volumes = [str(volume) for volume in compose_services[name]["volumes"]]
        for config in ("dagster.yaml", "workspace.yaml"):
            assert any(volume.startswith(f"./deploy/{config}:{DAGSTER_HOME}/{config}") for volume in volumes), (
                name,
                config,
            )
    assert any(str(port).startswith("127.0.0.1:3000:3000") for port in compose_services["webserver"]["ports"])


def test_named_volumes(compose: dict[str, Any], compose_services: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name in ("kafka", "cassandra", "minio", "postgres"):
        sources = [str(volume).split(":", 1)[0] for volume in compose_services[name].get("volumes", [])]
        assert any(source in declared for source in sources), f"{name} keeps its data in no named volume"


def test_deploy_workspace_points_at_the_code_service(compose_services: dict[str, Any]) -> None:
    workspace = yaml.safe_load(DEPLOY_WORKSPACE_YAML.read_text())
    assert set(workspace) == {"load_from"}
    [entry] = workspace["load_from"]
    assert set(entry) == {"grpc_server"}
    grpc = entry["grpc_server"]
    assert set(grpc) == {"host", "port", "location_name"}
    assert grpc["host"] == "code" and "code" in compose_services
    assert int(grpc["port"]) == 4000
    assert grpc["location_name"] == "learning_platform"


def test_deploy_dagster_yaml_is_a_valid_instance_config(tmp_path: Path) -> None:
    config = yaml.safe_load(DEPLOY_DAGSTER_YAML.read_text())
    assert config["run_retries"]["enabled"] is True
    assert config["run_retries"]["max_retries"] == 2
    assert config["concurrency"]["runs"]["max_concurrent_runs"] == 2  # queued by the default QueuedRunCoordinator
    assert config["concurrency"]["pools"] == {"granularity": "run", "default_limit": 1}
    assert config["run_launcher"]["class"] == "DefaultRunLauncher"
    assert config["telemetry"]["enabled"] is False
    # As a local instance with DAGSTER_POSTGRES_URL (pipeline dagster-home): the URL comes from the environment.
    assert config["storage"] == {"postgres": {"postgres_url": {"env": "DAGSTER_POSTGRES_URL"}}}

    # Dagster's own check, through its public API: loading an instance from the file validates it against the
    # instance schema and builds the run launcher and compute log manager from their config (which validates that
    # too). Without the storage block, which needs a server (test_dagster_postgres.py runs one).
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump({k: v for k, v in config.items() if k != "storage"}))
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_launcher).__name__ == config["run_launcher"]["class"]
        assert type(instance.compute_log_manager).__name__ == config["compute_logs"]["class"]
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 2

    compose_env = yaml.safe_load(COMPOSE_FILE.read_text())["x-dagster-env"]
    assert "DAGSTER_POSTGRES_URL" in compose_env


def test_dockerfile_and_dockerignore() -> None:
    dockerfile = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    assert "openjdk-17-jre-headless" in dockerfile
    assert re.search(r"pip install .*\.", dockerfile)
    assert "dagster-postgres" in dockerfile, "deploy/dagster.yaml's Postgres storage needs dagster-postgres"
    assert re.search(r"pip install -c constraints\.txt ", dockerfile), "the image installs the locked versions"
    assert f"DAGSTER_HOME={DAGSTER_HOME}" in dockerfile

    ignored = {line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")}
    for entry in (".venv", ".lake", ".services", ".git"):
        assert entry in ignored, f".dockerignore must keep {entry} out of the build context"
    assert any("__pycache__" in entry for entry in ignored)
    for needed in ("pyproject.toml", "README.md", "pipeline", "assets", "resources", "sensors"):
        assert needed not in ignored, f"{needed} is needed by the image build"
