"""Databricks jobs as model groups: a retrain is `run_now` with the new data version.

A group listed under `databricksJobs` names a Databricks job instead of Azure ML jobs. drift
"clones" it by running it with the new version as a job parameter; the deterministic drift
job name is both a job parameter (so a run can be found again by any worker) and the
`idempotency_token`, hashed to the API's 64 characters (so a retried submit returns the run
it already started).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from drift.domain import JobInput, JobState, PermanentError, TrainingJob
from drift.plan import split_job_name

NAME_PARAMETER = "drift_job_name"
# Runs scanned to find one by its drift name: runs are listed newest first, and drift polls
# its run while it is among the newest, so a bounded look-back is enough.
RUNS_LOOKBACK = 100
# Databricks states -> the Azure ML vocabulary the monitor understands.
_RESULT = {
    "SUCCESS": "Completed",
    "SUCCESS_WITH_FAILURES": "Failed",
    "FAILED": "Failed",
    "TIMEDOUT": "Failed",
    "MAXIMUM_CONCURRENT_RUNS_REACHED": "Failed",
    "UPSTREAM_FAILED": "Failed",
    "CANCELED": "Canceled",
    "UPSTREAM_CANCELED": "Canceled",
    "EXCLUDED": "Canceled",
    "DISABLED": "Canceled",
}
_LIFECYCLE = {
    "QUEUED": "Queued",
    "PENDING": "Preparing",
    "BLOCKED": "Queued",
    "WAITING": "Queued",
    "RUNNING": "Running",
    "TERMINATING": "Finalizing",
    "SKIPPED": "Canceled",
    "INTERNAL_ERROR": "Failed",
}


class DatabricksRunNotFound(PermanentError, LookupError):
    """No recent run of the job carries this drift job name."""


@dataclass(frozen=True)
class DatabricksGroup:
    group: str
    job_id: int
    input_name: str  # the dataAssets input this job's data stands for
    version_parameter: str = "data_asset_version"


def _enum(value: Any) -> str | None:
    return getattr(value, "value", value)


def _when(millis: int | None) -> datetime | None:
    return datetime.fromtimestamp(millis / 1000, tz=UTC) if millis else None


class DatabricksJobs:
    """A JobService over `WorkspaceClient.jobs` for the configured Databricks groups."""

    def __init__(self, client: Any | Callable[[], Any], groups: Sequence[DatabricksGroup]) -> None:
        """`client` is a WorkspaceClient, or a factory so that none is built before it is used."""
        self._client = client
        self.groups = {g.group: g for g in groups}

    @property
    def client(self) -> Any:
        if callable(self._client):
            self._client = self._client()
        return self._client

    def owns(self, name: str) -> bool:
        parts = split_job_name(name)
        return parts is not None and parts[0] in self.groups

    def _group(self, name: str) -> DatabricksGroup:
        parts = split_job_name(name)
        if parts is None or parts[0] not in self.groups:
            raise KeyError(f"{name} is not a Databricks job group")
        return self.groups[parts[0]]

    def list_jobs(self, groups: Sequence[str] | None = None) -> Iterable[TrainingJob]:
        """One stand-in per group: the job itself, with its data input as the plan expects."""
        for group in self.groups.values():
            if groups and group.group not in groups:
                continue
            yield TrainingJob(
                name=f"{group.group}_00000000000000_job{group.job_id}",
                inputs={group.input_name: JobInput("mltable", f"databricks:job/{group.job_id}")},
                display_name=group.group,
                tags={"databricks.job_id": str(group.job_id)},
            )

    def get_job(self, name: str) -> TrainingJob | None:
        return next((j for j in self.list_jobs() if j.name == name), None)

    def submit_clone(
        self, source: str, name: str, inputs: dict[str, JobInput], tags: dict[str, str]
    ) -> TrainingJob:
        group = self._group(name)
        bound = inputs.get(group.input_name)
        if bound is None:
            raise PermanentError(f"{name}: no new binding for input {group.input_name}")
        version = bound.path.rsplit(":", 1)[-1]
        waiter = self.client.jobs.run_now(
            job_id=group.job_id,
            job_parameters={group.version_parameter: version, NAME_PARAMETER: name},
            idempotency_token=hashlib.sha256(name.encode()).hexdigest()[:40],
        )
        run_id = getattr(waiter, "run_id", None)
        return TrainingJob(
            name, inputs, group.group, None, None, {**tags, "databricks.run_id": str(run_id)}
        )

    def _run(self, name: str) -> Any:
        group = self._group(name)
        runs = self.client.jobs.list_runs(job_id=group.job_id, limit=25)
        for run in itertools.islice(runs, RUNS_LOOKBACK):
            params = {p.name: p.value for p in (run.job_parameters or [])}
            if params.get(NAME_PARAMETER) == name:
                return run
        raise DatabricksRunNotFound(
            f"no run of Databricks job {group.job_id} among its newest {RUNS_LOOKBACK} "
            f"carries {NAME_PARAMETER}={name}"
        )

    def get_state(self, name: str) -> JobState:
        run = self._run(name)
        state = run.state
        result = _enum(getattr(state, "result_state", None))
        lifecycle = _enum(getattr(state, "life_cycle_state", None))
        if lifecycle == "TERMINATED" and result in _RESULT:
            status = _RESULT[result]
        else:
            # A run that ended with no result drift knows is not worth waiting on.
            default = "Failed" if lifecycle == "TERMINATED" else "Queued"
            status = _LIFECYCLE.get(lifecycle or "", default)
        message = getattr(state, "state_message", None) or None
        return JobState(
            name,
            status,
            _when(run.start_time),
            _when(run.end_time),
            error=message if status == "Failed" else None,
            log_path=getattr(run, "run_page_url", None),
        )

    def cancel(self, name: str) -> None:
        try:
            run = self._run(name)
        except DatabricksRunNotFound:
            return  # never started or long gone: nothing to stop
        self.client.jobs.cancel_run(run_id=run.run_id)


class RoutingJobs:
    """Azure ML (or local) jobs, with the Databricks groups routed to Databricks."""

    def __init__(self, default: Any, databricks: DatabricksJobs) -> None:
        self.default = default
        self.databricks = databricks

    def _for(self, name: str) -> Any:
        return self.databricks if self.databricks.owns(name) else self.default

    def list_jobs(self, groups: Sequence[str] | None = None) -> Iterable[TrainingJob]:
        theirs = [g for g in groups or [] if g not in self.databricks.groups]
        mine = [g for g in groups or [] if g in self.databricks.groups]
        jobs = list(self.databricks.list_jobs(mine or None)) if not groups or mine else []
        if not groups or theirs:
            jobs += [
                j
                for j in self.default.list_jobs(theirs or None)
                if not self.databricks.owns(j.name)
            ]
        return jobs

    def get_job(self, name: str) -> TrainingJob | None:
        return self._for(name).get_job(name)

    def submit_clone(
        self, source: str, name: str, inputs: dict[str, JobInput], tags: dict[str, str]
    ) -> TrainingJob:
        return self._for(name).submit_clone(source, name, inputs, tags)

    def get_state(self, name: str) -> JobState:
        return self._for(name).get_state(name)

    def cancel(self, name: str) -> None:
        self._for(name).cancel(name)
