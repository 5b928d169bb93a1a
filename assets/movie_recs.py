"""Movie recommendations: MovieLens CSVs → cleaned tables → tuned rating model and ranking model → Cassandra."""

from dataclasses import replace
from pathlib import Path

import dagster as dg

from assets.csv_tables import build_cleaned_table, source_failure
from assets.keys import cleaned_table_key, model_key, raw_source_key
from assets.recommenders import build_recommender
from assets.metadata import svg_image
from assets.model_serving import model_check
from pipeline.ml import als, movielens, rating_model, tuning
from pipeline.ml.csv_tables import SourceProblem
from pipeline.ml.model_store import ModelStore, compare
from pipeline.ml.recommendations import MOVIES
from pipeline.serving.reco_tables import MOVIE_RECOMMENDATIONS
from pipeline.web.charts import Chart, ChartPoint, render_chart
from resources import SPARK_POOL, LakeResource, QualityResource, SourcesResource, SparkResource

GROUP = "movie_recs"
RAW = raw_source_key(movielens.SOURCE)
TUNING = model_key("als_ratings_tuning")
RATING_MODEL = model_key(rating_model.MODEL)


@dg.asset(key=RAW, group_name=GROUP, kinds={"csv"},
          description="The MovieLens CSVs in the seed's layout (`raw/movielens/rating.csv`, and `movie.csv`, "
                      "`link.csv` when the release has them), copied from MOVIELENS_DIR (checked first: a copy that "
                      "cannot train fails here with the file, column and rule) or, by default, converted from the "
                      "real 100k release in DATA_CACHE_DIR (`make movielens` downloads it). Never committed: the "
                      "licence forbids redistribution.")
def raw_movielens(context: dg.AssetExecutionContext, lake: LakeResource, sources: SourcesResource) -> dg.MaterializeResult:
    try:
        source = movielens.locate(sources.movielens_dir, Path(sources.data_cache_dir))
    except SourceProblem as problem:
        raise source_failure(problem) from problem
    written = movielens.copy_to_raw(lake.get_lake(), source)
    context.log.info(f"{source.description}: {sorted(written)}")
    return dg.MaterializeResult(metadata={"source": source.description, "files": sorted(written)})


cleaned_movies = build_cleaned_table(movielens.MOVIES, movielens.SOURCE, RAW, GROUP)
cleaned_links = build_cleaned_table(movielens.LINKS, movielens.SOURCE, RAW, GROUP)
cleaned_ratings = build_cleaned_table(movielens.RATINGS, movielens.SOURCE, RAW, GROUP)


class TuningGrid(dg.Config):
    """The seed tuning script's grid by default (18 combinations), with 5 folds rather than its 3: a 3-fold
    model trains on 2/3 of the data and over-regularises (on MovieLens 100k, 3 folds picked regParam 0.2, whose
    test RMSE is above 0.92; 5 folds pick regParam 0.1). A winner on the edge of the grid is widened past it,
    up to `max_widenings` steps."""

    rank: list[int] = list(als.SEED_RATING_GRID["rank"])
    max_iter: list[int] = list(als.SEED_RATING_GRID["max_iter"])
    reg_param: list[float] = list(als.SEED_RATING_GRID["reg_param"])
    folds: int = 5
    parallelism: int = 2
    max_widenings: int = 3


@dg.asset(key=TUNING, group_name=GROUP, deps=[cleaned_table_key(movielens.RATINGS)], kinds={"spark", "mllib"},
          pool=SPARK_POOL,
          description="Grid search for the rating model's ALS: every combination of rank × maxIter × regParam "
                      "cross-validated (RMSE) on the training 80%; when the best value of a parameter is the "
                      "smallest or largest tried, the grid is widened past it (same ratio) until it is not. The "
                      "table of every score, the widening and the best parameters are kept in "
                      "`models/als_ratings/tuning.json`; the rating model trains with the best. Metadata: the "
                      "scores as a table and as tuning curves (CV RMSE against regParam, one line per rank and "
                      "maxIter).")
