"""What the cluster tests run in a process of its own, as a user's run would, configured by the environment only.

One SparkContext per process: the test session holds a local one, so every run on the standalone cluster or
on Spark Connect is a child process (`python -m pipeline_tests.cluster_run <task>`) with SPARK_MASTER and
SPARK_EXECUTOR_PYTHON, or SPARK_REMOTE, set. It prints one JSON line (the last) for the test to read.

    where-shipped       the file executors import `pipeline` from, through the project's session
    where-not-shipped   the same through a bare session that ships nothing (the error, expected)
    learning-events     the learning-event sensor's ticks: landing, then the day's cleaning, views, serving
    top-n               a small ALS model's top-N lists scored on the executors (mapInPandas)
"""

from __future__ import annotations

import json
import os
import sys

import pandas as pd

from pipeline.settings import get_settings


def _where(batches):
    import pipeline  # noqa: PLC0415 - the import under test, on an executor

    for batch in batches:
        yield pd.DataFrame({"file": [pipeline.__file__] * len(batch), "python": [sys.executable] * len(batch)})


def where_imported(session) -> dict:
    try:
        rows = session.range(4).repartition(2).mapInPandas(_where, "file string, python string").collect()
    except Exception as error:  # noqa: BLE001 - the error is the answer
        return {"error": str(error)[:2000]}
    return {"files": sorted({r.file for r in rows}), "pythons": sorted({r.python for r in rows})}


def bare_session():
    """A session that ships nothing: what a deployment without the shipping mechanism would run."""
    from pyspark.sql import SparkSession

    settings = get_settings()
    if settings.spark_remote:
        return SparkSession.builder.remote(settings.spark_remote).getOrCreate()
    os.environ["PYSPARK_PYTHON"] = settings.spark_executor_python or "python3"
    return SparkSession.builder.master(settings.spark_master).getOrCreate()


def project_session():
    from resources import build_resources

    return build_resources(get_settings())["spark"].get_session()


def learning_events() -> dict:
    import dagster as dg

    from pipeline.definitions import build_definitions
    from sensors.tick import run_sensor_tick

    defs = build_definitions(get_settings())
    with dg.DagsterInstance.ephemeral() as instance:
        landing = run_sensor_tick(defs, instance, None, log_level="WARNING")
        daily = run_sensor_tick(defs, instance, landing.cursor, log_level="WARNING")
    return {"landing": landing.success, "daily": daily.success,
            "jobs": [r.job_def.name for r in landing.results + daily.results]}


def top_n() -> dict:
    from pyspark.ml.recommendation import ALS

    from pipeline.ml import als

    session = project_session()
    ratings = pd.DataFrame([(u, i, float((u * 7 + i * 3) % 5 + 1)) for u in range(1, 31) for i in range(1, 21)
                            if (u + i) % 3], columns=["user", "item", "rating"])
    frame = session.createDataFrame(ratings)
    model = ALS(rank=4, maxIter=5, regParam=0.1, userCol="user", itemCol="item", ratingCol="rating",
                seed=7).fit(frame)
    cols = als.Columns(user="user", item="item", rating="rating", time="time")
    lists = als.top_n(model.userFactors, model.itemFactors.toPandas(), frame, cols, 5).toPandas()
    factors = {name: [{"id": int(r.id), "features": [float(x) for x in r.features]} for r in frame.collect()]
               for name, frame in (("user_factors", model.userFactors), ("item_factors", model.itemFactors))}
    return {"lists": lists.to_dict(orient="records"), **factors}


TASKS = {
    "where-shipped": lambda: where_imported(project_session()),
    "where-not-shipped": lambda: where_imported(bare_session()),
    "learning-events": learning_events,
    "top-n": top_n,
}

if __name__ == "__main__":
    result = TASKS[sys.argv[1]]()
    print(json.dumps(result, default=str))
