"""MOVIELENS_DIR, MOOC_DIR and ORDERS_DIR on hand-written copies: every documented layout (and its header, id and
timestamp variants) lands, cleans and trains; every broken copy stops the raw asset with one message naming the
file, the column and the rule, before Spark reads anything.

The layouts are those of the shared spec's seed facts: MovieLens 20M from Kaggle (`rating.csv` with text times)
and from grouplens (`ratings.csv` with epoch seconds); the MOOC files of BIG_MOOC (`U_`/`C_` ids, the header
` mapped_id`, a `course.csv` with only id, name, about); Instacart's order files (with its extra aisle and
department files). The expected rows are written out by hand below from the fixture files.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import dagster as dg
import pytest

from assets import course_recs, movie_recs, purchase
from pipeline.lake import Lake
from pipeline.ml import als, mooc, movielens
from pipeline.ml.csv_tables import read_cleaned
from pipeline.ml.purchase import features, orders
from pipeline.ml.recommendations import COLS, COURSES, MOVIES, interactions
from pipeline.settings import get_settings
from resources import build_resources

MOVIELENS_ASSETS = [movie_recs.raw_movielens, movie_recs.cleaned_movies, movie_recs.cleaned_links,
                    movie_recs.cleaned_ratings]
MOOC_ASSETS = [course_recs.raw_mooc, course_recs.cleaned_users, course_recs.cleaned_courses,
               course_recs.cleaned_course_map, course_recs.cleaned_enrolments]
ORDERS_ASSETS = [purchase.raw_orders, purchase.cleaned_products, purchase.cleaned_orders,
                 purchase.cleaned_prior_lines, purchase.cleaned_train_lines]


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def materialize(monkeypatch, setting: str, folder: Path, assets: list) -> dg.ExecuteInProcessResult:
    monkeypatch.setenv(setting, str(folder))
    with dg.instance_for_test() as instance:
        return dg.materialize(assets, resources=build_resources(get_settings()), instance=instance,
                              raise_on_error=False)


def assert_one_clear_message(monkeypatch, setting: str, folder: Path, raw_asset, file: str, column: str | None,
                             words: list[str]) -> None:
    """The raw asset fails (only it runs: the message must come before Spark) naming `file` in `folder` and
    `column` (none: the file as a whole), with each of `words` in its message."""
    result = materialize(monkeypatch, setting, folder, [raw_asset])
    assert not result.success
    [event] = result.get_step_failure_events()
    failed = event.step_failure_data.user_failure_data
    assert failed.metadata["file"].value == str(folder / file)
    assert failed.metadata["column"].value == (column or "")
    for word in words:
        assert word in failed.description


def trains(spark, lake: Lake, rec) -> set[tuple]:
    """The recommender's (user, item) pairs, after fitting its ALS on them (what failed with 'No ratings')."""
    pairs = interactions(spark, lake, rec)
    model = als.fit(pairs, rec.params, COLS)
    assert model.userFactors.count() == pairs.select("user").distinct().count() > 0
    return {(r["user"], r["item"]) for r in pairs.collect()}


# ---- MOVIELENS_DIR -----------------------------------------------------------------------------------------------

KAGGLE_20M = {  # the seed's layout: text times, a tag file nobody reads
    "rating.csv": "userId,movieId,rating,timestamp\n1,2,3.5,2005-04-02 23:53:47\n1,29,3.5,2005-04-02 23:31:16\n"
                  "2,2,4.0,2000-11-21 15:36:54\n",
    "movie.csv": 'movieId,title,genres\n2,Jumanji (1995),Adventure|Children\n29,"City of Lost Children, The '
                 '(1995)",Adventure|Drama\n',
    "link.csv": "movieId,imdbId,tmdbId\n2,0113497,8844\n29,0112682,902\n",
    "tag.csv": "userId,movieId,tag,timestamp\n1,2,fun,2005-04-02 23:53:47\n",
}
GROUPLENS = {  # grouplens' names, epoch seconds, no links
    "ratings.csv": "userId,movieId,rating,timestamp\n1,2,3.5,1112486027\n2,2,4.0,974820000\n2,29,5.0,974820001\n",
    "movies.csv": "movieId,title,genres\n2,Jumanji (1995),Adventure\n29,City (1995),Drama\n",
}
RATINGS_ONLY = {  # no movie file; snake-case header in another order and case, ids written as floats, dates alone
    "ratings.csv": "Rating,User_Id,movie_id,Timestamp\n4,7.0,10.0,2021-03-04\n2.5,7,11,2021-03-05\n"
                   "5,8,10,2021-03-06\n",
}


