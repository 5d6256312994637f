"""Jobs at the HTTP boundary: newest-job lookup, clone-submit (command, pipeline, AutoML), poll
and cancel through the real MLClient against recorded response shapes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from drift.domain.plan import (
    TAG_DATA_VERSION,
    TAG_GROUP,
    TAG_MANAGED,
    TAG_SOURCE_JOB,
    TAG_SUBMITTED_BY,
)
from drift.durable import activities as act
from drift.wiring.bootstrap import Services
from tests.contract.azureml_service import WS_PATH, AzureService, Seen, recorded_response
from tests.contract.conftest import make_jobs
from tests.contract.workspace import (
    AUTOML,
    COMMAND,
    DATA_VERSION,
    PIPELINE,
    seed,
    services,
    submit_args,
)

ASSETS = f"{WS_PATH}/data"


@pytest.fixture
def ws(service: AzureService) -> Services:
    seed(service)
    return services(service)


@pytest.fixture
def planned(ws: Services, service: AzureService) -> dict[str, dict[str, Any]]:
    """Registered version and plan for the three seeded groups, keyed by group."""
    act.register_version(ws, {"delta_version": 3})
    plan = act.plan_retraining(ws, {"data_version": DATA_VERSION})
    assert plan["left_alone"] == {}
    service.clear()
    return {j["group"]: j for j in plan["jobs"]}


def submit(ws: Services, job: dict[str, Any]) -> str:
    return act.submit_job(ws, submit_args(job))["job"]


def put_body(service: AzureService, name: str) -> dict[str, Any]:
    [put] = [r for r in service.requests if r.method == "PUT" and r.path == f"/jobs/{name}"]
    return put.body["properties"]


def calls(requests: list[Seen]) -> list[tuple[str, str, str | None]]:
    return [(r.method, r.path, r.api_version) for r in requests]


# Newest-job lookup ---------------------------------------------------------------------------


def test_lookup_is_a_tag_filtered_list_then_one_bounded_scan(
    ws: Services, service: AzureService
) -> None:
    found = ws.jobs.list_jobs(["churn", "churnpipe", "churnauto"])

    lists = [r for r in service.requests if r.path == "/jobs"]
    assert [(r.method, r.api_version, r.query.get("tag")) for r in lists] == [
        ("GET", "2024-01-01-preview", "drift.group"),  # drift's own jobs, filtered by the service
        ("GET", "2024-01-01-preview", None),  # seeds of groups drift never submitted
    ]
    assert {j.name for j in found} == {COMMAND, PIPELINE, AUTOML}


def test_the_first_run_scan_does_not_trust_the_listing_order(service: AzureService) -> None:
    """Jobs_List promises no order. Listed oldest first, 2 a page, the old scan stopped on the
    page where it first saw the group, and planned the group's old seed."""
    service.page_size = 2
    service.list_order = "oldest"
    body = recorded_response("job_command.json")
    service.seed_job(body, "churn_20250101080000_old", datetime(2025, 1, 1, tzinfo=UTC))
    for i in range(5):
        service.seed_job(body, f"other_{i}", datetime(2025, 6, 1, i, tzinfo=UTC))
    service.seed_job(body, "churn_20260101080000_new", datetime(2026, 1, 1, tzinfo=UTC))
    ws = services(service)

    plan = act.plan_retraining(ws, {"data_version": DATA_VERSION, "groups": ["churn"]})

    assert [j["source_job"] for j in plan["jobs"]] == ["churn_20260101080000_new"]


# Submit --------------------------------------------------------------------------------------


