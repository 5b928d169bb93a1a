"""Cleaned CSV tables (MovieLens, MOOC, orders): one asset per `CsvTable`, from one factory, with its checks."""

import dagster as dg

from assets.keys import cleaned_table_key
from assets.metadata import table_schema
from pipeline.ml.csv_tables import CsvTable, SourceProblem, clean_csv, read_cleaned
from resources import SPARK_POOL, LakeResource, QualityResource, SparkResource


def source_failure(problem: SourceProblem) -> dg.Failure:
    """A raw-source asset's failure for a source that cannot train: the problem's message, file, column and rule."""
    return dg.Failure(description=str(problem), metadata={"file": problem.file, "column": problem.column or "",
                                                          "rule": problem.rule})


def build_cleaned_table(table: CsvTable, source: str, raw: dg.AssetKey, group: str) -> dg.AssetsDefinition:
    """`cleaned/<table>` from `raw/<source>/<file>`: typed, deduplicated on its key, bad rows in
    `quarantine/<table>` with a reason; `table.references` checked against the referenced tables a source has."""
    key = cleaned_table_key(table)
    checks = [
        dg.AssetCheckSpec("reconciles", asset=key,
                          description="Rows read = cleaned + duplicates + quarantined (counted back from the lake)."),
        dg.AssetCheckSpec("quarantine_share_below_threshold", asset=key,
                          description="Quarantined / rows read is at most QUARANTINE_MAX_SHARE."),
    ]
    key_text = ", ".join(table.key)

    @dg.asset(
        key=key,
        deps=[raw, *[cleaned_table_key(t) for _, t in table.references]],
        group_name=group,
        kinds={"spark", "parquet"}, pool=SPARK_POOL,
        description=(
            f"{table.description} Cleaned from `raw/{source}/{table.file_name}`: every field typed, one row per "
            f"({key_text}), rows that fail a rule in `quarantine/{table.name}/` with a reason (wrong_field_count, "
            f"missing_value, bad_type, out_of_range, unknown_reference) and their line number."
            + (" Optional: a source without this file gives an empty table." if table.optional else "")
        ),
        metadata={"dagster/column_schema": table_schema(table.schema, dict(table.column_descriptions))},
        check_specs=checks,
    )
    def cleaned(context: dg.AssetExecutionContext, spark: SparkResource, lake: LakeResource, quality: QualityResource):
        session, the_lake = spark.get_session(), lake.get_lake()
        if table.optional and not the_lake.is_file(*table.raw_parts(source)):
            session.createDataFrame([], table.schema).write.mode("overwrite").parquet(
                the_lake.uri(*table.cleaned_parts))
            context.log.info(f"raw/{source}/{table.file_name} is absent from this source: empty table")
            yield dg.MaterializeResult(metadata={"dagster/row_count": 0, "absent_from_source": True})
            for spec in checks:
                yield dg.AssetCheckResult(check_name=spec.name, passed=True, metadata={"rows": 0})
            return
        # A reference to an optional table the source lacks is not checked (its table is empty).
        refs = {column: read_cleaned(session, the_lake, ref) for column, ref in table.references
                if the_lake.is_file(*ref.raw_parts(source))}
        result = clean_csv(session, the_lake, source, table, refs)
        context.log.info(f"{table.name}: {result.rows} rows -> {result.cleaned} cleaned, {result.duplicates} "
                         f"duplicates, quarantined {result.quarantined or 'none'}")
        quarantined = sum(result.quarantined.values())
        yield dg.MaterializeResult(metadata={
            "dagster/row_count": result.cleaned, "rows_read": result.rows, "duplicates": result.duplicates,
            "quarantined": quarantined, "quarantined_by_reason": result.quarantined,
            "path": the_lake.path(*table.cleaned_parts),
        })
        yield dg.AssetCheckResult(check_name="reconciles", passed=result.reconciles,
                                  metadata={"rows": result.rows, "cleaned": result.cleaned,
                                            "duplicates": result.duplicates, "quarantined": quarantined})
        threshold = quality.quarantine_max_share
        share = quarantined / result.rows if result.rows else 0.0
        yield dg.AssetCheckResult(check_name="quarantine_share_below_threshold", passed=share <= threshold,
                                  metadata={"share": round(share, 5), "threshold": threshold})

    return cleaned