@pytest.mark.parametrize(("files", "expected"), [
    (KAGGLE_20M, {(1, 2), (1, 29), (2, 2)}),
    (GROUPLENS, {(1, 2), (2, 2), (2, 29)}),
    (RATINGS_ONLY, {(7, 10), (7, 11), (8, 10)}),
], ids=["kaggle-20m", "grouplens", "ratings-only"])
def test_each_movielens_layout_trains(spark, lake, tmp_path, monkeypatch, files, expected):
    result = materialize(monkeypatch, "MOVIELENS_DIR", write(tmp_path / "movielens", files), MOVIELENS_ASSETS)
    assert result.success
    assert trains(spark, lake, MOVIES) == expected
    movies = {r["movieId"] for r in read_cleaned(spark, lake, movielens.MOVIES).collect()}
    assert movies == ({2, 29} if "movie.csv" in files or "movies.csv" in files else set())


def test_a_movielens_copy_without_movies_leaves_no_earlier_movie_file_behind(spark, lake, tmp_path, monkeypatch):
    assert materialize(monkeypatch, "MOVIELENS_DIR", write(tmp_path / "a", KAGGLE_20M), MOVIELENS_ASSETS).success
    assert materialize(monkeypatch, "MOVIELENS_DIR", write(tmp_path / "b", RATINGS_ONLY), MOVIELENS_ASSETS).success
    assert not lake.is_file("raw", "movielens", "movie.csv") and not lake.is_file("raw", "movielens", "link.csv")
    assert read_cleaned(spark, lake, movielens.LINKS).count() == 0


@pytest.mark.parametrize(("files", "file", "column", "words"), [
    ({"movies.csv": GROUPLENS["movies.csv"]}, "rating.csv", None, ["the file is missing", "needs rating.csv"]),
    ({"rating.csv": "userId,movieId,rating\n1,2,3.5\n"}, "rating.csv", "timestamp",
     ["header has no column 'timestamp'", "names userId, movieId, rating, timestamp"]),
    ({"rating.csv": "userId,movieId,rating,timestamp\n1,2,8,1112486027\n1,3,10,1112486027\n"}, "rating.csv",
     "rating", ["none of the first 2 values", "data line 1: '8'", "a number from 0.5 to 5"]),
    ({"rating.csv": "userId,movieId,rating,timestamp\nalice,2,3.5,1112486027\n"}, "rating.csv", "userId",
     ["'alice'", "a whole number"]),
    ({"rating.csv": "userId,movieId,rating,timestamp\n1,2,3.5,04/02/2005\n"}, "rating.csv", "timestamp",
     ["'04/02/2005'", "yyyy-MM-dd HH:mm:ss", "epoch seconds"]),
    ({"rating.csv": KAGGLE_20M["rating.csv"], "movie.csv": "movieId,title\n500,Other (2000)\n"}, "rating.csv",
     "movieId", ["none of the first 3 values is in column movieId of movie.csv (data line 1: '2')",
                "each movieId names a row of movie.csv (its movieId)"]),
], ids=["no-ratings", "no-timestamp-column", "rating-scale", "text-user-ids", "day-first-dates", "unknown-movies"])
def test_each_broken_movielens_copy_gives_one_clear_message(lake, tmp_path, monkeypatch, files, file, column, words):
    assert_one_clear_message(monkeypatch, "MOVIELENS_DIR", write(tmp_path / "movielens", files), movie_recs.raw_movielens, file, column,
                             words)
    assert not lake.is_file("raw", "movielens", "rating.csv")


# ---- MOOC_DIR ----------------------------------------------------------------------------------------------------

