"""`pipeline demo` (`make demo`): the whole product once, end to end, on local defaults, as the README tells it.

An application-layer module: it wires the settings, the Dagster definitions, the local services and the domain
code together. Each step prints what it does; the demo fails (exit 1) when a run fails or an error-level asset
check does not pass.
"""

from __future__ import annotations

import json
import random
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from assets.movie_recs import TUNING
from pipeline import services
from pipeline.events.producer import GeneratedEvents
from pipeline.events.summary import lake_summary
from pipeline.kafka import client_config
from pipeline.lake import Lake
from pipeline.ml import mooc, movielens, stream_producer
from pipeline.ml.model_store import ModelStore
from pipeline.ml.purchase import orders, reorder_model
from pipeline.ml.rating_model import MODEL as RATING_MODEL
from pipeline.ml.recommendations import COURSES, MOVIES
from pipeline.serving import api_keys, reco_tables
from pipeline.serving.predictions import read_predictions
from pipeline.settings import Settings
from pipeline.survey.generator import random_form
from pipeline.survey.serving import read_results
from pipeline.survey.stream import SURVEY_TOPIC
from pipeline.views.headlines import headlines
from sensors.tick import console_log_level, run_sensor_tick

QUIET = console_log_level("WARNING")
# A demo-sized slice of the seed's grid (6 combinations); the asset's default is all 18 of them. 5 folds both.
DEMO_TUNING = {"rank": [8, 10, 12], "max_iter": [15], "reg_param": [0.1, 0.2], "folds": 5, "parallelism": 2}
NEW_LEARNER = "U_999999999"  # a learner the course model has never seen
DEMO_SURVEY_FORMS = 12


@dataclass
class Demo:
    settings: Settings
    events: GeneratedEvents
    dagster_home: Path
    defs: dg.Definitions | None = None
    instance: dg.DagsterInstance | None = None
    results: list[dg.ExecuteInProcessResult] = field(default_factory=list)

    @property
    def lake(self) -> Lake:
        return Lake.from_settings(self.settings)


def start_services(demo: Demo) -> None:
    print(services.up())


def produce_events(demo: Demo) -> None:
    demo.events.produce(demo.settings)


def land_and_refresh(demo: Demo) -> None:
    # The demo keeps its own sensor cursor between runs (the daemon's sensor has its own, and resumes from what
    # the raw zone holds), so a second demo lands and cleans only what is new.
    cursor_file = demo.dagster_home / "demo_sensor_cursor.json"
    cursor = cursor_file.read_text() if cursor_file.exists() else None
    for tick in (1, 2):
        outcome = run_sensor_tick(demo.defs, demo.instance, cursor, log=print, raise_on_error=False,
                                  log_level="WARNING")
        cursor = outcome.cursor
        cursor_file.write_text(cursor or "")
        demo.results += outcome.results
        print(f"  tick {tick}: {len(outcome.requests)} run(s)"
              + (f"; {outcome.skip_reason}" if outcome.skip_reason else ""))


def recommenders(demo: Demo) -> None:
    settings, lake, cassandra = demo.settings, demo.lake, demo.defs.resources["cassandra"]
    movie_table = reco_tables.MOVIE_RECOMMENDATIONS.in_keyspace(settings.cassandra_reco_keyspace)
    course_table = reco_tables.COURSE_RECOMMENDATIONS.in_keyspace(settings.cassandra_reco_keyspace)
    print("  run train_recommenders (sources, cleaning, tuning on a demo grid, models, Cassandra rewrite)")
    training = demo.defs.resolve_job_def("train_recommenders").execute_in_process(
        instance=demo.instance, raise_on_error=False, run_config={**QUIET, "ops": {TUNING.to_python_identifier(): {"config": DEMO_TUNING}}})
    demo.results.append(training)
    if not training.success:
        return
    ratings = ModelStore(lake, RATING_MODEL)
    card = ratings.card(ratings.latest())
    print(f"  {RATING_MODEL} {card['version']}: on the same {card['data']['test']:,} test rows, RMSE / MAE")
    for name, errors in {"model": card["metrics"], **card["components"], **card["baselines"]}.items():
        print(f"    {name:<12} {errors['rmse']:.4f} / {errors['mae']:.4f}")
    for store in (MOVIES.store(lake), COURSES.store(lake)):
        card = store.card(store.latest())
        pairs = ", ".join(f"{k} {v:.3f} (popularity {card['baseline'][k]:.3f})" for k, v in card["metrics"].items())
        print(f"  {store.model} {card['version']}: {pairs}")
    watched_user = 1
    with cassandra.session() as session:
        learner = session.execute(f"SELECT user_id FROM {course_table.qualified} LIMIT 1").one()[0]
        print_top(session, movie_table, watched_user, "title")
    kafka = client_config(settings)
    stream_producer.send(kafka, movielens.RATING_TOPIC, stream_producer.rating_messages(
        lake, 20, seed=int(time.time()), users=[watched_user, 2], malformed_share=0.1))
    stream_producer.send(kafka, mooc.ENROLMENT_TOPIC, stream_producer.enrolment_messages(
        lake, 10, seed=int(time.time()), users=[learner, NEW_LEARNER], malformed_share=0.1))
    print(f"  produced 20 ratings for users {watched_user} and 2, and 10 enrolments for {learner} and a new user "
          f"{NEW_LEARNER} (10% malformed); stream sensors tick:")
    for stream in (movielens.RATING_TOPIC, mooc.ENROLMENT_TOPIC):
        outcome = run_sensor_tick(demo.defs, demo.instance, None, sensor_name=f"{stream}_sensor", log=print,
                                  raise_on_error=False, log_level="WARNING")
        demo.results += outcome.results
    with cassandra.session() as session:
        print_top(session, movie_table, watched_user, "title")
        print_top(session, course_table, NEW_LEARNER, "course_name")


