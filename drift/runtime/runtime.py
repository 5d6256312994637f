"""In-process durable runtime that drives real Durable Functions orchestrators via SDK replay.

Every episode rebuilds the extension's context JSON from the instance history and calls the
SDK's own ``Orchestrator.handle``, so local runs exercise exactly the replay path used in Azure
(and every step is a genuine replay, which is what proves determinism).

This module holds the scheduler and its public API; the rest of the runtime is split by
concern: ``replay`` (episodes), ``entities``, ``history`` (records and events), ``snapshot``
(save and resume) and ``clock``.

``start_new``/``get_status``/``run_until_idle`` give host-like, non-blocking control: starting an
existing id replaces it, as the real service does, so callers must check ``get_status`` first.

``crash_after_activity`` stops the host right after an activity ran, with its result
either lost (the activity runs again on resume: at-least-once, as in Durable Functions) or
recorded (only the replay that consumes it is still to come).
"""

from __future__ import annotations

import heapq
import itertools
import json
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from azure.durable_functions.models.history import HistoryEventType as Ev
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus
from azure.durable_functions.models.utils.df_serialization import df_dumps

from drift.runtime.clock import Clock, RealClock, VirtualClock, _iso, _utc
from drift.runtime.history import (
    _ACTIVE,
    InstanceResult,
    InstanceStatus,
    _Entity,
    _Instance,
    _Request,
    _Work,
)
from drift.runtime.replay import MaxEpisodesExceeded, Replay
from drift.runtime.snapshot import SNAPSHOT_FORMAT, Snapshots

__all__ = [
    "SNAPSHOT_FORMAT",
    "Clock",
    "DurableDeadlockError",
    "HostCrash",
    "InstanceResult",
    "InstanceStatus",
    "LocalDurableRuntime",
    "MaxEpisodesExceeded",
    "RealClock",
    "VirtualClock",
]


class DurableDeadlockError(RuntimeError):
    """Nothing can make progress but an instance is still running."""


class HostCrash(RuntimeError):
    """The simulated host stopped (see ``crash_after_activity``).

    The runtime is left consistent, so ``snapshot()`` saves what a real host would have
    persisted by then; resume from it with ``LocalDurableRuntime.restore``.
    """


