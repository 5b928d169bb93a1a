"""Where MovieLens is read from: MOVIELENS_DIR, or the 100k release extracted from the recbole wheel into the data
cache. The wheels here are tiny fakes built in the test: no network, no recbole."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

from pipeline.lake import Lake
from pipeline.ml import movielens
from pipeline.ml.movielens import MovieLensNotFound, extract_100k, fetch_100k, locate

INTER = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t881250949\n186\t302\t3\t891717742\n"
ITEM = ("item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        "242\tKolya\t1996\tComedy\n302\tL.A. Confidential\t1997\tCrime Film-Noir Mystery Thriller\n")
PREFIX = "recbole/dataset_example/ml-100k/"
DATASET = {"ml-100k.inter": INTER, "ml-100k.item": ITEM, "ml-100k.user": "user_id:token\n196\n"}


def fake_wheel(folder: Path, members: dict[str, str]) -> Path:
    wheel = folder / "recbole-1.2.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return wheel


def test_without_movielens_dir_or_a_download_the_error_names_both_ways_out(tmp_path):
    with pytest.raises(MovieLensNotFound) as raised:
        locate(None, tmp_path)
    message = str(raised.value)
    assert "MOVIELENS_DIR" in message and "make movielens" in message
    assert str(tmp_path / "ml-100k") in message


def test_extraction_takes_only_the_ml_100k_files_of_the_wheel(tmp_path):
    wheel = fake_wheel(tmp_path, {
        **{PREFIX + name: text for name, text in DATASET.items()},
        "recbole/__init__.py": "import torch\n",
        "recbole/properties/dataset/ml-100k.yaml": "not the data\n",
        "recbole/dataset_example/ml-1m/ml-1m.inter": "another data set\n",
        PREFIX + "nested/ml-100k.inter": "not a file of the folder itself\n",
        PREFIX + "../../../outside.txt": "a path out of the folder\n",
        "recbole-1.2.1.dist-info/METADATA": "Name: recbole\n",
    })
    cache = tmp_path / "cache"

    folder = extract_100k(wheel, cache)

    assert folder == cache / "ml-100k"
    assert {p.name: p.read_text() for p in folder.iterdir()} == DATASET
    assert [p.name for p in cache.iterdir()] == ["ml-100k"]  # no staging folder left behind
    assert not (tmp_path / "outside.txt").exists()


def test_the_extracted_release_is_located_and_converted_to_the_seeds_layout(tmp_path):
    cache = tmp_path / "cache"
    extract_100k(fake_wheel(tmp_path, {PREFIX + name: text for name, text in DATASET.items()}), cache)

    source = locate(None, cache)
    written = movielens.copy_to_raw(Lake(root=str(tmp_path / "lake")), source)

    assert set(written) == {"rating.csv", "movie.csv"}
    ratings = pd.read_csv(written["rating.csv"])
    assert ratings.to_dict("records") == [
        {"userId": 196, "movieId": 242, "rating": 3, "timestamp": "1997-12-04 15:55:49"},
        {"userId": 186, "movieId": 302, "rating": 3, "timestamp": "1998-04-04 19:22:22"},
    ]
    movies = pd.read_csv(written["movie.csv"])
    assert movies.to_dict("records") == [
        {"movieId": 242, "title": "Kolya (1996)", "genres": "Comedy"},
        {"movieId": 302, "title": "L.A. Confidential (1997)", "genres": "Crime|Film-Noir|Mystery|Thriller"},
    ]


def test_a_wheel_without_the_data_set_leaves_no_folder(tmp_path):
    wheel = fake_wheel(tmp_path, {"recbole/__init__.py": "", PREFIX + "ml-100k.user": "user_id:token\n"})
    with pytest.raises(MovieLensNotFound, match="ml-100k.inter"):
        extract_100k(wheel, tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []
    with pytest.raises(MovieLensNotFound):
        locate(None, tmp_path / "cache")


def test_an_incomplete_folder_is_replaced_and_a_complete_one_is_not_downloaded_again(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    (cache / "ml-100k").mkdir(parents=True)
    (cache / "ml-100k" / "ml-100k.inter").write_text("half")  # no .item: not a release
    extract_100k(fake_wheel(tmp_path, {PREFIX + name: text for name, text in DATASET.items()}), cache)
    assert (cache / "ml-100k" / "ml-100k.inter").read_text() == INTER

    def no_download(*args, **kwargs):
        raise AssertionError("fetch_100k downloaded although the release is there")

    monkeypatch.setattr(movielens.subprocess, "run", no_download)
    messages = []
    assert fetch_100k(cache, progress=messages.append) == cache / "ml-100k"
    assert messages == []
