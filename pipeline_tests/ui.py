"""What the Dagster UI sends to the webserver, for the tests that act as a data engineer in it: the code location's
selector, the launch of a materialisation (the UI's Materialize button) and a run's status."""

from __future__ import annotations

import json

from pipeline.services.dagster_dev import DagsterDev

LOCATION = {"repositoryLocationName": "learning_platform", "repositoryName": "__repository__"}

LAUNCH = """
mutation LaunchPipelineExecution($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
  }
}"""

RUN = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) { __typename ... on Run { status } }
}"""


def launch_materialisation(dagster_dev: DagsterDev, keys: list[list[str]], checks: list[dict] | None = None,
                           run_config: dict | None = None) -> str:
    """Materialise the assets `keys` (and the `checks`, as {"assetKey": {"path": ...}, "name": ...}) as the UI's
    Materialize button does; the run's id."""
    launched = dagster_dev.graphql(LAUNCH, {"executionParams": {
        "selector": {**LOCATION, "pipelineName": "__ASSET_JOB", "assetSelection": [{"path": k} for k in keys],
                     "assetCheckSelection": checks or []},
        "mode": "default", "executionMetadata": {"tags": []},
        "runConfigData": json.dumps(run_config or {})}})["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def run_status(dagster_dev: DagsterDev, run_id: str) -> str:
    return dagster_dev.graphql(RUN, {"runId": run_id})["runOrError"]["status"]


def finished(dagster_dev: DagsterDev, run_id: str) -> str | None:
    status = run_status(dagster_dev, run_id)
    return status if status in ("SUCCESS", "FAILURE", "CANCELED") else None