class LocalDurableRuntime(Snapshots, Replay):
    """Scheduler that interleaves many orchestration instances in one process."""

    def __init__(
        self,
        orchestrators: Mapping[str, Callable],
        activities: Mapping[str, Callable[[Any], Any]],
        clock: Clock | None = None,
        max_episodes: int = 100_000,
        on_event: Callable[[str, dict], None] | None = None,
        entities: Mapping[str, Callable] | None = None,
    ) -> None:
        self.orchestrators = dict(orchestrators)
        self.activities = dict(activities)
        # EntityId scheduler ids lower-case the name, so registration is case-insensitive too.
        self.entities = {name.lower(): fn for name, fn in (entities or {}).items()}
        self.starts: list[tuple[str, str]] = []  # (instance_id, name) per start_new
        self.clock: Clock = clock or RealClock()
        self.max_episodes = max_episodes
        self.on_event = on_event
        self._instances: dict[str, _Instance] = {}
        self._activities: deque[_Work] = deque()
        self._timers: list[tuple[datetime, int, _Work]] = []  # heap, stale entries skipped
        self._seq = itertools.count()
        self._episodes_this_run = 0
        self._entities: dict[str, _Entity] = {}  # by scheduler id "@name@key"
        self._outbox: list[tuple[int, str, _Request]] = []  # this episode's entity messages
        self.activities_run = 0  # activity executions by this runtime object (retries count)
        self._crash_at: int | None = None
        self._crash_recorded = False

    @property
    def instances(self) -> dict[str, InstanceResult]:
        return {iid: self._result(inst) for iid, inst in self._instances.items()}

    def instance_ids(self) -> list[str]:
        """Every instance's id, without the copy of each history ``instances`` makes."""
        return list(self._instances)

    def raise_event(self, instance_id: str, name: str, data: Any) -> bool:
        """Deliver an event as the extension does; False when it was dropped.

        The event goes into the instance's history with its next episode whether or not
        anything waits for it, as in Azure: the SDK then matches it to the newest waiter of
        that name, or, when nobody waits, keeps it and hands it to *every* later waiter of
        that name in the same history (Azure Functions Durable Python issue #507). An event
        for an unknown or finished instance is dropped (the extension answers 404 or 410), and
        so is one left unconsumed when the instance continues as new (the Python SDK cannot
        ask for `preserveUnprocessedEvents`).
        """
        inst = self._instances.get(instance_id)
        if inst is None or inst.status not in _ACTIVE:
            return False
        inst.inbox.append(self._event(Ev.EVENT_RAISED, Name=name, Input=json.dumps(data)))
        return True

    def run(self, name: str, input: Any = None, instance_id: str | None = None) -> InstanceResult:
        """Start ``name`` and drive every instance until it finishes."""
        root = self._instances[self.start_new(name, input, instance_id)]
        self._episodes_this_run = 0
        while root.status in _ACTIVE:
            if self._step():
                continue
            due = self._next_timer()
            if due is None:
                raise DurableDeadlockError(self._describe_stall())
            self.clock.sleep_until(due)
        return self._result(root)

    def start_new(
        self,
        name: str,
        input: Any = None,
        instance_id: str | None = None,
        version: str | None = None,
    ) -> str:
        """Schedule an instance without running it; an existing id is replaced, as in Azure."""
        if name not in self.orchestrators:
            raise KeyError(f"orchestrator {name!r} is not registered")
        iid = instance_id or uuid.uuid4().hex
        self.starts.append((iid, name))
        self._start(iid, name, None if input is None else df_dumps(input), None, version or "")
        return iid

    def get_status(self, instance_id: str) -> InstanceStatus | None:
        inst = self._instances.get(instance_id)
        if inst is None:
            return None
        output = inst.error if inst.status == "Failed" else inst.output
        return InstanceStatus(
            inst.instance_id,
            inst.name,
            OrchestrationRuntimeStatus(inst.status),
            None if inst.input is None else json.loads(inst.input),
            output,
            inst.custom_status,
            inst.created,
            inst.updated,
        )

    def run_until_idle(self, max_time: datetime | None = None) -> None:
        """Do all ready work; wait for timers due by ``max_time`` (None: for every timer).

        Unlike ``run()``, instances left waiting on external events are not a deadlock here:
        a host simply idles until someone raises the event.
        """
        limit = None if max_time is None else _utc(max_time)
        self._episodes_this_run = 0
        while True:
            if self._step():
                continue
            due = self._next_timer()
            if due is None or (limit is not None and due > limit):
                return
            self.clock.sleep_until(due)

    def terminate(self, instance_id: str, reason: str) -> None:
        """Stop an active instance at once; finished instances are left alone (HTTP 410)."""
        inst = self._instances.get(instance_id)
        if inst is None:
            raise KeyError(f"no instance {instance_id!r}")
        if inst.status in _ACTIVE:
            inst.inbox.clear()
            self._append(inst, self._event(Ev.EXECUTION_TERMINATED, Input=json.dumps(reason)))
            self._finish(inst, "Terminated", reason, None, inst.custom_status)

    # -- crashes (snapshots: see snapshot.py) ---------------------------------------------

    def crash_after_activity(self, n: int | None, *, recorded: bool = False) -> None:
        """Raise ``HostCrash`` right after the ``n``-th activity execution from now (None: never).

        ``recorded=False``: the activity ran (its side effects happened) but its result was
        never stored, so it is queued again and runs once more on resume. ``recorded=True``:
        its result reached the instance's queue; the replay that consumes it has not run yet.
        """
        self._crash_at = None if n is None else self.activities_run + max(1, n)
        self._crash_recorded = recorded

    # -- scheduling -------------------------------------------------------------------------

    def _step(self) -> bool:
        """One round of everything that is ready now; False when only timers (or nothing) wait."""
        progressed = self._run_activities() | self._run_entities() | self._fire_timers()
        for inst in [i for i in self._instances.values() if i.inbox]:
            self._episode(inst)
            progressed = True
        return progressed

    def _start(
        self, iid: str, name: str, input_: str | None, parent: tuple[str, int] | None, version: str
    ) -> _Instance:
        """Create a fresh instance; whatever held ``iid`` before is orphaned with its work."""
        inst = self._instances[iid] = _Instance(iid, name, input_, parent, version)
        inst.created = inst.updated = self.clock.now()
        self._queue_start(inst)
        return inst

    def _queue_start(self, inst: _Instance) -> None:
        inst.inbox.append(
            self._event(
                Ev.EXECUTION_STARTED,
                Name=inst.name,
                Input=inst.input,
                Version=inst.version,
                InstanceId=inst.instance_id,
            )
        )

    def _run_activities(self) -> bool:
        batch = [self._activities.popleft() for _ in range(len(self._activities))]
        ran = False
        for index, work in enumerate(batch):
            if not self._is_live(work):
                continue
            fn = self.activities.get(work.name)
            try:
                if fn is None:
                    raise LookupError(f"activity {work.name!r} is not registered")
                arg = None if work.input is None else json.loads(work.input)
                event = self._event(
                    Ev.TASK_COMPLETED, TaskScheduledId=work.task_id, Result=json.dumps(fn(arg))
                )
            except Exception as exc:  # any activity error becomes TaskFailed
                event = self._event(
                    Ev.TASK_FAILED,
                    TaskScheduledId=work.task_id,
                    Reason=str(exc),
                    Details=type(exc).__name__,
                )
            self.activities_run += 1
            crash = self._crash_at is not None and self.activities_run >= self._crash_at
            if crash and not self._crash_recorded:
                self._crash(batch[index:], f"activity {work.name!r} ran; its result was lost")
            self._deliver(work, event)
            ran = True
            if crash:
                self._crash(batch[index + 1 :], f"activity {work.name!r} ran; result recorded")
        return ran

    def _crash(self, unrun: list[_Work], what: str) -> None:
        """Put back the work this host took but never finished, then stop."""
        self._activities.extendleft(reversed(unrun))
        self._crash_at = None
        raise HostCrash(f"host stopped after activity #{self.activities_run}: {what}")

    def _fire_timers(self) -> bool:
        fired, now = False, self.clock.now()
        while self._timers and self._timers[0][0] <= now:
            work = heapq.heappop(self._timers)[2]
            if self._is_live(work):
                assert work.fire_at is not None
                self._deliver(
                    work,
                    self._event(Ev.TIMER_FIRED, TimerId=work.task_id, FireAt=_iso(work.fire_at)),
                )
                fired = True
        return fired

    def _next_timer(self) -> datetime | None:
        while self._timers and not self._is_live(self._timers[0][2]):
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    def _is_live(self, work: _Work) -> bool:
        inst = self._instances.get(work.instance_id)
        return inst is not None and inst.pending.get(work.task_id) is work

    def _deliver(self, work: _Work, event: dict) -> None:
        inst = self._instances[work.instance_id]
        del inst.pending[work.task_id]
        inst.inbox.append(event)

    def _describe_stall(self) -> str:
        stuck = []
        for inst in self._instances.values():
            if inst.status in _ACTIVE:
                waits = sorted(inst.waiting) or "nothing"
                subs = [w.child_id for w in inst.pending.values() if w.kind == "sub"]
                stuck.append(
                    f"{inst.instance_id!r} ({inst.name}) waiting on events {waits}"
                    + (f", sub-orchestrations {subs}" if subs else "")
                )
        return "deadlock: no runnable work or pending timers, but still running: " + "; ".join(
            stuck
        )
