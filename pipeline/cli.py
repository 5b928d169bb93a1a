"""The `pipeline` command: local services, event producers, the end-to-end demo.

    pipeline services up | status | down
    pipeline produce events --count N --days D --rate R --seed S [--malformed-fraction F]
    pipeline produce ratings | enrolments | features --count N [--users U1,U2] [--malformed-fraction F]
    pipeline produce survey --count N [--malformed-fraction F]
    pipeline predict --user U --product P
    pipeline serve [--host H --port P]
    pipeline lake check
    pipeline settings [--markdown]
    pipeline dagster-home [--keep-config]
    pipeline fetch movielens
    pipeline demo [--count N --days D]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.cassandra import CassandraUnavailable
from pipeline.events.producer import GeneratedEvents
from pipeline.kafka import KafkaUnavailable
from pipeline.settings import Settings, SettingsError, get_settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _services(args: argparse.Namespace) -> int:
    from pipeline.services import OPTIONAL
    from pipeline.services.__main__ import main as services_main

    return services_main([args.action, *(f"--{name}" for name in OPTIONAL if getattr(args, name)),
                          *(f"--{flag}" for flag in ("auth", "cluster") if getattr(args, flag))])


def _generated_events(args: argparse.Namespace) -> GeneratedEvents:
    return GeneratedEvents(count=args.count, days=args.days, rate=args.rate, seed=args.seed,
                           malformed_fraction=args.malformed_fraction, duplicate_fraction=args.duplicate_fraction,
                           timestamp_format=args.timestamp_format)


def _produce_events(args: argparse.Namespace) -> int:
    _generated_events(args).produce(get_settings())
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


def _produce_survey(args: argparse.Namespace) -> int:
    from pipeline.kafka import client_config
    from pipeline.ml.stream_producer import send
    from pipeline.survey.generator import generate_submissions
    from pipeline.survey.stream import SURVEY_TOPIC

    settings = get_settings()
    submissions = generate_submissions(args.count, args.seed, args.malformed_fraction)
    sent = send(client_config(settings), SURVEY_TOPIC, [(s.key, s.value) for s in submissions],
                settings.kafka_replication_factor)
    print(f"produced {sent.records:,} survey submissions to {SURVEY_TOPIC} in {sent.seconds:.1f}s"
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
    # One access line per request, with the calling key (pipeline.serving.observability), instead of uvicorn's.
    log_config = {**uvicorn.config.LOGGING_CONFIG, "loggers": {
        **uvicorn.config.LOGGING_CONFIG["loggers"],
        "pipeline.access": {"handlers": ["default"], "level": args.log_level.upper(), "propagate": False}}}
    uvicorn.run(app, factory=args.workers > 1, host=host, port=port, workers=args.workers,
                log_level=args.log_level, access_log=False, log_config=log_config)
    return 0


def _api_keys(args: argparse.Namespace) -> int:
    """`pipeline api-keys create|list|revoke`, on the analytics keyspace's `api_keys` table."""
    from pipeline.serving import api_keys
    from resources import build_resources

    settings = get_settings()
    cassandra, keyspace = build_resources(settings)["cassandra"], settings.cassandra_analytics_keyspace
    with cassandra.session() as session:
        api_keys.ensure_keys_table(session, keyspace, settings.cassandra_replication)
        if args.action == "create":
            key, token = api_keys.create_key(session, keyspace, args.name, args.scope)
            print(f"key {key.key_id} ({key.scope}) for {key.name}; send it as X-API-Key (it is not shown again):")
            print(token)
        elif args.action == "list":
            for key in api_keys.list_keys(session, keyspace):
                revoked = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked else "active"
                print(f"{key.key_id}  {key.scope:<5}  {key.created_at:%Y-%m-%d %H:%M}  {revoked:<24}  {key.name}")
        elif not api_keys.revoke_key(session, keyspace, args.key_id):
            print(f"error: no key {args.key_id}", file=sys.stderr)
            return 1
        else:
            print(f"key {args.key_id} revoked")
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
    print(f"  spark: read {rows} rows, wrote and read back {back} rows under {lake.uri('_check')} "
          f"({_committer(lake, '_check', 'spark')})")
    return 0 if (rows, back) == (3, 5) else 1


def _committer(lake, *folder: str) -> str:
    """Which committer wrote a Spark output folder: the S3A committers leave a JSON manifest as `_SUCCESS`, the
    rename-based file committer an empty one."""
    import json

    with lake.filesystem.open_input_stream(lake.path(*folder, "_SUCCESS")) as success:
        manifest = success.read()
    return f"the S3A {json.loads(manifest)['committer']} committer" if manifest else "the file committer (renames)"


# With DAGSTER_POSTGRES_URL set, the instance keeps runs, events and schedules in PostgreSQL; the URL (and its
# password) stays in the environment.
POSTGRES_STORAGE = """
# Storage: PostgreSQL, because DAGSTER_POSTGRES_URL is set (written by `pipeline dagster-home`).
storage:
  postgres:
    postgres_url:
      env: DAGSTER_POSTGRES_URL
"""


