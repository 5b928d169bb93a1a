"""Purchase (reorder) prediction: order CSVs (generated, or a real copy) → cleaned tables → the seed's feature
tables (Spark) → XGBoost model, versioned and checked → `reco.purchase_predictions` in Cassandra, refreshed
from the `purchase_features` stream."""

import dagster as dg
from pyspark.sql import functions as F

from assets.csv_tables import build_cleaned_table, source_failure
from assets.keys import cassandra_table_key, cleaned_table_key, feature_key, model_key, raw_source_key, stream_key
from assets.metadata import cql_schema, svg_image, table_schema
from assets.model_serving import model_check, not_worse_than_replaced, version_to_serve, write_result
from assets.streams import ServingRefresh, build_stream_asset
from pipeline.ml.csv_tables import SourceProblem, read_cleaned
from pipeline.ml.model_store import Comparison
from pipeline.ml.purchase import orders, reorder_model
from pipeline.ml.purchase.features import FEATURE_STEPS, KEYS, LABEL, FeatureStep
from pipeline.ml.purchase.generator import OrdersSize, generate_orders
from pipeline.ml.purchase.tuning import SEED_RANGES
from pipeline.ml.raw_sources import land_csv_source
from pipeline.serving import predictions
from resources import SPARK_POOL, CassandraResource, LakeResource, QualityResource, SourcesResource, SparkResource

GROUP = "purchase"
RAW = raw_source_key(orders.SOURCE)
CLEANED = {"orders": orders.ORDERS, "prior_lines": orders.PRIOR_LINES, "train_lines": orders.TRAIN_LINES}
MODEL_KEY = model_key(reorder_model.MODEL)
TUNING_KEY = model_key(f"{reorder_model.MODEL}_tuning")
PREDICTIONS_KEY = cassandra_table_key("reco", predictions.TABLE)


class OrdersSource(dg.Config):
    users: int | None = None  # generated size; ORDERS_USERS when unset (Instacart has 206,209)
    seed: int = 42
    malformed_share: float = 0.001  # share of broken rows added to orders.csv, for the quarantine


@dg.asset(key=RAW, group_name=GROUP, kinds={"csv"},
          description="The order history in the seed's (Instacart) layout: `raw/orders/orders.csv`, "
                      "`order_products__prior.csv`, `order_products__train.csv`, `products.csv` (optional). Copied "
                      "from ORDERS_DIR when set (checked first: a copy that cannot train fails here with the file, "
                      "column and rule); otherwise written by the seeded generator (habitual products, basket "
                      "sizes, order gaps, day-of-week and hour patterns, eval_set prior/train/test), scaled by "
                      "ORDERS_USERS, with a few malformed order rows for the quarantine.")
def raw_orders(context: dg.AssetExecutionContext, config: OrdersSource, lake: LakeResource,
               sources: SourcesResource) -> dg.MaterializeResult:
    size = OrdersSize.scaled(config.users or sources.orders_users)
    try:
        report = land_csv_source(lake.get_lake(), orders.SOURCE, orders.TABLES, sources.orders_dir, "ORDERS_DIR",
                                 lambda folder: generate_orders(folder, size, seed=config.seed,
                                                                malformed_share=config.malformed_share))
    except SourceProblem as problem:
        raise source_failure(problem) from problem
    if report is None:
        return dg.MaterializeResult(metadata={"source": f"order history copy in {sources.orders_dir}"})
    context.log.info(f"generated {size}: {report.rows}")
    return dg.MaterializeResult(metadata={
        "source": f"generator, seed {config.seed}", "users": size.users, "products": size.products,
        "rows": report.rows, "malformed_injected": report.malformed,
        "train_users": report.train_users, "test_users": report.test_users,
    })


