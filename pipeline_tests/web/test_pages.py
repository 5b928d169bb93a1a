"""The dashboard, learner and movie-fan pages against the real Cassandra and Kafka: hand-written rows in test
keyspaces, the HTML each page answers (values as written, data escaped, every chart drawn), the live regions'
digests, and the actions: what a form posts is published to the stream's topic exactly as the write API would,
a bad one is refused with nothing published, and Kafka not confirming says so on the page."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from pipeline.kafka import client_config
from pipeline.ml.mooc import ENROLMENT_TOPIC
from pipeline.ml.movielens import RATING_TOPIC
from pipeline.serving import analytics_tables as t
from pipeline.serving.api import create_app
from pipeline_tests.keyspaces import scratch_keyspaces
from pipeline_tests.topics import delete_topics, records_of
from pipeline_tests.web.seed import HOSTILE, seed_dashboard, seed_recommendations

pytestmark = pytest.mark.services
ANALYTICS, RECO = "pages_test_analytics", "pages_test_reco"


@pytest.fixture(scope="module")
def settings(services):
    return services.model_copy(update={"cassandra_analytics_keyspace": ANALYTICS, "cassandra_reco_keyspace": RECO})


@pytest.fixture(scope="module")
def session(settings):
    with scratch_keyspaces(settings, ANALYTICS, RECO) as s:
        yield s


@pytest.fixture(scope="module")
def pages(settings, session):
    delete_topics(client_config(settings), [ENROLMENT_TOPIC, RATING_TOPIC])  # the app re-creates them empty
    with TestClient(create_app(settings)) as client:
        seed_dashboard(session, ANALYTICS)
        seed_recommendations(session, RECO)
        yield client


def figure(html: str, chart_id: str) -> str:
    match = re.search(rf'<figure id="{chart_id}">(.*?)</figure>', html, re.S)
    assert match, f"no {chart_id} on the page"
    return match.group(1)


def test_the_dashboard_draws_every_panel_from_the_tables_with_the_data_escaped(pages):
    page = pages.get("/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert 'data-live="/dashboard/panels"' in html
    cards = dict(re.findall(r'<li>([^<]+?) <span class="value"[^>]*>([^<]+)</span>', html))
    assert (cards["Courses"], cards["Students"], cards["Active users, latest window"], cards["Speed layer"]) == \
           ("12", "345", "6", "healthy")
    assert (cards["Interactions"], cards["Video views"], cards["Watch time"]) == ("13", "3", "5 min")
    # Daily active users: 3 batch days and 2 speed windows, each a marker, told apart by the legend's two series.
    dau = figure(html, "chart-dau")
    assert dau.count('class="marker"') == 5
    assert ">batch days<" in dau and ">speed windows<" in dau
    assert f"batch, the UTC day {datetime.now(timezone.utc):%b %d}: 5 users (so far)" in dau
    assert dau.count("<rect class=\"marker\"") == 3 and dau.count("<circle class=\"marker\"") == 2
    # Course popularity: the hostile id is text, ranked first with its 9 interactions.
    courses = figure(html, "chart-courses")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;: 9" in courses and HOSTILE not in html
    assert "highly active" in figure(html, "chart-engagement") and "V1: 3" in figure(html, "chart-video")


def test_a_live_region_keeps_its_digest_until_its_data_changes(pages, session):
    def digest() -> str:
        return re.search(r'data-digest="([0-9a-f]+)"', pages.get("/dashboard/panels").text).group(1)

    first = digest()
    assert digest() == first
    t.upsert(session, t.SYSTEM_SUMMARY, pd.DataFrame([{"id": "main", "total_students": 346}]), ANALYTICS)
    assert digest() != first


def test_the_learner_page_lists_the_courses_and_an_enrolment_is_published_as_the_api_would(pages, settings):
    html = pages.get("/learners/U_1").text
    assert [m for m in re.findall(r'<tr data-item="(C_\d+)">', html)] == ["C_2", "C_3"]
    assert "Graphs &lt;script&gt;" in html and HOSTILE not in html
    assert 'data-live="/learners/U_1/recommendations"' in html
    assert pages.get("/learners/U_1/recommendations").text.startswith('<div class="live-content" data-digest=')

    sent = pages.post("/learners/U_1", data={"course_id": "C_3"}, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/learners/U_1?enrolled=C_3"
    assert "Your enrolment in course C_3 was recorded." in pages.get(sent.headers["location"]).text
    for bad in ({"course_id": "course 3"}, {}):
        assert pages.post("/learners/U_1", data=bad, follow_redirects=False).status_code == 422
    assert pages.post("/learners/1", data={"course_id": "C_3"}, follow_redirects=False).status_code == 422
    assert records_of(settings, [ENROLMENT_TOPIC]) == [(ENROLMENT_TOPIC, b"U_1", b"C_3")]


def test_the_movie_fan_page_lists_the_titles_and_a_rating_is_published_as_the_api_would(pages, settings):
    html = pages.get("/movie-fans/7").text
    assert re.findall(r'<tr data-item="(\d+)">\s*<td>\d+</td>\s*<td>([^<]+)</td>', html) == [
        ("50", "Star Wars (1977)"), ("100", "Fargo (1996)")]
    assert 'aria-label="Your rating of Fargo (1996), out of 5"' in html

    sent = pages.post("/movie-fans/7", data={"movie_id": "100", "rating": "4.5"}, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/movie-fans/7?rated=100&rating=4.5"
    assert "Your rating of movie 100 (4.5 of 5) was recorded." in pages.get(sent.headers["location"]).text
    assert pages.post("/movie-fans/7", data={"movie_id": "100", "rating": "9"}).status_code == 422
    [(_, key, value)] = records_of(settings, [RATING_TOPIC])
    rating = json.loads(value)
    assert key == b"7" and (rating["userId"], rating["movieId"], rating["rating"]) == (7, 100, 4.5)
    assert abs(rating["timestamp"] - datetime.now(timezone.utc).timestamp()) < 120


def test_the_pick_pages_offer_scored_users_and_go_to_the_one_asked_for(pages):
    assert re.findall(r'<a href="(/learners/[^"]+)">', pages.get("/learners").text) == ["/learners/U_1"]
    assert re.findall(r'<a href="(/movie-fans/[^"]+)">', pages.get("/movie-fans").text) == ["/movie-fans/7"]
    asked = pages.get("/movie-fans", params={"user_id": " 7 "}, follow_redirects=False)
    assert asked.status_code == 303 and asked.headers["location"] == "/movie-fans/7"
    odd = pages.get("/learners", params={"user_id": "../../docs"}, follow_redirects=False)
    assert odd.headers["location"] == "/learners/..%2F..%2Fdocs"  # one path segment, whatever is typed
    empty = pages.get("/learners/U_404").text
    assert "No recommendations for learner U_404 yet" in empty


def test_kafka_not_confirming_says_nothing_was_recorded_on_the_page(settings, session):
    unreachable = settings.model_copy(update={"kafka_bootstrap_servers": "127.0.0.1:1"})
    with TestClient(create_app(unreachable)) as client:
        answer = client.post("/learners/U_1", data={"course_id": "C_2"}, follow_redirects=False)
    assert answer.status_code == 503
    assert "Your enrolment in course C_2 was not recorded: Kafka did not" in answer.text
    assert '<tr data-item="C_2">' in answer.text  # the list is still there, to try again
