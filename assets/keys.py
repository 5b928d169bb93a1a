"""Every asset key of the graph, in one place: how a folder of the lake, a model or a Cassandra table is named in
Dagster. Keys follow the lake's zones (`raw/`, `staged/`, `cleaned/`, `views/`, `speed/`, `features/`,
`models/`) and `cassandra/<keyspace>/<table>` for the serving tables. The keyspace in a key is the default one:
keys stay the same when CASSANDRA_*_KEYSPACE points the tables elsewhere."""

import dagster as dg

from pipeline.events.catalogue import Category
from pipeline.ml.csv_tables import CsvTable
from pipeline.ml.purchase.reorder_model import FEATURE_ZONE
from pipeline.ml.streams import InteractionStream

RAW_EVENTS = dg.AssetKey(["raw", "events"])
STAGED_EVENTS = dg.AssetKey(["staged", "events"])
QUARANTINE_EVENTS = dg.AssetKey(["quarantine", "events"])


def cleaned_key(category: Category) -> dg.AssetKey:
    return dg.AssetKey(["cleaned", category.name])


def view_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["views", name])


def speed_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["speed", name])


def raw_source_key(source: str) -> dg.AssetKey:
    """The raw CSV files of a source: `raw/movielens`, `raw/mooc`, `raw/orders`."""
    return dg.AssetKey(["raw", source])


def cleaned_table_key(table: CsvTable) -> dg.AssetKey:
    return dg.AssetKey(["cleaned", *table.name.split("/")])


CLEANED_STUDENTS = dg.AssetKey(["cleaned", "students"])
RAW_STUDENT_RECORDS = raw_source_key("student_records")
CLEANED_STUDENT_RECORDS = dg.AssetKey(["cleaned", "student_records"])


def survey_question_key(name: str) -> dg.AssetKey:
    """The answer to an analysis question of the survey: `processed/survey/<name>`."""
    return dg.AssetKey(["processed", "survey", name])


def stream_key(stream: InteractionStream) -> dg.AssetKey:
    return dg.AssetKey(["raw", "streams", stream.topic])


def feature_key(name: str) -> dg.AssetKey:
    """A feature table of the purchase model: `features/purchase/<name>`."""
    return dg.AssetKey([*FEATURE_ZONE, name])


def model_key(model: str) -> dg.AssetKey:
    return dg.AssetKey(["models", model])


def cassandra_table_key(keyspace: str, table: str) -> dg.AssetKey:
    return dg.AssetKey(["cassandra", keyspace, table])
