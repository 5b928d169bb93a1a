"""The analytic views as assets `views/<name>`, generated from the registry (pipeline/views/registry.py).

One asset per view in the UI (grouped as the original batch jobs: auth, assessment, video, course,
profile_notification, serving), computed by two multi-assets: `learning_views_daily`, the date-keyed views, daily
partitioned like the cleaned tables and reading only their days, and `learning_views_all_time`, the others,
recomputed when a cleaned table they read changes: rolled up from per-day partials (reading only new or
re-cleaned days' events). A step reads each cleaned table once for all the views it computes and runs their
queries together; any subset of them can be materialised (the UI, a sensor's selection, the automation).
"""

from collections.abc import Iterator

import dagster as dg

from assets.keys import cleaned_key, view_key
from assets.metadata import row_counts, table_schema
from assets.partitions import AFTER_INPUTS_CHANGE, DAILY
from pipeline.events.catalogue import CATEGORY_BY_NAME
from pipeline.views.materialize import ViewOutput, materialize_views
from pipeline.views.registry import View, all_views, by_kind
from resources import SPARK_POOL, LakeResource, SparkResource

VIEW_CHECKS = {
    "keys_unique": "No two rows share the view's key columns.",
    "keys_not_null": "No key column is null.",
    "rates_within_0_100": "Every percentage column lies within 0..100 (null allowed where there is no base).",
    "non_empty_when_inputs_are": (
        "The view has rows whenever its input tables have rows. A warning, not an error: on a thin slice (a "
        "day's first minutes) a view of one event type, or a join of two, can rightly be empty."
    ),
}
WARNING_CHECKS = {"non_empty_when_inputs_are"}
# A view whose rows are not identified by its keys must not reach anything downstream (the serving tables would
# keep one of two rows at random): a failure stops the run's downstream steps and the automation of its readers.
BLOCKING_CHECKS = {"keys_unique", "keys_not_null"}


def _description(view: View) -> str:
    text = f"{view.description}\n\nKeys: {', '.join(view.keys)}. Reads: {', '.join(f'cleaned/{c}' for c in view.categories)}."
    if view.rollup:
        text += (f"\n\nRolled up from per-day partials (partials/{view.name}/): a run reads the events of the days "
                 "cleaned since the last one only.")
    if view.deviation:
        text += f"\n\nDeviation from the original system: {view.deviation}"
    return text


def _declared_column_schema(view: View) -> dg.TableSchema:
    """The columns known before any run: names and descriptions. The types come from Spark with each
    materialization; an empty type is one the UI leaves blank."""
    return dg.TableSchema(columns=[dg.TableColumn(name, type="", description=text)
                                   for name, text in view.column_descriptions().items()])


def _spec(view: View) -> dg.AssetSpec:
    return dg.AssetSpec(
        view_key(view.name),
        deps=[cleaned_key(CATEGORY_BY_NAME[c]) for c in view.categories],
        group_name=f"views_{view.group}",
        automation_condition=None if view.date_keyed else AFTER_INPUTS_CHANGE,
        kinds={"spark", "parquet"},
        description=_description(view),
        tags={"pipeline/view_group": view.group},
        metadata={"dagster/column_schema": _declared_column_schema(view)},
        skippable=True,
    )


def build_views_asset(views: list[View]) -> dg.AssetsDefinition:
    """The multi-asset of some views, all date-keyed or all all-time."""
    date_keyed = {view.date_keyed for view in views}
    if len(date_keyed) != 1:
        raise ValueError("one multi-asset computes date-keyed views or all-time views, not both")
    daily = date_keyed.pop()
    by_key = {view_key(view.name): view for view in views}

    @dg.multi_asset(
        name=f"learning_views_{'daily' if daily else 'all_time'}",
        specs=[_spec(view) for view in views],
        check_specs=[dg.AssetCheckSpec(name, asset=view_key(view.name), blocking=name in BLOCKING_CHECKS,
                                       description=text + (" Blocking." if name in BLOCKING_CHECKS else ""))
                     for view in views for name, text in VIEW_CHECKS.items()],
        partitions_def=DAILY if daily else None,
        backfill_policy=dg.BackfillPolicy.single_run() if daily else None,
        can_subset=True,
        pool=SPARK_POOL,
    )
    def _views(context: dg.AssetExecutionContext, spark: SparkResource, lake: LakeResource):
        selected = [view for key, view in by_key.items() if key in context.selected_asset_keys]
        days = context.partition_keys if daily else None
        outputs = materialize_views(spark.get_session(), lake.get_lake(), selected, days)
        checks = context.selected_asset_check_keys
        for view in selected:
            yield from _results(view, days or [None], outputs[view.name], checks)

    return _views


def _results(view: View, days: list[str | None], outputs: list[ViewOutput], checks) -> Iterator:
    key = view_key(view.name)
    yield dg.MaterializeResult(
        asset_key=key,
        metadata={
            **row_counts({day: o.rows for day, o in zip(days, outputs)}),
            "dagster/column_schema": table_schema(outputs[0].schema, view.column_descriptions()),
            "input_rows": sum(o.input_rows for o in outputs),
            "compute_seconds": round(max(o.seconds for o in outputs), 2),
            "path": outputs[0].path if len(outputs) == 1 else f"views/{view.name}/",
            "preview": dg.MetadataValue.md(outputs[-1].preview.to_markdown(index=False)),
            **({"days_recomputed": outputs[0].days_recomputed} if outputs[0].days_recomputed is not None else {}),
        },
    )
    label = {o.path: o for o in outputs}
    results = {
        "keys_unique": {p: o.duplicate_keys for p, o in label.items() if o.duplicate_keys},
        "keys_not_null": {p: o.null_keys for p, o in label.items() if o.null_keys},
        "rates_within_0_100": {p: o.rates_out_of_range for p, o in label.items() if o.rates_out_of_range},
        "non_empty_when_inputs_are": {p: o.input_rows for p, o in label.items() if o.input_rows and not o.rows},
    }
    for name, failures in results.items():
        if dg.AssetCheckKey(key, name) not in checks:
            continue
        severity = dg.AssetCheckSeverity.WARN if name in WARNING_CHECKS else dg.AssetCheckSeverity.ERROR
        yield dg.AssetCheckResult(asset_key=key, check_name=name, passed=not failures, severity=severity,
                                  metadata={"failures": failures})


VIEWS = all_views()
view_assets = [build_views_asset(views) for views in by_kind(VIEWS)]
DATE_KEYED_VIEW_KEYS = [view_key(v.name) for v in VIEWS if v.date_keyed]
ALL_TIME_VIEW_KEYS = [view_key(v.name) for v in VIEWS if not v.date_keyed]
