"""The `pipeline` command: local services, event producers, the end-to-end demo.

    pipeline services up | status | down
    pipeline produce events --count N --days D --rate R --seed S [--malformed-fraction F]
    pipeline produce ratings | enrolments | features --count N [--users U1,U2] [--malformed-fraction F]
    pipeline predict --user U --product P
    pipeline serve [--host H --port P]
    pipeline lake check
    pipeline demo [--count N --days D]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from pipeline.settings import get_settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _services(args: argparse.Namespace) -> int:
    from pipeline.services.__main__ import main as services_main

    return services_main([args.action])


def _produce_events(args: argparse.Namespace) -> int:
    from pipeline.events.generator import EventGenerator
    from pipeline.events.producer import produce
    from pipeline.kafka import client_config

    settings = get_settings()
    generator = EventGenerator(
        seed=args.seed,
        days=args.days,
        source_timezone=settings.events_source_timezone,
        timestamp_format=args.timestamp_format,
        malformed_fraction=args.malformed_fraction,
        duplicate_fraction=args.duplicate_fraction,
    )
    print(f"producing {args.count:,} learning events over {args.days} day(s) to {settings.kafka_bootstrap_servers}"
          f" (seed {args.seed}, {args.malformed_fraction:.1%} malformed, {args.duplicate_fraction:.1%} duplicates)")
    report = produce(client_config(settings), generator.generate(args.count), args.count, rate=args.rate,
                     replication_factor=settings.kafka_replication_factor)
    print(report.summary())
    return 0


def _produce_interactions(args: argparse.Namespace) -> int:
    from pipeline.kafka import client_config
    from pipeline.lake import Lake
    from pipeline.ml import mooc, movielens, stream_producer

    settings = get_settings()
    lake = Lake.from_settings(settings)
    users = [u.strip() for u in args.users.split(",") if u.strip()] if args.users else None
    if args.what == "ratings":
        topic = movielens.RATING_TOPIC
        messages = stream_producer.rating_messages(lake, args.count, args.seed, [int(u) for u in users or []],
                                                   args.malformed_fraction)
    elif args.what == "features":
        from pipeline.ml.purchase.orders import FEATURE_TOPIC

        topic = FEATURE_TOPIC
        messages = stream_producer.feature_messages(lake, args.count, args.seed, [int(u) for u in users or []],
                                                    args.malformed_fraction)
    else:
        topic = mooc.ENROLMENT_TOPIC
        messages = stream_producer.enrolment_messages(lake, args.count, args.seed, users, args.malformed_fraction)
    sent = stream_producer.send(client_config(settings), topic, messages, settings.kafka_replication_factor)
    print(f"produced {sent.records:,} records to {topic} in {sent.seconds:.1f}s"
          + (f" ({args.malformed_fraction:.0%} malformed)" if args.malformed_fraction else ""))
    return 0


def _predict(args: argparse.Namespace) -> int:
    """The reorder probability of one (user, product) from the serving model, with the pair's newest features."""
    from pipeline.lake import Lake
    from pipeline.ml.purchase import reorder_model

    lake = Lake.from_settings(get_settings())
    models = reorder_model.store(lake)
    version = models.serving() or models.latest()
    if version is None:
        print("error: no purchase model yet: run the train_purchase_model job (or `make demo`) first", file=sys.stderr)
        return 1
    rows, source = reorder_model.features_of(lake, args.user, args.product)
    if rows.empty:
        print(f"error: no features for user {args.user} and product {args.product}: the pair is not a candidate "
              f"(the user never bought the product) and no feature record for it arrived on the stream",
              file=sys.stderr)
        return 2
    scored = reorder_model.predict(reorder_model.load_booster(lake, version), rows.tail(1))
    print(f"user {args.user}, product {args.product}: reorder probability {scored['probability'].iloc[0]:.6f} "
          f"(model {version}{'' if version == models.serving() else ', not yet serving'}; features from {source})")
    return 0


