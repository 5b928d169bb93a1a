"""The survey analysis on the lake: the student records (a real copy or the seeded generator) landed raw and
cleaned, each analysis question answered from the records and the cleaned submissions, and the answers kept as
`processed/survey/<question>.json` (the shape of `pipeline.survey.results`)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.lake import Lake
from pipeline.ml.raw_sources import copy_or_generate
from pipeline.survey.questions import Question
from pipeline.survey.records import generate_student_records, read_student_records, write_student_records
from pipeline.survey.results import QuestionResult
from pipeline.survey.stream import CLEANED_PARTS, RECORD_SCHEMA

RECORDS_SOURCE = "student_records"
RECORDS_FILE = "students.csv"
RECORDS_SEED = 14  # the generator's seed: the same records on every run, so answers change only with the survey
CLEANED_RECORDS_PARTS = ("cleaned", "student_records", "records.parquet")
QUARANTINED_RECORDS_PARTS = ("quarantine", "student_records", "rows.parquet")
PROCESSED_ZONE = ("processed", "survey")


@dataclass(frozen=True)
class RecordsReport:
    rows: int
    quarantined: int
    reasons: dict[str, int]  # quarantine reason → rows


def land_student_records(lake: Lake, students_dir: str | None, count: int) -> str:
    """`raw/student_records/students.csv`, copied from `students_dir` or generated; returns where it came from."""
    copy_or_generate(lake, RECORDS_SOURCE, [RECORDS_FILE], students_dir,
                     lambda folder: write_student_records(generate_student_records(count, RECORDS_SEED),
                                                          f"{folder}/{RECORDS_FILE}"))
    return students_dir or f"the seeded generator ({count:,} students)"


def clean_student_records(lake: Lake) -> RecordsReport:
    """The raw records cleaned into `cleaned/student_records`, the rows that cannot be used into quarantine with
    their reason (rewritten on every run, so a re-run leaves the same files)."""
    with lake.filesystem.open_input_file(lake.path("raw", RECORDS_SOURCE, RECORDS_FILE)) as raw:
        records, quarantined = read_student_records(io.BytesIO(raw.read()))
    lake.write_parquet(pa.Table.from_pandas(records, preserve_index=False), *CLEANED_RECORDS_PARTS)
    lake.write_parquet(pa.Table.from_pandas(quarantined.astype(str), preserve_index=False),
                       *QUARANTINED_RECORDS_PARTS)
    return RecordsReport(len(records), len(quarantined), quarantined["reason"].value_counts().to_dict()
                         if len(quarantined) else {})


def read_inputs(lake: Lake) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cleaned student records, cleaned survey submissions; empty before the first submission lands)."""
    records = pq.read_table(lake.path(*CLEANED_RECORDS_PARTS), filesystem=lake.filesystem).to_pandas()
    if lake.is_file(*CLEANED_PARTS):
        submissions = pq.read_table(lake.path(*CLEANED_PARTS), filesystem=lake.filesystem).to_pandas()
    else:
        submissions = RECORD_SCHEMA.empty_table().to_pandas()
    return records, submissions


def answer(lake: Lake, question: Question) -> QuestionResult:
    """The question answered from the lake's inputs and written to `processed/survey/<name>.json`."""
    result = question.compute(*read_inputs(lake))
    lake.write_file(json.dumps(result.as_dict(), indent=1).encode(), *PROCESSED_ZONE, f"{question.name}.json")
    return result


def read_answers(lake: Lake, questions: list[Question]) -> list[QuestionResult]:
    answers = []
    for question in questions:
        with lake.filesystem.open_input_file(lake.path(*PROCESSED_ZONE, f"{question.name}.json")) as stored:
            answers.append(QuestionResult.from_dict(json.loads(stored.read())))
    return answers