def als_ratings_tuning(context: dg.AssetExecutionContext, config: TuningGrid, spark: SparkResource,
                       lake: LakeResource) -> dg.MaterializeResult:
    grid = {"rank": config.rank, "max_iter": config.max_iter, "reg_param": config.reg_param}
    context.log.info(f"cross-validating {len(tuning.combinations(grid))} combinations x {config.folds} folds")
    search = rating_model.tune(spark.get_session(), lake.get_lake(), grid, config.folds, config.parallelism,
                               max_widenings=config.max_widenings)
    best, best_rmse = search.best
    for step in search.widened:
        context.log.info(f"widened the grid: {step}")
    scores = sorted(({**params, "rmse": round(rmse, 5)} for params, rmse in search.scores), key=lambda s: s["rmse"])
    ModelStore(lake.get_lake(), rating_model.MODEL).put("tuning.json", {
        "best": replace(als.SEED_RATING_PARAMS, **best).as_dict(), "scores": scores, "folds": config.folds,
        "widened": search.widened, "on_edge": search.on_edge()})
    return dg.MaterializeResult(metadata={
        "best_params": best, "best_cv_rmse": best_rmse, "combinations": len(scores),
        "widened": search.widened or "nothing: the best is inside the grid",
        "still_on_edge": search.on_edge() or "nothing",
        "scores": dg.MetadataValue.md("| rank | maxIter | regParam | CV RMSE |\n|---|---|---|---|\n" + "\n".join(
            f"| {s['rank']} | {s['max_iter']} | {s['reg_param']} | {s['rmse']:.4f} |" for s in scores)),
        "tuning_curves": svg_image(render_chart(Chart(
            "tuning", f"Cross-validated RMSE against regParam ({config.folds} folds)", "line",
            [ChartPoint(str(s["reg_param"]), str(s["rmse"]), f"rank {s['rank']}, maxIter {s['max_iter']}")
             for s in scores]), standalone=True), "tuning curves"),
    })


@dg.asset(key=RATING_MODEL, group_name=GROUP, deps=[TUNING, cleaned_table_key(movielens.RATINGS)],
          kinds={"spark", "mllib"}, pool=SPARK_POOL,
          description="The explicit rating model: the seed's ALS (nonnegative; the tuned parameters, or the seed's "
                      "rank 12, maxIter 15, regParam 0.05 before any tuning) as the mean of three fits (seeds 42, 43, "
                      "44), blended with an item-neighbourhood model on regularised user and item biases (weights "
                      "fitted on a validation fold of the training data). Trained on the random 80/20 split with "
                      "seed 42 and measured by RMSE and MAE on every row of the 20%, beside three baselines on "
                      "the same rows: global mean, item mean, and global mean + user and item biases (the one to "
                      "beat). A movie or user ALS never saw is predicted by the biases. Versioned in "
                      "`models/als_ratings/<version>/`; a version not worse than the one it replaces becomes the "
                      "serving one.")
def als_ratings(context: dg.AssetExecutionContext, spark: SparkResource, lake: LakeResource,
                quality: QualityResource) -> dg.MaterializeResult:
    store = ModelStore(lake.get_lake(), rating_model.MODEL)
    tuned = store.get("tuning.json")
    params = als.AlsParams(**tuned["best"]) if tuned else als.SEED_RATING_PARAMS
    card = rating_model.train(spark.get_session(), lake.get_lake(), params, context.log.info)
    verdict = compare(card, quality.model_tolerance)
    if verdict.passed:
        store.promote(card["version"])
    errors = {"model": card["metrics"], "ALS alone": card["components"]["als"],
              "neighbours alone": card["components"]["neighbours"],
              **{f"baseline: {n.replace('_', ' ')}": e for n, e in card["baselines"].items()}}
    return dg.MaterializeResult(metadata={
        "version": card["version"], "model/rmse": card["metrics"]["rmse"], "model/mae": card["metrics"]["mae"],
        **{f"baseline/{n}/{m}": v for n, e in card["baselines"].items() for m, v in e.items()},
        "same_rows": f"{card['data']['test']:,} test rows for every figure "
                     f"({card['data']['test_rows_als_cannot_score']} of them predicted by the biases in ALS's place)",
        "errors": dg.MetadataValue.table(
            [dg.TableRecord({"predictor": n, "rmse": round(e["rmse"], 4), "mae": round(e["mae"], 4)})
             for n, e in errors.items()],
            schema=dg.TableSchema(columns=[dg.TableColumn("predictor", "string"), dg.TableColumn("rmse", "float"),
                                           dg.TableColumn("mae", "float")])),
        "errors_chart": svg_image(render_chart(Chart(
            "errors", "RMSE on the same test rows (lower is better)", "bar",
            [ChartPoint(n.removeprefix("baseline: ").removesuffix(" alone"), f"{e['rmse']:.4f}")
             for n, e in errors.items()]), standalone=True), "RMSE per predictor"),
        "blend_weights": card["blend_weights"], "params": card["params"], "tuned": tuned is not None,
        "promoted": verdict.passed, "verdict": verdict.text,
    })


recommender_assets, recommender_checks = build_recommender(
    MOVIES, MOVIE_RECOMMENDATIONS, GROUP, [cleaned_table_key(movielens.RATINGS), cleaned_table_key(movielens.MOVIES)])

ASSETS = [raw_movielens, cleaned_movies, cleaned_links, cleaned_ratings, als_ratings_tuning, als_ratings,
          *recommender_assets]
CHECKS = [model_check(RATING_MODEL, rating_model.MODEL), *recommender_checks]
