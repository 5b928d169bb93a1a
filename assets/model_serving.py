"""What every model-backed serving table shares: the blocking checks on a model's newest version, the choice of
the version a full rewrite may serve, and the metadata of a Cassandra write."""

from collections.abc import Callable, Sequence

import dagster as dg

from pipeline.ml.model_store import Comparison, ModelStore, compare
from pipeline.serving.reco_tables import WriteReport
from resources import LakeResource, QualityResource

Judge = Callable[[dict, QualityResource], Comparison]  # a verdict on a model card, under the run's tolerances


def not_worse_than_replaced(card: dict, quality: QualityResource) -> Comparison:
    return compare(card, quality.model_tolerance)


def model_check(key: dg.AssetKey, model: str, judge: Judge = not_worse_than_replaced,
                name: str = "not_worse_than_replaced",
                description: str = "The newest version's primary metric is not worse (within MODEL_TOLERANCE) "
                                   "than that of the version it replaces.") -> dg.AssetChecksDefinition:
    """A blocking check of the model's newest version: a failing model is never served."""

    @dg.asset_check(asset=key, name=name, blocking=True,
                    description=f"{description} Blocking: a failing model is never served.")
    def check(lake: LakeResource, quality: QualityResource) -> dg.AssetCheckResult:
        store = ModelStore(lake.get_lake(), model)
        latest = store.latest()
        if latest is None:
            return dg.AssetCheckResult(passed=False, description="no model version has been saved yet")
        verdict = judge(store.card(latest), quality)
        return dg.AssetCheckResult(passed=verdict.passed, description=verdict.text, metadata={"version": latest})

    return check


def version_to_serve(store: ModelStore, table: str, quality: QualityResource,
                     judges: Sequence[Judge] = (not_worse_than_replaced,)) -> str:
    """The newest version, if every judge passes it (the same verdicts as its checks); else the run fails."""
    version = store.latest()
    if version is None:
        raise dg.Failure(f"no version of {store.model} yet: materialise models/{store.model} first")
    card = store.card(version)
    for judge in judges:
        verdict = judge(card, quality)
        if not verdict.passed:
            raise dg.Failure(f"not rewriting {table} from {version}: {verdict.text}")
    return version


def write_result(mode: str, version: str, report: WriteReport, table: str, **extra) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={
        "mode": mode, "model_version": version, "dagster/row_count": report.rows, "users": report.users,
        "rows_per_second": round(report.rows_per_second), "users_removed": report.users_removed, "table": table,
        **extra,
    })
