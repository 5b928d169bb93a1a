"""`survey_results`: one row per analysis question, the table the results page reads (the seed kept its processed
documents in MongoDB, replaced by title). Written whole: every question upserted, then questions no longer
computed deleted, so the page never finds it empty."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timezone

from cassandra.cluster import Session

from pipeline.cassandra import LOCAL_REPLICATION
from pipeline.lake import Lake
from pipeline.serving.cassandra_tables import CassandraTable, ensure_tables
from pipeline.serving.key_ledger import KeyLedger, rewrite, rows_held
from pipeline.survey.results import Coefficient, QuestionResult
from pipeline.web.charts import ChartPoint

SURVEY_RESULTS = CassandraTable(
    "survey_results",
    (("question", "int"), ("title", "text"), ("plot_type", "text"), ("method", "text"), ("sample_size", "int"),
     ("summary", "text"),
     ("points", "list<frozen<tuple<text, text, text, text>>>"),  # x, y, group, label
     ("statistics", "map<text, double>"),
     ("coefficients", "list<frozen<tuple<text, double, double, double, double>>>"),  # name, estimate, CI, p
     ("computed_at", "timestamp")),
    ("question",))


def ensure_results_table(session: Session, keyspace: str, replication: str = LOCAL_REPLICATION) -> None:
    ensure_tables(session, [SURVEY_RESULTS], keyspace, replication)


def replace_results(session: Session, keyspace: str, results: Iterable[QuestionResult], lake: Lake,
                    log: Callable[[str], object] = print) -> tuple[int, int, int]:
    """Make the table exactly `results` (the deletes known from its key ledger in `lake`, no scan); (rows
    written, rows removed, rows the written and deleted questions' partitions hold afterwards)."""
    qualified = f"{keyspace}.{SURVEY_RESULTS.name}"
    columns = SURVEY_RESULTS.column_names
    insert = session.prepare(f"INSERT INTO {qualified} ({', '.join(columns)}) "
                             f"VALUES ({', '.join('?' for _ in columns)})")
    now = datetime.now(timezone.utc)
    rows = {(result.question,): (
        result.question, result.title, result.plot_type, result.method, result.sample_size, result.summary,
        [(p.x, p.y, p.group, p.label) for p in result.points], dict(result.statistics),
        [(c.name, c.estimate, c.ci_low, c.ci_high, c.p_value) for c in result.coefficients], now)
        for result in results}

    def upsert() -> None:
        for row in rows.values():
            session.execute(insert, row)

    ledger = KeyLedger(lake, qualified, SURVEY_RESULTS.key)
    removed = rewrite(session, ledger, set(rows), upsert, log)
    held = rows_held(session, qualified, SURVEY_RESULTS.partition_key, set(rows) | removed)
    return len(rows), len(removed), held


def read_results(session: Session, keyspace: str) -> list[QuestionResult]:
    """Every stored answer, in question order (on a session with the driver's default, named-tuple rows)."""
    rows = session.execute(f"SELECT * FROM {keyspace}.{SURVEY_RESULTS.name}")
    return sorted((result_of_row(row._asdict()) for row in rows), key=lambda result: result.question)


def result_of_row(row: dict) -> QuestionResult:
    """A row of `survey_results` (read with the dict row factory) as the result it stores."""
    return QuestionResult(
        question=row["question"], title=row["title"], plot_type=row["plot_type"], method=row["method"],
        sample_size=row["sample_size"], summary=row["summary"],
        points=tuple(ChartPoint(*point) for point in row["points"] or ()),
        statistics=dict(row["statistics"] or {}),
        coefficients=tuple(Coefficient(*c) for c in row["coefficients"] or ()))
