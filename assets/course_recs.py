"""Course recommendations: MOOC CSVs (generated, or a real copy) → cleaned tables → ALS ranking model → Cassandra."""

import dagster as dg

from assets.csv_tables import build_cleaned_table, source_failure
from assets.keys import cleaned_table_key, raw_source_key
from assets.recommenders import build_recommender
from pipeline.ml import mooc
from pipeline.ml.csv_tables import SourceProblem
from pipeline.ml.mooc_data import MoocSize, generate_mooc
from pipeline.ml.recommendations import COURSES
from pipeline.serving.reco_tables import COURSE_RECOMMENDATIONS
from pipeline.ml.raw_sources import land_csv_source
from resources import LakeResource, SourcesResource

GROUP = "course_recs"
RAW = raw_source_key(mooc.SOURCE)


class MoocSource(dg.Config):
    users: int | None = None  # generated size; MOOC_USERS when unset (the seed's full size is 99,970)
    seed: int = 42


@dg.asset(key=RAW, group_name=GROUP, kinds={"csv"},
          description="The MOOC source in the seed's layout: `raw/mooc/user.csv`, `course.csv`, `user_course.csv`, "
                      "`course_map.csv`. Copied from MOOC_DIR when set (only `user_course.csv` is required; checked "
                      "first: a copy that cannot train fails here with the file, column and rule); otherwise written "
                      "by the seeded generator with the seed's shapes (power-law course popularity, topic-driven "
                      "enrolment sequences, a few malformed and duplicate rows for the quarantine), scaled by "
                      "MOOC_USERS.")
def raw_mooc(context: dg.AssetExecutionContext, config: MoocSource, lake: LakeResource,
             sources: SourcesResource) -> dg.MaterializeResult:
    size = MoocSize.scaled(config.users or sources.mooc_users)
    try:
        report = land_csv_source(lake.get_lake(), mooc.SOURCE, mooc.TABLES, sources.mooc_dir, "MOOC_DIR",
                                 lambda folder: generate_mooc(folder, size, seed=config.seed))
    except SourceProblem as problem:
        raise source_failure(problem) from problem
    if report is None:
        return dg.MaterializeResult(metadata={"source": f"MOOC copy in {sources.mooc_dir}"})
    context.log.info(f"generated {report}")
    return dg.MaterializeResult(metadata={
        "source": f"generator, seed {config.seed}", "size": str(size), "rows": report.rows,
        "malformed_injected": report.malformed,
    })


cleaned_users = build_cleaned_table(mooc.USERS, mooc.SOURCE, RAW, GROUP)
cleaned_courses = build_cleaned_table(mooc.COURSES, mooc.SOURCE, RAW, GROUP)
cleaned_course_map = build_cleaned_table(mooc.COURSE_MAP, mooc.SOURCE, RAW, GROUP)
cleaned_enrolments = build_cleaned_table(mooc.ENROLMENTS, mooc.SOURCE, RAW, GROUP)

recommender_assets, recommender_checks = build_recommender(
    COURSES, COURSE_RECOMMENDATIONS, GROUP,
    [cleaned_table_key(mooc.ENROLMENTS), cleaned_table_key(mooc.COURSES)])

ASSETS = [raw_mooc, cleaned_users, cleaned_courses, cleaned_course_map, cleaned_enrolments, *recommender_assets]
CHECKS = recommender_checks