def _serve(args: argparse.Namespace) -> int:
    """The HTTP API over the serving tables, until interrupted."""
    import uvicorn

    from pipeline.serving.api import create_app

    settings = get_settings()
    host, port = args.host or settings.api_host, args.port or settings.api_port
    print(f"serving on http://{host}:{port} with {args.workers} worker process(es) (OpenAPI docs at /docs); "
          f"Cassandra {settings.cassandra_contact_points}")
    # Several workers need the app as an import path (each process builds its own, with its own session).
    app = "pipeline.serving.api:create_app" if args.workers > 1 else create_app(settings)
    uvicorn.run(app, factory=args.workers > 1, host=host, port=port, workers=args.workers,
                log_level=args.log_level, access_log=args.log_level == "debug")
    return 0


def _lake_check(args: argparse.Namespace) -> int:
    """Write, list and read a probe object at LAKE_ROOT, with pyarrow and with Spark."""
    import pyarrow as pa

    from pipeline.lake import Lake
    from resources import build_resources

    settings = get_settings()
    lake = Lake.from_settings(settings)
    print(f"lake: {lake.root}" + (f" (endpoint {settings.s3_endpoint_url})" if settings.s3_endpoint_url else ""))
    path = lake.write_parquet(pa.table({"probe": [1, 2, 3]}), "_check", "probe.parquet")
    print(f"  pyarrow: wrote and listed {lake.list_files('_check')}")
    spark = build_resources(settings)["spark"].get_session()
    rows = spark.read.parquet(lake.spark_uri_of(path)).count()
    spark.range(5).write.mode("overwrite").parquet(lake.uri("_check", "spark"))
    back = spark.read.parquet(lake.uri("_check", "spark")).count()
    print(f"  spark: read {rows} rows, wrote and read back {back} rows under {lake.uri('_check')}")
    return 0 if (rows, back) == (3, 5) else 1


