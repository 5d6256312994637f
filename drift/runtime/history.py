"""What the local task hub keeps per instance, and the history events it appends.

The records below are the runtime's state (instances, their pending work, entity queues);
``History`` builds and appends events shaped like the extension's, and reports an instance.
"""

from __future__ import annotations

import functools
import importlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from azure.durable_functions.models.history import HistoryEventType as Ev
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus

from drift.runtime.clock import Clock, _iso

_ACTIVE = ("Pending", "Running")

# The SDK re-parses every event Timestamp with dateutil on every replay (~0.3 ms each), which
# dominated replay time; memoizing that pure function keeps results identical. Idempotent.
_sdk_history = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
if not hasattr(_sdk_history.dt_parse, "cache_info"):
    _sdk_history.dt_parse = functools.lru_cache(maxsize=1 << 16)(_sdk_history.dt_parse)


@dataclass
class InstanceResult:
    instance_id: str
    name: str
    status: str  # "Completed" | "Failed" | "Terminated" (or "Pending"/"Running" if in flight)
    output: Any
    error: str | None
    custom_status: Any
    history: list[dict]  # final history of the last generation (after continue_as_new)
    episodes: int  # replays (handle() calls) across all generations
    history_events_total: int  # events across all generations


@dataclass
class InstanceStatus:
    """What the service's status query reports (Failed/Terminated: output is the reason)."""

    instance_id: str
    name: str
    runtime_status: OrchestrationRuntimeStatus
    input: Any
    output: Any
    custom_status: Any
    created_time: datetime
    last_updated_time: datetime


@dataclass(eq=False)
class _Work:
    instance_id: str
    task_id: int
    kind: str  # "activity" | "timer" | "sub" | "entity"
    name: str = ""
    input: str | None = None
    fire_at: datetime | None = None
    child_id: str | None = None


@dataclass(eq=False)
class _Instance:
    instance_id: str
    name: str
    input: str | None
    parent: tuple[str, int] | None  # (parent instance id, task id in parent)
    version: str = ""
    parent_work: _Work | None = None  # the parent's task this child answers
    generation: int = 0
    status: str = "Pending"
    output: Any = None
    error: str | None = None
    custom_status: Any = None
    history: list[dict] = field(default_factory=list)
    inbox: list[dict] = field(default_factory=list)
    pending: dict[int, _Work] = field(default_factory=dict)
    waiting: dict[str, int] = field(default_factory=dict)
    signatures: list[tuple] = field(default_factory=list)
    episodes: int = 0
    events_total: int = 0
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(eq=False)
class _Request:
    id: str
    operation: str
    input: str  # serialized once, as the actions carry it
    reply: _Work | None = None  # None for signals


@dataclass(eq=False)
class _Entity:
    name: str
    key: str
    exists: bool = False
    state: str | None = None  # serialized, as the extension stores it
    queue: deque[_Request] = field(default_factory=deque)


class History:
    """Builds events the way the extension records them and appends them to a history."""

    clock: Clock
    on_event: Callable[[str, dict], None] | None

    def _event(self, event_type: Ev, timestamp: datetime | None = None, **fields: Any) -> dict:
        event = {
            "EventType": int(event_type),
            "EventId": -1,
            "IsPlayed": False,
            "Timestamp": _iso(timestamp or self.clock.now()),
        }
        event.update(fields)
        return event

    def _append(self, inst: _Instance, event: dict) -> None:
        inst.history.append(event)
        if self.on_event is not None:
            self.on_event(inst.instance_id, event)

    def _result(self, inst: _Instance) -> InstanceResult:
        return InstanceResult(
            inst.instance_id,
            inst.name,
            inst.status,
            inst.output,
            inst.error,
            inst.custom_status,
            list(inst.history),
            inst.episodes,
            inst.events_total + len(inst.history),
        )
