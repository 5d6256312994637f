"""Databricks job groups through the real `databricks-sdk` `WorkspaceClient`, over HTTP, against
a fake Jobs service answering with the API's response shapes (`tests/databricks_service.py`).

What drift must send: `jobs/get` to read the job's declared parameters, one `run-now` with
only declared parameters and the name's idempotency token, then `runs/get` of exactly the run
id `run-now` returned (never a `runs/list` scan), and `runs/cancel` of that run at the timeout.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from drift.backends.databricks_jobs import DatabricksGroup, DatabricksJobs, RoutingJobs
from drift.durable.orchestration import POLLS_PER_GENERATION
from drift.entrypoints.local_run import run_retrain
from drift.runtime.runtime import VirtualClock
from tests.databricks_service import JobsService, Recorded, jobs_service, workspace_client
from tests.fakes import FakeJobs
from tests.integration.durable.test_orchestration import START, make_services, seed_jobs

JOB_ID = 42


def retrain(tmp_path: Path, service: JobsService, **params: Any) -> dict[str, Any]:
    services = make_services(tmp_path, FakeJobs(seed_jobs()), **params)
    group = DatabricksGroup("churn_dbx", JOB_ID, "training_data")
    databricks = DatabricksJobs(lambda: workspace_client(service), [group])
    services.jobs = RoutingJobs(services.jobs, databricks)
    report = run_retrain(
        services,
        {"delta_version": 0, "model_name_prefix": ["churn_dbx"]},
        clock=VirtualClock(START),
    )
    return report


def api_calls(service: JobsService) -> list[tuple[str, str]]:
    """(method, endpoint) of every Jobs API request, in order (the SDK's own host-metadata
    probe, `/.well-known/databricks-config`, is left out)."""
    return [
        (r.method, r.path.removeprefix("/api/2.2/jobs/"))
        for r in service.requests
        if r.path.startswith("/api/")
    ]


def row(report: dict[str, Any]) -> dict[str, Any]:
    [only] = [r for r in report["retrained"] if r["model_group"] == "churn_dbx"]
    return only


@pytest.fixture
def declared_version() -> dict[int, list[str]]:
    return {JOB_ID: ["data_asset_version"]}


def test_run_now_sends_the_declared_version_and_polls_the_run_it_returned(
    tmp_path: Path, declared_version: dict[int, list[str]]
) -> None:
    with jobs_service(declared_version, ["running", "running", "success"]) as service:
        report = retrain(tmp_path, service)
    result = row(report)
    assert (result["status"], result["duration_s"]) == ("Completed", 60.0)
    assert result["log_path"].endswith("#job/42/run/1001")
    assert api_calls(service) == [
        ("GET", "get"),
        ("POST", "run-now"),
        ("GET", "runs/get"),
        ("GET", "runs/get"),
        ("GET", "runs/get"),
    ]
    [get] = service.calls("GET", "/jobs/get")
    assert get.query == {"job_id": "42"}
    [run_now] = service.calls("POST", "/run-now")
    assert run_now.body == {
        "job_id": JOB_ID,
        "job_parameters": {"data_asset_version": report["data_asset_version"]},
        "idempotency_token": hashlib.sha256(result["job"].encode()).hexdigest()[:40],
    }
    assert {r.query["run_id"] for r in service.calls("GET", "/runs/get")} == {"1001"}


def test_drift_job_name_is_sent_only_to_a_job_that_declares_it(tmp_path: Path) -> None:
    declared = {JOB_ID: ["data_asset_version", "drift_job_name", "other"]}
    with jobs_service(declared, ["success"]) as service:
        report = retrain(tmp_path, service)
    [run_now] = service.calls("POST", "/run-now")
    assert run_now.body["job_parameters"] == {
        "data_asset_version": report["data_asset_version"],
        "drift_job_name": row(report)["job"],
    }
    assert row(report)["status"] == "Completed"


def test_a_job_without_the_version_parameter_is_not_run(tmp_path: Path) -> None:
    with jobs_service({JOB_ID: ["env"]}, ["success"]) as service:
        report = retrain(tmp_path, service)
    result = row(report)
    assert result["status"] == "Error"
    assert "does not declare the job parameter 'data_asset_version'" in result["error"]
    assert "declared: ['env']" in result["error"]
    assert ("POST", "run-now") not in api_calls(service)
    assert ("POST", "runs/cancel") not in api_calls(service)  # no run id, nothing to stop


def test_a_missing_job_fails_at_once_and_says_which(tmp_path: Path) -> None:
    """The service's refusal is permanent: one `jobs/get`, not one per activity retry."""
    with jobs_service({7: ["data_asset_version"]}, ["success"]) as service:
        result = row(retrain(tmp_path, service))
    assert result["status"] == "Error"
    assert "read Databricks job 42 (group churn_dbx)" in result["error"]
    assert "Job 42 does not exist." in result["error"]
    assert api_calls(service) == [("GET", "get")]


def test_a_failed_run_reports_the_services_message(
    tmp_path: Path, declared_version: dict[int, list[str]]
) -> None:
    with jobs_service(declared_version, ["running", "failed"]) as service:
        result = row(retrain(tmp_path, service))
    assert result["status"] == "Failed"
    assert result["error"].startswith("Task main failed with message")


def test_the_timeout_cancels_the_run_run_now_returned(
    tmp_path: Path, declared_version: dict[int, list[str]]
) -> None:
    with jobs_service(declared_version, ["running"]) as service:
        result = row(retrain(tmp_path, service, refreshTimeout=60, refreshDelay=10))
    assert result["status"] == "TimedOut"
    [cancel] = service.calls("POST", "/runs/cancel")
    assert cancel.body == {"run_id": 1001}
    assert "job now Canceled" in result["error"]


def test_the_run_id_outlives_continue_as_new(
    tmp_path: Path, declared_version: dict[int, list[str]]
) -> None:
    script = ["running"] * (POLLS_PER_GENERATION + 5) + ["success"]
    with jobs_service(declared_version, script) as service:
        result = row(retrain(tmp_path, service, refreshTimeout=3600, refreshDelay=10))
    assert result["status"] == "Completed"
    polls = service.calls("GET", "/runs/get")
    assert len(polls) == POLLS_PER_GENERATION + 6
    assert {r.query["run_id"] for r in polls} == {"1001"}
    assert len(service.calls("POST", "/run-now")) == 1


def test_a_rerun_gets_the_same_run_back(
    tmp_path: Path, declared_version: dict[int, list[str]]
) -> None:
    with jobs_service(declared_version, ["success"]) as service:
        first = row(retrain(tmp_path, service))
        second = row(retrain(tmp_path, service))
    assert first["job"] == second["job"]
    assert len(service.runs) == 1
    tokens = {r.body["idempotency_token"] for r in service.calls("POST", "/run-now")}
    assert len(tokens) == 1


def test_recorded_requests_are_plain_json(declared_version: dict[int, list[str]]) -> None:
    """The fake itself: unknown endpoints are 404s, so a call drift should not make shows."""
    with jobs_service(declared_version, ["success"]) as service:
        client = workspace_client(service)
        with pytest.raises(Exception, match="No API found"):
            list(client.jobs.list_runs(job_id=JOB_ID))
    assert isinstance(service.requests[-1], Recorded)