def dagster_home(settings: Settings, copy_config: bool = True) -> Path:
    """DAGSTER_HOME, ready before any run is queued: the project's dagster.yaml (copied again when the project's is
    newer, so an instance created before a change of the run queue gets it; `copy_config=False` where the instance
    has its own, as under docker-compose), with Postgres storage when DAGSTER_POSTGRES_URL is set, and the Spark
    pool registered at the config's default limit.
    Why register it: Dagster's run queue reads the pools it knows before it registers a new one, so on the first
    pass that sees a queued Spark run it took the pool for unlimited and could start two Spark runs at once (CI saw
    a sensor's run and the daily job overlap on a fresh instance)."""
    import dagster as dg

    from resources.spark import SPARK_POOL

    home = Path(settings.dagster_home)
    home.mkdir(parents=True, exist_ok=True)
    config, project = home / "dagster.yaml", PROJECT_ROOT / "dagster.yaml"
    postgres = bool(settings.dagster_postgres_url)
    if copy_config and (not config.exists() or config.stat().st_mtime < project.stat().st_mtime
                        or (POSTGRES_STORAGE in config.read_text()) != postgres):
        config.write_text(project.read_text() + (POSTGRES_STORAGE if postgres else ""))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.event_log_storage.initialize_concurrency_limit_to_default(SPARK_POOL)
    return home


def _dagster_home(args: argparse.Namespace) -> int:
    home = dagster_home(get_settings(), copy_config=not args.keep_config)
    print(f"Dagster instance ready at {home}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from pipeline import demo

    settings = get_settings()
    return demo.run(settings, _generated_events(args), dagster_home(settings))


def _settings(args: argparse.Namespace) -> int:
    """The settings as the project sees them now (secrets masked), or the README's table of them."""
    from pipeline.settings import effective_values, markdown_table

    if args.markdown:
        print(markdown_table())
        return 0
    values = effective_values(get_settings())
    width = max(len(name) for name, _ in values)
    print("\n".join(f"{name:<{width}}  {value}" for name, value in values))
    return 0


def _fetch(args: argparse.Namespace) -> int:
    """Public data the project reads by default, downloaded once into DATA_CACHE_DIR."""
    from pipeline.ml.movielens import fetch_100k

    print(f"MovieLens 100k in {fetch_100k(Path(get_settings().data_cache_dir))}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="pipeline", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = root.add_subparsers(dest="command", required=True)

    from pipeline.services.__main__ import add_optional_services

    svc = commands.add_parser("services", help="start, inspect or stop local Kafka and Cassandra (no Docker)")
    svc.add_argument("action", choices=["up", "status", "down"])
    add_optional_services(svc)
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

    survey = what.add_parser("survey", help="student survey submissions to student_survey (JSON, keyed by id)")
    survey.add_argument("--count", type=int, default=100)
    survey.add_argument("--seed", type=int, default=42)
    survey.add_argument("--malformed-fraction", type=float, default=0.0,
                        help="share of records the sensor must quarantine")
    survey.set_defaults(run=_produce_survey)

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

    keys = commands.add_parser("api-keys", help="create, list or revoke the HTTP API's keys (stored hashed in "
                                                "Cassandra)")
    key_action = keys.add_subparsers(dest="action", required=True)
    create = key_action.add_parser("create", help="a new key, printed once")
    create.add_argument("--name", required=True, help="who or what uses it (shown by list, not secret)")
    create.add_argument("--scope", choices=["read", "write"], default="write",
                        help="write may also read (default %(default)s)")
    key_action.add_parser("list", help="every key: id, name, scope, created, revoked")
    revoke = key_action.add_parser("revoke", help="revoke a key (within 5 s on a running API)")
    revoke.add_argument("key_id")
    keys.set_defaults(run=_api_keys)

    lake = commands.add_parser("lake", help="lake storage")
    lake.add_argument("action", choices=["check"], help="write and read a probe object with pyarrow and Spark")
    lake.set_defaults(run=_lake_check)

    fetch = commands.add_parser("fetch", help="download public data once into DATA_CACHE_DIR (make setup does)")
    fetch.add_argument("what", choices=["movielens"], help="the MovieLens 100k release (from the recbole wheel)")
    fetch.set_defaults(run=_fetch)

    settings = commands.add_parser("settings", help="every setting's effective value (secrets masked); a bad value "
                                                    "is named with the rule it breaks")
    settings.add_argument("--markdown", action="store_true", help="the README's table of variables and defaults")
    settings.set_defaults(run=_settings)

    home = commands.add_parser("dagster-home", help="prepare the Dagster instance at DAGSTER_HOME before its "
                                                    "daemon starts: the project's dagster.yaml, the Spark pool")
    home.add_argument("--keep-config", action="store_true", help="keep the instance's own dagster.yaml")
    home.set_defaults(run=_dagster_home)

    demo = commands.add_parser("demo", help="services up; events landed, cleaned, every view; the recommenders and the "
                                            "purchase model trained and served from Cassandra; a summary")
    event_options(demo, count=20_000, days=3.0, malformed=0.02, duplicates=0.01)
    demo.set_defaults(run=_demo)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (KafkaUnavailable, CassandraUnavailable) as error:  # the message names the settings to check
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