def dagster_home() -> Path:
    """DAGSTER_HOME (default ./.dagster_home), holding the project's dagster.yaml (copied again when the project's
    is newer, so an instance created before a change of the run queue gets it)."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path.cwd() / ".dagster_home"))).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config, project = home / "dagster.yaml", PROJECT_ROOT / "dagster.yaml"
    if not config.exists() or config.stat().st_mtime < project.stat().st_mtime:
        shutil.copy(project, config)
    return home


def _demo(args: argparse.Namespace) -> int:
    from pipeline import services

    started = time.monotonic()
    print("1/7 local services (Kafka, Cassandra)")
    try:
        print(services.up())
    except services.ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("2/7 learning events")
    _produce_events(args)
    print("3/7 sensor ticks: land the new offsets (and the speed windows), then refresh the days they touched; then "
          "the all-time views and the serving tables in Cassandra")
    home = dagster_home()
    import dagster as dg

    from pipeline.definitions import defs
    from pipeline.events.summary import lake_summary
    from pipeline.lake import Lake
    from pipeline.views.headlines import headlines
    from sensors.tick import run_sensor_tick

    results = []
    # The demo keeps its own sensor cursor between runs (the daemon's sensor has its own, and resumes from
    # what the raw zone holds), so a second demo lands and cleans only what is new.
    cursor_file = home / "demo_sensor_cursor.json"
    cursor = cursor_file.read_text() if cursor_file.exists() else None
    with dg.DagsterInstance.get() as instance:
        for tick in (1, 2):
            outcome = run_sensor_tick(defs, instance, cursor, log=print, raise_on_error=False, log_level="WARNING")
            cursor = outcome.cursor
            cursor_file.write_text(cursor or "")
            results += outcome.results
            print(f"  tick {tick}: {len(outcome.requests)} run(s)" + (f"; {outcome.skip_reason}" if outcome.skip_reason else ""))
        print("4/7 recommenders: MovieLens and MOOC sources, tuned rating model, ranking models, Cassandra; "
              "then a few ratings and enrolments through Kafka")
        results += _demo_recommenders(defs, instance)
        print("5/7 purchase prediction: order history, Spark features, XGBoost, Cassandra predictions; then a few "
              "feature records through Kafka")
        results += _demo_purchase(defs, instance)
    print("6/7 the HTTP API over the serving tables: three example calls")
    _demo_api()
    print("7/7 summary")
    lake = Lake.from_settings(get_settings())
    print(lake_summary(lake))
    print(headlines(lake))
    checks = [c for r in results for c in r.get_asset_check_evaluations()]
    failed = [c for c in checks if not c.passed and c.severity == dg.AssetCheckSeverity.ERROR]
    warned = [c for c in checks if not c.passed and c.severity == dg.AssetCheckSeverity.WARN]

    def names(evaluations: list) -> str:
        return ", ".join(sorted({f"{c.asset_key.to_user_string()}:{c.check_name}" for c in evaluations}))

    print(f"  runs: {sum(r.success for r in results)}/{len(results)} succeeded; "
          f"asset checks: {len(checks) - len(failed) - len(warned)}/{len(checks)} passed"
          + (f"; warnings: {names(warned)}" if warned else "") + (f"; FAILED: {names(failed)}" if failed else ""))
    print(f"\ndone in {time.monotonic() - started:.0f}s: runs recorded in DAGSTER_HOME={home}")
    print(f"open the UI:  make ui   (DAGSTER_HOME={home} dagster dev)  -> http://127.0.0.1:3000")
    return 0 if all(r.success for r in results) and not failed else 1


def _demo_api() -> None:
    """Start the API on a free port for a moment, call three endpoints, and say how to keep it running."""
    import json
    import socket
    import threading
    import urllib.request

    import uvicorn

    from pipeline.serving.api import create_app

    settings = get_settings()
    with socket.socket() as probe:
        probe.bind((settings.api_host, 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=settings.api_host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.1)
    try:
        for path in ("/analytics/summary", "/analytics/dau?days=3&hours=2", "/recommendations/movies/1"):
            try:
                with urllib.request.urlopen(f"http://{settings.api_host}:{port}{path}", timeout=10) as response:
                    body = json.loads(response.read())
            except urllib.error.HTTPError as error:
                body = {"status": error.code, **json.loads(error.read())}
            if isinstance(body, list) and len(body) > 4:
                body = [*body[:2], "...", *body[-2:]]
            elif "items" in body:
                body = {**body, "items": body["items"][:3]}
            text = json.dumps(body, default=str)
            print(f"  curl -s 'http://{settings.api_host}:{settings.api_port}{path}'\n    {text[:600]}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    print(f"  keep it running: .venv/bin/pipeline serve  -> http://{settings.api_host}:{settings.api_port}/docs")


# A demo-sized slice of the seed's grid (6 combinations); the asset's default is all 18 of them. 5 folds both.
DEMO_TUNING = {"rank": [8, 10, 12], "max_iter": [15], "reg_param": [0.1, 0.2], "folds": 5, "parallelism": 2}


def _demo_recommenders(defs, instance) -> list:
    from pipeline.lake import Lake
    from pipeline.ml import mooc, movielens, stream_producer
    from pipeline.ml.model_store import ModelStore
    from pipeline.ml.recommendations import COURSES, MOVIES
    from pipeline.kafka import client_config
    from pipeline.serving import reco_tables
    from sensors.tick import run_sensor_tick

    settings, quiet = get_settings(), {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    lake = Lake.from_settings(settings)
    movie_table = reco_tables.MOVIE_RECOMMENDATIONS.in_keyspace(settings.cassandra_reco_keyspace)
    course_table = reco_tables.COURSE_RECOMMENDATIONS.in_keyspace(settings.cassandra_reco_keyspace)
    print("  run train_recommenders (sources, cleaning, tuning on a demo grid, models, Cassandra rewrite)")
    training = defs.resolve_job_def("train_recommenders").execute_in_process(
        instance=instance, raise_on_error=False,
        run_config={**quiet, "ops": {"models__als_ratings_tuning": {"config": DEMO_TUNING}}})
    results = [training]
    if not training.success:
        return results
    for store in (ModelStore(lake, "als_ratings"), MOVIES.store(lake), COURSES.store(lake)):
        card = store.card(store.latest())
        pairs = ", ".join(f"{k} {v:.3f} (baseline {card['baseline'][k]:.3f})" for k, v in card["metrics"].items())
        print(f"  {store.model} {card['version']}: {pairs}")
    cassandra = defs.resources["cassandra"]
    watched_user, learner = 1, None
    with cassandra.session() as session:
        learner = session.execute(f"SELECT user_id FROM {course_table.qualified} LIMIT 1").one()[0]
        _print_top(session, movie_table, watched_user, "title")
    kafka = client_config(settings)
    stream_producer.send(kafka, movielens.RATING_TOPIC, stream_producer.rating_messages(
        lake, 20, seed=int(time.time()), users=[watched_user, 2], malformed_share=0.1))
    stream_producer.send(kafka, mooc.ENROLMENT_TOPIC, stream_producer.enrolment_messages(
        lake, 10, seed=int(time.time()), users=[learner, "U_999999999"], malformed_share=0.1))
    print(f"  produced 20 ratings for users {watched_user} and 2, and 10 enrolments for {learner} and a new user "
          f"U_999999999 (10% malformed); stream sensors tick:")
    for sensor in ("movielens_ratings_sensor", "user_course_interact_sensor"):
        outcome = run_sensor_tick(defs, instance, None, sensor_name=sensor, log=print, raise_on_error=False,
                                  log_level="WARNING")
        results += outcome.results
    with cassandra.session() as session:
        _print_top(session, movie_table, watched_user, "title")
        _print_top(session, course_table, "U_999999999", "course_name")
    return results


def _demo_purchase(defs, instance) -> list:
    from pipeline.kafka import client_config
    from pipeline.lake import Lake
    from pipeline.ml import stream_producer
    from pipeline.ml.purchase import orders, reorder_model
    from pipeline.serving.predictions import read_predictions
    from sensors.tick import run_sensor_tick

    settings, quiet = get_settings(), {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    lake = Lake.from_settings(settings)
    print(f"  run train_purchase_model ({settings.orders_users:,} users unless ORDERS_DIR is set)")
    training = defs.resolve_job_def("train_purchase_model").execute_in_process(
        instance=instance, raise_on_error=False, run_config=quiet)
    if not training.success:
        return [training]
    models = reorder_model.store(lake)
    card = models.card(models.serving())
    pairs = ", ".join(f"{k} {card['metrics'][k]:.3f} (baseline {card['baseline'][k]:.3f})"
                      for k in ("auc", "log_loss", "f1"))
    print(f"  {reorder_model.MODEL} {card['version']}: {pairs}; {card['data']['rounds']} rounds; "
          f"baseline = up_order_rate as the score")
    sent = stream_producer.send(client_config(settings), orders.FEATURE_TOPIC, stream_producer.feature_messages(
        lake, 20, seed=int(time.time()), malformed_share=0.1))
    print(f"  produced {sent.records} feature records (10% malformed); purchase_features_sensor ticks:")
    outcome = run_sensor_tick(defs, instance, None, sensor_name="purchase_features_sensor", log=print,
                              raise_on_error=False, log_level="WARNING")
    with defs.resources["cassandra"].session() as session:
        table = read_predictions(session, settings.cassandra_reco_keyspace)
    top = table.sort_values("probability", ascending=False).head(3)
    print(f"  {settings.cassandra_reco_keyspace}.purchase_predictions: {len(table):,} pairs of "
          f"{table['user_id'].nunique():,} users; most likely reorders:")
    for row in top.itertuples(index=False):
        print(f"    user {row.user_id} product {row.product_id}: {row.probability:.3f}   "
              f"(pipeline predict --user {row.user_id} --product {row.product_id})")
    return [training, *outcome.results]


def _print_top(session, table, user, label: str) -> None:
    from pipeline.serving.reco_tables import read_top_n

    rows = read_top_n(session, table, user)
    print(f"  {table.keyspace}.{table.name} for user {user}" + (f" (model {rows[0]['model_version']}):" if rows else ": none"))
    for row in rows:
        print(f"    {row['rank']:>2}. {row[label]}  ({row['score']:.3f})")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="pipeline", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = root.add_subparsers(dest="command", required=True)

    svc = commands.add_parser("services", help="start, inspect or stop local Kafka and Cassandra (no Docker)")
    svc.add_argument("action", choices=["up", "status", "down"])
    svc.set_defaults(run=_services)

    def event_options(p: argparse.ArgumentParser, count: int, days: float, malformed: float, duplicates: float) -> None:
        p.add_argument("--count", type=int, default=count, help="number of records (default %(default)s)")
        p.add_argument("--days", type=float, default=days, help="spread event times over the last D days")
        p.add_argument("--rate", type=float, default=0.0, help="events per second, 0 = as fast as possible")
        p.add_argument("--seed", type=int, default=42)
        p.add_argument("--malformed-fraction", type=float, default=malformed,
                       help="share of broken records: bad JSON, missing fields, wrong types, unknown types, future times")
        p.add_argument("--duplicate-fraction", type=float, default=duplicates, help="share of records sent twice")
        p.add_argument("--timestamp-format", choices=["legacy", "iso", "mixed"], default="mixed",
                       help="legacy 'yyyy-MM-dd HH:mm:ss' local time, ISO-8601 with offset, or both")

    produce = commands.add_parser("produce", help="publish generated data to Kafka")
    what = produce.add_subparsers(dest="what", required=True)
    events = what.add_parser("events", help="learning events to the 6 category topics, keyed by user_id")
    event_options(events, count=10_000, days=1.0, malformed=0.0, duplicates=0.0)
    events.set_defaults(run=_produce_events)

    for name, help_text in (("ratings", "movie ratings to movielens_ratings (JSON), for users in the cleaned table"),
                            ("enrolments", "course enrolments to user_course_interact (key user, value course)"),
                            ("features", "purchase feature records to purchase_features (JSON), of candidate pairs")):
        interactions = what.add_parser(name, help=help_text)
        interactions.add_argument("--count", type=int, default=10)
        interactions.add_argument("--users", help="comma-separated user ids (default: random existing users)")
        interactions.add_argument("--seed", type=int, default=42)
        interactions.add_argument("--malformed-fraction", type=float, default=0.0,
                                  help="share of records the sensor must quarantine")
        interactions.set_defaults(run=_produce_interactions)

    predict = commands.add_parser("predict", help="reorder probability of a (user, product) from the serving model")
    predict.add_argument("--user", type=int, required=True)
    predict.add_argument("--product", type=int, required=True)
    predict.set_defaults(run=_predict)

    serve = commands.add_parser("serve", help="the HTTP API over the serving tables (FastAPI, docs at /docs)")
    serve.add_argument("--host", help="default API_HOST (127.0.0.1)")
    serve.add_argument("--port", type=int, help="default API_PORT (8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default %(default)s)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(run=_serve)

    lake = commands.add_parser("lake", help="lake storage")
    lake.add_argument("action", choices=["check"], help="write and read a probe object with pyarrow and Spark")
    lake.set_defaults(run=_lake_check)

    demo = commands.add_parser("demo", help="services up; events landed, cleaned, every view; the recommenders and the "
                                            "purchase model trained and served from Cassandra; a summary")
    event_options(demo, count=20_000, days=3.0, malformed=0.02, duplicates=0.01)
    demo.set_defaults(run=_demo)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
