"""Retraining runs from the durable instance query: newest first, paged by an opaque token.

In Azure a run's report is the output of its `drift_retrain` instance, so the run history is
the task hub itself. The Python SDK's `get_status_by` asks the extension's instance query
(`GET <rpc>/instances?createdTimeFrom=&createdTimeTo=&runtimeStatus=`) and returns only the
first page of it: it sends no `top` and drops the `x-ms-continuation-token` header
(azure-functions-durable 1.x, `DurableOrchestrationClient.get_status_by`; the extension's
`HttpApiHandler.HandleGetStatusRequestAsync` pages by that header, 100 instances by default,
`OrchestrationStatusQueryCondition.PageSize`). Nor does any backend promise an order (Azure
Storage answers in instance-id order). So drift walks back in time by creation windows: a
window that comes back full may have been cut off and is narrowed; every window that is not
full is complete, and all of it is newer than the next window, so the newest runs are exact.

The page token is drift's own (base64 of the last run's creation time and instance id), not a
backend's continuation token: it stays valid across backends and restarts.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from azure.durable_functions.models.OrchestrationRuntimeStatus import (
    OrchestrationRuntimeStatus as Status,
)

from drift.durable.orchestration import RETRAIN

# What the extension answers per query when the caller sets no `top` (the SDK never does).
QUERY_PAGE = 100
FIRST_WINDOW = timedelta(days=1)
MIN_WINDOW = timedelta(seconds=1)
MAX_WINDOW = timedelta(days=64)
# How far back a page looks for runs, and how many queries it may spend getting there.
HORIZON = timedelta(days=366)
MAX_QUERIES = 32
MAX_LIMIT = 100
FINISHED = (Status.Completed, Status.Failed, Status.Terminated)
STATUS_NAMES = {s.value.lower(): s for s in (*FINISHED, Status.Running, Status.Pending)}

Json = dict[str, Any]


class BadQuery(ValueError):
    """A query parameter the caller must fix; the message names it."""


class StatusQuery(Protocol):
    """The part of `DurableOrchestrationClient` drift reads runs with."""

    async def get_status_by(
        self,
        created_time_from: datetime | None = None,
        created_time_to: datetime | None = None,
        runtime_status: list[Status] | None = None,
        instance_id_prefix: str | None = None,
    ) -> list[Any]: ...


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: runs created before `created`, or at `created` with a
    smaller instance id (creation times come back to the second, so ties happen)."""

    created: datetime
    instance_id: str = ""

    def encode(self) -> str:
        raw = json.dumps({"t": self.created.isoformat(), "id": self.instance_id})
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            created = datetime.fromisoformat(raw["t"])
            instance_id = str(raw["id"])
        except (binascii.Error, ValueError, KeyError, TypeError) as exc:
            raise BadQuery("continuation: not a token this endpoint returned") from exc
        if created.tzinfo is None:
            raise BadQuery("continuation: not a token this endpoint returned")
        return cls(created, instance_id)


@dataclass
class RunsPage:
    runs: list[Json]  # reports, newest first
    continuation: str | None  # None: no older run within the horizon
    queries: int  # instance queries spent (each one request to the durable extension)


def parse_limit(value: str | None, default: int = 20) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise BadQuery(f"limit: expected a whole number from 1 to {MAX_LIMIT}, got {value!r}")
    return int(value)


def parse_statuses(value: str | None) -> tuple[Status, ...]:
    """`completed,failed` -> those statuses; nothing -> the finished ones."""
    if not value:
        return FINISHED
    names = [v.strip().lower() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in STATUS_NAMES]
    if unknown or not names:
        raise BadQuery(
            f"status: {', '.join(unknown) or repr(value)} is not one of {', '.join(STATUS_NAMES)}"
        )
    return tuple(dict.fromkeys(STATUS_NAMES[n] for n in names))


