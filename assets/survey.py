"""The student survey: the `student_survey` topic landed, cleaned and quarantined per record (a stream asset), then
`cleaned/students`, one row per submission."""

import dagster as dg
import pyarrow.parquet as pq

from assets.keys import CLEANED_STUDENTS, stream_key
from assets.streams import build_stream_asset
from pipeline.survey import stream as survey
from resources import LakeResource

GROUP = "survey"


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


ASSETS = [build_stream_asset(survey.SURVEY_STREAM, GROUP), cleaned_students]