def purchase(demo: Demo) -> None:
    settings, lake = demo.settings, demo.lake
    print(f"  run train_purchase_model ({settings.orders_users:,} users unless ORDERS_DIR is set)")
    training = demo.defs.resolve_job_def("train_purchase_model").execute_in_process(
        instance=demo.instance, raise_on_error=False, run_config=QUIET)
    demo.results.append(training)
    if not training.success:
        return
    models = reorder_model.store(lake)
    card = models.card(models.serving())
    pairs = ", ".join(f"{k} {card['metrics'][k]:.3f} (baseline {card['baseline'][k]:.3f})"
                      for k in ("auc", "log_loss", "f1"))
    print(f"  {reorder_model.MODEL} {card['version']}: {pairs}; {card['data']['rounds']} rounds; "
          f"baseline = up_order_rate as the score")
    sent = stream_producer.send(client_config(settings), orders.FEATURE_TOPIC, stream_producer.feature_messages(
        lake, 20, seed=int(time.time()), malformed_share=0.1))
    print(f"  produced {sent.records} feature records (10% malformed); {orders.FEATURE_TOPIC}_sensor ticks:")
    outcome = run_sensor_tick(demo.defs, demo.instance, None, sensor_name=f"{orders.FEATURE_TOPIC}_sensor",
                              log=print, raise_on_error=False, log_level="WARNING")
    demo.results += outcome.results
    with demo.defs.resources["cassandra"].session() as session:
        table = read_predictions(session, settings.cassandra_reco_keyspace)
    print(f"  {settings.cassandra_reco_keyspace}.purchase_predictions: {len(table):,} pairs of "
          f"{table['user_id'].nunique():,} users; most likely reorders:")
    for row in table.sort_values("probability", ascending=False).head(3).itertuples(index=False):
        print(f"    user {row.user_id} product {row.product_id}: {row.probability:.3f}   "
              f"(pipeline predict --user {row.user_id} --product {row.product_id})")


