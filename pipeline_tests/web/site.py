"""The learner and movie-fan pages with everything behind them, for the browser tests and bench/pages.py: the
recommenders trained once on a scratch lake and keyspace (a small grid: the models' quality is the recommender
tests' business), then `dagster dev` (what `make ui` starts: the stream sensors re-score from Kafka) and
`pipeline serve` on the same lake and keyspaces, and the page actions timed as a person sees them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cassandra.cluster import Session
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from pipeline.ml import mooc, movielens
from pipeline.services.dagster_dev import DagsterDev, pipeline_serve, wait_for
from pipeline.settings import Settings
from pipeline_tests.browser import wait_for_element
from pipeline_tests.keyspaces import scratch_keyspaces
from pipeline_tests.training import trained_job

SMALL_GRID = {"rank": [10], "max_iter": [10], "reg_param": [0.1], "folds": 2, "parallelism": 1}


@dataclass
class Site:
    base: str  # the URL of `pipeline serve`
    session: Session  # on the analytics keyspace's cluster
    dagster_dev: DagsterDev


@contextmanager
def recommender_site(root: Path, services: Settings, analytics: str, reco: str,
                     sensor_interval: int = 5) -> Iterator[Site]:
    env = {"CASSANDRA_ANALYTICS_KEYSPACE": analytics, "STREAM_SENSOR_INTERVAL_SECONDS": str(sensor_interval),
           "MOOC_USERS": "3000"}
    with trained_job(root, "train_recommenders", reco, [movielens.RATING_TOPIC, mooc.ENROLMENT_TOPIC],
                     {"ops": {"models__als_ratings_tuning": {"config": SMALL_GRID}}}, **env) as trained, \
            scratch_keyspaces(services, analytics) as session:
        if not trained.result.success:
            raise RuntimeError("training the recommenders failed")
        env |= {"LAKE_ROOT": str(root / "lake"), "CASSANDRA_RECO_KEYSPACE": reco}
        with DagsterDev(root / "home", env) as dagster_dev, pipeline_serve(dagster_dev.env) as base:
            yield Site(base, session, dagster_dev)


# Read in one script each, so that a swap between two WebDriver calls cannot leave a stale element.

def items(browser: WebDriver) -> list[str]:
    """The ids of the list's items, in rank order."""
    return browser.execute_script(
        "return [...document.querySelectorAll('#recommendations tr[data-item]')].map(row => row.dataset.item)")


def swaps(browser: WebDriver, region: str) -> int:
    """How many times the page's script swapped the live region in (its counter; a reload starts it again)."""
    return int(browser.execute_script(f"return document.getElementById('{region}').dataset.updated || 0"))


def enrol_in_first(browser: WebDriver) -> None:
    browser.find_element(By.CSS_SELECTOR, "#recommendations tr[data-item] button").click()


def rate_first(browser: WebDriver, stars: str = "5.0") -> None:
    first = browser.find_element(By.CSS_SELECTOR, "#recommendations tr[data-item]")
    Select(first.find_element(By.TAG_NAME, "select")).select_by_value(stars)
    first.find_element(By.TAG_NAME, "button").click()


def act_and_see_the_list_change(browser: WebDriver, page: str, act: Callable[[WebDriver], None], done_text: str,
                                within: float) -> float:
    """On the user's `page`, `act` on the first item and wait until the list no longer holds it, swapped in by the
    page itself (no reload); the seconds from the click."""
    browser.get(page)
    before = items(browser)
    if len(before) != 10:
        raise AssertionError(f"{page} lists {len(before)} items, not 10")
    clicked = time.monotonic()
    act(browser)
    wait_for_element(browser, "done")
    if done_text not in browser.find_element(By.ID, "done").text:
        raise AssertionError(f"the page said {browser.find_element(By.ID, 'done').text!r}")
    wait_for(lambda: before[0] not in items(browser) and swaps(browser, "recommendations") > 0,
             f"{before[0]} stayed in the list of {page}", within, interval=0.25)
    seconds = time.monotonic() - clicked
    if len(items(browser)) != 10:
        raise AssertionError(f"{page} lists {len(items(browser))} items after the change")
    return seconds


def first_users(browser: WebDriver, pick_page: str) -> list[str]:
    """The user pages the pick page offers."""
    browser.get(pick_page)
    return [link.get_attribute("href") for link in browser.find_elements(By.CSS_SELECTOR, "#users a")]
