"""Course recommendations: MOOC CSVs (generated, or a real copy) → cleaned tables → ALS ranking model → Cassandra."""

import tempfile
from pathlib import Path

import dagster as dg

from assets.csv_tables import build_cleaned_table, cleaned_table_key
from assets.recommenders import build_recommender
from pipeline.ml import mooc
from pipeline.ml.mooc_data import MoocSize, generate_mooc
from pipeline.ml.recommendations import COURSES
from pipeline.serving.reco_tables import COURSE_RECOMMENDATIONS
from pipeline.settings import get_settings
from resources import LakeResource

GROUP = "course_recs"
RAW = dg.AssetKey(["raw", "mooc"])


class MoocSource(dg.Config):
    users: int | None = None  # generated size; MOOC_USERS when unset (the seed's full size is 99,970)
    seed: int = 42


@dg.asset(key=RAW, group_name=GROUP, kinds={"csv"},
          description="The MOOC source in the seed's layout: `raw/mooc/user.csv`, `course.csv`, `user_course.csv`, "
                      "`course_map.csv`. Copied from MOOC_DIR when set; otherwise written by the seeded generator "
                      "with the seed's shapes (power-law course popularity, topic-driven enrolment sequences, a few "
                      "malformed and duplicate rows for the quarantine), scaled by MOOC_USERS.")
def raw_mooc(context: dg.AssetExecutionContext, config: MoocSource, lake: LakeResource) -> dg.MaterializeResult:
    settings, the_lake = get_settings(), lake.get_lake()
    names = [t.file_name for t in mooc.TABLES]
    if settings.mooc_dir:
        folder, metadata = Path(settings.mooc_dir), {"source": f"MOOC copy in {settings.mooc_dir}"}
        for name in names:
            the_lake.write_file(folder / name, "raw", mooc.SOURCE, name)
        return dg.MaterializeResult(metadata=metadata)
    size = MoocSize.scaled(config.users or settings.mooc_users)
    with tempfile.TemporaryDirectory() as tmp:
        report = generate_mooc(tmp, size, seed=config.seed)
        for name in names:
            the_lake.write_file(Path(tmp) / name, "raw", mooc.SOURCE, name)
    context.log.info(f"generated {report}")
    return dg.MaterializeResult(metadata={
        "source": f"generator, seed {config.seed}", "size": str(size), "rows": report.rows,
        "malformed_injected": report.malformed,
    })


cleaned_users = build_cleaned_table(mooc.USERS, mooc.SOURCE, RAW, GROUP)
cleaned_courses = build_cleaned_table(mooc.COURSES, mooc.SOURCE, RAW, GROUP)
cleaned_course_map = build_cleaned_table(mooc.COURSE_MAP, mooc.SOURCE, RAW, GROUP,
                                         references=[("course_id", mooc.COURSES)])
cleaned_enrolments = build_cleaned_table(mooc.ENROLMENTS, mooc.SOURCE, RAW, GROUP,
                                         references=[("user_id", mooc.USERS), ("course_id", mooc.COURSES)])

recommender_assets, recommender_checks = build_recommender(
    COURSES, COURSE_RECOMMENDATIONS, GROUP,
    [cleaned_table_key(mooc.ENROLMENTS), cleaned_table_key(mooc.COURSES)])

ASSETS = [raw_mooc, cleaned_users, cleaned_courses, cleaned_course_map, cleaned_enrolments, *recommender_assets]
CHECKS = recommender_checks
