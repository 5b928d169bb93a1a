"""Headless Chromium for the browser tests and bench/pages.py: Debian's chromium and its chromedriver (installed by
`make tools`), with the page's console kept so that a caller can assert that it logged no error."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait


@contextmanager
def headless_chromium() -> Iterator[WebDriver]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        raise RuntimeError("the browser tests need chromium and chromedriver: run `make tools` as root, or apt-get "
                           "install --no-install-recommends chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,2000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(options=options, service=Service(driver))
    try:
        yield session
    finally:
        session.quit()


def console_errors(browser: WebDriver) -> list[str]:
    """The errors the pages logged to the console since the last call (reading the log drains it)."""
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def wait_for_element(browser: WebDriver, element_id: str, timeout: float = 30) -> None:
    """Wait until the page holds the element `element_id`, through a navigation: while a submitted form's answer
    replaces the page, chromedriver answers a lookup with "aborted by navigation", which only means "not yet"."""
    WebDriverWait(browser, timeout, ignored_exceptions=(WebDriverException,)).until(
        expected_conditions.presence_of_element_located((By.ID, element_id)))