cleaned_products = build_cleaned_table(orders.PRODUCTS, orders.SOURCE, RAW, GROUP)
cleaned_orders = build_cleaned_table(orders.ORDERS, orders.SOURCE, RAW, GROUP)
cleaned_prior_lines = build_cleaned_table(orders.PRIOR_LINES, orders.SOURCE, RAW, GROUP)
cleaned_train_lines = build_cleaned_table(orders.TRAIN_LINES, orders.SOURCE, RAW, GROUP)


def _input_key(name: str) -> dg.AssetKey:
    return cleaned_table_key(CLEANED[name]) if name in CLEANED else feature_key(name)


def build_feature_asset(step: FeatureStep) -> dg.AssetsDefinition:
    key = feature_key(step.name)
    checks = [dg.AssetCheckSpec("one_row_per_pair", asset=key, description="No (user_id, product_id) twice."),
              dg.AssetCheckSpec("labels_only_for_train_users", asset=key,
                                description="Train rows have a 0/1 label, test rows none.")
              ] if step.name == "candidates" else []

    @dg.asset(key=key, group_name=GROUP, kinds={"spark", "parquet"}, pool=SPARK_POOL,
              deps=[_input_key(i) for i in step.inputs],
              description=f"{step.description} Written to `{'/'.join(reorder_model.feature_parts(step.name))}/`.",
              check_specs=checks)
    def feature_table(context: dg.AssetExecutionContext, spark: SparkResource, lake: LakeResource):
        session, the_lake = spark.get_session(), lake.get_lake()
        inputs = [read_cleaned(session, the_lake, CLEANED[i]) if i in CLEANED
                  else session.read.parquet(the_lake.uri(*reorder_model.feature_parts(i))) for i in step.inputs]
        uri = the_lake.uri(*reorder_model.feature_parts(step.name))
        step.build(*inputs).write.mode("overwrite").parquet(uri)
        written = session.read.parquet(uri)
        rows = written.count()
        context.log.info(f"{step.name}: {rows:,} rows")
        yield dg.MaterializeResult(metadata={"dagster/row_count": rows,
                                             "dagster/column_schema": table_schema(written.schema),
                                             "path": the_lake.path(*reorder_model.feature_parts(step.name))})
        if step.name == "candidates":
            yield from _candidate_checks(written, rows)

    return feature_table


def _candidate_checks(candidates, rows: int):
    pairs = candidates.select(*KEYS).distinct().count()
    yield dg.AssetCheckResult(check_name="one_row_per_pair", passed=pairs == rows,
                              metadata={"rows": rows, "distinct_pairs": pairs})
    bad = candidates.where(((F.col("eval_set") == "train") & ~F.col(LABEL).isin(0, 1))
                           | ((F.col("eval_set") == "test") & F.col(LABEL).isNotNull())
                           | F.col(LABEL).isNull() & (F.col("eval_set") == "train")).count()
    yield dg.AssetCheckResult(check_name="labels_only_for_train_users", passed=bad == 0, metadata={"bad_rows": bad})


feature_assets = [build_feature_asset(step) for step in FEATURE_STEPS]


class XgboostTuning(dg.Config):
    """A seeded random search over the seed's SageMaker ranges (it ran 4 Bayesian jobs)."""

    trials: int = 20  # random draws, besides the seed's parameters and any walk past a range edge
    seed: int = 42


