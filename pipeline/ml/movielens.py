"""MovieLens: where the ratings come from, their tables, and the Kafka rating records.

The licence of MovieLens forbids redistribution, so nothing here ships data. `MOVIELENS_DIR` points at a
copy in the seed's layout (the Kaggle 20M release: `rating.csv`, `movie.csv`, `link.csv`; grouplens.org's
`ratings.csv`, `movies.csv`, `links.csv` are accepted too). Without it, the real 100k release is read from
where the `recbole` package installs it (`recbole/dataset_example/ml-100k`), converted to the same layout.
Either way the raw zone holds `raw/movielens/{rating,movie,link}.csv` in the seed's layout.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from pipeline.lake import Lake
from pipeline.ml.csv_tables import Column, CsvTable
from pipeline.ml.streams import InteractionStream

SOURCE = "movielens"
RECBOLE_100K = ("dataset_example", "ml-100k")

RATINGS = CsvTable(
    name="movielens/ratings",
    file_name="rating.csv",
    columns=(
        Column("userId", "int"),
        Column("movieId", "int"),
        Column("rating", "double", between=(0.5, 5.0)),
        Column("timestamp", "timestamp"),
    ),
    key=("userId", "movieId"),
    latest_by="timestamp",  # a user who re-rates a movie means the newer rating
    description="MovieLens ratings, one per (user, movie): the latest when a movie was rated twice.",
)
MOVIES = CsvTable(
    name="movielens/movies",
    file_name="movie.csv",
    columns=(Column("movieId", "int"), Column("title", "string"), Column("genres", "string", required=False)),
    key=("movieId",),
    description="MovieLens movies: title (with year) and pipe-separated genres.",
)
LINKS = CsvTable(
    name="movielens/links",
    file_name="link.csv",
    columns=(Column("movieId", "int"), Column("imdbId", "int", required=False),
             Column("tmdbId", "int", required=False)),
    key=("movieId",),
    description="MovieLens links to IMDb and TMDb ids (absent from the 100k release).",
)
TABLES = (RATINGS, MOVIES, LINKS)
_GROUPLENS_NAMES = {"rating.csv": "ratings.csv", "movie.csv": "movies.csv", "link.csv": "links.csv"}


class MovieLensNotFound(RuntimeError):
    pass


@dataclass(frozen=True)
class MovieLensSource:
    description: str
    files: dict[str, Path]  # raw file name (seed layout) -> where it is; a "recbole" source needs converting
    recbole: bool = False


def locate(movielens_dir: str | None) -> MovieLensSource:
    """The copy to read: `movielens_dir` if given, else recbole's bundled 100k release."""
    if movielens_dir:
        folder = Path(movielens_dir)
        files = {}
        for name, grouplens_name in _GROUPLENS_NAMES.items():
            for candidate in (folder / name, folder / grouplens_name):
                if candidate.is_file():
                    files[name] = candidate
                    break
        missing = [n for n in ("rating.csv", "movie.csv") if n not in files]
        if missing:
            raise MovieLensNotFound(f"MOVIELENS_DIR={folder} has no {' or '.join(missing)} "
                                    f"(expected the seed's layout: rating.csv, movie.csv, optional link.csv)")
        return MovieLensSource(f"MovieLens copy in {folder}", files)
    spec = importlib.util.find_spec("recbole")  # locates the package without importing it (and torch)
    folder = Path(next(iter(spec.submodule_search_locations)), *RECBOLE_100K) if spec else None
    if folder is None or not (folder / "ml-100k.inter").is_file():
        raise MovieLensNotFound(
            "no MovieLens copy: set MOVIELENS_DIR to a folder with rating.csv and movie.csv, or install the 100k "
            "release bundled with recbole: pip install --no-deps recbole==1.2.1 (make setup does)"
        )
    return MovieLensSource(f"MovieLens 100k bundled with recbole ({folder})",
                           {"rating.csv": folder / "ml-100k.inter", "movie.csv": folder / "ml-100k.item"},
                           recbole=True)


def _recbole_frames(source: MovieLensSource) -> dict[str, pd.DataFrame]:
    """recbole's atomic files (tab-separated, typed headers) in the seed's CSV layout."""
    inter = pd.read_csv(source.files["rating.csv"], sep="\t")
    inter.columns = ["userId", "movieId", "rating", "timestamp"]
    inter["timestamp"] = pd.to_datetime(inter["timestamp"], unit="s").dt.strftime("%Y-%m-%d %H:%M:%S")
    item = pd.read_csv(source.files["movie.csv"], sep="\t", quoting=3, dtype=str, keep_default_na=False)
    item.columns = ["movieId", "title", "year", "genres"]
    year = item["year"].where(item["year"] == "", " (" + item["year"] + ")")
    movies = pd.DataFrame({"movieId": item["movieId"], "title": item["title"] + year,
                           "genres": item["genres"].str.split().str.join("|")})
    return {"rating.csv": inter, "movie.csv": movies}


def copy_to_raw(lake: Lake, source: MovieLensSource) -> dict[str, str]:
    """Copy (or convert) the source files to `raw/movielens/`; returns raw file name -> lake path."""
    frames = _recbole_frames(source) if source.recbole else {}
    return {name: lake.write_file(frames[name].to_csv(index=False).encode() if name in frames else path,
                                  "raw", SOURCE, name)
            for name, path in source.files.items()}


# Kafka topic movielens_ratings: JSON {userId: int, movieId: int, rating: float, timestamp: int epoch seconds}.
RATING_TOPIC = "movielens_ratings"
RATING_RECORD_SCHEMA = pa.schema([("userId", pa.int32()), ("movieId", pa.int32()), ("rating", pa.float64()),
                                  ("timestamp", pa.timestamp("s", tz="UTC"))])


def parse_rating(key: bytes | None, value: bytes | None, kafka_ms: int | None) -> tuple[dict | None, str | None, str]:
    """(record, None, "") for a good rating message, else (None, reason, detail). Never raises."""
    if not value:
        return None, "empty_message", ""
    try:
        data = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, "invalid_json", str(exc)[:200]
    if not isinstance(data, dict):
        return None, "not_an_object", type(data).__name__
    record = {}
    for name, kind in (("userId", int), ("movieId", int), ("rating", float), ("timestamp", int)):
        raw = data.get(name)
        if raw is None:
            return None, "missing_field", name
        # bool is an int in Python; "5" is not a number here: the producer sends JSON numbers.
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or (kind is int and raw != int(raw)):
            return None, "wrong_type", f"{name}={raw!r}"
        record[name] = kind(raw)
    if not 0.5 <= record["rating"] <= 5.0:
        return None, "invalid_value", f"rating={record['rating']}"
    if record["userId"] <= 0 or record["movieId"] <= 0:
        return None, "invalid_value", f"userId={record['userId']} movieId={record['movieId']}"
    return record, None, ""


RATING_STREAM = InteractionStream(RATING_TOPIC, parse_rating, RATING_RECORD_SCHEMA, user_field="userId")
