"""The Functions app under test: real blueprints, real orchestrators and entity replayed by the
local runtime, a LocalDurableClient standing in for the host's client binding, a real Delta
table and registry; only the training jobs are a scripted fake (their time is virtual)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from deltalake import DeltaTable, write_deltalake

from drift.domain.types import JobInput, TrainingJob
from drift.functions import durable, settings
from drift.runtime.client import LocalDurableClient
from drift.runtime.runtime import LocalDurableRuntime, VirtualClock
from drift.wiring.bootstrap import build_services
from tests import app_harness as harness
from tests.app_harness import (  # noqa: F401 - re-exported for the function tests
    ACCOUNT,
    CONTAINER,
    KEY,
    TABLE_PATH,
    app_runtime,
    functions_by_name,
    user_function,
)
from tests.fakes import FakeJobs

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
SEED_INPUT = {"training_data": JobInput("mltable", "azureml:features:20260101000000-v0")}


def seed_jobs() -> list[TrainingJob]:
    return [
        TrainingJob("churn_20260101000000_aaa", SEED_INPUT, "churn", "churn"),
        TrainingJob("upsell_20260102000000_bbb", SEED_INPUT, "upsell", "upsell"),
    ]


@dataclass
class App:
    """One deployed app, driven by hand: deliver triggers, then let the runtime work."""

    tmp: Path
    table: Path
    clock: VirtualClock
    runtime: LocalDurableRuntime
    client: LocalDurableClient
    jobs: FakeJobs
    delivered: list[Any] = field(default_factory=list)

    def commit(self, rows: int = 1) -> int:
        write_deltalake(self.table, pd.DataFrame({"x": list(range(rows))}), mode="append")
        return DeltaTable(self.table).version()

    def optimize(self) -> int:
        DeltaTable(self.table).optimize.compact()
        return DeltaTable(self.table).version()

    def event(
        self,
        version: int,
        *,
        cloud: bool = False,
        api: str = "FlushWithClose",
        event_id: str | None = None,
        renamed: bool = False,
    ) -> dict[str, Any]:
        url = (
            f"https://{ACCOUNT}.dfs.core.windows.net/{CONTAINER}/{TABLE_PATH}/_delta_log/"
            f"{version:020d}.json"
        )
        kind = "Microsoft.Storage.BlobRenamed" if renamed else "Microsoft.Storage.BlobCreated"
        data = (
            {
                "api": "RenameFile",
                "destinationUrl": url,
                "sourceUrl": url.replace(".json", ".json.tmp"),
            }
            if renamed
            else {"api": api, "url": url}
        )
        eid = event_id or f"evt-{version}-{api}"
        when = self.clock.now().isoformat()
        if cloud:
            return {
                "specversion": "1.0",
                "id": eid,
                "type": kind,
                "source": "/storage/acct",
                "subject": f"/blobServices/default/containers/{CONTAINER}",
                "time": when,
                "data": data,
            }
        return {
            "id": eid,
            "eventType": kind,
            "subject": "/blobServices/default",
            "topic": "t",
            "eventTime": when,
            "data": data,
            "dataVersion": "",
        }

    def deliver(self, payload: dict[str, Any]) -> None:
        """What the host does with one Event Grid delivery, then whatever is ready runs."""
        fn = user_function("drift_on_storage_event").client_function
        asyncio.run(fn(event=_event_object(payload), client=self.client))
        self.delivered.append(payload)
        self.runtime.run_until_idle(max_time=self.clock.now())

    def advance(self, seconds: float) -> None:
        self.runtime.run_until_idle(max_time=self.clock.now() + timedelta(seconds=seconds))
        target = self.clock.now() + timedelta(seconds=seconds)
        if self.clock.now() < target:
            self.clock.sleep_until(target)

    def settle(self) -> None:
        self.runtime.run_until_idle()


def _event_object(payload: dict[str, Any]) -> Any:
    """The object the Python worker hands the function, via its own Event Grid converter."""
    import json

    from azure.functions.eventgrid import EventGridEventInConverter
    from azure.functions.meta import Datum

    return EventGridEventInConverter.decode(Datum(json.dumps(payload), "json"), trigger_metadata={})


def write_config(path: Path, table: Path, **params: Any) -> None:
    """The tests' defaults: no quiet period, short timeouts."""
    defaults = {
        "refreshTimeout": "600",
        "waitAfterLastChangeSeconds": 0,
        "minTimeBetweenTriggersSeconds": 0,
    }
    harness.write_config(path, table, **{**defaults, **params})


@pytest.fixture
def make_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., App]]:
    def make(**params: Any) -> App:
        table = tmp_path / "lake" / "features"
        write_deltalake(table, pd.DataFrame({"x": [1, 2, 3]}))
        config = tmp_path / "drift.yaml"
        write_config(config, table, **params)
        monkeypatch.setenv(settings.CONFIG_SETTING, str(config))
        settings.watchlist.cache_clear()
        durable._bound.cache_clear()
        watchlist = settings.watchlist()
        jobs = FakeJobs(seed_jobs())
        real = build_services(watchlist.configs[KEY])
        real.jobs = jobs
        watchlist._services[KEY] = real
        clock = VirtualClock(START)
        runtime = app_runtime(clock)
        return App(tmp_path, table, clock, runtime, LocalDurableClient(runtime), jobs)

    yield make
    settings.watchlist.cache_clear()
    durable._bound.cache_clear()
    os.environ.pop(settings.CONFIG_SETTING, None)
