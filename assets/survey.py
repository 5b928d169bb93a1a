"""The student survey: the `student_survey` topic landed, cleaned and quarantined per record (a stream asset), then
`cleaned/students`, one row per submission; the school's student records landed and cleaned; one asset per
analysis question (`pipeline.survey.questions`); and `survey_results` in Cassandra, which the results page reads."""

import dagster as dg
import pyarrow.parquet as pq

from assets.keys import (CLEANED_STUDENT_RECORDS, CLEANED_STUDENTS, RAW_STUDENT_RECORDS, cassandra_table_key,
                         stream_key, survey_question_key)
from assets.metadata import cql_schema
from assets.streams import build_stream_asset
from pipeline.serving import analytics_tables
from pipeline.survey import analysis
from pipeline.survey import stream as survey
from pipeline.survey.questions import QUESTIONS, Question
from pipeline.survey.serving import SURVEY_RESULTS, ensure_results_table, replace_results
from resources import CassandraResource, LakeResource, QualityResource, SourcesResource

GROUP = "survey"
SURVEY_RESULTS_TABLE = cassandra_table_key(analytics_tables.KEYSPACE, SURVEY_RESULTS.name)
QUESTION_KEYS = [survey_question_key(q.name) for q in QUESTIONS]


@dg.asset(
    key=CLEANED_STUDENTS, group_name=GROUP, deps=[stream_key(survey.SURVEY_STREAM)], kinds={"parquet"},
    description="Every survey submission cleaned by the seed's rules (defects fixed: negative contracts null, "
                "distance with its decimals, no demo row, raw kept), one row per submission id (a client's retry "
                "counts once), with when Kafka confirmed it: `cleaned/students/students.parquet`. Rebuilt from "
                "every landed batch; records that cannot be cleaned are in `quarantine/streams/student_survey/` "
                "with the reason.",
    check_specs=[dg.AssetCheckSpec("one_row_per_submission", asset=CLEANED_STUDENTS, blocking=True,
                                   description="No submission id twice. Blocking.")],
)
def cleaned_students(context: dg.AssetExecutionContext, lake: LakeResource):
    the_lake = lake.get_lake()
    rows, retries = survey.write_cleaned_students(the_lake)
    context.log.info(f"cleaned/students: {rows} submissions ({retries} retried submissions counted once)")
    yield dg.MaterializeResult(metadata={"dagster/row_count": rows, "retries_counted_once": retries})
    # Counted back from what was written, like the other tables' checks.
    written = pq.read_table(the_lake.path(*survey.CLEANED_PARTS), columns=["submission_id"],
                            filesystem=the_lake.filesystem)
    distinct = len(set(written["submission_id"].to_pylist()))
    yield dg.AssetCheckResult(check_name="one_row_per_submission", passed=distinct == written.num_rows,
                              metadata={"rows": written.num_rows, "distinct_submissions": distinct})


@dg.asset(key=RAW_STUDENT_RECORDS, group_name=GROUP, kinds={"csv"},
          description="The school's student records (grades, absences, dropouts, hiring, competitors, contracts, "
                      "distance): `raw/student_records/students.csv`, copied from STUDENTS_DIR, or written by the "
                      "seeded generator (STUDENTS_COUNT students, with known effects) when it is unset.")
def raw_student_records(context: dg.AssetExecutionContext, lake: LakeResource, sources: SourcesResource):
    origin = analysis.land_student_records(lake.get_lake(), sources.students_dir, sources.students_count)
    context.log.info(f"raw/student_records from {origin}")
    return dg.MaterializeResult(metadata={"source": origin})


@dg.asset(key=CLEANED_STUDENT_RECORDS, group_name=GROUP, deps=[RAW_STUDENT_RECORDS], kinds={"parquet"},
          description="The student records typed and checked (grades parsed into their mean, yes/no as booleans, "
                      "country and campus lower-cased like the survey's): `cleaned/student_records/`. Rows that "
                      "break a rule are in `quarantine/student_records/` with the column and the rule.",
          check_specs=[dg.AssetCheckSpec("quarantine_share_below_threshold", asset=CLEANED_STUDENT_RECORDS,
                                         blocking=True, description="Quarantined / rows read is at most "
                                                                    "QUARANTINE_MAX_SHARE. Blocking.")])