def test_a_command_clone_carries_the_users_definition_only(
    ws: Services, service: AzureService, planned
) -> None:
    name = submit(ws, planned["churn"])

    assert calls(service.requests) == [
        ("GET", f"/jobs/{name}", "2024-01-01-preview"),  # already submitted? (404)
        ("GET", f"/jobs/{COMMAND}", "2024-01-01-preview"),  # the source
        ("PUT", f"/jobs/{name}", "2025-01-01-preview"),
    ]
    body = put_body(service, name)
    source = recorded_response("job_command.json")["properties"]
    # The user's definition, as the service returned it...
    for field in ("command", "computeId", "displayName", "experimentName"):
        assert body[field] == source[field], field
    # the same environment version, in the short form azure-ai-ml writes (the service takes it)
    assert body["environmentId"] == "azureml:AzureML-sklearn-0.24-ubuntu18.04-py37-cpu:1"
    assert source["environmentId"].endswith("/AzureML-sklearn-0.24-ubuntu18.04-py37-cpu/versions/1")
    assert body["jobType"] == "Command" and body["isArchived"] is False
    # ...without what the service recorded about the source's run.
    assert "default" not in (body.get("outputs") or {})  # ExperimentRun/dcid.<source>
    assert not {"StartTimeUtc", "EndTimeUtc", "_azureml.ComputeTargetType"} & set(
        body["properties"]
    )
    assert (
        body["properties"].get("mlflow.source.git.repoURL")
        != (source["properties"]["mlflow.source.git.repoURL"])
    )
    assert not {"status", "services", "parameters"} & set(body)
    # The uri_folder input is bound to the uri_folder asset of the new version.
    assert body["inputs"] == {
        "testdataset": {
            "uri": f"{ASSETS}/churn_data_folder/versions/{DATA_VERSION}",
            "mode": "ReadOnlyMount",
            "jobInputType": "uri_folder",
        }
    }
    assert body["tags"] == {
        TAG_GROUP: "churn",
        TAG_SOURCE_JOB: COMMAND,
        TAG_DATA_VERSION: DATA_VERSION,
        TAG_MANAGED: "true",  # what the job status event subscription filters on
    }


def test_a_pipeline_clone_carries_the_users_definition_only(
    ws: Services, service: AzureService, planned
) -> None:
    name = submit(ws, planned["churnpipe"])

    assert calls(service.requests) == [
        ("GET", f"/jobs/{name}", "2024-01-01-preview"),
        ("GET", f"/jobs/{PIPELINE}", "2024-01-01-preview"),
        ("PUT", f"/jobs/{name}", "2024-01-01-preview"),  # skip_validation: no compute reads
    ]
    put = service.requests[-1]
    assert "x-azureml-token" in put.headers  # pipeline jobs carry an Azure ML-scoped token
    body = put.body["properties"]
    assert body["jobType"] == "Pipeline"
    assert not {
        "runSource",
        "runType",
        "azureml.runsource",
        "azureml.pipelines.stages",
        "azureml.pipelineComponent",
        "StartTimeUtc",
        "EndTimeUtc",
    } & set(body["properties"])
    assert body["inputs"] == {
        "training_data": {
            "uri": f"{ASSETS}/churn_data/versions/{DATA_VERSION}",
            "mode": "ReadOnlyMount",
            "jobInputType": "mltable",
        }
    }
    step = body["jobs"]["hello_world_inline_commandjob_1"]
    assert step["componentId"].endswith("b053f786-a786-403b-abb9-feeadb1645cc")
    assert body["outputs"]["job_out_path_1"]["jobOutputType"] == "uri_folder"
    assert {"tag": "tagvalue", "owner": "sdkteam"}.items() <= body["tags"].items()


