"""In-memory fakes of drift's ports, for tests that exercise the real logic around them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from drift.domain.plan import split_job_name
from drift.domain.types import TERMINAL_STATES, JobInput, JobState, PermanentError, TrainingJob


class TransientError(ConnectionError):
    """Stands for a 429/5xx/connection reset from a service."""


class RefusedError(PermanentError):
    """Stands for a 401/403 or a missing resource: what backends raise as permanent."""


@dataclass
class FakeJobs:
    """A workspace of jobs whose statuses follow a script, one entry per poll.

    `script[group]` is the sequence of statuses successive polls of that group's new job
    return; the last one repeats. `fail[method]` makes the next N calls raise TransientError.
    """

    seed: list[TrainingJob]
    script: dict[str, list[str]] = field(default_factory=dict)
    fail: dict[str, int] = field(default_factory=dict)
    always_fail: set[str] = field(default_factory=set)
    submitted: list[TrainingJob] = field(default_factory=list)
    submit_calls: int = 0
    cancelled: list[str] = field(default_factory=list)
    polls: dict[str, int] = field(default_factory=dict)
    max_running: int = 0
    _final: dict[str, str] = field(default_factory=dict)

    def _maybe_fail(self, method: str) -> None:
        if method in self.always_fail:
            raise RefusedError(f"{method}: 403 Forbidden for identity fake-identity")
        if self.fail.get(method, 0) > 0:
            self.fail[method] -= 1
            raise TransientError(f"{method}: 503 Service Unavailable")

    def list_jobs(self, groups: Sequence[str] | None = None) -> Iterable[TrainingJob]:
        self._maybe_fail("list_jobs")
        jobs = self.seed + self.submitted
        if groups:
            jobs = [j for j in jobs if (p := split_job_name(j.name)) and p[0] in groups]
        return list(jobs)

    def get_job(self, name: str) -> TrainingJob | None:
        return next((j for j in self.seed + self.submitted if j.name == name), None)

    def submit_clone(
        self, source: str, name: str, inputs: dict[str, JobInput], tags: dict[str, str]
    ) -> TrainingJob:
        self.submit_calls += 1
        self._maybe_fail("submit_clone")
        existing = self.get_job(name)
        if existing is not None:
            return existing
        base = self.get_job(source)
        assert base is not None, f"unknown source job {source}"
        job = TrainingJob(
            name,
            {**base.inputs, **inputs},
            base.display_name,
            base.experiment_name,
            None,
            {**base.tags, **tags},
        )
        self.submitted.append(job)
        self.max_running = max(self.max_running, self.running)
        return job

    @property
    def running(self) -> int:
        return sum(1 for j in self.submitted if j.name not in self._final)

    def get_state(self, name: str) -> JobState:
        self._maybe_fail("get_state")
        if name in self._final:
            return JobState(name, self._final[name])
        parts = split_job_name(name)
        statuses = self.script.get(parts[0] if parts else name, ["Completed"])
        count = self.polls.get(name, 0)
        self.polls[name] = count + 1
        status = statuses[min(count, len(statuses) - 1)]
        if status in TERMINAL_STATES:
            self._final[name] = status
        return JobState(name, status, error="exit code 1" if status == "Failed" else None)

    def cancel(self, name: str) -> None:
        self._maybe_fail("cancel")
        self.cancelled.append(name)
        self._final[name] = "Canceled"
