"""AzureJobs at the SDK boundary: job specs loaded with azure-ai-ml's `load_job`, doubles of
MLClient's job operations that go through azure-ai-ml's REST conversion both ways."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from azure.ai.ml import Input, load_job
from azure.ai.ml._restclient.arm_ml_service.models import JobStatus
from azure.ai.ml.entities import Job, JupyterLabJobService
from azure.ai.ml.entities._job.to_rest_functions import to_rest_job_object
from azure.ai.ml.operations import DataOperations, DatastoreOperations, JobOperations

from drift.backends.azure_errors import AzureServiceError, RetryPolicy, Where
from drift.backends.azure_jobs import (
    AzureJobs,
    JobNotFound,
    UnboundInput,
    normalize_status,
)
from drift.domain.config import DataAssetBinding
from drift.domain.plan import (
    TAG_DATA_VERSION,
    TAG_GROUP,
    TAG_SOURCE_JOB,
    build_plan,
    newest_per_group,
)
from drift.domain.types import TERMINAL_STATES, JobInput
from tests.azureml_doubles import (
    NOT_FOUND,
    RESOURCE_GROUP,
    WORKSPACE,
    DataDouble,
    DatastoresDouble,
    Fault,
    JobsDouble,
    Workspace,
    http_error,
    wire_client,
    workspace,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "azureml"
WHERE = Where(f"Azure ML workspace {WORKSPACE} ({RESOURCE_GROUP})", "service principal drift-sp")
COMMAND = "churn_20260101080000_seed0001"
PIPELINE = "churn-pipe_20260101080000_seed0002"
NEW_VERSION = "20260301090000-v9"
MLTABLE_V9 = f"azureml:seat_spinning_features:{NEW_VERSION}"
FOLDER_V9 = f"azureml:seat_spinning_features_folder:{NEW_VERSION}"
RUN_FIELDS = ("id", "status", "creation_context", "services")


@pytest.fixture(scope="module")
def specs() -> dict[str, Job]:
    """The fixtures as `load_job` reads them (loaded once: each test seeds its own double)."""
    return {
        COMMAND: load_job(DATA / "command_job.yml"),
        PIPELINE: load_job(DATA / "pipeline_job.yml"),
    }


@pytest.fixture
def ws(specs: dict[str, Job]) -> Workspace:
    ws = workspace(page_size=50)
    ws.jobs.seed(specs[COMMAND], created_at=datetime(2026, 1, 1, 8, 5, tzinfo=UTC))
    ws.jobs.seed(specs[PIPELINE], created_at=datetime(2026, 1, 1, 8, 6, tzinfo=UTC))
    return ws


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def jobs(ws: Workspace, sleeps: list[float]) -> AzureJobs:
    return AzureJobs(
        ws.client, where=WHERE, policy=RetryPolicy(attempts=6, max_seconds=600), sleep=sleeps.append
    )


def drift_tags(group: str, source: str) -> dict[str, str]:
    return {TAG_GROUP: group, TAG_SOURCE_JOB: source, TAG_DATA_VERSION: NEW_VERSION}


def comparable(job: Job, bound: tuple[str, ...] = ()) -> dict[str, Any]:
    """`job._to_dict()` minus what a clone changes: name, tags, the rebound inputs, and the
    fields describing one run. A command node keeps name and tags in its embedded component."""
    d = job._to_dict()
    out = {k: v for k, v in d.items() if k not in ("name", "tags", *RUN_FIELDS)}
    out["inputs"] = {k: v for k, v in (d.get("inputs") or {}).items() if k not in bound}
    # The service's own output (the run's artifact folder) and run properties.
    out["outputs"] = {k: v for k, v in (d.get("outputs") or {}).items() if k != "default"}
    out.pop("properties", None)
    if isinstance(d.get("component"), dict):
        drop = ("name", "tags", "creation_context", "outputs")
        out["component"] = {k: v for k, v in d["component"].items() if k not in drop}
    return out


# The doubles stand where MLClient's operations stand ------------------------------------------


@pytest.mark.parametrize(
    ("double", "real", "methods"),
    [
        (JobsDouble, JobOperations, ("get", "list", "create_or_update", "begin_cancel")),
        (DataDouble, DataOperations, ("get", "create_or_update")),
        (DatastoresDouble, DatastoreOperations, ("get", "create_or_update")),
    ],
)
def test_doubles_keep_the_real_signatures(double, real, methods) -> None:
    def shape(fn) -> list[tuple[str, Any]]:
        return [(p.name, p.kind) for p in inspect.signature(fn).parameters.values()]

    for method in methods:
        assert shape(getattr(double, method)) == shape(getattr(real, method)), method


def test_the_client_is_a_real_mlclient_with_doubled_operations(ws: Workspace) -> None:
    from azure.ai.ml import MLClient

    assert isinstance(ws.client, MLClient)
    assert (ws.client.jobs, ws.client.data, ws.client.datastores) == (
        ws.jobs,
        ws.data,
        ws.datastores,
    )


# Listing -------------------------------------------------------------------------------------


def test_list_jobs_reads_top_level_data_inputs(jobs: AzureJobs) -> None:
    found = {j.name: j for j in jobs.list_jobs(["churn", "churn-pipe"])}

    command, pipeline = found[COMMAND], found[PIPELINE]
    assert command.inputs == {
        "training_data": JobInput(
            "mltable", "azureml:seat_spinning_features:20260101080000-v3", "eval_mount"
        )
    }  # the literal `epochs` is not data
    assert (command.display_name, command.experiment_name) == ("churn weekly training", "churn")
    assert command.created_at == datetime(2026, 1, 1, 8, 5, tzinfo=UTC)
    assert command.tags == {"owner": "data-science"}
    assert pipeline.inputs == {
        "training_data": JobInput(
            "mltable", "azureml:seat_spinning_features@latest", "eval_download"
        ),
        "raw_folder": JobInput(
            "uri_folder", "azureml:seat_spinning_features_folder:20260101080000-v3", "ro_mount"
        ),
    }
    assert pipeline.experiment_name == "churn-pipeline"


def test_list_jobs_keeps_only_the_wanted_groups(jobs: AzureJobs) -> None:
    assert [j.name for j in jobs.list_jobs(["churn"])] == [COMMAND]
    assert [j.name for j in jobs.list_jobs(None)] == [COMMAND, PIPELINE]


# Cloning -------------------------------------------------------------------------------------


def test_clone_of_a_command_job_rebinds_only_the_data_input(ws: Workspace, jobs) -> None:
    name = "churn_20260301090000_0a1b2c3d4e"
    tags = drift_tags("churn", COMMAND)

    created = jobs.submit_clone(
        COMMAND, name, {"training_data": JobInput("mltable", MLTABLE_V9, "eval_mount")}, tags
    )

    assert created.name == name
    assert created.inputs == {"training_data": JobInput("mltable", MLTABLE_V9, "eval_mount")}
    assert created.tags == {"owner": "data-science", **tags}
    [sent] = ws.jobs.submitted
    assert sent.id is None  # else create_or_update would patch the job the id names
    assert not any(sent._to_dict().get(k) for k in RUN_FIELDS)
    source = ws.client.jobs.get(COMMAND)
    assert (sent.name, sent.tags) == (name, {"owner": "data-science", **tags})
    assert (sent.display_name, sent.experiment_name) == (source.display_name, "churn")
    assert sent._to_dict()["inputs"] == {
        "training_data": {"type": "mltable", "path": MLTABLE_V9, "mode": "eval_mount"},
        "epochs": source._to_dict()["inputs"]["epochs"],
    }
    assert comparable(sent, ("training_data",)) == comparable(source, ("training_data",))
    # What the SDK sends (REST body) and what the service then returns agree.
    [body] = ws.jobs.bodies
    assert body.name == name and body.properties.experiment_name == "churn"
    assert body.properties.inputs["training_data"].uri == MLTABLE_V9
    assert body.properties.inputs["training_data"].mode == "EvalMount"
    fetched = ws.client.jobs.get(name)
    assert comparable(fetched) == comparable(sent)
    assert fetched.tags == sent.tags


def test_clone_of_a_pipeline_job_keeps_steps_literals_and_settings(ws: Workspace, jobs) -> None:
    name = "churn-pipe_20260301090000_5f6a7b8c9d"
    inputs = {
        "training_data": JobInput("mltable", MLTABLE_V9, "eval_download"),
        "raw_folder": JobInput("uri_folder", FOLDER_V9, "ro_mount"),
    }

    created = jobs.submit_clone(PIPELINE, name, inputs, drift_tags("churn-pipe", PIPELINE))

    assert created.inputs == inputs
    [sent] = ws.jobs.submitted
    assert sent.id is None
    fetched_source = ws.client.jobs.get(PIPELINE)
    source = fetched_source._to_dict()
    clone = sent._to_dict()
    assert clone["inputs"] == {
        "training_data": {"type": "mltable", "path": MLTABLE_V9, "mode": "eval_download"},
        "raw_folder": {"type": "uri_folder", "path": FOLDER_V9, "mode": "ro_mount"},
        "learning_rate": source["inputs"]["learning_rate"],
    }
    # The inline command component, the registered one, bindings, outputs, settings: as they were.
    assert clone["jobs"] == source["jobs"]
    assert clone["jobs"]["prep"]["component"]["command"].startswith("python prep.py")
    assert clone["jobs"]["train"]["component"] == "azureml:churn_train:2"
    assert comparable(sent, tuple(inputs)) == comparable(fetched_source, tuple(inputs))
    assert (sent.name, sent.display_name, sent.experiment_name) == (
        name,
        "churn pipeline",
        "churn-pipeline",
    )
    [body] = ws.jobs.bodies
    assert {k: v.uri for k, v in body.properties.inputs.items() if k in inputs} == {
        "training_data": MLTABLE_V9,
        "raw_folder": FOLDER_V9,
    }


def test_a_clone_drops_what_describes_the_source_run_only(ws: Workspace, jobs) -> None:
    spec = load_job(DATA / "command_job.yml")
    spec.properties = {
        "_azureml.ComputeTargetType": "amlctrain",
        "ContentSnapshotId": "5a0f3c1e-0000-0000-0000-000000000000",
        "team": "data-science",
    }
    spec.services = {"notebook": JupyterLabJobService()}
    ws.jobs.seed(spec, name="churn_20260102080000_seed0003")
    fetched = ws.client.jobs.get("churn_20260102080000_seed0003")
    assert {"Studio", "Tracking", "notebook"} <= set(fetched.services)

    jobs.submit_clone(
        "churn_20260102080000_seed0003",
        "churn_20260301090000_0a1b2c3d4e",
        {"training_data": JobInput("mltable", MLTABLE_V9)},
        {},
    )

    [sent] = ws.jobs.submitted
    assert sent.properties == {"team": "data-science"}
    assert set(sent.services) == {"notebook"}
    assert (sent.id, sent.status, sent.creation_context) == (None, None, None)


def test_a_command_node_submits_its_job_inputs_not_its_inputs(specs) -> None:
    """The azure-ai-ml fact behind `_rebind`: setting `inputs` alone changes nothing sent."""
    job = Job._from_rest_object(_rest(specs[COMMAND]))
    job.inputs.training_data = Input(type="mltable", path=MLTABLE_V9, mode="eval_mount")

    body = to_rest_job_object(job)

    assert body.properties.inputs["training_data"].uri != MLTABLE_V9


def _rest(job: Job) -> Any:
    rest = to_rest_job_object(job)
    rest.id = f"/jobs/{job.name}"
    return rest


def test_submitting_an_existing_name_returns_it_without_creating(ws: Workspace, jobs) -> None:
    name = "churn_20260301090000_0a1b2c3d4e"
    jobs.submit_clone(
        COMMAND, name, {"training_data": JobInput("mltable", MLTABLE_V9)}, drift_tags("churn", "x")
    )
    ws.service.calls.clear()

    again = jobs.submit_clone(
        COMMAND, name, {"training_data": JobInput("mltable", MLTABLE_V9)}, drift_tags("churn", "x")
    )

    assert again.name == name
    assert ws.service.calls == [("jobs.get", name)]
    assert len(ws.jobs.submitted) == 1


def test_a_submit_that_went_through_before_a_503_is_not_submitted_again(
    ws: Workspace, jobs, sleeps
) -> None:
    name = "churn_20260301090000_0a1b2c3d4e"
    ws.service.fail("jobs.create_or_update", Fault(http_error(503, "upstream timeout"), after=True))

    created = jobs.submit_clone(
        COMMAND, name, {"training_data": JobInput("mltable", MLTABLE_V9, "eval_mount")}, {}
    )

    assert created.name == name and created.inputs["training_data"].path == MLTABLE_V9
    assert ws.service.count("jobs.create_or_update") == 1
    assert ws.jobs.names().count(name) == 1
    assert [op for op, _ in ws.service.calls] == [
        "jobs.get",  # the new name: not there
        "jobs.get",  # the source
        "jobs.create_or_update",  # 503, but the job was created
        "jobs.get",  # the retry looks before it creates
    ]
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    "refusal",
    [
        http_error(409, "A job with this name already exists", code="UserError"),
        http_error(400, "Job inputs cannot be changed", code="UserError"),
    ],
)
def test_a_submit_racing_another_submitter_returns_the_winner(
    ws: Workspace, jobs, sleeps, refusal
) -> None:
    name = "churn_20260301090000_0a1b2c3d4e"
    ws.service.fail("jobs.create_or_update", Fault(refusal, after=True))

    created = jobs.submit_clone(
        COMMAND, name, {"training_data": JobInput("mltable", MLTABLE_V9)}, {}
    )

    assert created.name == name
    assert ws.service.count("jobs.create_or_update") == 1
    assert sleeps == []


def test_a_missing_source_or_input_is_a_permanent_error(ws: Workspace, jobs) -> None:
    with pytest.raises(JobNotFound, match=f"{WORKSPACE}.*service principal drift-sp"):
        jobs.submit_clone("churn_20250101000000_gone", "churn_20260301090000_a", {}, {})
    with pytest.raises(UnboundInput, match="no input 'features'"):
        jobs.submit_clone(
            COMMAND, "churn_20260301090000_b", {"features": JobInput("mltable", MLTABLE_V9)}, {}
        )
    assert ws.service.count("jobs.create_or_update") == 0


def test_a_refused_submit_names_job_workspace_and_identity(ws: Workspace, jobs, sleeps) -> None:
    name = "churn_20260301090000_0a1b2c3d4e"
    ws.service.fail_always(
        "jobs.create_or_update",
        http_error(403, "The client does not have authorization", code="AuthorizationFailed"),
    )

    with pytest.raises(AzureServiceError) as raised:
        jobs.submit_clone(COMMAND, name, {"training_data": JobInput("mltable", MLTABLE_V9)}, {})

    message = str(raised.value)
    assert name in message and COMMAND in message and "403" in message
    assert WORKSPACE in message and "service principal drift-sp" in message
    assert ws.service.count("jobs.create_or_update") == 1 and sleeps == []


# Faults --------------------------------------------------------------------------------------


def test_a_throttling_storm_on_polls_ends_in_success(ws: Workspace, jobs, sleeps) -> None:
    ws.service.fail(
        "jobs.get",
        http_error(429, "Too many requests", retry_after=4),
        http_error(429, "Too many requests", retry_after=4),
        http_error(503, "Service unavailable", retry_after=2),
        http_error(429, "Too many requests", retry_after=1),
    )

    state = jobs.get_state(COMMAND)

    assert state.status == "Completed"
    assert sleeps == [4.0, 4.0, 2.0, 1.0]
    assert ws.service.count("jobs.get") == 5


def test_a_fault_mid_listing_restarts_the_listing(ws: Workspace, jobs, sleeps) -> None:
    for i in range(120):
        ws.jobs.seed(
            ws.jobs._jobs[COMMAND].entity,
            name=f"churn_2026020{i % 9 + 1}000000_d{i:03d}",
            tags={TAG_GROUP: "churn"},
        )
    ws.service.fail("jobs.list", Fault(http_error(503, "busy"), skip=1))  # the second page fails

    found = jobs.list_jobs(["churn"])

    assert len(found) == 120
    assert ws.service.count("jobs.list") == 2 + 3  # pages 1 and 2 (503), then 3 pages of 50
    assert len(sleeps) == 1


def test_a_403_on_listing_fails_fast(ws: Workspace, jobs, sleeps) -> None:
    ws.service.fail_always("jobs.list", http_error(403, "Forbidden", code="AuthorizationFailed"))

    with pytest.raises(AzureServiceError, match=f"{WORKSPACE}.*service principal drift-sp.*403"):
        jobs.list_jobs(["churn"])
    assert sleeps == []


# Finding each group's newest job without reading the workspace's history ---------------------


def history(ws: Workspace, template: Job, count: int, start: datetime) -> None:
    """`count` jobs users ran, none by drift: other groups, other naming, over past months."""
    for i in range(count):
        name = f"team{i % 37}_{(start + timedelta(minutes=i)):%Y%m%d%H%M%S}_{i:05d}"
        if i % 5 == 0:
            name = f"adhoc-run-{i}"
        ws.jobs.seed(template, name=name, created_at=start + timedelta(minutes=i), tags={})


def test_drift_groups_are_found_in_a_bounded_number_of_calls(ws: Workspace, jobs, specs) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    history(ws, specs[COMMAND], 9_900, start)
    expected = {}
    for group in ("churn", "fraud"):
        for day in range(1, 50):
            stamp = (start + timedelta(days=day)).strftime("%Y%m%d%H%M%S")
            name = f"{group}_{stamp}_{day:010d}"
            ws.jobs.seed(
                specs[COMMAND],
                name=name,
                created_at=start + timedelta(days=day, hours=1),
                tags={TAG_GROUP: group, TAG_SOURCE_JOB: "x", TAG_DATA_VERSION: stamp},
            )
            expected[group] = name
    assert len(ws.jobs.names()) == 2 + 9_900 + 98

    found = jobs.list_jobs(["churn", "fraud"])

    assert {g: j.name for g, j in newest_per_group(found).items()} == expected
    assert ws.service.counts() == {"jobs.list": 2}  # 98 drift jobs, 50 a page


def test_a_group_never_submitted_costs_one_bounded_scan(ws: Workspace, jobs, specs) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    history(ws, specs[COMMAND], 10_000, start)
    # The user's seed for a new group, 120th newest job of the workspace.
    newest = start + timedelta(minutes=9_999)
    ws.jobs.seed(
        specs[COMMAND],
        name="seedonly_20251201000000_s001",
        created_at=newest - timedelta(minutes=119, seconds=30),
    )

    found = jobs.list_jobs(["seedonly"])

    assert [j.name for j in found] == ["seedonly_20251201000000_s001"]
    # 1 page of drift's (none) + the whole bound: the list promises no order, so seeing the
    # group early proves nothing about its newest job.
    pages = jobs.seed_scan_limit // ws.jobs.page_size
    assert ws.service.counts() == {"jobs.list": 1 + pages}

    ws.service.calls.clear()
    assert jobs.list_jobs(["nowhere"]) == []
    pages = jobs.seed_scan_limit // ws.jobs.page_size
    assert ws.service.counts() == {"jobs.list": 1 + pages}


def test_once_submitted_a_group_no_longer_needs_the_scan(ws: Workspace, jobs) -> None:
    bindings = [
        DataAssetBinding(name="training_data", value="seat_spinning_features"),
        DataAssetBinding(name="raw_folder", value="seat_spinning_features_folder"),
    ]
    plan = build_plan(jobs.list_jobs(["churn", "churn-pipe"]), bindings, NEW_VERSION)
    for planned in plan.jobs:
        jobs.submit_clone(planned.source_job, planned.job_name, planned.inputs, planned.tags)
    ws.service.calls.clear()

    found = jobs.list_jobs(["churn", "churn-pipe"])
    again = build_plan(found, bindings, NEW_VERSION)

    assert ws.service.counts() == {"jobs.list": 1}
    assert [j.job_name for j in again.jobs] == [j.job_name for j in plan.jobs]
    assert {j.group: j.source_job for j in again.jobs} == {"churn": COMMAND, "churn-pipe": PIPELINE}
    pipe = next(j for j in again.jobs if j.group == "churn-pipe")
    assert pipe.inputs == {
        "training_data": JobInput("mltable", MLTABLE_V9, "eval_download"),
        "raw_folder": JobInput("uri_folder", FOLDER_V9, "ro_mount"),
    }
    ws.service.calls.clear()
    for planned in again.jobs:  # a repeated run submits nothing new
        jobs.submit_clone(planned.source_job, planned.job_name, planned.inputs, planned.tags)
    assert ws.service.count("jobs.create_or_update") == 0


# States and cancelling -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reported", "status"),
    [
        ("NotStarted", "NotStarted"),
        ("Queued", "Queued"),
        ("Preparing", "Preparing"),
        ("Provisioning", "Provisioning"),
        ("Starting", "Starting"),
        ("Running", "Running"),
        ("Finalizing", "Finalizing"),
        ("CancelRequested", "CancelRequested"),
        ("Completed", "Completed"),
        ("Failed", "Failed"),
        ("Canceled", "Canceled"),
        ("NotResponding", "NotResponding"),
        ("Paused", "Paused"),
        ("Unknown", "Unknown"),
    ],
)
def test_states_map_onto_drifts_terminal_states(ws: Workspace, jobs, reported, status) -> None:
    ws.jobs.set_status(COMMAND, reported)

    state = jobs.get_state(COMMAND)

    assert state.status == status
    assert state.terminal == (status in TERMINAL_STATES)
    assert state.terminal == (
        status in {"Completed", "Failed", "Canceled", "NotResponding", "Paused"}
    )
    ran = status in {"Running", "Finalizing", "CancelRequested"} or state.terminal
    assert (state.started_at is not None) == ran  # the job's own start, not its creation
    assert (state.ended_at is not None) == state.terminal
    assert (state.error is not None) == (status in {"Failed", "NotResponding"})
    assert state.log_path and COMMAND in state.log_path


def test_status_spellings() -> None:
    assert normalize_status(JobStatus.CANCELED) == "Canceled"
    assert normalize_status("cancelled") == "Canceled"
    assert normalize_status(None) == "Unknown"
    assert normalize_status("SomethingNew") == "SomethingNew"  # not terminal: polled to timeout


def test_polling_a_missing_job_is_a_permanent_error(jobs) -> None:
    with pytest.raises(JobNotFound, match="churn_20990101000000_none"):
        jobs.get_state("churn_20990101000000_none")


def test_cancel_requests_and_tolerates_ended_or_gone_jobs(ws: Workspace, jobs) -> None:
    ws.jobs.set_status(PIPELINE, "Running")

    jobs.cancel(PIPELINE)
    assert jobs.get_state(PIPELINE).status == "CancelRequested"

    ws.service.calls.clear()
    jobs.cancel(COMMAND)  # Completed: the service refuses; the job has ended, so that is fine
    assert [op for op, _ in ws.service.calls] == ["jobs.begin_cancel", "jobs.get"]

    ws.service.calls.clear()
    jobs.cancel("churn_20990101000000_none")
    assert [op for op, _ in ws.service.calls] == ["jobs.begin_cancel"]


def test_a_refused_cancel_of_a_running_job_is_an_error(ws: Workspace, jobs) -> None:
    ws.jobs.set_status(PIPELINE, "Running")
    ws.service.fail_always("jobs.begin_cancel", http_error(403, "Forbidden"))

    with pytest.raises(AzureServiceError, match=f"cancel job '{PIPELINE}'.*{WORKSPACE}"):
        jobs.cancel(PIPELINE)


# The wire: the real JobOperations over a scripted transport ----------------------------------


def test_the_real_sdk_filters_drifts_jobs_by_tag_on_the_service() -> None:
    client, wire = wire_client(lambda r: NOT_FOUND if "/jobs/" in r.path else (200, {"value": []}))
    jobs = AzureJobs(client, where=WHERE)

    assert jobs.list_jobs(["churn"]) == []  # no drift job yet: one scan for the seed follows
    assert jobs.get_job("churn_20990101000000_none") is None
    jobs.cancel("churn_20990101000000_none")

    listed = [r for r in wire.requests if r.path == "/jobs"]
    assert [r.query.get("tag") for r in listed] == ["drift.group", None]
    assert all(r.query["listViewType"] == "ActiveOnly" for r in listed)
    assert [(r.method, r.path) for r in wire.requests[2:]] == [
        ("GET", "/jobs/churn_20990101000000_none"),
        ("POST", "/jobs/churn_20990101000000_none/cancel"),
    ]
