"""drift.durable.run_query against a store that answers like the extension through the Python
SDK: the first 100 matches of each query in instance-id order, creation times to the second."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from azure.durable_functions.models.OrchestrationRuntimeStatus import (
    OrchestrationRuntimeStatus as Status,
)

from drift.durable import run_query
from drift.durable.orchestration import MONITOR, RETRAIN

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class FirstPageStore:
    """`get_status_by` as the SDK returns it: one page of 100, in instance-id order."""

    def __init__(self, instances: list[dict[str, Any]]) -> None:
        self.instances = sorted(instances, key=lambda i: i["instanceId"])
        self._parsed = [
            DurableOrchestrationStatus.from_json({k: v for k, v in i.items() if k != "_created"})
            for i in self.instances
        ]
        self.queries: list[tuple[datetime | None, datetime | None]] = []

    async def get_status_by(
        self,
        created_time_from: datetime | None = None,
        created_time_to: datetime | None = None,
        runtime_status: list[Status] | None = None,
        instance_id_prefix: str | None = None,
    ) -> list[DurableOrchestrationStatus]:
        self.queries.append((created_time_from, created_time_to))
        wanted = {s.value for s in runtime_status or []}
        out = []
        for i, parsed in zip(self.instances, self._parsed, strict=True):
            created = i["_created"]  # the store compares full precision
            if created_time_from and created < created_time_from:
                continue
            if created_time_to and created > created_time_to:
                continue
            if wanted and i["runtimeStatus"] not in wanted:
                continue
            out.append(parsed)
        return out[: run_query.QUERY_PAGE]


def instance(iid: str, created: datetime, name: str = RETRAIN, status: str = "Completed") -> dict:
    output = {"instance_id": iid, "table": "t", "finished_at": created.isoformat()}
    return {
        "name": name,
        "instanceId": iid,
        "runtimeStatus": status,
        "input": {"table_key": "acct/data/t"},
        "output": output if status == "Completed" else "boom\ndetails",
        "createdTime": created.strftime("%Y-%m-%dT%H:%M:%SZ"),  # to the second, as served
        "lastUpdatedTime": (created + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "_created": created,
    }


def history(n_runs: int, seed: int = 7) -> list[dict[str, Any]]:
    """Runs over 30 days with 3 monitors each, bursts in the same second, random ids."""
    rng = random.Random(seed)
    out = []
    for k in range(n_runs):
        created = NOW - timedelta(seconds=rng.randrange(30 * 86400))
        if k % 10 == 0 and out:  # ties: several runs started within one second
            created = out[-1]["_created"] + timedelta(microseconds=rng.randrange(1, 900_000))
        created = min(created, NOW)
        iid = f"drift-run-{rng.getrandbits(40):010x}"
        out.append(instance(iid, created))
        out += [instance(f"{iid}-g{g}", created, name=MONITOR) for g in range(3)]
    return out


def newest_first(instances: list[dict[str, Any]]) -> list[str]:
    runs = [i for i in instances if i["name"] == RETRAIN]
    runs.sort(key=lambda i: (i["_created"].replace(microsecond=0), i["instanceId"]), reverse=True)
    return [i["instanceId"] for i in runs]


def pages(store: FirstPageStore, limit: int) -> list[list[str]]:
    out, token = [], None
    while True:
        page = asyncio.run(run_query.recent_runs(store, limit, NOW, token))
        out.append([r["instance_id"] for r in page.runs])
        token = page.continuation
        if token is None:
            return out
        assert len(out) < 1000


def test_the_sdk_first_page_alone_is_not_the_newest_runs() -> None:
    """Why drift walks windows: one query returns 100 instances in id order, not by time."""
    store = FirstPageStore(history(300))
    first = asyncio.run(store.get_status_by(runtime_status=list(run_query.FINISHED)))
    naive = sorted(
        (s for s in first if s.name == RETRAIN),
        key=lambda s: (s.created_time, s.instance_id),
        reverse=True,
    )
    assert [s.instance_id for s in naive[:20]] != newest_first(store.instances)[:20]


@pytest.mark.parametrize("limit", [1, 7, 20, 100])
def test_pages_hold_every_run_once_newest_first(limit: int) -> None:
    store = FirstPageStore(history(300))
    got = pages(store, limit)
    assert all(len(p) == limit for p in got[:-1]) and len(got[-1]) <= limit
    assert [iid for p in got for iid in p] == newest_first(store.instances)


def test_a_dense_burst_narrows_the_window_until_queries_are_complete() -> None:
    """250 runs (1,000 instances) in ten minutes: every query stays under a page."""
    base = NOW - timedelta(hours=1)
    instances = []
    for k in range(250):
        created = base + timedelta(seconds=k * 2.4)
        iid = f"drift-run-{(k * 7919) % 1000:04d}-{k}"
        instances.append(instance(iid, created))
        instances += [instance(f"{iid}-g{g}", created, name=MONITOR) for g in range(3)]
    store = FirstPageStore(instances)
    page = asyncio.run(run_query.recent_runs(store, 50, NOW))
    assert [r["instance_id"] for r in page.runs] == newest_first(instances)[:50]
    assert [iid for p in pages(store, 50) for iid in p] == newest_first(instances)


def test_an_empty_history_ends_at_the_horizon_within_the_query_budget() -> None:
    store = FirstPageStore([])
    page = asyncio.run(run_query.recent_runs(store, 20, NOW))
    assert page.runs == [] and page.continuation is None
    assert page.queries == len(store.queries) <= run_query.MAX_QUERIES
    oldest = min(q[0] for q in store.queries if q[0])
    assert oldest == NOW - run_query.HORIZON


def test_failed_and_terminated_runs_get_a_report_saying_so() -> None:
    store = FirstPageStore(
        [
            instance("drift-run-a", NOW - timedelta(hours=2)),
            instance("drift-run-b", NOW - timedelta(hours=1), status="Failed"),
            instance("drift-run-c", NOW - timedelta(minutes=1), status="Running"),
        ]
    )
    page = asyncio.run(run_query.recent_runs(store, 10, NOW))
    assert [r["instance_id"] for r in page.runs] == ["drift-run-b", "drift-run-a"]
    failed, done = page.runs
    assert failed["error"] == "Failed: boom" and failed["table"] == "acct/data/t"
    assert failed["runtime_status"] == "Failed" and failed["retrained"] == []
    assert done["runtime_status"] == "Completed" and "error" not in done
    running = asyncio.run(
        run_query.recent_runs(store, 10, NOW, statuses=run_query.parse_statuses("running"))
    )
    assert [r["instance_id"] for r in running.runs] == ["drift-run-c"]
    assert "error" not in running.runs[0]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: run_query.parse_limit("0"), "limit"),
        (lambda: run_query.parse_limit("101"), "limit"),
        (lambda: run_query.parse_limit("ten"), "limit"),
        (lambda: run_query.parse_statuses("completed,exploded"), "status: exploded"),
        (lambda: run_query.Cursor.decode("not-a-token"), "continuation"),
        (lambda: run_query.Cursor.decode("eyJ0IjogMX0"), "continuation"),  # {"t": 1}
    ],
)
def test_bad_parameters_name_the_field(call: Any, field: str) -> None:
    with pytest.raises(run_query.BadQuery, match=field):
        call()
