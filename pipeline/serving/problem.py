"""The body of the API's error answers other than 422 (which has FastAPI's validation error body)."""

from pydantic import BaseModel


class Problem(BaseModel):
    detail: str  # what was looked up and not found, what Cassandra or Kafka said, or what the request lacked
