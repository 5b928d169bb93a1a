"""Benchmark: click on "Enrol" → the learner page shows the re-scored list, in headless Chromium.

    python bench/pages.py [--samples 5] [--sensor-interval 5] [--keep]

With the local services: the recommenders trained on a scratch lake and keyspace (`reco_bench_pages`, a small
grid), then `dagster dev` (the stream sensors every --sensor-interval s, the default setting) and `pipeline serve`
on them (`pipeline_tests.web.site`, the browser tests' harness). Then, for --samples learners the recommender
scored (drawn at random), each at a random moment of the sensor's interval:

- the page: open the learner's page, click "Enrol" on the first course, and time until the list, fetched again by
  the page itself, no longer holds it (the click → the form posted → Kafka → the sensor's tick → the run lands
  the batch and re-scores the learner → Cassandra → the page's next refresh, every second after an action);
- the baseline, the same re-score through the API alone, for another learner: `POST /interactions` with a write
  key, then `GET /recommendations/courses/{user_id}` every 0.25 s until the course is gone. What the page adds
  is its refresh interval and the browser.

A warm-up of each first (the first runs under a new `dagster dev` load its code). Prints each sample, the
medians and the ratio page / API. Target (issue 15): median ≤ 15 s from the click to the updated page.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from common import arguments

ANALYTICS, RECO = "analytics_bench_pages", "reco_bench_pages"
TARGET_MEDIAN_S = 15


def recommended(base: str, learner: str) -> list[str]:
    with urllib.request.urlopen(f"{base}/recommendations/courses/{learner}", timeout=10) as answer:
        return [item["item_id"] for item in json.loads(answer.read())["items"]]


def through_the_api(base: str, learner: str, key: str, within: float = 180) -> float:
    """Seconds from `POST /interactions` (enrolling `learner` in their first course) until the API's list drops it."""
    from pipeline.services.dagster_dev import wait_for

    first = recommended(base, learner)[0]
    started = time.monotonic()
    request = urllib.request.Request(f"{base}/interactions", method="POST", headers={
        "X-API-Key": key, "Content-Type": "application/json"},
        data=json.dumps({"user_id": learner, "course_id": first}).encode())
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 201
    wait_for(lambda: first not in recommended(base, learner), f"{first} stayed in {learner}'s list", within,
             interval=0.25)
    return time.monotonic() - started


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--samples", type=int, default=5, help="timed enrolments of each kind, after a warm-up")
    parser.add_argument("--sensor-interval", type=int, default=5, help="STREAM_SENSOR_INTERVAL_SECONDS of the daemon")
    parser.add_argument("--keep", action="store_true", help="keep the temporary lake and Dagster home")
    args = parser.parse_args()
    if args.samples < 1:
        parser.error("--samples must be at least 1")

    from pipeline import services
    from pipeline.settings import get_settings
    from pipeline_tests.api_keys import new_key
    from pipeline_tests.browser import headless_chromium
    from pipeline_tests.web.site import act_and_see_the_list_change, enrol_in_first, recommender_site

    print(services.up(), flush=True)
    print(f"{os.cpu_count()} cores", flush=True)
    root = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    started = time.monotonic()
    print("training the recommenders (small grid), then dagster dev and pipeline serve ...", flush=True)
    with recommender_site(root, get_settings(), ANALYTICS, RECO, args.sensor_interval) as site, \
            headless_chromium() as browser:
        print(f"  ready after {time.monotonic() - started:.0f} s; dagster dev log {site.dagster_dev.log}", flush=True)
        key = new_key(get_settings(), name="bench")["X-API-Key"]
        rows = site.session.execute(f"SELECT DISTINCT user_id FROM {RECO}.course_recommendations LIMIT 200")
        learners = random.sample([row.user_id for row in rows], 2 * (args.samples + 1))
        pages, apis = [], []
        for i in range(args.samples + 1):
            time.sleep(random.uniform(0, args.sensor_interval))
            page = act_and_see_the_list_change(browser, f"{site.base}/learners/{learners[2 * i]}", enrol_in_first,
                                               "was recorded", 300)
            time.sleep(random.uniform(0, args.sensor_interval))
            api = through_the_api(site.base, learners[2 * i + 1], key)
            label = "warm-up" if i == 0 else f"sample {i}"
            print(f"  {label}: page {page:.1f} s, API {api:.1f} s", flush=True)
            if i:
                pages.append(page)
                apis.append(api)
    page, api = statistics.median(pages), statistics.median(apis)
    print(f"click on Enrol → updated learner page: median {page:.1f} s (max {max(pages):.1f} s); "
          f"the API alone: median {api:.1f} s; page / API = {page / api:.2f}", flush=True)
    print(f"target median <= {TARGET_MEDIAN_S} s: {'met' if page <= TARGET_MEDIAN_S else 'MISSED'}", flush=True)
    if not args.keep:
        import shutil

        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
