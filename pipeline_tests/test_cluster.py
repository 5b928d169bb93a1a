"""The project on a Spark standalone cluster (a master, two workers) and on Spark Connect, with its lake on an S3
server, as a user points it there.

Every run is a child process configured by the environment only (`pipeline_tests/cluster_run.py`): SPARK_MASTER
and SPARK_EXECUTOR_PYTHON, or SPARK_REMOTE, and LAKE_ROOT=s3://... with the local S3 server's settings
(`pipeline services up --s3`): nothing is shared through the driver's disk, and Spark's writes commit through
the S3A magic committer. The executors run a Python environment with pyspark and the third-party packages but
not the project (`pipeline/services/spark.py`), as a remote machine would: only the code the session ships
makes `pipeline` importable there, which the first tests prove both ways.

References: the events the generator says it sent; the views computed by local Spark from the same cleaned
tables (local mode is what the views' hand-computed tests cover); top-N lists by brute force in numpy.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.fs as pafs
import pytest

from pipeline.events.generator import EventGenerator
from pipeline.events.producer import produce, topic_specs
from pipeline.kafka import client_config
from pipeline.lake import Lake
from pipeline.ml.purchase.features import FEATURE_STEPS
from pipeline.serving.reco_tables import COURSE_RECOMMENDATIONS, MOVIE_RECOMMENDATIONS
from pipeline.services import s3
from pipeline.services.spark import CONNECT_URL, MASTER_URL, executor_python
from pipeline.settings import get_settings
from pipeline.views.materialize import materialize_views, read_view
from pipeline.views.registry import all_views
from pipeline_tests.conftest import ANALYTICS_TEST_KEYSPACE, local_s3_lake
from pipeline_tests.keyspaces import scratch_keyspaces
from pipeline_tests.test_learning_events_e2e import cleaned_event_ids
from pipeline_tests.topics import recreate_topics

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DAGSTER = str(Path(sys.executable).parent / "dagster")  # the CLI of this environment

MODES = ["standalone", "connect"]
# The jobs run on one mode each (a job runs the same code in both; the executor-import and top-N tests cover
# both modes, and test_dagster_postgres lands and cleans events through the daemon on Connect): each takes minutes
# on the S3 lake, and CI has 45.
JOB_MODES = {"learning_events": "connect", "train_recommenders": "connect", "train_purchase_model": "standalone"}


def mode_env(mode: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "PYSPARK_"))} | s3.SETTINGS
    if mode == "connect":
        return env | {"SPARK_REMOTE": CONNECT_URL}
    return env | {"SPARK_MASTER": MASTER_URL, "SPARK_EXECUTOR_PYTHON": str(executor_python(get_settings()))}


def run(mode: str, task: str, **env: str) -> dict:
    """`python -m pipeline_tests.cluster_run task` on the cluster (`mode`); its JSON answer."""
    done = subprocess.run([sys.executable, "-m", "pipeline_tests.cluster_run", task], env=mode_env(mode) | env,
                          capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert done.returncode == 0, f"{task} on {mode} failed:\n{done.stderr[-4000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def s3_lake(tmp_path: Path) -> Iterator[Lake]:
    """A lake of its own on the local S3 server, for one test (named after the whole temporary path: the
    parametrized runs of a test share its last part), deleted after it: the server keeps every object in memory
    for as long as it runs, and its listings slow down with every key in the bucket."""
    prefix = hashlib.sha1(str(tmp_path).encode()).hexdigest()[:16]
    lake = local_s3_lake(f"s3://{s3.BUCKET}/{prefix}")
    yield lake
    lake.filesystem.delete_dir(lake.path())


def downloaded(lake: Lake, folder: Path) -> Lake:
    """A local copy of the whole lake, for the local Spark session (which has no S3 connector) to check."""
    copy = Lake(str(folder))
    pafs.copy_files(lake.path(), copy.path(), source_filesystem=lake.filesystem,
                    destination_filesystem=copy.filesystem)
    return copy


def execute_job(mode: str, job: str, root: Path, lake: Lake, *options: str, **env: str) -> None:
    """`dagster job execute` of the job on the cluster, as the README runs a job, with its lake `lake`."""
    env = {"LAKE_ROOT": lake.root, "DAGSTER_HOME": str(root), **env}
    done = subprocess.run([DAGSTER, "job", "execute", "-m", "pipeline.definitions", "-j", job, *options],
                          env=mode_env(mode) | env, capture_output=True, text=True, timeout=1200, cwd=ROOT)
    assert done.returncode == 0, f"{job} on {mode} failed:\n{done.stderr[-4000:]}"
    assert "RUN_SUCCESS" in done.stderr + done.stdout


@pytest.mark.parametrize("mode", MODES)
def test_executors_import_the_project_only_from_the_shipped_code(spark_cluster, mode):
    bare = run(mode, "where-not-shipped")
    assert "No module named 'pipeline'" in bare.get("error", ""), bare  # the workers' Python lacks the project

    shipped = run(mode, "where-shipped")
    assert "error" not in shipped, shipped["error"]
    assert shipped["pythons"] == [str(executor_python(get_settings()))]
    assert shipped["files"] and all("learning_platform_pipeline-" in f and ".zip/pipeline/" in f
                                    for f in shipped["files"]), shipped["files"]


@pytest.fixture(scope="module")
def learning_events(services):
    """1,500 events (2% malformed, 2% sent twice) in fresh topics; what the generator says it sent."""
    config = client_config(services)
    recreate_topics(config, topic_specs())
    records = list(EventGenerator(seed=31, days=2, malformed_fraction=0.02, duplicate_fraction=0.02).generate(1500))
    report = produce(config, records, 1500, progress=None)
    assert len(report.delivered) == 1500
    return {d.event_id for d in report.delivered if d.expected_reason is None}


def comparable(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return frame[columns].sort_values(columns).reset_index(drop=True)


@pytest.mark.parametrize("mode", [JOB_MODES["learning_events"]])
def test_learning_events_land_clean_and_make_every_view_on_the_cluster(spark_cluster, learning_events, spark,
                                                                      s3_lake, tmp_path, mode):
    answer = run(mode, "learning-events", LAKE_ROOT=s3_lake.root, DAGSTER_HOME=str(tmp_path),
                 CASSANDRA_ANALYTICS_KEYSPACE=ANALYTICS_TEST_KEYSPACE)
    assert answer == {"landing": True, "daily": True, "jobs": ["land_learning_events", "daily_learning_analytics"]}
    lake = downloaded(s3_lake, tmp_path / "lake")
    ids = cleaned_event_ids(spark, lake)
    assert set(ids) == learning_events and max(ids.values()) == 1

    # The reference: the same cleaned tables, every view computed by local Spark in this process.
    reference = Lake(str(tmp_path / "reference"))
    shutil.copytree(lake.path("cleaned"), reference.path("cleaned"))
    days = sorted(p.name.removeprefix("date=") for p in Path(lake.path("cleaned")).glob("*/date=*"))
    views = all_views()
    materialize_views(spark, reference, [v for v in views if v.date_keyed], sorted(set(days)))
    materialize_views(spark, reference, [v for v in views if not v.date_keyed])
    for view in views:
        columns = list(view.columns)
        on_cluster = comparable(read_view(spark, lake, view).toPandas(), columns)
        expected = comparable(read_view(spark, reference, view).toPandas(), columns)
        # Sums of doubles may differ in the last bits with the order partitions are added in.
        pd.testing.assert_frame_equal(on_cluster, expected, check_exact=False, rtol=1e-9, obj=view.name)


@pytest.mark.parametrize("mode", MODES)
def test_top_n_lists_are_scored_on_the_executors(spark_cluster, mode):
    answer = run(mode, "top-n")
    users = {row["id"]: np.asarray(row["features"], dtype=np.float64) for row in answer["user_factors"]}
    items = {row["id"]: np.asarray(row["features"], dtype=np.float64) for row in answer["item_factors"]}
    lists = pd.DataFrame(answer["lists"])
    assert set(lists["user"]) == set(users)
    for user, vector in users.items():
        seen = {i for i in range(1, 21) if (user + i) % 3}  # the ratings cluster_run.top_n trains on
        truth = {i: float(vector @ items[i]) for i in items if i not in seen}
        best = sorted(truth.values(), reverse=True)[:5]
        mine = lists[lists["user"] == user].sort_values("rank")
        assert list(mine["rank"]) == list(range(1, len(best) + 1))
        assert set(mine["item"]) <= set(truth), f"user {user} got an item they rated"
        # The best scores, best first, each the listed item's own (float32 scoring: near-ties may swap).
        np.testing.assert_allclose(mine["score"], best, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(mine["score"], [truth[i] for i in mine["item"]], rtol=1e-4, atol=1e-5)


# A one-point grid: the test is about where the training runs, not which parameters win.
RECOMMENDER_GRID = {"ops": {"models__als_ratings_tuning": {"config": {
    "rank": [8], "max_iter": [5], "reg_param": [0.1], "folds": 2, "parallelism": 2}}}}


@pytest.mark.parametrize("mode", [JOB_MODES["train_recommenders"]])
def test_the_recommenders_train_and_write_top_n_lists_from_the_cluster(spark_cluster, services, s3_lake, tmp_path,
                                                                       mode):
    config = tmp_path / "grid.json"  # JSON is YAML
    config.write_text(json.dumps(RECOMMENDER_GRID))
    keyspace = f"reco_cluster_{mode}"
    with scratch_keyspaces(services, keyspace) as session:
        execute_job(mode, "train_recommenders", tmp_path, s3_lake, "-c", str(config),
                    CASSANDRA_RECO_KEYSPACE=keyspace, MOOC_USERS="2000", DATA_CACHE_DIR=services.data_cache_dir)
        lake = downloaded(s3_lake, tmp_path / "lake")
        for table, ratings, user, item in (
                (MOVIE_RECOMMENDATIONS, ("raw", "movielens", "rating.csv"), "userId", "movieId"),
                (COURSE_RECOMMENDATIONS, ("raw", "mooc", "user_course.csv"), "user", "course")):
            rows = pd.DataFrame([r._asdict() for r in session.execute(
                f"SELECT * FROM {table.in_keyspace(keyspace).qualified}")])
            known = pd.read_csv(lake.path(*ratings), dtype=str).dropna(subset=[user, item])
            counts = rows.groupby(table.user_column)["rank"].agg(["count", "min", "max"])
            assert set(counts.index.astype(str)) == set(known[user]), table.name  # every user has a list
            assert (counts["count"] == 10).all() and (counts["min"] == 1).all() and (counts["max"] == 10).all()
            seen = set(zip(known[user], known[item], strict=True))
            listed = zip(rows[table.user_column].astype(str), rows[table.item_column].astype(str), strict=True)
            assert not [pair for pair in listed if pair in seen], f"{table.name}: a user's own item is listed"


@pytest.mark.parametrize("mode", [JOB_MODES["train_purchase_model"]])
def test_the_purchase_features_are_built_on_the_cluster(spark_cluster, services, spark, s3_lake, tmp_path, mode):
    keyspace = f"reco_purchase_{mode}"
    with scratch_keyspaces(services, keyspace):
        execute_job(mode, "train_purchase_model", tmp_path, s3_lake, CASSANDRA_RECO_KEYSPACE=keyspace,
                    ORDERS_USERS="1000")
    lake = downloaded(s3_lake, tmp_path / "lake")
    tables = {name: spark.read.parquet(lake.uri("cleaned", "orders", folder)) for name, folder in
              (("orders", "orders"), ("prior_lines", "order_products__prior"),
               ("train_lines", "order_products__train"))}
    for step in FEATURE_STEPS:  # the reference: each step by local Spark from the same cleaned tables
        tables[step.name] = step.build(*(tables[name] for name in step.inputs))
        columns = tables[step.name].columns
        on_cluster = spark.read.parquet(lake.uri("features", "purchase", step.name)).select(*columns)
        pd.testing.assert_frame_equal(comparable(on_cluster.toPandas(), columns),
                                      comparable(tables[step.name].toPandas(), columns),
                                      check_exact=False, rtol=1e-9, obj=step.name)


def test_the_readme_s3_block_works_verbatim(spark_cluster):
    """`pipeline services up --s3`, the exports, `pipeline lake check`: a local Spark session writes through S3A
    and its magic committer."""
    [block] = [b for b in re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
               if "pipeline services up --s3" in b]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "PYSPARK_", "AWS_", "S3_", "LAKE_"))}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"  # the README's `pipeline`: the virtualenv's
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "wrote and read back 5 rows under s3a://lake/lake/_check (the S3A magic committer)" in done.stdout