@dg.asset(
    key=TUNING_KEY, group_name=GROUP, deps=[feature_key("candidates")], kinds={"xgboost"},
    description="Parameter search for the reorder model over the seed's SageMaker HPO ranges (max_depth 3–12, eta "
                "0.05–0.5, min_child_weight 2–8, subsample 0.5–0.9, gamma 0–10): the seed's parameters, then a "
                "seeded random search, each trial with early stopping and ranked by the validation AUC of users the "
                "search holds out of its own training (the model's validation users are left out of the search "
                "altogether). A winner in the outer tenth of a range is walked past that edge while it improves. "
                "The winner and the seed's parameters are then fitted on all training users and scored on the "
                "model's validation users: the gain over the seed, reported whatever its sign (choosing by it "
                "would flatter the model's figures). Kept in `models/purchase_xgboost/tuning.json`; the model "
                "trains with the winner.",
)
def purchase_model_tuning(context: dg.AssetExecutionContext, config: XgboostTuning,
                          lake: LakeResource) -> dg.MaterializeResult:
    document = reorder_model.tune(lake.get_lake(), config.trials, config.seed, context.log.info)
    best, gain, held_out = document["best"], document["gain"], document["held_out"]
    for note in document["edges"]:
        context.log.warning(note)
    trials = document["trials"]
    columns = [*trials[0]]
    return dg.MaterializeResult(metadata={
        "best_params": best, "best_trial": document["best_trial"], "seed_params": document["seed_params"],
        "adopted": f"{document['adopted']['from']}: {document['adopted']['why']}",
        "gain/held_out_auc": gain["held_out_auc"], "gain/held_out_log_loss": gain["held_out_log_loss"],
        "gain/search_auc": gain["search_auc"],
        "held_out/auc": held_out["best"]["auc"], "held_out/seed_params_auc": held_out["seed"]["auc"],
        "trials_run": len(trials), "search_seconds": document["search_seconds"], "seconds": document["seconds"],
        "range_edges": "; ".join(document["edges"]) or "the winner is inside every range",
        "search": dg.MetadataValue.table(
            [dg.TableRecord(row) for row in trials],
            schema=dg.TableSchema(columns=[dg.TableColumn(c, {"stage": "string", "trial": "int", "max_depth": "int",
                                                              "rounds": "int"}.get(c, "float")) for c in columns])),
        **{f"tuning_curve/{name}": svg_image(svg, caption)
           for name, (caption, svg) in reorder_model.tuning_charts(document).items()},
    })


class XgboostTraining(dg.Config):
    """The parameters the last search adopted (the seed's before any search); `max_depth` and `eta` can be set for
    an experiment."""

    num_round: int = 500
    early_stopping_rounds: int = 10
    max_depth: int | None = None
    eta: float | None = None


@dg.asset(
    key=MODEL_KEY, group_name=GROUP, deps=[feature_key("candidates"), TUNING_KEY], kinds={"xgboost"},
    description="XGBoost binary:logistic reorder model with the parameters the search adopted (the seed's unless "
                "its winner was also better on the held-out users; the seed's: max_depth 5, eta 0.1, gamma 4, "
                "min_child_weight 6, subsample 0.8), up to 500 rounds, early stopping after 10 without a better "
                "validation log loss, trained on the train users' candidates with 20% of the users held out (the "
                "seed validated on its first 20,000 rows, mixing users across the split: fixed). Metadata: "
                "validation AUC, log loss and best-threshold F1 beside the same metrics of `up_order_rate` as a "
                "score, rounds, the parameters and where they come from, feature importance (table and plot). "
                "Saved as `models/purchase_xgboost/<version>/`.",
)
def purchase_model(context: dg.AssetExecutionContext, config: XgboostTraining,
                   lake: LakeResource) -> dg.MaterializeResult:
    the_lake = lake.get_lake()
    tuned, params_from = reorder_model.tuned_params(the_lake)
    overrides = {name: value for name, value in (("max_depth", config.max_depth), ("eta", config.eta))
                 if value is not None}
    params = {**tuned, **overrides}
    card = reorder_model.train(the_lake, params, config.num_round, config.early_stopping_rounds, context.log.info)
    version, metrics, baseline = card["version"], card["metrics"], card["baseline"]
    context.log.info(f"{version}: AUC {metrics['auc']:.4f} (baseline {baseline['auc']:.4f}) after "
                     f"{card['data']['rounds']} rounds")
    importance = sorted(card["importance_gain"].items(), key=lambda kv: -kv[1])
    return dg.MaterializeResult(metadata={
        "version": version, **{f"model/{k}": v for k, v in metrics.items()},
        **{f"baseline/{k}": v for k, v in baseline.items()}, **card["data"],
        "params": {name: params[name] for name in SEED_RANGES},
        "params_from": params_from + (f", overridden by the run config: {overrides}" if overrides else ""),
        "feature_importance": dg.MetadataValue.table(
            [dg.TableRecord({"feature": name, "average_gain": round(gain, 4)}) for name, gain in importance],
            schema=dg.TableSchema(columns=[dg.TableColumn("feature", "string"),
                                           dg.TableColumn("average_gain", "float")])),
        "feature_importance_plot": svg_image(reorder_model.importance_svg(card["importance_gain"], version),
                                             f"feature importance of {version}"),
        "replaces": card["replaces"] or "nothing (first version)",
    })


