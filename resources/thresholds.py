"""The rules and thresholds the assets, checks and sensors apply, as resources: the UI shows their values and a
run's launchpad can override them."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from pipeline.events.validation import ValidationRules


class LearningEventsResource(dg.ConfigurableResource):
    """How learning events are landed, validated and windowed."""

    source_timezone: str = Field(default="Asia/Ho_Chi_Minh",
                                 description="Zone of event timestamps written without an offset.")
    start_date: str = Field(default="2025-01-01", description="First day; older events are quarantined.")
    future_tolerance_seconds: int = Field(default=600,
                                          description="How far an event may be ahead of its Kafka timestamp.")
    max_events_per_run: int = Field(default=2_000_000,
                                    description="Larger Kafka lags are split into several landing runs.")
    landing_workers: int = Field(default=2, description="Processes that land a large batch's topic-partitions in "
                                                        "parallel, disjoint partitions each.")
    starting_offsets: str = Field(default="earliest",
                                  description="Where a sensor starts on a partition with nothing landed: "
                                              "earliest or latest.")
    speed_late_tolerance_seconds: int = Field(default=120, description="How far behind the newest accepted event "
                                              "a late event may be and still update its speed window.")
    speed_retention_hours: int = Field(default=48, description="How far back the speed layer reaches; speed rows "
                                                               "in Cassandra expire after it.")

    def validation_rules(self) -> ValidationRules:
        return ValidationRules(self.source_timezone, self.future_tolerance_seconds, self.start_date)


class QualityResource(dg.ConfigurableResource):
    """What the checks tolerate."""

    quarantine_max_share: float = Field(default=0.05, description="Most quarantined / read records a check passes.")
    model_tolerance: float = Field(default=0.002, description="How much a new model may trail the serving one on "
                                                              "its primary metric and still be served.")


class SourcesResource(dg.ConfigurableResource):
    """Where the recommenders', the purchase model's and the survey analysis' source data come from."""

    movielens_dir: str | None = Field(default=None, description="A MovieLens copy; unset: the 100k release in "
                                                                "data_cache_dir.")
    data_cache_dir: str = Field(default=".cache", description="Downloaded public data (MovieLens 100k).")
    mooc_dir: str | None = Field(default=None, description="A real MOOC copy; unset: the seeded generator.")
    mooc_users: int = Field(default=10_000, description="Learners the MOOC generator writes.")
    orders_dir: str | None = Field(default=None, description="A real order history; unset: the seeded generator.")
    orders_users: int = Field(default=5_000, description="Users the order generator writes.")
    students_dir: str | None = Field(default=None, description="The school's student records (students.csv); "
                                                               "unset: the seeded generator.")
    students_count: int = Field(default=3_000, description="Student records the generator writes.")