BIG_MOOC = {  # the seed's four files: U_/C_ ids, gender as floats, the header ` mapped_id`
    "user.csv": "id,name_vn,gender,year_of_birth,school\nU_15773538,Nguyen An,1.0,,\nU_2,Tran Binh,0.0,1999.0,HUST\n",
    "course.csv": "id,name,about,field,name_vn,about_vn\nC_584313,数据,关于,[],Dữ liệu,Về\nC_7,算法,关于,[],Thuật toán,Về\n",
    "user_course.csv": "user,course,enroll_time\nU_15773538,C_584313,2020-07-27 15:52:39\n"
                       "U_15773538,C_7,2020-07-28 10:00:00\nU_2,C_7,2020-08-01 09:00:00\n",
    "course_map.csv": "course_id, mapped_id\nC_7,0\nC_584313,1\n",
}
ENROLMENTS_ONLY = {  # integer ids and dates alone: the failures the user reported
    "user_course.csv": "user,course,enroll_time\n15773538,584313,2020-07-27\n15773538,7,2020-07-28\n2,7,2020-08-01\n",
}
REPO_FILES = {  # the repo's course.csv (id, name, about), Cassandra's column names, ISO times, mixed id forms
    "course.csv": "id,name,about\nC_584313,数据,关于\n7,算法,关于\n",
    "user_course.csv": "USER_ID,Course_Id,enroll_time\nU_15773538,584313,2020-07-27T15:52:39\n"
                       "15773538,C_7,2020-07-28T10:00:00\nU_2,7,2020-08-01T09:00:00\n",
    "course_map.csv": "course_id,mapped_id\nC_7,0\n",
}
MOOC_PAIRS = {(15773538, 584313), (15773538, 7), (2, 7)}


@pytest.mark.parametrize("files", [BIG_MOOC, ENROLMENTS_ONLY, REPO_FILES], ids=["big-mooc", "enrolments-only",
                                                                                "repo-files"])
def test_each_mooc_layout_trains(spark, lake, tmp_path, monkeypatch, files):
    result = materialize(monkeypatch, "MOOC_DIR", write(tmp_path / "mooc", files), MOOC_ASSETS)
    assert result.success
    assert trains(spark, lake, COURSES) == MOOC_PAIRS
    enrolments = {tuple(r) for r in read_cleaned(spark, lake, mooc.ENROLMENTS).collect()}
    times = [datetime(2020, 7, 27, 15, 52, 39), datetime(2020, 7, 28, 10), datetime(2020, 8, 1, 9)]
    if files is ENROLMENTS_ONLY:
        times = [datetime(2020, 7, 27), datetime(2020, 7, 28), datetime(2020, 8, 1)]
    assert enrolments == {("U_15773538", "C_584313", times[0]), ("U_15773538", "C_7", times[1]),
                          ("U_2", "C_7", times[2])}
    courses = {r["course_id"] for r in read_cleaned(spark, lake, mooc.COURSES).collect()}
    assert courses == (set() if files is ENROLMENTS_ONLY else {"C_584313", "C_7"})


@pytest.mark.parametrize(("files", "file", "column", "words"), [
    ({"user.csv": BIG_MOOC["user.csv"], "course.csv": BIG_MOOC["course.csv"]}, "user_course.csv", None,
     ["the file is missing", "MOOC_DIR needs user_course.csv (user.csv, course.csv, course_map.csv optional)"]),
    ({"user_course.csv": "user,course,enroll_time\nU_1,C_1,27/07/2020 15:52\n"}, "user_course.csv", "enroll_time",
     ["'27/07/2020 15:52'", "yyyy-MM-dd HH:mm:ss, yyyy-MM-dd'T'HH:mm:ss, yyyy-MM-dd or epoch seconds"]),
    ({"user_course.csv": "user,course,enroll_time\nstudent-1,C_1,2020-07-27\n"}, "user_course.csv", "user",
     ["'student-1'", "an id U_<number> or a bare <number>"]),
    ({"user_course.csv": "learner,course,enroll_time\nU_1,C_1,2020-07-27\n"}, "user_course.csv", "user",
     ["header has no column 'user' or 'user_id' (header: learner,course,enroll_time)"]),
    ({"user_course.csv": "user,course,enroll_time\n"}, "user_course.csv", None, ["the file has no data rows"]),
    ({"user_course.csv": BIG_MOOC["user_course.csv"], "course.csv": "id,name\nC_1,x\n"}, "user_course.csv",
     "course", ["none of the first 3 values is in column id of course.csv (data line 1: 'C_584313')",
               "each course names a row of course.csv (its id)"]),
], ids=["no-enrolments", "day-first-times", "text-ids", "unknown-header", "header-only", "unknown-courses"])
def test_each_broken_mooc_copy_gives_one_clear_message(lake, tmp_path, monkeypatch, files, file, column, words):
    assert_one_clear_message(monkeypatch, "MOOC_DIR", write(tmp_path / "mooc", files), course_recs.raw_mooc, file, column,
                             words)


