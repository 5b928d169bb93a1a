"""MovieLens: where the ratings come from, their tables, and the Kafka rating records.

The licence of MovieLens forbids redistribution, so nothing here ships data. `MOVIELENS_DIR` points at a
copy in the seed's layout (the Kaggle 20M release: `rating.csv`, `movie.csv`, `link.csv`; grouplens.org's
`ratings.csv`, `movies.csv`, `links.csv` are accepted too; only the ratings are needed). Without it, the real
100k release is read from `<DATA_CACHE_DIR>/ml-100k`, which `fetch_100k` (`make movielens`, part of `make setup`) fills with the files
bundled in the recbole 1.2.1 wheel (`recbole/dataset_example/ml-100k/`, recbole's tab-separated atomic
files): the wheel is downloaded and only those files are extracted; recbole is never installed or imported.
Either way the raw zone holds `raw/movielens/{rating,movie,link}.csv` in the seed's layout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from pipeline.lake import Lake
from pipeline.ml.csv_tables import Column, CsvTable
from pipeline.ml.raw_sources import check_source, remove_raw
from pipeline.ml.streams import InteractionStream

SOURCE = "movielens"
# The 100k release as recbole 1.2.1 bundles it: the wheel is only a carrier for these files.
RECBOLE_WHEEL = "recbole==1.2.1"
WHEEL_100K_PREFIX = "recbole/dataset_example/ml-100k/"
FOLDER_100K = "ml-100k"  # below the data cache directory
FILES_100K = ("ml-100k.inter", "ml-100k.item")  # the ratings and the movies; the others are extracted too
DEFAULT_CACHE_DIR = Path(".cache")  # DATA_CACHE_DIR's default, relative to the working directory

MOVIES = CsvTable(
    name="movielens/movies",
    file_name="movie.csv",
    columns=(Column("movieId", "int", aliases=("movie_id",)), Column("title", "string"),
             Column("genres", "string", required=False)),
    key=("movieId",),
    optional=True,  # titles and genres only label the recommendations
    description="MovieLens movies: title (with year) and pipe-separated genres.",
)
RATINGS = CsvTable(
    name="movielens/ratings",
    file_name="rating.csv",
    columns=(
        Column("userId", "int", aliases=("user_id",)),
        Column("movieId", "int", aliases=("movie_id",)),
        Column("rating", "double", between=(0.5, 5.0)),
        Column("timestamp", "timestamp"),
    ),
    key=("userId", "movieId"),
    latest_by="timestamp",  # a user who re-rates a movie means the newer rating
    references=(("movieId", MOVIES),),
    description="MovieLens ratings, one per (user, movie): the latest when a movie was rated twice.",
)
LINKS = CsvTable(
    name="movielens/links",
    file_name="link.csv",
    columns=(Column("movieId", "int", aliases=("movie_id",)), Column("imdbId", "int", required=False),
             Column("tmdbId", "int", required=False)),
    key=("movieId",),
    optional=True,
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
    recbole: bool = False  # recbole's atomic files (the 100k release), converted by copy_to_raw


def _has_100k(folder: Path) -> bool:
    return all((folder / name).is_file() for name in FILES_100K)


def extract_100k(wheel: Path, cache_dir: Path) -> Path:
    """Extract the ml-100k files of a recbole wheel (and nothing else) into `<cache_dir>/ml-100k/`; returns it.

    The files are written to a temporary folder beside the target, which is then renamed into place, so the
    target is either absent or complete (the check in `fetch_100k` and `locate`)."""
    cache_dir = Path(cache_dir)
    target = cache_dir / FOLDER_100K
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{FOLDER_100K}.tmp-", dir=cache_dir))
    try:
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.infolist():
                name = member.filename
                if member.is_dir() or not name.startswith(WHEEL_100K_PREFIX):
                    continue
                relative = name[len(WHEEL_100K_PREFIX):]
                if "/" in relative or relative in ("", ".", ".."):  # only the folder's own files, never a path out
                    continue
                with archive.open(member) as source, open(staging / relative, "wb") as out:
                    shutil.copyfileobj(source, out)
        if not _has_100k(staging):
            raise MovieLensNotFound(f"{wheel.name} holds no {WHEEL_100K_PREFIX}{{{','.join(FILES_100K)}}}")
        staging.chmod(0o755)  # mkdtemp makes it private
        if target.exists() and not _has_100k(target):
            shutil.rmtree(target)  # an incomplete folder (not one of ours: ours appear whole)
        try:
            os.rename(staging, target)
        except OSError:
            if not _has_100k(target):  # else another process put a complete copy there first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def fetch_100k(cache_dir: Path, progress: Callable[[str], None] | None = print) -> Path:
    """MovieLens 100k in `<cache_dir>/ml-100k/` (recbole's atomic files), downloaded once: does nothing when the
    folder is already there. Downloads the recbole 1.2.1 wheel with pip (its dependencies are not needed: nothing
    imports it) and extracts only the dataset's files. Returns the folder."""
    target = Path(cache_dir) / FOLDER_100K
    if _has_100k(target):
        return target
    if progress:
        progress(f"MovieLens 100k: downloading the {RECBOLE_WHEEL} wheel (about 2 MB) for its ml-100k files")
    with tempfile.TemporaryDirectory(prefix="recbole-wheel-") as download:
        result = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                                 "--only-binary", ":all:", "--dest", download, RECBOLE_WHEEL],
                                capture_output=True, text=True)
        wheels = sorted(Path(download).glob("recbole-*.whl"))
        if result.returncode != 0 or not wheels:
            raise MovieLensNotFound(f"could not download {RECBOLE_WHEEL} with pip (exit {result.returncode}): "
                                    f"{(result.stderr or result.stdout).strip()[-1000:]}")
        extract_100k(wheels[0], Path(cache_dir))
    if progress:
        progress(f"MovieLens 100k: {target}")
    return target


def locate(movielens_dir: str | None, cache_dir: Path | str = DEFAULT_CACHE_DIR) -> MovieLensSource:
    """The copy to read: `movielens_dir` if given (checked by `check_source`: it needs a rating file, the movie and
    link files are optional), else the 100k release in `<cache_dir>/ml-100k` (`fetch_100k`)."""
    if movielens_dir:
        folder = Path(movielens_dir)
        files = {}
        for name, grouplens_name in _GROUPLENS_NAMES.items():
            for candidate in (folder / name, folder / grouplens_name):
                if candidate.is_file():
                    files[name] = candidate
                    break
        check_source(folder, files, TABLES, "MOVIELENS_DIR")
        return MovieLensSource(f"MovieLens copy in {folder}", files)
    folder = Path(cache_dir) / FOLDER_100K
    if not _has_100k(folder):
        raise MovieLensNotFound(
            f"no MovieLens copy: {folder} does not hold the 100k release. Either set MOVIELENS_DIR to a folder "
            f"with rating.csv (the seed's layout), or download the 100k release there with "
            f"`make movielens` (make setup does it)"
        )
    return MovieLensSource(f"MovieLens 100k ({folder})",
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
    """Copy (or convert) the source files to `raw/movielens/` (removing the raw files of tables the source lacks);
    returns raw file name -> lake path."""
    frames = _recbole_frames(source) if source.recbole else {}
    remove_raw(lake, SOURCE, [t.file_name for t in TABLES if t.file_name not in source.files])
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
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:  # RecursionError: nested too deeply
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
