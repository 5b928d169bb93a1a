"""The pages as their people use them, in headless Chromium on `pipeline serve`, with the real daemon (`dagster dev`,
what `make ui` starts) re-scoring from the Kafka streams and nobody else acting (`pipeline_tests.web.site`):

- a learner enrols in their first recommended course and sees their list change by itself (no reload);
- a movie fan rates their first movie and sees their list change the same way;
- an analyst opens the dashboard: every chart is drawn, a new value appears by itself, and the console stays
  free of errors;
- a data engineer materialises the rating model's tuning from the Dagster UI and sees its tuning curves drawn
  as an image in the asset's metadata.

What changes is what the tests did: the course or movie acted on leaves the list, since a re-scored list holds
only what its user has not taken or rated."""

from __future__ import annotations

import pandas as pd
import pytest
from selenium.common.exceptions import ElementClickInterceptedException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from pipeline.serving import analytics_tables as t
from pipeline.services.dagster_dev import wait_for
from pipeline_tests.browser import console_errors
from pipeline_tests.ui import finished, launch_materialisation
from pipeline_tests.web.seed import seed_dashboard
from pipeline_tests.web.site import (act_and_see_the_list_change, enrol_in_first, first_users, rate_first,
                                     recommender_site, swaps)

pytestmark = [pytest.mark.services, pytest.mark.daemon, pytest.mark.browser, pytest.mark.slow]
ANALYTICS, RECO = "analytics_pages_browser", "reco_pages_browser"
UPDATED_WITHIN_SECONDS = 180  # bounds a hang; bench/pages.py measures the real figure


@pytest.fixture(scope="module")
def site(services, tmp_path_factory):
    with recommender_site(tmp_path_factory.mktemp("pages_site"), services, ANALYTICS, RECO) as site:
        yield site


def test_a_learner_enrols_and_sees_the_list_change_by_itself(site, browser):
    [learner, *_] = first_users(browser, site.base + "/learners")
    seconds = act_and_see_the_list_change(browser, learner, enrol_in_first, "was recorded", UPDATED_WITHIN_SECONDS)
    print(f"  enrolment to an updated learner page: {seconds:.1f} s", flush=True)
    assert console_errors(browser) == []


def test_a_movie_fan_rates_and_sees_the_list_change_by_itself(site, browser):
    [viewer, *_] = first_users(browser, site.base + "/movie-fans")
    seconds = act_and_see_the_list_change(browser, viewer, rate_first, "(5 of 5) was recorded",
                                          UPDATED_WITHIN_SECONDS)
    print(f"  rating to an updated movie page: {seconds:.1f} s", flush=True)
    assert console_errors(browser) == []


def card(browser: WebDriver, name: str) -> str:
    return browser.execute_script(
        "return [...document.querySelectorAll('#summary li')].find(li => li.firstChild.textContent.trim() === "
        "arguments[0]).querySelector('.value').textContent", name)


def test_the_dashboard_draws_every_chart_and_refreshes_itself(site, browser):
    seed_dashboard(site.session, ANALYTICS)
    browser.get(site.base + "/dashboard")
    charts = browser.find_elements(By.CSS_SELECTOR, "#panels figure svg")
    assert len(charts) == 4
    for chart in charts:
        assert chart.size["width"] > 100 and chart.size["height"] > 100
        assert chart.find_elements(By.CSS_SELECTOR, ".bar, .marker"), chart.get_attribute("aria-labelledby")
    assert card(browser, "Students") == "345"
    t.upsert(site.session, t.SYSTEM_SUMMARY, pd.DataFrame([{"id": "main", "total_students": 346}]), ANALYTICS)
    wait_for(lambda: card(browser, "Students") == "346" and swaps(browser, "panels") > 0,
             "the dashboard did not refresh", 60)
    assert console_errors(browser) == []


def test_the_tuning_curves_are_an_image_in_the_dagster_ui(site, browser):
    dev = site.dagster_dev
    grid = {"rank": [10], "max_iter": [5], "reg_param": [0.1, 0.2, 0.4], "folds": 2, "parallelism": 1,
            "max_widenings": 0}
    run_id = launch_materialisation(dev, [["models", "als_ratings_tuning"]],
                                    run_config={"ops": {"models__als_ratings_tuning": {"config": grid}}})
    assert dev.wait_for(lambda: finished(dev, run_id), "the tuning run did not finish", 600, interval=2) == "SUCCESS"
    browser.get(dev.url + "/assets/models/als_ratings_tuning")
    show_markdown = "//tr[td[normalize-space()='tuning_curves']]//*[text()='[Show Markdown]']"
    wait_for(lambda: browser.find_elements(By.XPATH, show_markdown), "no tuning_curves entry in the metadata", 60)

    def open_markdown() -> bool:
        # A browser new to the UI is first asked to join the community: skipped, as a person would.
        for skip in browser.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):
            skip.click()
        try:
            browser.find_element(By.XPATH, show_markdown).click()
            return True
        except ElementClickInterceptedException:  # the dialog was still closing
            return False

    wait_for(open_markdown, "the tuning_curves entry could not be opened", 30)
    image = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "img[alt='tuning curves']"),
                     "the dialog shows no image", 30)[0]
    # Decoded and laid out: a picture, not a path or a broken image.
    assert wait_for(lambda: browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth",
                                                   image), "the image did not load", 30) == 640
    assert image.size["width"] > 300
