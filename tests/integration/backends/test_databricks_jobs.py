"""Databricks jobs as model groups, through the real orchestrators, against a double of
`WorkspaceClient.jobs` that speaks the SDK's own dataclasses (the real client over HTTP is in
test_databricks_sdk.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from databricks.sdk.service.jobs import (
    Job,
    JobParameter,
    JobParameterDefinition,
    JobSettings,
    Run,
    RunLifeCycleState,
    RunResultState,
    RunState,
)

from drift.backends.databricks_jobs import DatabricksGroup, DatabricksJobs, RoutingJobs
from drift.domain.config import parse_config
from drift.entrypoints.local_run import run_retrain
from drift.runtime.runtime import VirtualClock
from tests.fakes import FakeJobs
from tests.integration.durable.test_orchestration import make_services, seed_jobs

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
TERMINATED = RunLifeCycleState.TERMINATED


@dataclass
class Waiter:
    run_id: int


@dataclass
class FakeJobsApi:
    """`w.jobs`: run_now honours idempotency tokens; each poll advances a run's script."""

    script: list[tuple[RunLifeCycleState, RunResultState | None]]
    declared: tuple[str, ...] = ("data_asset_version",)
    runs: dict[int, Run] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    polls: dict[int, int] = field(default_factory=dict)
    cancelled: list[int] = field(default_factory=list)
    run_now_calls: int = 0

    def get(self, *, job_id: int) -> Job:
        parameters = [JobParameterDefinition(name=n, default="") for n in self.declared]
        return Job(job_id=job_id, settings=JobSettings(name="churn", parameters=parameters))

    def run_now(
        self, *, job_id: int, job_parameters: dict[str, str], idempotency_token: str
    ) -> Waiter:
        self.run_now_calls += 1
        if idempotency_token in self.tokens:
            return Waiter(self.tokens[idempotency_token])
        run_id = 1000 + len(self.runs)
        self.tokens[idempotency_token] = run_id
        assert set(job_parameters) <= set(self.declared), job_parameters
        self.runs[run_id] = Run(
            run_id=run_id,
            job_id=job_id,
            start_time=1_795_420_800_000,
            job_parameters=[JobParameter(name=k, value=v) for k, v in job_parameters.items()],
            state=RunState(life_cycle_state=RunLifeCycleState.QUEUED),
        )
        return Waiter(run_id)

    def get_run(self, *, run_id: int) -> Run:
        run = self.runs[run_id]
        if run_id not in self.cancelled:
            step = self.script[min(self.polls.get(run_id, 0), len(self.script) - 1)]
            self.polls[run_id] = self.polls.get(run_id, 0) + 1
            run.state = RunState(
                life_cycle_state=step[0],
                result_state=step[1],
                state_message="notebook raised" if step[1] else None,
            )
            if step[0] == TERMINATED:
                run.end_time = (run.start_time or 0) + 60_000
        return run

    def cancel_run(self, *, run_id: int) -> None:
        self.cancelled.append(run_id)
        self.runs[run_id].state = RunState(
            life_cycle_state=TERMINATED, result_state=RunResultState.CANCELED
        )


class FakeWorkspace:
    def __init__(self, api: FakeJobsApi) -> None:
        self.jobs = api


def services_with(tmp_path: Path, api: FakeJobsApi, **params: Any) -> Any:
    services = make_services(tmp_path, FakeJobs(seed_jobs()), **params)
    group = DatabricksGroup("churn_dbx", 42, "training_data")
    services.jobs = RoutingJobs(services.jobs, DatabricksJobs(FakeWorkspace(api), [group]))
    return services


def test_a_databricks_group_runs_with_the_new_version(tmp_path: Path) -> None:
    api = FakeJobsApi([(RunLifeCycleState.RUNNING, None), (TERMINATED, RunResultState.SUCCESS)])
    services = services_with(tmp_path, api)
    report = run_retrain(services, {"delta_version": 0}, clock=VirtualClock(START))
    rows = {r["model_group"]: r for r in report["retrained"]}
    assert rows["churn_dbx"]["status"] == "Completed"
    assert rows["churn_dbx"]["duration_s"] == 60.0
    assert rows["churn"]["status"] == "Completed"  # Azure ML/local groups still retrained
    [run] = api.runs.values()
    params = {p.name: p.value for p in run.job_parameters or []}
    assert params == {"data_asset_version": report["data_asset_version"]}
    assert run.job_id == 42
    assert api.polls == {run.run_id: 2}  # that run, polled until it ended


def test_a_rerun_finds_the_same_databricks_run(tmp_path: Path) -> None:
    api = FakeJobsApi([(TERMINATED, RunResultState.SUCCESS)])
    services = services_with(tmp_path, api)
    run_retrain(services, {"delta_version": 0}, clock=VirtualClock(START))
    run_retrain(services, {"delta_version": 0}, clock=VirtualClock(START))
    assert len(api.runs) == 1 and api.run_now_calls == 2


def test_failed_and_hung_runs(tmp_path: Path) -> None:
    failing = FakeJobsApi([(TERMINATED, RunResultState.FAILED)])
    report = run_retrain(
        services_with(tmp_path / "a", failing), {"delta_version": 0}, clock=VirtualClock(START)
    )
    row = next(r for r in report["retrained"] if r["model_group"] == "churn_dbx")
    assert (row["status"], row["error"]) == ("Failed", "notebook raised")

    hung = FakeJobsApi([(RunLifeCycleState.RUNNING, None)])
    services = services_with(tmp_path / "b", hung, refreshTimeout=60, refreshDelay=10)
    report = run_retrain(services, {"delta_version": 0}, clock=VirtualClock(START))
    row = next(r for r in report["retrained"] if r["model_group"] == "churn_dbx")
    assert row["status"] == "TimedOut"
    assert hung.cancelled == list(hung.runs)


def test_config_names_databricks_groups() -> None:
    config = parse_config(
        {
            "parameters": {
                "dataAssets": [{"name": "training_data", "value": "features"}],
                "databricksJobs": [{"group": "churn_dbx", "jobId": 42}],
            },
            "local": {"tablePath": "t", "jobsDir": "j"},
        }
    )
    [group] = config.parameters.databricks_jobs
    assert (group.group, group.job_id, group.version_parameter) == (
        "churn_dbx",
        42,
        "data_asset_version",
    )
