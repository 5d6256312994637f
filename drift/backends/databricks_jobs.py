"""Databricks jobs as model groups: a retrain is `run_now` with the new data version.

A group listed under `databricksJobs` names a Databricks job instead of Azure ML jobs. drift
"clones" it by running it with the new version as a job parameter. It sends only parameters
the job declares (read with `jobs.get`; the Jobs API may reject one it does not know): the
version parameter, which the job must declare, and `drift_job_name` if the job declares that
too. The deterministic drift job name, hashed to the API's 64 characters, is the
`idempotency_token`, so a retried submit returns the run it already started. drift keeps the
run id `run_now` returns and polls and cancels exactly that run (`jobs.get_run`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from drift.domain.plan import split_job_name
from drift.domain.types import JobInput, JobState, PermanentError, TrainingJob

# Optional job parameter: when the job declares it, each run carries its drift job name.
NAME_PARAMETER = "drift_job_name"
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
    """drift has no run id for this job name (it was never submitted)."""


class UndeclaredParameter(PermanentError, ValueError):
    """The Databricks job does not declare the job parameter drift passes the version in."""


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

    def declared_parameters(self, group: DatabricksGroup) -> set[str]:
        """The job-level parameters the job declares (`settings.parameters` of `jobs.get`)."""
        with _refusals(f"read Databricks job {group.job_id} (group {group.group})"):
            job = self.client.jobs.get(job_id=group.job_id)
        settings = getattr(job, "settings", None)
        return {p.name for p in (getattr(settings, "parameters", None) or [])}

    def submit_clone(
        self, source: str, name: str, inputs: dict[str, JobInput], tags: dict[str, str]
    ) -> TrainingJob:
        """`run_now` with only the parameters the job declares; the run id comes back in
        `TrainingJob.run_id` for the monitor to poll."""
        group = self._group(name)
        bound = inputs.get(group.input_name)
        if bound is None:
            raise PermanentError(f"{name}: no new binding for input {group.input_name}")
        version = bound.path.rsplit(":", 1)[-1]
        declared = self.declared_parameters(group)
        if group.version_parameter not in declared:
            raise UndeclaredParameter(
                f"Databricks job {group.job_id} (group {group.group}) does not declare the job "
                f"parameter {group.version_parameter!r} drift passes the data version in; "
                f"declared: {sorted(declared) or 'none'}"
            )
        parameters = {group.version_parameter: version}
        if NAME_PARAMETER in declared:
            parameters[NAME_PARAMETER] = name
        with _refusals(f"run Databricks job {group.job_id} (group {group.group})"):
            waiter = self.client.jobs.run_now(
                job_id=group.job_id,
                job_parameters=parameters,
                idempotency_token=_token(name),
            )
        run_id = str(waiter.run_id)
        return TrainingJob(
            name,
            inputs,
            group.group,
            None,
            None,
            {**tags, "databricks.run_id": run_id},
            run_id=run_id,
        )

    def _run(self, name: str, run_id: str | None) -> Any:
        self._group(name)  # only this backend's names
        if not run_id:
            raise DatabricksRunNotFound(f"{name}: no Databricks run id was kept for it")
        with _refusals(f"read Databricks run {run_id} of {name}"):
            return self.client.jobs.get_run(run_id=int(run_id))

    def get_state(self, name: str, *, run_id: str | None = None) -> JobState:
        """The state of run `run_id`, the one `submit_clone` started for `name`."""
        run = self._run(name, run_id)
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

    def cancel(self, name: str, *, run_id: str | None = None) -> None:
        """Cancel run `run_id`. Without one there is no run drift can name: its submit never
        returned (a retried submit would have returned the same run, by its token)."""
        self._group(name)
        if run_id:
            with _refusals(f"cancel Databricks run {run_id} of {name}"):
                self.client.jobs.cancel_run(run_id=int(run_id))


@contextmanager
def _refusals(what: str) -> Iterator[None]:
    """The Jobs API's refusals (400, 401, 403, 404, 409) as `PermanentError`: retrying the
    same request cannot help. 429 and 5xx stay as they are, for the activity's retry."""
    from databricks.sdk.errors import (
        BadRequest,
        NotFound,
        PermissionDenied,
        ResourceConflict,
        Unauthenticated,
    )

    try:
        yield
    except (BadRequest, NotFound, PermissionDenied, ResourceConflict, Unauthenticated) as exc:
        raise PermanentError(f"{what}: {type(exc).__name__}: {exc}") from None


def _token(name: str) -> str:
    """The `idempotency_token` for a drift job name (the API takes at most 64 characters)."""
    return hashlib.sha256(name.encode()).hexdigest()[:40]


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

    def get_state(self, name: str, *, run_id: str | None = None) -> JobState:
        if self.databricks.owns(name):
            return self.databricks.get_state(name, run_id=run_id)
        return self.default.get_state(name)

    def cancel(self, name: str, *, run_id: str | None = None) -> None:
        if self.databricks.owns(name):
            self.databricks.cancel(name, run_id=run_id)
        else:
            self.default.cancel(name)
