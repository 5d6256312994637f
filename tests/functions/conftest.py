"""The Functions app under test: real blueprints, real orchestrators and entity replayed by the
local runtime, a LocalDurableClient standing in for the host's client binding, a real Delta
table and registry; only the training jobs are a scripted fake (their time is virtual)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from deltalake import DeltaTable, write_deltalake

from drift.bootstrap import build_services
from drift.domain import JobInput, TrainingJob
from drift.durable_client import LocalDurableClient
from drift.durable_driver import LocalDurableRuntime, VirtualClock
from drift.functions import durable, settings
from tests.fakes import FakeJobs

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
ACCOUNT, CONTAINER, TABLE_PATH = "acct", "data", "features/seat"
KEY = f"{ACCOUNT}/{CONTAINER}/{TABLE_PATH}"
SEED_INPUT = {"training_data": JobInput("mltable", "azureml:features:20260101000000-v0")}


def seed_jobs() -> list[TrainingJob]:
    return [
        TrainingJob("churn_20260101000000_aaa", SEED_INPUT, "churn", "churn"),
        TrainingJob("upsell_20260102000000_bbb", SEED_INPUT, "upsell", "upsell"),
    ]


@cache
def functions_by_name() -> dict[str, Any]:
    """Indexed once, as the host does (indexing twice is an error in azure-functions)."""
    import function_app

    return {f.get_function_name(): f for f in function_app.app.get_functions()}


def user_function(name: str) -> Callable[..., Any]:
    return functions_by_name()[name].get_user_function()


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
    path.write_text(
        yaml.safe_dump(
            {
                "backend": "local",
                "parameters": {
                    "storageAccountName": ACCOUNT,
                    "containerName": CONTAINER,
                    "containerDataPath": TABLE_PATH,
                    "dataAssets": [{"name": "training_data", "value": "features"}],
                    "refreshTimeout": "600",
                    "refreshDelay": "10",
                    "waitAfterLastChangeSeconds": 0,
                    "minTimeBetweenTriggersSeconds": 0,
                    **params,
                },
                "local": {
                    "workdir": str(path.parent / "state"),
                    "tablePath": str(table),
                    "jobsDir": str(path.parent / "jobs"),
                },
            }
        )
    )


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


def app_runtime(clock: VirtualClock) -> LocalDurableRuntime:
    """A runtime made of exactly what the app registers, looked up by trigger type."""
    orchestrators, entities, activities = {}, {}, {}
    for name, fn in functions_by_name().items():
        kind = fn.get_trigger().get_binding_name()
        user = fn.get_user_function()
        if kind == "orchestrationTrigger":
            orchestrators[name] = user.orchestrator_function
        elif kind == "entityTrigger":
            entities[name] = user.entity_function
        elif kind == "activityTrigger":
            activities[name] = user
    return LocalDurableRuntime(orchestrators, activities, clock=clock, entities=entities)
