"""Jobs that run for a set time on the runtime's (virtual) clock: what the job status event
tests, the reliability suite and bench B8 watch end."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from drift.domain import JobInput, JobState, TrainingJob
from drift.plan import split_job_name
from tests.fakes import FakeJobs


@dataclass
class ClockedJobs(FakeJobs):
    """`runs_s[group]` seconds after its submit a job ends with `outcome[group]` (Completed)."""

    clock: Any = None
    runs_s: dict[str, float] = field(default_factory=dict)
    outcome: dict[str, str] = field(default_factory=dict)
    submitted_at: dict[str, datetime] = field(default_factory=dict)

    def submit_clone(
        self, source: str, name: str, inputs: dict[str, JobInput], tags: dict[str, str]
    ) -> TrainingJob:
        job = super().submit_clone(source, name, inputs, tags)
        self.submitted_at.setdefault(name, self.clock.now())
        return job

    def group_of(self, name: str) -> str:
        parts = split_job_name(name)
        return parts[0] if parts else name

    def ends_at(self, name: str) -> datetime:
        return self.submitted_at[name] + timedelta(seconds=self.runs_s[self.group_of(name)])

    def get_state(self, name: str) -> JobState:
        self._maybe_fail("get_state")
        self.polls[name] = self.polls.get(name, 0) + 1
        start = self.submitted_at.get(name)
        if name not in self._final and start is not None and self.clock.now() >= self.ends_at(name):
            self._final[name] = self.outcome.get(self.group_of(name), "Completed")
        if name in self._final:
            end = self.ends_at(name) if start is not None else None
            return JobState(name, self._final[name], start, end)
        return JobState(name, "Running", start)