def cleaned_student_records(context: dg.AssetExecutionContext, lake: LakeResource, quality: QualityResource):
    report = analysis.clean_student_records(lake.get_lake())
    context.log.info(f"cleaned/student_records: {report.rows} rows, {report.quarantined} quarantined")
    yield dg.MaterializeResult(metadata={"dagster/row_count": report.rows, "quarantined": report.quarantined,
                                         "quarantine_reasons": report.reasons})
    read = report.rows + report.quarantined
    share = report.quarantined / read if read else 0.0
    yield dg.AssetCheckResult(check_name="quarantine_share_below_threshold",
                              passed=share <= quality.quarantine_max_share,
                              metadata={"share": round(share, 5), "threshold": quality.quarantine_max_share})


def build_question_asset(question: Question) -> dg.AssetsDefinition:
    key = survey_question_key(question.name)

    @dg.asset(
        key=key, group_name=GROUP, kinds={"json"},
        deps=[CLEANED_STUDENTS, CLEANED_STUDENT_RECORDS],
        description=f"{question.title}: {question.description} Method: {question.method}. "
                    f"`processed/survey/{question.name}.json` (title, plot_type, points and the statistics).",
        check_specs=[
            dg.AssetCheckSpec("enough_rows", asset=key, blocking=True,
                              description=f"At least {question.min_rows} rows for the method. Blocking."),
            dg.AssetCheckSpec("no_nan_statistics", asset=key, blocking=True,
                              description="Every statistic and coefficient is a finite number. Blocking."),
        ],
    )
    def _answer(context: dg.AssetExecutionContext, lake: LakeResource):
        result = analysis.answer(lake.get_lake(), question)
        context.log.info(f"{question.name}: {result.summary}")
        yield dg.MaterializeResult(metadata={
            "sample_size": result.sample_size, "plot_type": result.plot_type, "summary": result.summary,
            **{f"statistic/{name}": value for name, value in result.statistics.items()}})
        yield dg.AssetCheckResult(check_name="enough_rows", passed=result.sample_size >= question.min_rows,
                                  metadata={"rows": result.sample_size, "needed": question.min_rows})
        bad = result.nan_statistics()
        yield dg.AssetCheckResult(check_name="no_nan_statistics", passed=not bad,
                                  metadata={"not_finite": ", ".join(bad) or "none"})

    return _answer


@dg.asset(
    key=SURVEY_RESULTS_TABLE, group_name=GROUP, deps=QUESTION_KEYS, kinds={"cassandra"},
    description="The answers to the survey's analysis questions, one row per question, as the results page "
                "(`/survey/results`) reads them. Replaced on every run: upserted, then questions no longer "
                "answered are deleted.",
    metadata={"dagster/column_schema": cql_schema(SURVEY_RESULTS)},
    check_specs=[dg.AssetCheckSpec("rows_match_source", asset=SURVEY_RESULTS_TABLE,
                                   description="The partitions of the questions written or removed hold exactly "
                                               "one row per question answered (counted per partition, no scan).")],
)
def survey_results(context: dg.AssetExecutionContext, lake: LakeResource, cassandra: CassandraResource):
    the_lake = lake.get_lake()
    answers = analysis.read_answers(the_lake, list(QUESTIONS))
    keyspace = cassandra.analytics_keyspace
    with cassandra.session() as session:
        ensure_results_table(session, keyspace, cassandra.replication)
        written, removed, held = replace_results(session, keyspace, answers, the_lake, log=context.log.warning)
    context.log.info(f"{keyspace}.{SURVEY_RESULTS.name}: {written} questions, {removed} removed")
    yield dg.MaterializeResult(metadata={"dagster/row_count": written, "rows_removed": removed,
                                         "table": f"{keyspace}.{SURVEY_RESULTS.name}"})
    yield dg.AssetCheckResult(check_name="rows_match_source", passed=held == written,
                              metadata={"written": written, "in_written_partitions": held})


# From the student records to the results page's table (what needs no Kafka).
ANALYSIS_ASSETS = [raw_student_records, cleaned_student_records, *[build_question_asset(q) for q in QUESTIONS],
                   survey_results]
ASSETS = [build_stream_asset(survey.SURVEY_STREAM, GROUP), cleaned_students, *ANALYSIS_ASSETS]
