"""The raw zone of a CSV source: a real copy when one is configured, otherwise the seeded generator's files.

A real copy is checked before it is copied (`check_source`: pandas on the headers and a sample of rows), so a
copy that cannot train stops with one `SourceProblem` naming the file, the column and the rule, instead of
passing the cleaning with every row quarantined and failing later inside Spark.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import pandas as pd

from pipeline.lake import Lake
from pipeline.ml.csv_tables import CsvTable, SourceProblem, column_positions, valid_values

Report = TypeVar("Report")
SAMPLE_ROWS = 1000  # the first rows of each file, whose values are checked


class SourceFilesMissing(FileNotFoundError):
    pass


def copy_or_generate(lake: Lake, source: str, file_names: Sequence[str], copy_from: str | None,
                     generate: Callable[[str], Report], optional: Collection[str] = ()) -> Report | None:
    """`raw/<source>/<file>` for each of `file_names`: copied from the folder `copy_from` when it is set (None is
    returned), else written by `generate(folder)` into a temporary folder (its report is returned). A copy may
    lack the `optional` files: their raw objects are removed, so no file of an earlier source stays behind."""
    if copy_from:
        folder = Path(copy_from)
        missing = [name for name in file_names if not (folder / name).is_file()]
        if set(missing) - set(optional):
            raise SourceFilesMissing(f"{folder} lacks {', '.join(missing)}: a {source} copy needs "
                                     f"{', '.join(n for n in file_names if n not in optional)}")
        for name in file_names:
            if name not in missing:
                lake.write_file(folder / name, "raw", source, name)
        remove_raw(lake, source, missing)
        return None
    with tempfile.TemporaryDirectory() as tmp:
        report = generate(tmp)
        for name in file_names:
            lake.write_file(Path(tmp) / name, "raw", source, name)
    return report


def remove_raw(lake: Lake, source: str, file_names: Collection[str]) -> None:
    """Remove `raw/<source>/<file>` of files a source lacks, left by an earlier source."""
    for name in file_names:
        if lake.is_file("raw", source, name):
            lake.filesystem.delete_file(lake.path("raw", source, name))


def land_csv_source(lake: Lake, source: str, tables: Sequence[CsvTable], copy_from: str | None, setting: str,
                    generate: Callable[[str], Report]) -> Report | None:
    """`copy_or_generate` for the files of `tables`, a copy checked first by `check_source` (`setting` names
    the variable that points at it); the optional tables' files may be missing."""
    if copy_from:
        folder = Path(copy_from)
        present = {t.file_name: folder / t.file_name for t in tables if (folder / t.file_name).is_file()}
        check_source(folder, present, tables, setting)
    return copy_or_generate(lake, source, [t.file_name for t in tables], copy_from, generate,
                            optional=[t.file_name for t in tables if t.optional])


def _read_text(path: Path, table: CsvTable, rows: int | None, only: str | None = None) -> pd.DataFrame:
    """The table's columns that the file has (all, or `only`), as trimmed text ('' when empty), by source name;
    the header is matched as the cleaning matches it. `rows=None` reads every row."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as file:
        header = next(csv.reader(file), [])
    positions = column_positions(table, header, str(path))
    wanted = {source: at for source, at in positions.items() if at is not None and only in (None, source)}
    try:
        frame = pd.read_csv(path, header=None, skiprows=1, usecols=sorted(wanted.values()), dtype=str,
                            keep_default_na=False, nrows=rows, encoding="utf-8-sig", encoding_errors="replace",
                            on_bad_lines="skip")  # a row with too many fields is quarantined, not a reason to stop
    except pd.errors.EmptyDataError:  # a header alone
        frame = pd.DataFrame({at: pd.Series(dtype=str) for at in wanted.values()})
    return pd.DataFrame({source: frame[at].fillna("").str.strip() for source, at in wanted.items()})


def _example(text: pd.Series, index) -> str:
    """A value of a sample with its data line (1-based, header excluded), as the quarantine numbers lines."""
    return f"data line {index + 1}: {text[index][:60]!r}"


def check_source(folder: Path, files: Mapping[str, Path], tables: Sequence[CsvTable], setting: str) -> None:
    """Raise SourceProblem for the first reason the copy in `folder` cannot train: a required file is missing;
    a header lacks a required column; a required table has no rows; a column has no valid value in the first
    SAMPLE_ROWS rows; no row has a column's needed value; or none of the sampled values of a reference is in the
    referenced file. `files` maps each table's raw file name to where it is (the tables' files it has)."""
    required = [t.file_name for t in tables if not t.optional]
    optional = [t.file_name for t in tables if t.optional]
    layout = f"{setting} needs {', '.join(required)}" + (f" ({', '.join(optional)} optional)" if optional else "")
    for table in tables:
        if table.file_name not in files and not table.optional:
            raise SourceProblem(str(folder / table.file_name), None, "the file is missing", layout)
    samples = {t.name: _read_text(files[t.file_name], t, SAMPLE_ROWS) for t in tables if t.file_name in files}
    keys: dict[str, set] = {}  # referenced table -> the valid values of its first column, every row
    for table in tables:
        if table.name not in samples:
            continue
        path, sample = str(files[table.file_name]), samples[table.name]
        if sample.empty and not table.optional:
            raise SourceProblem(path, None, "the file has no data rows", f"{layout}, each with rows")
        typed = {}
        for c in table.columns:
            if c.source not in sample:
                continue
            text = sample[c.source]
            given = text[text != ""]
            if given.empty:
                if c.required and not sample.empty:
                    raise SourceProblem(path, c.source, f"the first {len(sample)} rows have no value",
                                        f"a value in every row: {c.rule}")
                continue
            typed[c.out] = valid_values(c, given)
            if typed[c.out].isna().all():
                raise SourceProblem(path, c.source, f"none of the first {len(given)} values keeps the rule "
                                    f"({_example(given, given.index[0])})", c.rule)
            if c.needed_value:
                every = _read_text(files[table.file_name], table, None, only=c.source)[c.source]
                if not (every == c.needed_value).any():
                    raise SourceProblem(path, c.source, f"no row has the value {c.needed_value!r} "
                                        f"(values: {', '.join(sorted(every.unique())[:10])})",
                                        f"some rows are {c.needed_value!r}")
        for column, ref in table.references:
            if ref.file_name not in files or column not in typed:
                continue  # an optional file the copy lacks: nothing to check against
            key = ref.columns[0]
            if ref.name not in keys:
                text = _read_text(files[ref.file_name], ref, None, only=key.source)[key.source]
                keys[ref.name] = set(valid_values(key, text[text != ""]).dropna())
            values = typed[column].dropna()
            if not values.isin(keys[ref.name]).any():
                source = next(c.source for c in table.columns if c.out == column)
                raise SourceProblem(path, source, f"none of the first {len(values)} values is in column "
                                    f"{key.source} of {ref.file_name} ({_example(sample[source], values.index[0])})",
                                    f"each {source} names a row of {ref.file_name} (its {key.source})")