@contextmanager
def running_api(settings: Settings) -> Iterator[str]:
    """The API (`pipeline serve`'s app) on a free port for a moment; yields its base URL."""
    import uvicorn

    from pipeline.serving.api import create_app

    with socket.socket() as probe:
        probe.bind((settings.api_host, 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=settings.api_host, port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.1)
    try:
        yield f"http://{settings.api_host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def call_the_api(demo: Demo) -> None:
    """Start the API for a moment, call three endpoints and the dashboard, and say how to keep it running."""
    settings = demo.settings
    with running_api(settings) as base:
        for path in ("/analytics/summary", "/analytics/dau?days=3&hours=2", "/recommendations/movies/1"):
            try:
                with urllib.request.urlopen(base + path, timeout=10) as response:
                    body = json.loads(response.read())
            except urllib.error.HTTPError as error:
                body = {"status": error.code, **json.loads(error.read())}
            if isinstance(body, list) and len(body) > 4:
                body = [*body[:2], "...", *body[-2:]]
            elif "items" in body:
                body = {**body, "items": body["items"][:3]}
            text = json.dumps(body, default=str)
            print(f"  curl -s 'http://{settings.api_host}:{settings.api_port}{path}'\n    {text[:600]}")
        with urllib.request.urlopen(base + "/dashboard", timeout=30) as response:
            dashboard = response.read().decode()
        print(f"  the dashboard draws {dashboard.count('<svg')} charts ({len(dashboard):,} bytes of HTML)")
    where = f"http://{settings.api_host}:{settings.api_port}"
    print(f"  keep it running: .venv/bin/pipeline serve  -> {where}/docs; pages {where}/dashboard, {where}/learners, "
          f"{where}/movie-fans")


def student_survey(demo: Demo) -> None:
    """A few forms through `POST /api/survey`, the survey sensor's tick (landing, cleaning, every question, the
    results table), and what the results page says."""
    settings, keyspace = demo.settings, demo.settings.cassandra_analytics_keyspace
    rng = random.Random()
    submissions = [random_form(rng) for _ in range(DEMO_SURVEY_FORMS)]
    with demo.defs.resources["cassandra"].session() as session:  # a key for this step only, revoked after it
        api_keys.ensure_keys_table(session, keyspace, settings.cassandra_replication)
        key, token = api_keys.create_key(session, keyspace, "demo", "write")
    with running_api(settings) as base:
        for form in submissions:
            request = urllib.request.Request(base + "/api/survey", data=form.model_dump_json().encode(), headers={
                "Content-Type": "application/json", "X-API-Key": token}, method="POST")
            with urllib.request.urlopen(request, timeout=30):
                pass
        print(f"  {len(submissions)} forms sent through POST /api/survey with a write key (`pipeline api-keys create`; "
              f"each answered 201 once Kafka confirmed it); {SURVEY_TOPIC}_sensor ticks:")
        outcome = run_sensor_tick(demo.defs, demo.instance, None, sensor_name=f"{SURVEY_TOPIC}_sensor", log=print,
                                  raise_on_error=False, log_level="WARNING")
        demo.results += outcome.results
        with urllib.request.urlopen(base + "/survey/results", timeout=30) as response:
            page = response.read().decode()
    with demo.defs.resources["cassandra"].session() as session:
        results = read_results(session, keyspace)
        api_keys.revoke_key(session, keyspace, key.key_id)
    print(f"  the results page answers {len(results)} questions ({len(page):,} bytes of HTML with its charts):")
    for result in results:
        print(f"    {result.question:>2}. {result.title}: {result.summary}")
    where = f"http://{settings.api_host}:{settings.api_port}"
    print(f"  see it: .venv/bin/pipeline serve  -> {where}/survey (the form) and {where}/survey/results")


def summary(demo: Demo) -> None:
    print(lake_summary(demo.lake))
    print(headlines(demo.lake))


def print_top(session, table: reco_tables.TopNTable, user, label: str) -> None:
    rows = reco_tables.read_top_n(session, table, user)
    print(f"  {table.keyspace}.{table.name} for user {user}"
          + (f" (model {rows[0]['model_version']}):" if rows else ": none"))
    for row in rows:
        print(f"    {row['rank']:>2}. {row[label]}  ({row['score']:.3f})")


Step = tuple[str, Callable[[Demo], None]]
STEPS: list[Step] = [
    ("local services (Kafka, Cassandra)", start_services),
    ("learning events", produce_events),
    ("sensor ticks: land the new offsets (and the speed windows), then refresh the days they touched, the all-time "
     "views and the serving tables in Cassandra", land_and_refresh),
    ("recommenders: MovieLens and MOOC sources, tuned rating model, ranking models, Cassandra; then a few ratings "
     "and enrolments through Kafka", recommenders),
    ("purchase prediction: order history, Spark features, XGBoost, Cassandra predictions; then a few feature "
     "records through Kafka", purchase),
    ("the HTTP API over the serving tables: three example calls", call_the_api),
    ("the student survey: forms through the HTTP API, landed, cleaned and analysed, and the results page",
     student_survey),
    ("summary", summary),
]


def check_names(evaluations: list) -> str:
    return ", ".join(sorted({f"{c.asset_key.to_user_string()}:{c.check_name}" for c in evaluations}))


def run(settings: Settings, events: GeneratedEvents, dagster_home: Path) -> int:
    """Every step in order; 0 when every run succeeded and no error-level check failed."""
    from pipeline.definitions import build_definitions

    started = time.monotonic()
    demo = Demo(settings, events, dagster_home, defs=build_definitions(settings))
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        demo.instance = instance
        for number, (title, step) in enumerate(STEPS, start=1):
            print(f"{number}/{len(STEPS)} {title}")
            try:
                step(demo)
            except services.ServiceError as error:
                print(f"error: {error}", file=sys.stderr)
                return 1
    checks = [c for r in demo.results for c in r.get_asset_check_evaluations()]
    failed = [c for c in checks if not c.passed and c.severity == dg.AssetCheckSeverity.ERROR]
    warned = [c for c in checks if not c.passed and c.severity == dg.AssetCheckSeverity.WARN]
    print(f"  runs: {sum(r.success for r in demo.results)}/{len(demo.results)} succeeded; "
          f"asset checks: {len(checks) - len(failed) - len(warned)}/{len(checks)} passed"
          + (f"; warnings: {check_names(warned)}" if warned else "")
          + (f"; FAILED: {check_names(failed)}" if failed else ""))
    print(f"\ndone in {time.monotonic() - started:.0f}s: runs recorded in DAGSTER_HOME={dagster_home}")
    print(f"open the UI:  make ui   (DAGSTER_HOME={dagster_home} dagster dev)  -> http://127.0.0.1:3000")
    return 0 if all(r.success for r in demo.results) and not failed else 1