def test_the_submitter_tag_goes_to_azure_ml_and_tells_a_reused_job(
    ws: Services, service: AzureService, planned
) -> None:
    """drift.submitted_by (the monitor that submitted the clone) is sent with the clone and read
    back from the service: another run finding the job says it is reused, the same run's
    retried submit does not, and nothing is submitted twice."""
    job = planned["churn"]
    args = {k: job[k] for k in ("source_job", "job_name", "inputs")}
    first = {**args, "tags": {**job["tags"], TAG_SUBMITTED_BY: "run1-churn"}}
    assert act.submit_job(ws, first)["existing"] is False
    assert put_body(service, job["job_name"])["tags"][TAG_SUBMITTED_BY] == "run1-churn"
    assert act.submit_job(ws, first)["existing"] is False  # a retry of the same monitor
    second = {**args, "tags": {**job["tags"], TAG_SUBMITTED_BY: "run2-churn"}}
    assert act.submit_job(ws, second)["existing"] is True
    assert [r.method for r in service.requests if r.path == f"/jobs/{job['job_name']}"] == [
        "GET",  # 404: not submitted yet
        "PUT",
        "GET",
        "GET",
    ]


def test_an_automl_clone_rebinds_its_training_data(
    ws: Services, service: AzureService, planned
) -> None:
    assert planned["churnauto"]["inputs"] == {
        "training_data": {"type": "mltable", "path": f"azureml:churn_data:{DATA_VERSION}"}
    }

    name = submit(ws, planned["churnauto"])

    body = put_body(service, name)
    assert body["jobType"] == "AutoML"
    task = body["taskDetails"]
    assert task["trainingData"] == {
        "uri": f"{ASSETS}/churn_data/versions/{DATA_VERSION}",
        "jobInputType": "mltable",
    }
    assert task["targetColumnName"] == "y" and task["taskType"] == "Classification"
    assert "automl_best_child_run_id" not in body["tags"]
    assert not {"runTemplate", "azureml.runsource", "SetupRunId"} & set(body["properties"])


# Poll and cancel -----------------------------------------------------------------------------


def test_polls_report_the_jobs_own_run_times(ws: Services, service: AzureService, planned) -> None:
    name = submit(ws, planned["churn"])
    service.set_status(name, "Running")
    service.set_status(name, "Completed")
    service.clear()

    state = act.job_state(ws, {"job": name})

    assert calls(service.requests) == [("GET", f"/jobs/{name}", "2024-01-01-preview")]
    props = service.jobs[name]["properties"]["properties"]
    assert state["status"] == "Completed"
    assert (state["started_at"], state["ended_at"]) == (
        datetime.fromisoformat(props["StartTimeUtc"]).isoformat(),
        datetime.fromisoformat(props["EndTimeUtc"]).isoformat(),
    )
    assert state["duration_s"] == 60.0


def test_a_recorded_pipeline_reports_its_execution_stage(ws: Services) -> None:
    """The recorded completed pipeline: its only run times are in azureml.pipelines.stages."""
    state = act.job_state(ws, {"job": PIPELINE})

    assert state["status"] == "Completed"
    assert state["started_at"] == "2023-02-12T04:58:36.696545+00:00"
    assert state["ended_at"] == "2023-02-12T04:58:37.394907+00:00"
    assert state["duration_s"] == 0.698


def test_a_job_that_has_not_run_has_no_duration(ws: Services, planned) -> None:
    name = submit(ws, planned["churn"])

    state = act.job_state(ws, {"job": name})

    assert state["status"] == "NotStarted"
    assert state["started_at"] is None and state["duration_s"] is None


def test_cancel_is_one_post_and_no_polling(ws: Services, service: AzureService, planned) -> None:
    name = submit(ws, planned["churn"])
    service.set_status(name, "Running")
    service.clear()

    act.cancel_job(ws, {"job": name})

    assert calls(service.requests) == [("POST", f"/jobs/{name}/cancel", "2023-04-01-preview")]
    assert service.jobs[name]["properties"]["status"] == "CancelRequested"


# A full run ----------------------------------------------------------------------------------