def beats_baseline(card: dict, quality: QualityResource) -> Comparison:
    return reorder_model.beats_baseline(card)  # the baseline is scored on the same rows: no tolerance


@dg.asset(
    key=PREDICTIONS_KEY, group_name=GROUP, deps=[MODEL_KEY, feature_key("candidates"), stream_key(orders.FEATURE_STREAM)],
    kinds={"cassandra"},
    description="`reco.purchase_predictions` in Cassandra: one partition per user, one row per product with the "
                "reorder probability, model version and scoring time (the seed's DynamoDB item, keyed the same "
                "way). A run without ranges rewrites the table from the newest model, only if it beats its baseline "
                "and is not worse than the serving one: the test users' candidates plus every feature record the "
                "stream delivered, and nothing else; that model then becomes the serving one. The "
                "`purchase_features` sensor's runs score just their batch's records with the serving model and "
                "upsert them.",
    metadata={"dagster/column_schema": cql_schema(predictions.PREDICTIONS)},
)
def purchase_predictions(context: dg.AssetExecutionContext, config: ServingRefresh, lake: LakeResource,
                         cassandra: CassandraResource, quality: QualityResource) -> dg.MaterializeResult:
    the_lake = lake.get_lake()
    models, keyspace = reorder_model.store(the_lake), cassandra.reco_keyspace
    with cassandra.session() as session:
        predictions.ensure_predictions_table(session, keyspace, cassandra.replication)
        if config.ranges:
            version = models.serving()
            if version is None:
                context.log.warning("no serving model yet: materialise the model and this table first")
                return dg.MaterializeResult(metadata={"mode": "incremental", "skipped": "no serving model"})
            scored = reorder_model.predict(reorder_model.load_booster(the_lake, version),
                                           reorder_model.stream_records(the_lake, config.offset_ranges()))
            report = predictions.write_predictions(session, keyspace, scored, version,
                                                   ledger=predictions.ledger_of(the_lake, keyspace))
            mode = "incremental"
        else:
            version = version_to_serve(models, predictions.qualified(keyspace), quality,
                                       (beats_baseline, not_worse_than_replaced))
            scored = reorder_model.predict(reorder_model.load_booster(the_lake, version),
                                           reorder_model.serving_rows(the_lake))
            report = predictions.replace_predictions(session, keyspace, scored, version, the_lake,
                                                     log=context.log.warning)
            models.promote(version)
            mode = "full rewrite"
    context.log.info(f"{predictions.TABLE}: {mode} from {version}: {report}")
    return write_result(mode, version, report, predictions.qualified(keyspace),
                        mean_probability=float(scored["probability"].mean()) if len(scored) else 0.0)

ASSETS = [raw_orders, cleaned_products, cleaned_orders, cleaned_prior_lines, cleaned_train_lines, *feature_assets,
          purchase_model_tuning, purchase_model, build_stream_asset(orders.FEATURE_STREAM, GROUP), purchase_predictions]
CHECKS = [
    model_check(MODEL_KEY, reorder_model.MODEL, beats_baseline, "auc_above_baseline",
                "The newest version's validation AUC is above that of up_order_rate as a score."),
    model_check(MODEL_KEY, reorder_model.MODEL),
]
