"""drift_on_job_event and drift_http_databricks_run: a job's end wakes its monitor at once.

The real app (functions, orchestrators, entities, activities) on a virtual clock; jobs run for
a set time (tests/clocked_jobs.py). Event payloads follow Azure ML's RunStatusChanged data
(MachineLearningServicesRunStatusChangedEventData: experimentId, experimentName, runId,
runType, runTags, runProperties, runStatus) and Databricks' webhook notification body
(docs.databricks.com/aws/en/jobs/notifications).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import azure.functions as func

from drift.durable.orchestration import run_instance_id
from drift.functions import settings
from tests.functions.conftest import KEY, App, _event_object, seed_jobs, user_function
from tests.reliability.support import TimedJobs

RUN_S = 1000


def clocked(app: App, **runs: float) -> TimedJobs:
    jobs = TimedJobs(
        seed_jobs(), clock=app.clock, runs_for=runs or {"churn": RUN_S, "upsell": RUN_S}
    )
    settings.watchlist().services(KEY).jobs = jobs
    app.jobs = jobs
    return jobs


def aml_event(job: str, status: str = "Completed", event_id: str = "e1", **over: Any) -> dict:
    return {
        "id": event_id,
        "eventType": "Microsoft.MachineLearningServices.RunStatusChanged",
        "subject": f"experiments/0fa9dfaa-cba3-4fa7-b590-23e48548f5c1/runs/{job}",
        "topic": "/subscriptions/s/resourceGroups/rg/providers/"
        "Microsoft.MachineLearningServices/workspaces/ws",
        "eventTime": "2026-11-23T08:16:40Z",
        "data": {
            "experimentId": "0fa9dfaa-cba3-4fa7-b590-23e48548f5c1",
            "experimentName": "churn",
            "runId": job,
            "runType": None,
            "runTags": {"drift.group": job.split("_")[0]},
            "runProperties": {},
            "runStatus": status,
        },
        "dataVersion": "2",
        **over,
    }


def deliver_job_event(app: App, payload: dict) -> None:
    fn = user_function("drift_on_job_event").client_function
    asyncio.run(fn(event=_event_object(payload), client=app.client))
    app.runtime.run_until_idle(max_time=app.clock.now())


def post_databricks(app: App, body: Any) -> func.HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = func.HttpRequest("POST", "http://localhost:7071/api/databricks-run", body=raw)
    fn = user_function("drift_http_databricks_run").client_function
    response = asyncio.run(fn(req=request, client=app.client))
    app.runtime.run_until_idle(max_time=app.clock.now())
    return response


def advance(app: App, seconds: float) -> None:
    """Run what is due in the next `seconds`, then stand at exactly that time."""
    target = app.clock.now() + timedelta(seconds=seconds)
    app.runtime.run_until_idle(max_time=target)
    app.clock.sleep_until(target)


def start_run(app: App) -> str:
    version = app.commit()
    app.deliver(app.event(version))
    return run_instance_id(KEY, version)


def job_of(app: App, group: str) -> str:
    return next(j.name for j in app.jobs.submitted if j.name.startswith(group + "_"))


def test_a_job_status_event_ends_the_wait_at_once(make_app: Callable[..., App]) -> None:
    app = make_app(refreshDelay="600", refreshTimeout="7200")
    jobs = clocked(app)
    run = start_run(app)
    submitted = app.clock.now()
    advance(app, RUN_S)  # both jobs ended; the monitors sleep until their next poll at 1,200 s
    churn, upsell = job_of(app, "churn"), job_of(app, "upsell")
    assert jobs.polls == {churn: 2, upsell: 2}

    deliver_job_event(app, aml_event(churn))
    assert app.runtime.get_status(f"{run}-churn").runtime_status.value == "Completed"
    assert app.runtime.get_status(f"{run}-upsell").runtime_status.value == "Running"
    deliver_job_event(app, aml_event(upsell, event_id="e2"))
    status = app.runtime.get_status(run)
    assert status.runtime_status.value == "Completed"
    assert app.clock.now() - submitted == timedelta(seconds=RUN_S)  # not 1,200 s
    assert {r["model_group"]: r["status"] for r in status.output["retrained"]} == {
        "churn": "Completed",
        "upsell": "Completed",
    }
    assert jobs.polls == {churn: 3, upsell: 3}  # one status read per wake-up
    # Monitors unregister when they end: a late duplicate finds nobody to wake.
    calls = len(app.client.calls)
    deliver_job_event(app, aml_event(churn, event_id="e1"))
    assert not [c for c in app.client.calls[calls:] if c[0] == "raise_event"]


def test_a_status_change_that_is_not_the_end_costs_one_read(make_app: Callable[..., App]) -> None:
    app = make_app(refreshDelay="600", refreshTimeout="7200")
    jobs = clocked(app)
    run = start_run(app)
    churn = job_of(app, "churn")
    advance(app, 100)
    deliver_job_event(app, aml_event(churn, "Running"))
    assert jobs.polls[churn] == 2
    assert app.runtime.get_status(f"{run}-churn").runtime_status.value == "Running"
    app.settle()  # the timers still end it
    report = app.runtime.get_status(run).output
    assert [r["status"] for r in report["retrained"]] == ["Completed", "Completed"]


def test_events_for_other_jobs_and_types_are_acknowledged(make_app: Callable[..., App]) -> None:
    app = make_app(refreshDelay="600", refreshTimeout="7200")
    clocked(app)
    start_run(app)
    before = len(app.client.calls)
    for payload in (
        aml_event("churn_20990101000000_notours"),  # drift's naming, but no monitor watches it
        aml_event("experiment-run-7"),  # not drift's naming
        aml_event(
            "g_20260101000000_x", eventType="Microsoft.MachineLearningServices.ModelRegistered"
        ),
        {**aml_event("churn_20990101000000_x"), "data": {"runStatus": "Completed"}},
    ):
        deliver_job_event(app, payload)  # never raises: Event Grid would only retry it
    assert not [c for c in app.client.calls[before:] if c[0] == "raise_event"]


def test_databricks_webhook_wakes_the_groups_monitors(make_app: Callable[..., App]) -> None:
    app = make_app(
        refreshDelay="600",
        refreshTimeout="7200",
        databricksJobs=[{"group": "churn", "jobId": 123}],
    )
    clocked(app)
    run = start_run(app)
    advance(app, RUN_S)
    body = {
        "event_type": "jobs.on_success",
        "workspace_id": "1234567890",
        "run": {"run_id": "998877"},
        "job": {"job_id": "123", "name": "churn training"},
    }
    response = post_databricks(app, body)
    assert response.status_code == 200
    assert json.loads(response.get_body())["woken"] == [f"{run}-churn"]
    assert app.runtime.get_status(f"{run}-churn").runtime_status.value == "Completed"

    ignored = {
        "jobs.on_start": "has not ended",
        "jobs.on_duration_warning_threshold_exceeded": "has not ended",
    }
    for kind, reason in ignored.items():
        response = post_databricks(app, {**body, "event_type": kind})
        assert response.status_code == 200 and reason in json.loads(response.get_body())["reason"]
    response = post_databricks(app, {**body, "job": {"job_id": 999}})
    assert "Databricks job 999 is not a model group" in json.loads(response.get_body())["reason"]
    task = {**body, "task": {"task_key": "train"}, "run": {"run_id": "1", "parent_run_id": "2"}}
    assert json.loads(post_databricks(app, task).get_body())["woken"] == []


def test_databricks_webhook_bad_bodies_are_400_naming_the_field(
    make_app: Callable[..., App],
) -> None:
    app = make_app()
    cases = {
        b"not json": "body: not JSON",
        json.dumps([1]).encode(): "body: expected a JSON object",
        json.dumps({"job": {"job_id": 1}}).encode(): "event_type: missing",
        json.dumps({"event_type": "jobs.on_success", "run": {"run_id": 1}}).encode(): "job.job_id",
        json.dumps({"event_type": "jobs.on_success", "job": {"job_id": 1}}).encode(): "run.run_id",
        json.dumps(
            {"event_type": "model.created", "job": {"job_id": 1}, "run": {"run_id": 1}}
        ).encode(): "event_type: 'model.created'",
    }
    for raw, field in cases.items():
        response = post_databricks(app, raw)
        assert response.status_code == 400, raw
        assert field in json.loads(response.get_body())["error"], raw


class RunIdJobs(TimedJobs):
    """TimedJobs that answer a submit with a run id, as `DatabricksJobs.submit_clone` does."""

    def submit_clone(self, source: str, name: str, inputs: Any, tags: dict[str, str]) -> Any:
        job = super().submit_clone(source, name, inputs, tags)
        return replace(job, run_id=f"77{len(self.submitted)}")

    def get_state(self, name: str, *, run_id: str | None = None) -> Any:
        assert run_id == self.run_ids[name]  # the monitor polls the run it was given
        return super().get_state(name)

    def cancel(self, name: str, *, run_id: str | None = None) -> None:
        super().cancel(name)

    @property
    def run_ids(self) -> dict[str, str]:
        return {j.name: f"77{i + 1}" for i, j in enumerate(self.submitted)}


def test_databricks_webhook_wakes_only_the_monitor_of_that_run(
    make_app: Callable[..., App],
) -> None:
    """The monitor keeps the run id its submit returned, and the watch entity with it: a
    notification for another run of the same Databricks job wakes nobody."""
    app = make_app(
        refreshDelay="600",
        refreshTimeout="7200",
        databricksJobs=[{"group": "churn", "jobId": 123}],
    )
    jobs = RunIdJobs(seed_jobs(), clock=app.clock, runs_for={"churn": RUN_S, "upsell": RUN_S})
    settings.watchlist().services(KEY).jobs = jobs
    app.jobs = jobs
    run = start_run(app)
    advance(app, RUN_S)
    churn = job_of(app, "churn")
    mine = jobs.run_ids[churn]
    body = {
        "event_type": "jobs.on_success",
        "run": {"run_id": "998877"},  # another run of job 123 (not drift's, or an older one)
        "job": {"job_id": "123"},
    }
    response = post_databricks(app, body)
    assert json.loads(response.get_body()) == {"woken": [], "reason": "no monitor is watching"}
    assert jobs.polls[churn] == 2

    response = post_databricks(app, {**body, "run": {"run_id": mine}})
    assert json.loads(response.get_body())["woken"] == [f"{run}-churn"]
    assert app.runtime.get_status(f"{run}-churn").runtime_status.value == "Completed"
    assert jobs.polls[churn] == 3
