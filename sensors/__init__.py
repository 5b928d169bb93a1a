"""Everything that decides when to run: jobs, the Kafka sensor, the daily schedule."""

from sensors.jobs import clean_learning_events, land_learning_events
from sensors.learning_events import learning_events_sensor
from sensors.schedules import daily_learning_events

JOBS = [land_learning_events, clean_learning_events]
SENSORS = [learning_events_sensor]
SCHEDULES = [daily_learning_events]