async def recent_runs(
    client: StatusQuery,
    limit: int,
    now: datetime,
    continuation: str | None = None,
    statuses: Sequence[Status] = FINISHED,
    tables: Mapping[str, str] | None = None,
) -> RunsPage:
    """The `limit` newest `drift_retrain` runs (by creation) older than the token's cursor."""
    cursor = Cursor.decode(continuation) if continuation else None
    # Creation times come back truncated to the second, so windows start on whole seconds (a
    # run in a window never reports a time before it) and the query reaches one second past
    # the cursor, whose order then drops what the previous page already gave.
    now = now.replace(microsecond=0)
    hi = cursor.created + timedelta(seconds=1) if cursor else now + timedelta(seconds=1)
    horizon = now - HORIZON
    window = FIRST_WINDOW
    found: dict[str, Any] = {}
    queries = 0
    while len(found) <= limit and queries < MAX_QUERIES and hi > horizon:
        lo = max(hi - window, horizon)
        batch = await client.get_status_by(
            created_time_from=lo, created_time_to=hi, runtime_status=list(statuses)
        )
        queries += 1
        if len(batch) >= QUERY_PAGE and window > MIN_WINDOW:
            # Maybe cut off: look again, narrower (whole seconds).
            window = max(timedelta(seconds=window.total_seconds() // 4), MIN_WINDOW)
            continue
        for status in batch:
            if status.name == RETRAIN and (cursor is None or _key(status) < _cursor_key(cursor)):
                found[status.instance_id] = status
        hi = lo
        if len(batch) < QUERY_PAGE // 4:
            window = min(window * 2, MAX_WINDOW)
    ordered = sorted(found.values(), key=_key, reverse=True)
    page = ordered[:limit]
    if len(ordered) > limit:
        last = page[-1]
        token: str | None = Cursor(_created(last), last.instance_id).encode()
    elif hi > horizon:  # the query budget ran out first: go on below the last window
        token = Cursor(hi, "").encode()
    else:
        token = None
    return RunsPage([run_report(s, tables) for s in page], token, queries)


def _created(status: Any) -> datetime:
    created = status.created_time or datetime.min.replace(tzinfo=UTC)
    return created if created.tzinfo else created.replace(tzinfo=UTC)


def _key(status: Any) -> tuple[datetime, str]:
    return _created(status), status.instance_id or ""


def _cursor_key(cursor: Cursor) -> tuple[datetime, str]:
    return cursor.created, cursor.instance_id  # "": strictly before that second


def run_report(status: Any, tables: Mapping[str, str] | None = None) -> Json:
    """A run's report (its output) with its durable status; a failed or terminated run,
    which has no report, gets one that says so, in the same shape (`tables` maps its input's
    table key to the table name reports carry)."""
    output = status.output
    runtime = status.runtime_status.value if status.runtime_status else None
    updated = status.last_updated_time
    if runtime == Status.Completed.value and isinstance(output, dict):
        report = dict(output)
    else:
        request = status.input_ if isinstance(status.input_, dict) else {}
        report = {
            "instance_id": status.instance_id,
            "table": (tables or {}).get(key, key) if (key := request.get("table_key")) else None,
            "delta_version": request.get("delta_version"),
            "data_asset_version": request.get("data_asset_version"),
            "registered": None,
            "skipped": None,
            "retrained": [],
            "finished_at": updated.isoformat() if updated and runtime in _ENDED else None,
        }
        if runtime in _ENDED:
            report["error"] = f"{runtime}: {_first_line(output)}"
    report["runtime_status"] = runtime
    report["created_time"] = status.created_time.isoformat() if status.created_time else None
    return report


_ENDED = {Status.Failed.value, Status.Terminated.value, Status.Completed.value}


def _first_line(output: Any) -> str:
    text = output if isinstance(output, str) else json.dumps(output, default=str)
    return (text or "no reason given").split("\n", 1)[0].strip()[:500]


def run_status(status: Any, tables: Mapping[str, str] | None = None) -> Json:
    """What `GET /api/runs/{id}` answers: the run's state and, once it ended, its report."""
    runtime = status.runtime_status.value if status.runtime_status else None
    body: Json = {
        "instance_id": status.instance_id,
        "runtime_status": runtime,
        "custom_status": status.custom_status,
        "created_time": status.created_time.isoformat() if status.created_time else None,
        "last_updated_time": (
            status.last_updated_time.isoformat() if status.last_updated_time else None
        ),
        "report": run_report(status, tables) if runtime in _ENDED else None,
    }
    return body