# ---- ORDERS_DIR --------------------------------------------------------------------------------------------------

# User 1: prior orders 1 and 2, train order 3 (bought 10 again, 30 new); user 2: prior order 4, test order 5.
INSTACART = {
    "orders.csv": "order_id,user_id,eval_set,order_number,order_dow,order_hour_of_day,days_since_prior_order\n"
                  "1,1,prior,1,2,8,\n2,1,prior,2,3,7,15.0\n3,1,train,3,4,12,21.0\n4,2,prior,1,5,9,\n"
                  "5,2,test,2,6,10,8.0\n",
    "order_products__prior.csv": "order_id,product_id,add_to_cart_order,reordered\n1,10,1,0\n1,20,2,0\n"
                                 "2,10,1,1\n4,20,1,0\n",
    "order_products__train.csv": "order_id,product_id,add_to_cart_order,reordered\n3,10,1,1\n3,30,2,0\n",
    "products.csv": "product_id,product_name,aisle_id,department_id\n10,Banana,24,4\n20,Milk,84,16\n30,Eggs,86,16\n",
    "aisles.csv": "aisle_id,aisle\n24,fresh fruits\n",
    "departments.csv": "department_id,department\n4,produce\n",
}
WITHOUT_PRODUCTS = {name: text for name, text in INSTACART.items() if name.startswith(("orders", "order_products"))}
# (user, product, eval_set, label): candidates are the products of prior orders; the label from the train order.
CANDIDATES = {(1, 10, "train", 1), (1, 20, "train", 0), (2, 20, "test", None)}


@pytest.mark.parametrize("files", [INSTACART, WITHOUT_PRODUCTS], ids=["instacart", "without-products"])
def test_each_orders_layout_trains(spark, lake, tmp_path, monkeypatch, files):
    result = materialize(monkeypatch, "ORDERS_DIR", write(tmp_path / "orders", files), ORDERS_ASSETS)
    assert result.success
    candidates = features.candidates(*[read_cleaned(spark, lake, t)
                                       for t in (orders.ORDERS, orders.PRIOR_LINES, orders.TRAIN_LINES)])
    rows = {(r["user_id"], r["product_id"], r["eval_set"], r[features.LABEL]) for r in candidates.collect()}
    assert rows == CANDIDATES
    assert read_cleaned(spark, lake, orders.PRODUCTS).count() == (3 if "products.csv" in files else 0)


@pytest.mark.parametrize(("files", "file", "column", "words"), [
    ({n: t for n, t in INSTACART.items() if n != "order_products__train.csv"}, "order_products__train.csv", None,
     ["the file is missing", "ORDERS_DIR needs orders.csv, order_products__prior.csv, order_products__train.csv "
                             "(products.csv optional)"]),
    ({**INSTACART, "orders.csv": INSTACART["orders.csv"].replace("train", "prior")}, "orders.csv", "eval_set",
     ["no row has the value 'train' (values: prior, test)", "some rows are 'train'"]),
    ({**INSTACART, "order_products__prior.csv": "order_id,product_id,add_to_cart_order,reordered\n91,10,1,0\n"},
     "order_products__prior.csv", "order_id",
     ["none of the first 1 values is in column order_id of orders.csv (data line 1: '91')"]),
    ({**INSTACART, "orders.csv": "order_id,user_id,eval_set,order_number,order_dow,order_hour_of_day\n"
                                 "1,u1,train,1,2,8\n"}, "orders.csv", "user_id", ["'u1'", "a whole number"]),
], ids=["no-train-lines", "no-train-orders", "unknown-orders", "text-user-ids"])
def test_each_broken_orders_copy_gives_one_clear_message(lake, tmp_path, monkeypatch, files, file, column, words):
    assert_one_clear_message(monkeypatch, "ORDERS_DIR", write(tmp_path / "orders", files), purchase.raw_orders, file, column,
                             words)
