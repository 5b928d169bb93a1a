"""The assets every recommender has, built from its `Recommender` description (movies, courses):

- `raw/streams/<topic>`: Kafka offset ranges landed exactly once, parsed, bad records quarantined;
- `models/<model>`: an implicit ALS ranking model, evaluated against the popularity baseline, versioned;
- `cassandra/reco/<table>`: top-10 per user, fully rewritten from a model that passed its check, or
  re-scored for just the users of a Kafka batch (the sensor's runs).
"""

import dagster as dg

from assets.keys import cassandra_table_key, model_key, stream_key
from assets.metadata import cql_schema
from assets.model_serving import model_check, version_to_serve, write_result
from assets.streams import ServingRefresh, build_stream_asset
from pipeline.events.landing import OffsetRange
from pipeline.ml import als
from pipeline.ml.recommendations import Recommender, all_top_n, rescore, train_ranking
from pipeline.ml.streams import read_staged
from pipeline.serving import reco_tables
from resources import SPARK_POOL, CassandraResource, LakeResource, QualityResource, SparkResource


class RankingParams(dg.Config):
    """Overrides of the recommender's ALS parameters (unset: the defaults measured for it)."""

    rank: int | None = None
    max_iter: int | None = None
    reg_param: float | None = None
    alpha: float | None = None


def build_recommender(rec: Recommender, table: reco_tables.TopNTable, group: str,
                      training_deps: list[dg.AssetKey]) -> tuple[list, list]:
    """(assets, checks) of one recommender."""
    stream, model, serving = stream_key(rec.stream), model_key(rec.model), cassandra_table_key(table.keyspace, table.name)

    @dg.asset(
        key=model, group_name=group, deps=training_deps + [stream], kinds={"spark", "mllib"}, pool=SPARK_POOL,
        description=(
            f"Implicit-feedback ALS ranking model for {rec.name} (confidence 1 + alpha·rating), trained on every "
            f"interaction (the cleaned table plus the `{rec.stream.topic}` stream). Evaluated first on a split ("
            + ("random 80/20 by a hash of (user, item) with seed 42"
               if rec.evaluation == "held_out_20" else "leave-last-out: each user's latest enrolment held out")
            + ") in two ways, each beside a popularity baseline on the same users: full ranking (each user's top "
            "10 among every item not seen in training, against the held-out items: precision@10, NDCG@10, the "
            "primary metric, and MAP@10) and the seed's sampled protocol (the latest held-out item ranked among "
            f"100 sampled unseen items: `sampled_hit_at_10`, `sampled_ndcg_at_10`). Saved as `models/"
            f"{rec.model}/<version>/` (Spark model, popularity, card.json)."
        ),
    )
    def model_asset(context: dg.AssetExecutionContext, config: RankingParams, spark: SparkResource,
                    lake: LakeResource) -> dg.MaterializeResult:
        overrides = {k: v for k, v in config.model_dump().items() if v is not None}
        params = als.AlsParams(**{**rec.params.as_dict(), **overrides})
        card = train_ranking(spark.get_session(), lake.get_lake(), rec, params, context.log.info)
        return dg.MaterializeResult(metadata={
            "version": card["version"], **{f"model/{k}": v for k, v in card["metrics"].items()},
            **{f"baseline/{k}": v for k, v in card["baseline"].items()},
            "metrics": dg.MetadataValue.md(_metrics_table(card)), "params": card["params"],
            "data": card["data"], "replaces": card["replaces"] or "nothing (first version)",
        })

    @dg.asset(
        key=serving, group_name=group, deps=[model, stream], kinds={"cassandra"},
        description=(
            f"`{table.keyspace}.{table.name}` in Cassandra: one partition per user, the top 10 {rec.name} clustered "
            f"by rank, with score, labels and model version. A run without ranges rewrites every user from the "
            f"newest model, only if it passed `not_worse_than_replaced`, and removes users the model no longer "
            f"scores; that model then becomes the serving one. The stream sensor's runs re-score only the users "
            f"of their batch: their whole history folded into the serving model's item factors (no retraining); "
            f"users the model cannot place get the most popular items they have not seen."
        ),
        metadata={"dagster/column_schema": cql_schema(table.spec)},
    )
    def serving_asset(context: dg.AssetExecutionContext, config: ServingRefresh, spark: SparkResource,
                      lake: LakeResource, cassandra: CassandraResource, quality: QualityResource) -> dg.MaterializeResult:
        the_lake, store = lake.get_lake(), rec.store(lake.get_lake())
        target = table.in_keyspace(cassandra.reco_keyspace)
        with cassandra.session() as session:
            reco_tables.ensure_top_n_table(session, target, cassandra.replication)
            if config.ranges:
                version = store.serving()
                users = _batch_users(the_lake, rec, config.offset_ranges())
                if version is None:
                    context.log.warning("no serving model yet: materialise the model and this table first")
                    return dg.MaterializeResult(metadata={"mode": "incremental", "skipped": "no serving model"})
                rows = rescore(the_lake, rec, version, users)
                report = reco_tables.write_top_n(session, target, rows, version, ledger=reco_tables.user_ledger(
                    the_lake, target.qualified, target.user_column))
                mode = "incremental"
            else:
                version = version_to_serve(store, target.qualified, quality)
                rows = all_top_n(spark.get_session(), the_lake, rec, version)
                report = reco_tables.replace_top_n(session, target, rows, version, the_lake, log=context.log.warning)
                store.promote(version)
                mode = "full rewrite"
        context.log.info(f"{table.name}: {mode} from {version}: {report}")
        return write_result(mode, version, report, target.qualified)

    return [build_stream_asset(rec.stream, group), model_asset, serving_asset], [model_check(model, rec.model)]


def _metrics_table(card: dict) -> str:
    """Model beside popularity, full ranking and sampled, one row per metric."""
    rows = [f"| {'sampled' if name.startswith('sampled_') else 'full'} | {name.removeprefix('sampled_')} | "
            f"{value:.4f} | {card['baseline'][name]:.4f} |" for name, value in card["metrics"].items()]
    return "| ranking | metric | model | popularity |\n|---|---|---|---|\n" + "\n".join(rows)


def _batch_users(lake, rec: Recommender, ranges: list[OffsetRange]) -> list[int]:
    """Model ids of the users with a parsed record in the batch's ranges."""
    users = set(read_staged(lake, rec.stream, ranges, [rec.stream.user_field]).column(0).to_pylist())
    if rec.table_user is int:
        return sorted(users)
    return sorted(int(u.split("_", 1)[1]) for u in users)
