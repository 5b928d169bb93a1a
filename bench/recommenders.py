"""Benchmark: the recommenders — training time and metrics, Cassandra write rate, rating-to-Cassandra latency.

    python bench/recommenders.py [--write-users 50000] [--latency-samples 3] [--keep]

In a fresh lake (a temporary folder) and Cassandra keyspace `reco_bench`, with the local services:
1. tunes the rating model on the seed's grid and trains each model on its default data (MovieLens 100k, or
   MOVIELENS_DIR; MOOC at MOOC_USERS), printing seconds, the rating model's RMSE and MAE beside its components and
   baselines on the same test rows, and the ranking models' full-ranking and sampled metrics beside popularity;
2. rewrites the top-10 table for --write-users synthetic users and prints rows/s, against baselines in the same
   process: the same rows as one INSERT each, and as one unlogged batch per user;
3. starts the Dagster daemon on this project, produces one rating at a time for a user and prints the time until
   that user's re-scored rows are readable in Cassandra (through the stream sensor, whose interval is
   STREAM_SENSOR_INTERVAL_SECONDS, default 5 s).
Targets (issue 4): at least 30,000 rows/s into Cassandra; rating-to-Cassandra under 30 s.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from cassandra.concurrent import execute_concurrent
from cassandra.query import BatchStatement, BatchType

from common import arguments, scratch_folder, services_and_spark, timed
from daemon import latency_samples
from pipeline_tests.keyspaces import scratch_keyspaces

KEYSPACE = "reco_bench"


def train_models(spark, lake) -> None:
    from pipeline.ml import als, csv_tables, mooc, movielens, rating_model
    from pipeline.ml.mooc_data import MoocSize, generate_mooc
    from pipeline.ml.recommendations import COURSES, MOVIES, train_ranking
    from pipeline.settings import get_settings

    print("1. training", flush=True)
    settings = get_settings()
    movielens.copy_to_raw(lake, movielens.locate(settings.movielens_dir, Path(settings.data_cache_dir)))
    def clean(source, table, **references):
        """Clean one table; a referenced table is read when this is called, after it was cleaned."""
        refs = {column: csv_tables.read_cleaned(spark, lake, ref) for column, ref in references.items()}
        csv_tables.clean_csv(spark, lake, source, table, refs)

    timed("clean MovieLens", lambda: (clean(movielens.SOURCE, movielens.MOVIES),
                                      clean(movielens.SOURCE, movielens.RATINGS, movieId=movielens.MOVIES)))
    with tempfile.TemporaryDirectory() as tmp:
        generate_mooc(tmp, MoocSize.scaled(get_settings().mooc_users))
        for table in mooc.TABLES:
            lake.write_file(Path(tmp) / table.file_name, "raw", mooc.SOURCE, table.file_name)
    timed("clean MOOC", lambda: (clean(mooc.SOURCE, mooc.USERS), clean(mooc.SOURCE, mooc.COURSES),
                                 clean(mooc.SOURCE, mooc.ENROLMENTS, user_id=mooc.USERS, course_id=mooc.COURSES)))
    quiet = lambda message: None  # noqa: E731
    started = time.monotonic()
    search = rating_model.tune(spark, lake, {k: list(v) for k, v in als.SEED_RATING_GRID.items()}, folds=5)
    print(f"  rating model tuning: {time.monotonic() - started:.1f}s for {len(search.scores)} combinations x 5 folds "
          f"(widened: {search.widened or 'nothing'}); best {search.best[0]}, CV RMSE {search.best[1]:.4f}",
          flush=True)
    started = time.monotonic()
    card = rating_model.train(spark, lake, replace(als.SEED_RATING_PARAMS, **search.best[0]), quiet)
    print(f"  rating model (ALS ensemble + item neighbours): {time.monotonic() - started:.1f}s; on the same "
          f"{card['data']['test']:,} test rows, RMSE / MAE:", flush=True)
    for name, errors in {"model": card["metrics"], **card["components"], **card["baselines"]}.items():
        ratio = errors["rmse"] / card["baselines"]["bias"]["rmse"]
        print(f"    {name:<12} {errors['rmse']:.4f} / {errors['mae']:.4f}  (RMSE {ratio:.3f}x the bias baseline's)")
    for name, rec in (("movie ranking model (implicit ALS)", MOVIES), ("course ranking model (implicit ALS)", COURSES)):
        started = time.monotonic()
        card = train_ranking(spark, lake, rec, rec.params, quiet)
        print(f"  {name}: {time.monotonic() - started:.1f}s", flush=True)
        for metric, value in card["metrics"].items():
            popularity = card["baseline"][metric]
            print(f"    {metric:<20} {value:.4f} (popularity {popularity:.4f}, {value / popularity:.2f}x)")


def write_rate(session, lake, users: int) -> None:
    from pipeline.serving.reco_tables import MOVIE_RECOMMENDATIONS, ensure_top_n_table, replace_top_n

    print(f"2. Cassandra write rate: top 10 for {users:,} users", flush=True)
    table = MOVIE_RECOMMENDATIONS.in_keyspace(KEYSPACE)
    ensure_top_n_table(session, table)
    rng = np.random.default_rng(0)
    rows = pd.DataFrame({"userid": np.repeat(np.arange(users), 10), "rank": np.tile(np.arange(1, 11), users),
                         "movieid": rng.integers(1, 27_000, users * 10), "score": rng.random(users * 10),
                         "title": "Some Movie (1995)", "genres": "Comedy|Drama"})
    report = replace_top_n(session, table, rows, "bench-1", lake)
    print(f"  full rewrite: {report}", flush=True)
    again = replace_top_n(session, table, rows, "bench-2", lake)
    print(f"  second full rewrite: {again}", flush=True)
    insert = session.prepare(f"INSERT INTO {table.qualified} (userid, rank, movieid, score, title, genres, "
                             f"model_version) VALUES (?, ?, ?, ?, ?, ?, ?)")
    values = [(int(u), int(r), int(m), float(s), t, g, "baseline") for u, r, m, s, t, g in
              rows.itertuples(index=False, name=None)]
    started = time.monotonic()
    execute_concurrent(session, ((insert, v) for v in values), concurrency=256, raise_on_first_error=True)
    baseline = len(values) / (time.monotonic() - started)

    def one_batch_per_user():
        for start in range(0, len(values), 10):
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            for row in values[start:start + 10]:
                batch.add(insert, row)
            yield batch, None

    started = time.monotonic()
    execute_concurrent(session, one_batch_per_user(), concurrency=64, raise_on_first_error=True)
    per_user = len(values) / (time.monotonic() - started)
    best = max(report.rows_per_second, again.rows_per_second)
    print(f"  baselines: one INSERT per row {baseline:,.0f} rows/s, one batch per user {per_user:,.0f} rows/s; "
          f"batches of up to 10 users by replica: {best:,.0f} rows/s (ratios {best / baseline:.2f} and "
          f"{best / per_user:.2f}); target >= 30,000 rows/s: {'met' if best >= 30_000 else 'MISSED'}", flush=True)


def serve_models(spark, lake, session) -> None:
    """Write both tables from the trained models and make them the serving versions (what the daemon uses)."""
    from pipeline.ml.recommendations import COURSES, MOVIES, all_top_n
    from pipeline.serving.reco_tables import COURSE_RECOMMENDATIONS, MOVIE_RECOMMENDATIONS, ensure_top_n_table, \
        replace_top_n

    for rec, table in ((MOVIES, MOVIE_RECOMMENDATIONS), (COURSES, COURSE_RECOMMENDATIONS)):
        store = rec.store(lake)
        version = store.latest()
        target = table.in_keyspace(KEYSPACE)
        ensure_top_n_table(session, target)
        report = replace_top_n(session, target, all_top_n(spark, lake, rec, version), version, lake)
        store.promote(version)
        print(f"  {target.qualified} from {version}: {report}", flush=True)


def latency(session, env: dict[str, str], samples: int) -> None:
    from pipeline.kafka import client_config
    from pipeline.ml.movielens import RATING_TOPIC
    from pipeline.ml.stream_producer import send
    from pipeline.settings import get_settings

    print(f"3. rating → Cassandra with the Dagster daemon (stream sensor every "
          f"{env.get('STREAM_SENSOR_INTERVAL_SECONDS', '5')} s)", flush=True)
    select = session.prepare(f"SELECT updated_at, movieid FROM {KEYSPACE}.recommendations WHERE userid = ?")
    kafka = client_config(get_settings())

    def send_rating(sample: int) -> tuple[int, datetime]:
        user = 10 + sample
        value = {"userId": user, "movieId": 50 + sample, "rating": 5.0, "timestamp": int(time.time())}
        produced = datetime.now(timezone.utc).replace(microsecond=0)
        send(kafka, RATING_TOPIC, [(str(user).encode(), json.dumps(value).encode())])
        return user, produced

    def refreshed(token: tuple[int, datetime]) -> bool:
        user, produced = token
        row = session.execute(select, (user,)).one()
        return bool(row and row.updated_at and row.updated_at.replace(tzinfo=timezone.utc) >= produced)

    latency_samples(env, "movielens_ratings_sensor", samples, send_rating, refreshed,
                    label=lambda token: f"user {token[0]} refreshed", timeout=180)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--write-users", type=int, default=50_000)
    parser.add_argument("--latency-samples", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the temporary lake and Dagster home")
    args = parser.parse_args()

    with scratch_folder("bench-recommenders-", args.keep, dagster_home=True, CASSANDRA_RECO_KEYSPACE=KEYSPACE,
                        LANDING_STARTING_OFFSETS="latest") as (_, env):
        settings, lake, spark = services_and_spark()
        train_models(spark, lake)
        with scratch_keyspaces(settings, KEYSPACE) as session:
            write_rate(session, lake, args.write_users)
            serve_models(spark, lake, session)
            latency(session, env, args.latency_samples)


if __name__ == "__main__":
    main()