def test_a_full_run_makes_these_requests_and_fetches_no_key(service: AzureService) -> None:
    """The closing figure: HTTP requests per operation of one run (3 groups: command,
    pipeline, AutoML), from registration to the last poll, plus one cancel."""
    seed(service)
    ws = services(service)
    per_op: dict[str, int] = {}

    def step(op: str, fn: Any, *args: Any) -> Any:
        before = len(service.requests)
        out = fn(ws, *args)
        per_op[op] = per_op.get(op, 0) + len(service.requests) - before
        return out

    step("register (MLTable + uri_folder)", act.register_version, {"delta_version": 3})
    plan = step("plan (newest job per group)", act.plan_retraining, {"data_version": DATA_VERSION})
    names = {}
    for job in plan["jobs"]:
        op = {"churn": "submit command", "churnpipe": "submit pipeline"}.get(job["group"])
        op = op or "submit AutoML"
        names[job["group"]] = step(op, act.submit_job, job)["job"]
    for group, name in names.items():
        step("poll", act.job_state, {"job": name})
        service.set_status(name, "Running")
        step("poll", act.job_state, {"job": name})
        if group != "churnauto":
            service.set_status(name, "Completed")
            step("poll", act.job_state, {"job": name})
    step("cancel", act.cancel_job, {"job": names["churnauto"]})

    assert per_op == {
        "register (MLTable + uri_folder)": 15,
        "plan (newest job per group)": 3,
        "submit command": 3,
        "submit pipeline": 3,
        "submit AutoML": 3,
        "poll": 8,
        "cancel": 1,
    }
    assert service.key_bearing() == []
    arm = {(r.method, _operation(r.path)) for r in service.arm_requests()}
    assert arm == {
        ("GET", "workspace"),
        ("GET", "datastores"),
        ("PUT", "datastores"),
        ("GET", "data/versions"),
        ("PUT", "data/versions"),
        ("GET", "jobs"),
        ("PUT", "jobs"),
        ("POST", "jobs/cancel"),
    }

    # Each of those operations is an action drift's Azure ML role grants (infra/access.bicep).
    assert {ACTION_OF[op] for op in arm} <= granted_ml_actions()


# The Azure RBAC action behind each ARM operation drift sends (MicrosoftDocs/azure-docs
# articles/role-based-access-control/permissions/ai-machine-learning.md).
ACTION_OF = {
    ("GET", "workspace"): "read",
    ("GET", "datastores"): "datastores/read",
    ("PUT", "datastores"): "datastores/write",
    ("GET", "data/versions"): "data/versions/read",
    ("PUT", "data/versions"): "data/versions/write",
    ("GET", "jobs"): "jobs/read",
    ("PUT", "jobs"): "jobs/write",
    ("POST", "jobs/cancel"): "jobs/cancel/action",
}


def granted_ml_actions() -> set[str]:
    """The workspace actions of drift's custom Azure ML role, as infra/access.bicep lists them."""
    bicep = (Path(__file__).resolve().parents[2] / "infra" / "access.bicep").read_text()
    return set(re.findall(r"'Microsoft\.MachineLearningServices/workspaces/([^']+)'", bicep))


def _operation(path: str) -> str:
    parts = path.strip("/").split("/")
    if parts == [""]:
        return "workspace"
    if parts[0] == "data":
        return "data/versions"
    if parts[0] == "jobs" and parts[-1] == "cancel":
        return "jobs/cancel"
    return parts[0]


def test_jobs_fixture_is_reusable(service: AzureService) -> None:
    seed(service)
    assert make_jobs(service).get_job(COMMAND) is not None


def test_the_allow_list_comes_from_the_rest_models() -> None:
    from azure.ai.ml._restclient.arm_ml_service import models

    from drift.backends.azure_jobs import creatable_fields

    command = creatable_fields(models.CommandJob)
    assert {"command", "inputs", "outputs", "environment_id", "compute_id", "tags"} <= set(command)
    assert not {"status", "parameters"} & set(command)  # read-only: the service's
    assert "status" not in creatable_fields(models.PipelineJob)
    assert "task_details" in creatable_fields(models.AutoMLJob)
