"""What the benchmarks share: measuring, the real Functions app driven by hand, Delta tables.

Nothing here is a model of drift: the orchestrators, entity, activities and backends are the
real ones; only training jobs are fakes or operation doubles (from `tests/`), and the clock is
virtual wherever a benchmark says so.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
from tests import app_harness as harness  # noqa: E402 - bench runs from a checkout
from tests.app_harness import ACCOUNT, CONTAINER, KEY, TABLE_PATH, functions_by_name  # noqa: E402

SEED_VERSION = "azureml:features:20260101000000-v0"

Json = dict[str, Any]


# Figures ------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summary(values: list[float]) -> Json:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "mean": statistics.fmean(values) if values else math.nan,
        "min": min(values, default=math.nan),
        "max": max(values, default=math.nan),
    }


def median_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time of `repeat` calls (after one unmeasured warm-up) and the last result."""
    result = fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def ratio(baseline: float, measured: float) -> float | None:
    return None if not measured else baseline / measured


# Activities and histories -------------------------------------------------------------------


@dataclass
class ActivityMeter:
    """Wall and CPU time spent inside activities, per activity name."""

    wall: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    cpu: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    calls: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))

    def wrap(self, activities: dict[str, Callable[[Any], Any]]) -> dict[str, Callable[[Any], Any]]:
        return {name: self._timed(name, fn) for name, fn in activities.items()}

    def _timed(self, name: str, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def run(arg: Any) -> Any:
            w, c = time.perf_counter(), time.process_time()
            try:
                return fn(arg)
            finally:
                self.wall[name] += time.perf_counter() - w
                self.cpu[name] += time.process_time() - c
                self.calls[name] += 1

        return run

    @property
    def total_wall(self) -> float:
        return sum(self.wall.values())

    @property
    def total_cpu(self) -> float:
        return sum(self.cpu.values())


_EXECUTION_COMPLETED, _ORCHESTRATOR_COMPLETED = 1, 13


@dataclass
class HistoryMeter:
    """Per-instance history sizes per generation (continue_as_new starts a new one).

    Fed by the driver's `on_event`: a generation ends with ExecutionCompleted followed by the
    episode's OrchestratorCompleted; the driver then starts the next one with an empty history.
    """

    current: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    largest: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    generations: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    replayed: int = 0  # history length at the end of each episode, summed: ~events replayed
    _last: dict[str, int] = field(default_factory=dict)

    def on_event(self, instance_id: str, event: dict) -> None:
        kind = event["EventType"]
        self.current[instance_id] += 1
        if kind == _ORCHESTRATOR_COMPLETED:
            self.replayed += self.current[instance_id]
        if kind == _ORCHESTRATOR_COMPLETED and self._last.get(instance_id) == _EXECUTION_COMPLETED:
            self._close(instance_id)
        self._last[instance_id] = kind

    def _close(self, instance_id: str) -> None:
        self.largest[instance_id] = max(self.largest[instance_id], self.current[instance_id])
        self.generations[instance_id] += 1
        self.current[instance_id] = 0

    def max_generation(self, instance_id: str) -> int:
        return max(self.largest[instance_id], self.current[instance_id])


# Seed jobs ----------------------------------------------------------------------------------


def seed_jobs(groups: list[str]) -> list[Any]:
    from drift.domain.types import JobInput, TrainingJob

    seed = {"training_data": JobInput("mltable", SEED_VERSION)}
    return [TrainingJob(f"{g}_20260101000000_seed", seed, g, g) for g in groups]


def group_names(count: int) -> list[str]:
    width = max(4, len(str(count)))
    return [f"g{i:0{width}d}" for i in range(count)]


# Delta tables -------------------------------------------------------------------------------


def tiny_batch(value: int = 1) -> pa.Table:
    return pa.table({"x": pa.array([value], pa.int64())})


def new_table(path: Path, rows: int = 3) -> None:
    from deltalake import write_deltalake

    write_deltalake(path, pa.table({"x": pa.array(list(range(rows)), pa.int64())}))


def append(path: Path, value: int = 1) -> int:
    """One real append commit by delta-rs; returns the new version."""
    from deltalake import DeltaTable, write_deltalake

    write_deltalake(path, tiny_batch(value), mode="append")
    return DeltaTable(path).version()


# The Functions app, driven by hand (as tests/functions/conftest.py does) ----------------------


def app_runtime(clock: Any, on_event: Callable[[str, dict], None] | None = None) -> Any:
    """The app's own runtime, with room for the largest benchmark runs."""
    return harness.app_runtime(clock, on_event, max_episodes=10_000_000)


def write_config(path: Path, table: Path, **params: Any) -> None:
    harness.write_config(path, table, **{"refreshTimeout": "2700", **params})


@dataclass
class FunctionsApp:
    """One deployed app: real Event Grid function, orchestrators, entity and activities."""

    table: Path
    clock: Any
    runtime: Any
    client: Any
    services: Any

    def event(self, version: int, event_id: str | None = None) -> Json:
        url = (
            f"https://{ACCOUNT}.dfs.core.windows.net/{CONTAINER}/{TABLE_PATH}/_delta_log/"
            f"{version:020d}.json"
        )
        return {
            "id": event_id or f"evt-{version}",
            "eventType": "Microsoft.Storage.BlobCreated",
            "subject": f"/blobServices/default/containers/{CONTAINER}/blobs/{TABLE_PATH}",
            "topic": f"/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/"
            f"storageAccounts/{ACCOUNT}",
            "eventTime": self.clock.now().isoformat(),
            "data": {"api": "FlushWithClose", "url": url},
            "dataVersion": "",
        }

    def deliver(self, payload: Json, run: bool = True) -> None:
        """What the host does with one Event Grid delivery; then whatever is due runs."""
        fn = functions_by_name()["drift_on_storage_event"].get_user_function().client_function
        asyncio.run(fn(event=_event_object(payload), client=self.client))
        if run:
            self.runtime.run_until_idle(max_time=self.clock.now())

    def advance(self, seconds: float) -> None:
        target = self.clock.now() + timedelta(seconds=seconds)
        self.runtime.run_until_idle(max_time=target)
        if self.clock.now() < target:
            self.clock.sleep_until(target)

    def settle(self) -> None:
        self.runtime.run_until_idle()


def _event_object(payload: Json) -> Any:
    """The object the Python worker hands the function, via its own Event Grid converter."""
    from azure.functions.eventgrid import EventGridEventInConverter
    from azure.functions.meta import Datum

    return EventGridEventInConverter.decode(Datum(json.dumps(payload), "json"), trigger_metadata={})


@contextmanager
def functions_app(
    workdir: Path,
    table: Path,
    jobs: Any,
    clock: Any,
    registry: Callable[[Any], Any] | None = None,
    **params: Any,
) -> Iterator[FunctionsApp]:
    """The app watching `table` (already written), with `jobs` as its job service.

    `registry` may wrap the real LocalRegistry (to time it); settings caches are cleared on
    entry and exit so that the app reads this config.
    """
    from drift.functions import durable, settings
    from drift.runtime.client import LocalDurableClient
    from drift.wiring.bootstrap import build_services

    config = workdir / "drift.yaml"
    write_config(config, table, **params)
    previous = os.environ.get(settings.CONFIG_SETTING)
    os.environ[settings.CONFIG_SETTING] = str(config)
    settings.watchlist.cache_clear()
    durable._bound.cache_clear()
    try:
        watchlist = settings.watchlist()
        services = build_services(watchlist.configs[KEY])
        services.jobs = jobs
        if registry is not None:
            services.registry = registry(services.registry)
        watchlist._services[KEY] = services
        runtime = app_runtime(clock)
        yield FunctionsApp(table, clock, runtime, LocalDurableClient(runtime), services)
    finally:
        settings.watchlist.cache_clear()
        durable._bound.cache_clear()
        if previous is None:
            os.environ.pop(settings.CONFIG_SETTING, None)
        else:
            os.environ[settings.CONFIG_SETTING] = previous
