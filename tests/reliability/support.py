"""Shared parts of the reliability suite: figures, fault injection, jobs that run on the clock,
and a Functions app that can be built more than once per test (one per crash point)."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from deltalake import write_deltalake

from drift.domain.plan import split_job_name
from drift.domain.types import TERMINAL_STATES, JobState, PermanentError
from drift.functions import durable, settings
from drift.runtime.client import LocalDurableClient
from drift.runtime.runtime import Clock, VirtualClock
from drift.wiring.bootstrap import build_services
from tests.fakes import FakeJobs, TransientError
from tests.figures import FIGURES, add, record  # noqa: F401 - re-exported for the tests
from tests.functions.conftest import KEY, START, App, app_runtime, seed_jobs, write_config

# --- fault injection -------------------------------------------------------------------------


class Forbidden(PermanentError):
    """What the Azure backend raises for a 403 (AzureServiceError is a PermanentError)."""


@dataclass
class Faults:
    """A seeded source of transient faults: each call fails with probability `rate`.

    A failing call fails before the service acted, or (`after_share` of the time) after it
    acted and only the response was lost, so retries meet their own earlier effects.
    """

    rate: float
    seed: int
    after_share: float = 0.5
    calls: Counter[str] = field(default_factory=Counter)
    before: Counter[str] = field(default_factory=Counter)
    after: Counter[str] = field(default_factory=Counter)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def __call__(self, name: str, fn: Callable[[], Any]) -> Any:
        self.calls[name] += 1
        if self.rng.random() >= self.rate:
            return fn()
        if self.rng.random() < self.after_share:
            fn()
            self.after[name] += 1
            raise TransientError(f"{name}: connection reset after the request was sent")
        self.before[name] += 1
        raise TransientError(f"{name}: 503 Service Unavailable")

    @property
    def injected(self) -> int:
        return sum(self.before.values()) + sum(self.after.values())


class Flaky:
    """A port whose `methods` go through `faults` (and an optional inner retry)."""

    def __init__(
        self,
        inner: Any,
        methods: Iterable[str],
        faults: Faults,
        retry: Callable[[str, Callable[[], Any]], Any] | None = None,
    ) -> None:
        self._inner = inner
        self._methods = set(methods)
        self._faults = faults
        self._retry = retry

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in self._methods:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            once = lambda: self._faults(name, lambda: attr(*args, **kwargs))  # noqa: E731
            return once() if self._retry is None else self._retry(name, once)

        return call


COMMIT_METHODS = ("read_commit", "latest_version")
REGISTRY_METHODS = ("get_data", "create_mltable", "create_uri_folder")
JOB_METHODS = ("list_jobs", "get_job", "submit_clone", "get_state", "cancel")


def flaky_activities(
    activities: dict[str, Callable[[Any], Any]], faults: Faults
) -> dict[str, Callable[[Any], Any]]:
    """Each activity ATTEMPT fails with the fault rate (before or after doing its work)."""

    def wrap(name: str, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return lambda args: faults(name, lambda: fn(args))

    return {name: wrap(name, fn) for name, fn in activities.items()}


# --- jobs whose status depends on time, not on how often they are polled ---------------------


@dataclass
class TimedJobs(FakeJobs):
    """FakeJobs whose jobs run for `runs_for[group]` seconds of the clock, then end as
    `ends_as[group]` (default Completed); None runs forever. A re-executed poll (an activity
    run twice after a crash) therefore sees what the first one saw, as with a real service."""

    clock: Clock = field(default_factory=VirtualClock)
    runs_for: dict[str, float | None] = field(default_factory=dict)
    ends_as: dict[str, str] = field(default_factory=dict)
    started: dict[str, datetime] = field(default_factory=dict)
    _errors: dict[str, str | None] = field(default_factory=dict)

    def submit_clone(self, source: str, name: str, inputs: Any, tags: dict[str, str]) -> Any:
        job = super().submit_clone(source, name, inputs, tags)
        self.started.setdefault(name, self.clock.now())
        return job

    def get_state(self, name: str) -> JobState:
        self._maybe_fail("get_state")
        self.polls[name] = self.polls.get(name, 0) + 1
        if name in self._final and name not in self.started:  # cancelled before it started
            return JobState(name, self._final[name])
        group = (split_job_name(name) or (name,))[0]
        duration = self.runs_for.get(group, 0.0)
        started = self.started[name]
        if name in self._final:  # ended (or cancelled): the same answer every time
            ended = started + timedelta(seconds=duration or 0.0)
            return JobState(name, self._final[name], started, ended, self._errors.get(name))
        if duration is not None and self.clock.now() >= started + timedelta(seconds=duration):
            status = self.ends_as.get(group, "Completed")
            if status in TERMINAL_STATES:
                self._final[name] = status
                self._errors[name] = "exit code 1" if status == "Failed" else None
            ended = started + timedelta(seconds=duration)
            error = "exit code 1" if status == "Failed" else None
            return JobState(name, status, started, ended, error)
        return JobState(name, "Running", started)


def submitted_per_group(jobs: FakeJobs) -> Counter[str]:
    return Counter((split_job_name(j.name) or (j.name,))[0] for j in jobs.submitted)


# --- a Functions app per call (make_app in tests/functions builds one per test) --------------


def build_app(base: Path, monkeypatch: pytest.MonkeyPatch, jobs: FakeJobs | None = None) -> App:
    """The deployed app of tests/functions/conftest.py, rooted in `base`."""
    table = base / "lake" / "features"
    write_deltalake(table, pd.DataFrame({"x": [1, 2, 3]}))
    config = base / "drift.yaml"
    write_config(config, table)
    monkeypatch.setenv(settings.CONFIG_SETTING, str(config))
    settings.watchlist.cache_clear()
    durable._bound.cache_clear()
    watchlist = settings.watchlist()
    jobs = jobs if jobs is not None else FakeJobs(seed_jobs())
    real = build_services(watchlist.configs[KEY])
    real.jobs = jobs
    watchlist._services[KEY] = real
    clock = jobs.clock if isinstance(jobs, TimedJobs) else VirtualClock(START)
    assert isinstance(clock, VirtualClock)
    runtime = app_runtime(clock)
    return App(base, table, clock, runtime, LocalDurableClient(runtime), jobs)


def forget_app() -> None:
    settings.watchlist.cache_clear()
    durable._bound.cache_clear()


@dataclass
class Attempts:
    """What happened to each activity call: attempts, failed attempts, and calls whose every
    attempt failed (`budget` in a row for the same activity and input: calls of one activity
    with one input never overlap, a monitor polls its job one call at a time)."""

    budget: int
    attempts: int = 0
    failed: int = 0
    exhausted: int = 0
    exhausted_by: Counter[str] = field(default_factory=Counter)
    _streak: Counter[str] = field(default_factory=Counter)

    @property
    def calls(self) -> int:
        """Activity calls: each ends in one successful attempt or in exhaustion."""
        return self.attempts - self.failed + self.exhausted

    def observe(self, activities: dict[str, Callable[[Any], Any]]) -> dict[str, Callable]:
        def wrap(name: str, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
            def attempt(args: Any) -> Any:
                key = f"{name} {json.dumps(args, sort_keys=True, default=str)}"
                self.attempts += 1
                try:
                    result = fn(args)
                except Exception:
                    self.failed += 1
                    self._streak[key] += 1
                    if self._streak[key] >= self.budget:
                        self.exhausted += 1
                        self.exhausted_by[name] += 1
                        self._streak[key] = 0
                    raise
                self._streak[key] = 0
                return result

            return attempt

        return {name: wrap(name, fn) for name, fn in activities.items()}
