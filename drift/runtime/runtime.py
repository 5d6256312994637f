"""In-process durable runtime that drives real Durable Functions orchestrators via SDK replay.

Every episode rebuilds the extension's context JSON from the instance history and calls the
SDK's own ``Orchestrator.handle``, so local runs exercise exactly the replay path used in Azure
(and every step is a genuine replay, which is what proves determinism).

Deciding what to run next: the returned actions alone are not enough, because the SDK allocates
task ids (the ``EventId``/``TaskScheduledId``/``TimerId`` keys of history events) as sequence
numbers in yield order, and ``call_*_with_retry`` silently allocates extra ids for its retry timer
and rescheduled attempt (``NoOpAction`` tasks that never appear in the actions). So after each
``handle()`` we read the context's ``open_tasks`` -- the exact ids the SDK is waiting on -- and map
each new one to its meaning (activity, timer, retry timer, retry attempt, sub-orchestration,
external event), cross-checking that its action (or its retry parent's) was returned. The
flattened action list must also extend the previous episode's list; a mismatch is reported as a
non-deterministic orchestrator, which the Python SDK itself does not detect.

Entities run through the SDK's own ``Entity`` handler with the batch JSON the extension sends;
``call_entity`` is answered the way ``TaskOrchestrationExecutor`` expects (an ``EventSent``
carrying the request id, then an ``EventRaised`` named by that id holding a ``ResponseMessage``).
``signal_entity`` never appears in ``open_tasks`` (it only burns a sequence number), so signals
are read from the new actions and given the sequence ids no task claimed.

``start_new``/``get_status``/``run_until_idle`` give host-like, non-blocking control: starting an
existing id replaces it, as the real service does, so callers must check ``get_status`` first.

``snapshot()`` saves everything a host keeps in its task hub (histories, queued messages and
work, timers, external events, entity states, the clock's time) as JSON-able data, and
``LocalDurableRuntime.restore`` builds a runtime from it, as a restarted host resumes from its
storage. ``crash_after_activity`` stops the host right after an activity ran, with its result
either lost (the activity runs again on resume: at-least-once, as in Durable Functions) or
recorded (only the replay that consumes it is still to come).
"""

from __future__ import annotations

import functools
import heapq
import importlib
import itertools
import json
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from azure.durable_functions import DurableOrchestrationContext, Orchestrator
from azure.durable_functions.entity import Entity
from azure.durable_functions.models.actions import (
    CallActivityAction,
    CallActivityWithRetryAction,
    CallSubOrchestratorAction,
    CreateTimerAction,
)
from azure.durable_functions.models.actions.CallEntityAction import CallEntityAction
from azure.durable_functions.models.actions.CallSubOrchestratorWithRetryAction import (
    CallSubOrchestratorWithRetryAction,
)
from azure.durable_functions.models.actions.NoOpAction import NoOpAction
from azure.durable_functions.models.actions.SignalEntityAction import SignalEntityAction
from azure.durable_functions.models.history import HistoryEventType as Ev
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus
from azure.durable_functions.models.Task import AtomicTask, RetryAbleTask, TaskBase
from azure.durable_functions.models.utils.df_serialization import df_dumps
from azure.durable_functions.models.utils.entity_utils import EntityId

_OOP_LABEL = "\n\n$OutOfProcData$:"
_UNSUPPORTED_ACTIONS = {8: "CallHttp"}
_CONTINUE_AS_NEW = 4
_CALL_ENTITY, _SIGNAL_ENTITY = 7, 9
_ACTIVE = ("Pending", "Running")

# The SDK re-parses every event Timestamp with dateutil on every replay (~0.3 ms each), which
# dominated replay time; memoizing that pure function keeps results identical. Idempotent.
_sdk_history = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
if not hasattr(_sdk_history.dt_parse, "cache_info"):
    _sdk_history.dt_parse = functools.lru_cache(maxsize=1 << 16)(_sdk_history.dt_parse)


class Clock(Protocol):
    """Source of orchestration time; ``now()`` must be tz-aware UTC."""

    def now(self) -> datetime: ...
    def sleep_until(self, dt: datetime) -> None: ...


class RealClock:
    """Wall clock; timers really wait."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep_until(self, dt: datetime) -> None:
        time.sleep(max(0.0, (dt - self.now()).total_seconds()))


class VirtualClock:
    """Clock that jumps straight to the next timer, so hour-long schedules test in milliseconds."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = _utc(start or datetime(2024, 1, 1, tzinfo=UTC))

    def now(self) -> datetime:
        return self._now

    def sleep_until(self, dt: datetime) -> None:
        self._now = max(self._now, _utc(dt))


class DurableDeadlockError(RuntimeError):
    """Nothing can make progress but an instance is still running."""


class MaxEpisodesExceeded(RuntimeError):
    """Runaway guard: too many replays in one ``run()``."""


class HostCrash(RuntimeError):
    """The simulated host stopped (see ``crash_after_activity``).

    The runtime is left consistent, so ``snapshot()`` saves what a real host would have
    persisted by then; resume from it with ``LocalDurableRuntime.restore``.
    """


SNAPSHOT_FORMAT = "drift.durable_driver/1"


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


class LocalDurableRuntime:
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

    def signal_entity(self, entity_id: EntityId, operation: str, input: Any = None) -> None:
        """Queue a one-way operation, as a client signal does."""
        sid = EntityId.get_scheduler_id(entity_id)
        self._require_entity(sid)
        self._entity(sid).queue.append(_Request(str(uuid.uuid4()), operation, df_dumps(input)))

    def read_entity_state(self, entity_id: EntityId) -> tuple[bool, Any]:
        """``(exists, state)``; queued operations are not applied first, as in Azure."""
        entity = self._entities.get(EntityId.get_scheduler_id(entity_id))
        if entity is None or not entity.exists:
            return False, None
        return True, None if entity.state is None else json.loads(entity.state)

    # -- crashes and snapshots --------------------------------------------------------------

    def crash_after_activity(self, n: int | None, *, recorded: bool = False) -> None:
        """Raise ``HostCrash`` right after the ``n``-th activity execution from now (None: never).

        ``recorded=False``: the activity ran (its side effects happened) but its result was
        never stored, so it is queued again and runs once more on resume. ``recorded=True``:
        its result reached the instance's queue; the replay that consumes it has not run yet.
        """
        self._crash_at = None if n is None else self.activities_run + max(1, n)
        self._crash_recorded = recorded

    def snapshot(self) -> dict[str, Any]:
        """Everything a host persists, as JSON-able data (a deep copy; see ``restore``)."""
        if self._outbox:
            raise RuntimeError("cannot snapshot in the middle of a replay")

        def ref(work: _Work | None) -> list | None:
            return [work.instance_id, work.task_id] if work and self._is_live(work) else None

        timers = sorted((t for t in self._timers if self._is_live(t[2])), key=lambda t: t[:2])
        data = {
            "format": SNAPSHOT_FORMAT,
            "now": _iso(self.clock.now()),
            "starts": [list(s) for s in self.starts],
            "instances": [self._dump_instance(inst) for inst in self._instances.values()],
            "activities": [ref(w) for w in self._activities if self._is_live(w)],
            "timers": [ref(t[2]) for t in timers],
            # Raised events wait in each instance's inbox; older snapshots kept them here.
            "events": {},
            "entities": [
                {
                    "name": e.name,
                    "key": e.key,
                    "exists": e.exists,
                    "state": e.state,
                    "queue": [
                        {
                            "id": r.id,
                            "operation": r.operation,
                            "input": r.input,
                            "signal": r.reply is None,
                            "reply": ref(r.reply),
                        }
                        for r in e.queue
                    ],
                }
                for e in self._entities.values()
            ],
        }
        return json.loads(json.dumps(data))  # a copy that shares nothing with this runtime

    def _dump_instance(self, inst: _Instance) -> dict[str, Any]:
        parent_live = inst.parent_work is not None and self._is_live(inst.parent_work)
        return {
            "instance_id": inst.instance_id,
            "name": inst.name,
            "input": inst.input,
            "parent": list(inst.parent) if inst.parent else None,
            "parent_work_live": parent_live,
            "version": inst.version,
            "generation": inst.generation,
            "status": inst.status,
            "output": inst.output,
            "error": inst.error,
            "custom_status": inst.custom_status,
            "history": inst.history,
            "inbox": inst.inbox,
            "pending": [
                {
                    "task_id": w.task_id,
                    "kind": w.kind,
                    "name": w.name,
                    "input": w.input,
                    "fire_at": None if w.fire_at is None else _iso(w.fire_at),
                    "child_id": w.child_id,
                }
                for w in inst.pending.values()
            ],
            "waiting": inst.waiting,
            "signatures": [list(sig) for sig in inst.signatures],
            "episodes": inst.episodes,
            "events_total": inst.events_total,
            "created": _iso(inst.created),
            "updated": _iso(inst.updated),
        }

    @classmethod
    def restore(
        cls,
        snapshot: Mapping[str, Any],
        orchestrators: Mapping[str, Callable],
        activities: Mapping[str, Callable[[Any], Any]],
        entities: Mapping[str, Callable] | None = None,
        clock: Clock | None = None,
        **options: Any,
    ) -> LocalDurableRuntime:
        """A runtime resuming from ``snapshot()``'s data, with the functions of the new host.

        A virtual clock is moved forward to the snapshot's time (never back); ``options`` are
        the constructor's (``max_episodes``, ``on_event``).
        """
        if snapshot.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"not a {SNAPSHOT_FORMAT} snapshot: {snapshot.get('format')!r}")
        data = json.loads(json.dumps(snapshot))  # share nothing with the caller's copy
        runtime = cls(orchestrators, activities, clock=clock, entities=entities, **options)
        runtime.clock.sleep_until(_parse_iso(data["now"]))
        runtime.starts = [(iid, name) for iid, name in data["starts"]]
        works: dict[tuple[str, int], _Work] = {}
        for raw in data["instances"]:
            inst = runtime._load_instance(raw)
            runtime._instances[inst.instance_id] = inst
            for work in inst.pending.values():
                works[work.instance_id, work.task_id] = work
        for raw in data["instances"]:  # children point at the parent's live task
            if raw["parent_work_live"]:
                parent_iid, task_id = raw["parent"]
                runtime._instances[raw["instance_id"]].parent_work = works[parent_iid, task_id]
        runtime._activities.extend(works[iid, task] for iid, task in data["activities"])
        for iid, task in data["timers"]:
            work = works[iid, task]
            assert work.fire_at is not None
            heapq.heappush(runtime._timers, (work.fire_at, next(runtime._seq), work))
        for iid, queues in data.get("events", {}).items():  # snapshots before eager events
            for name, items in queues.items():
                for item in items:
                    runtime.raise_event(iid, name, json.loads(item))
        for raw in data["entities"]:
            entity = _Entity(raw["name"], raw["key"], raw["exists"], raw["state"])
            for req in raw["queue"]:
                reply = None
                if req["reply"] is not None:
                    reply = works[req["reply"][0], req["reply"][1]]
                elif not req["signal"]:  # its caller moved on: answered into the void
                    reply = _Work("", -1, "entity")
                entity.queue.append(_Request(req["id"], req["operation"], req["input"], reply))
            runtime._entities[f"@{entity.name}@{entity.key}"] = entity
        return runtime

    @staticmethod
    def _load_instance(raw: dict[str, Any]) -> _Instance:
        iid = raw["instance_id"]
        inst = _Instance(
            iid,
            raw["name"],
            raw["input"],
            None if raw["parent"] is None else (raw["parent"][0], int(raw["parent"][1])),
            raw["version"],
            generation=raw["generation"],
            status=raw["status"],
            output=raw["output"],
            error=raw["error"],
            custom_status=raw["custom_status"],
            history=raw["history"],
            inbox=raw["inbox"],
            waiting=dict(raw["waiting"]),
            signatures=[tuple(sig) for sig in raw["signatures"]],
            episodes=raw["episodes"],
            events_total=raw["events_total"],
            created=_parse_iso(raw["created"]),
            updated=_parse_iso(raw["updated"]),
        )
        for w in raw["pending"]:
            fire_at = None if w["fire_at"] is None else _parse_iso(w["fire_at"])
            work = _Work(
                iid, w["task_id"], w["kind"], w["name"], w["input"], fire_at, w["child_id"]
            )
            inst.pending[work.task_id] = work
        return inst

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

    # -- replay -----------------------------------------------------------------------------

    def _episode(self, inst: _Instance) -> None:
        self._episodes_this_run += 1
        if self._episodes_this_run > self.max_episodes:
            raise MaxEpisodesExceeded(
                f"more than {self.max_episodes} episodes; last instance {inst.instance_id!r}"
            )
        inst.episodes += 1
        now = inst.updated = self.clock.now()
        if inst.status == "Pending":
            inst.status = "Running"
        for old in inst.history:
            old["IsPlayed"] = True
        replaying = bool(inst.history)
        self._append(inst, self._event(Ev.ORCHESTRATOR_STARTED, now))
        for event in inst.inbox:
            self._append(inst, event)
        inst.inbox.clear()
        context = DurableOrchestrationContext.from_json(
            json.dumps(
                {
                    "history": inst.history,
                    "instanceId": inst.instance_id,
                    "isReplaying": replaying,
                    "parentInstanceId": inst.parent and inst.parent[0],
                    "input": inst.input,
                    "upperSchemaVersion": 2,
                }
            )
        )
        restart_input: str | None = None
        restart = False
        try:
            state = json.loads(Orchestrator(self.orchestrators[inst.name]).handle(context))
        except Exception as exc:  # orchestrator threw: instance failed
            message, _, payload = str(exc).partition(_OOP_LABEL)
            custom = json.loads(payload).get("customStatus") if payload else None
            self._finish(inst, "Failed", None, message, custom)
        else:
            actions = [leaf for group in state["actions"] for a in group for leaf in _leaves(a)]
            signatures = [_signature(a) for a in actions]
            inst.custom_status = state.get("customStatus")
            if signatures[: len(inst.signatures)] != inst.signatures:
                self._finish(
                    inst,
                    "Failed",
                    None,
                    _nondeterminism(inst.signatures, signatures),
                    inst.custom_status,
                )
            elif state["isDone"]:
                # Signals made before returning or continue_as_new are still sent.
                self._send_signals(inst, context, actions[len(inst.signatures) :])
                continue_as_new = [a for a in actions if a["actionType"] == _CONTINUE_AS_NEW]
                if continue_as_new:
                    restart, restart_input = True, continue_as_new[0].get("input")
                    self._append(
                        inst,
                        self._event(Ev.EXECUTION_COMPLETED, OrchestrationStatus="ContinuedAsNew"),
                    )
                else:
                    self._finish(inst, "Completed", state.get("output"), None, inst.custom_status)
            else:
                for action in actions:
                    if action["actionType"] in _UNSUPPORTED_ACTIONS:
                        raise NotImplementedError(
                            f"{_UNSUPPORTED_ACTIONS[action['actionType']]} is not supported "
                            f"(instance {inst.instance_id!r})"
                        )
                self._send_signals(inst, context, actions[len(inst.signatures) :])
                inst.signatures = signatures
                self._schedule(inst, context, now)
        self._append(inst, self._event(Ev.ORCHESTRATOR_COMPLETED, now))
        # Entity messages leave in the order the orchestrator made them (sequence id order).
        for _, sid, request in sorted(self._outbox, key=lambda item: item[0]):
            self._entity(sid).queue.append(request)
        self._outbox.clear()
        if restart:
            self._restart(inst, restart_input)

    def _schedule(
        self, inst: _Instance, context: DurableOrchestrationContext, now: datetime
    ) -> None:
        """Dispatch every id the SDK now waits on that has no work yet."""
        returned = {id(leaf) for a in context._actions[0] for leaf in _leaves(a)}
        inst.waiting = {}
        for key, entry in list(context.open_tasks.items()):
            tasks: list[TaskBase] = entry if isinstance(entry, list) else [entry]
            if isinstance(key, str):  # wait_for_external_event tasks are keyed by name
                if tasks and tasks[0]._api_name == "CallEntityAction":
                    continue  # re-keyed by its request id after EventSent; answered by entity
                if tasks:
                    inst.waiting[key] = len(tasks)
                continue
            task = tasks[0]
            assert isinstance(task, AtomicTask) and key < context._sequence_number
            action = evidence = task._get_action()
            if key in inst.pending:
                if isinstance(action, CreateTimerAction) and action.is_cancelled:
                    del inst.pending[key]  # never fire a cancelled timer or wait for it
                continue
            if isinstance(action, NoOpAction):  # hidden id allocated by call_*_with_retry
                retry = task.parent
                assert isinstance(retry, RetryAbleTask), task
                evidence = retry.actions[0] if isinstance(retry.actions, list) else retry.actions
                if action.metadata == "-WithRetry timer":
                    delay = _retry_delay(retry.retry_options, retry.num_attempts)
                    action = CreateTimerAction(now + delay)
                else:  # "rescheduled task": run the original call again
                    action = evidence
            if id(evidence) not in returned:
                raise RuntimeError(
                    f"SDK waits on task {key} of {inst.instance_id!r} "
                    f"but returned no action for it: {evidence!r}"
                )
            self._dispatch(inst, key, action)

    def _dispatch(self, inst: _Instance, key: int, action: Any) -> None:
        iid = inst.instance_id
        if isinstance(action, CreateTimerAction):
            fire_at = _utc(action.fire_at)
            work = _Work(iid, key, "timer", fire_at=fire_at)
            heapq.heappush(self._timers, (fire_at, next(self._seq), work))
            event = self._event(Ev.TIMER_CREATED, EventId=key, FireAt=_iso(fire_at))
        elif isinstance(action, (CallActivityAction, CallActivityWithRetryAction)):
            work = _Work(iid, key, "activity", action.function_name, action.input_)
            self._activities.append(work)
            event = self._event(Ev.TASK_SCHEDULED, EventId=key, Name=work.name, Input=work.input)
        elif isinstance(action, (CallSubOrchestratorAction, CallSubOrchestratorWithRetryAction)):
            child_id = action.instance_id or f"{iid}:{inst.generation}:{key}"
            work = _Work(iid, key, "sub", action.function_name, action._input, child_id=child_id)
            event = self._event(
                Ev.SUB_ORCHESTRATION_INSTANCE_CREATED,
                EventId=key,
                Name=work.name,
                Input=work.input,
                InstanceId=child_id,
            )
        elif isinstance(action, CallEntityAction):
            work = _Work(iid, key, "entity", action.instance_id, action.input_)
            request = _Request(str(uuid.uuid4()), action.operation, action.input_, work)
            event = self._entity_message(iid, key, action.instance_id, request)
        elif isinstance(action, SignalEntityAction):
            raise NotImplementedError(
                f"instance {iid!r} yielded signal_entity's task, which never completes "
                "(fire-and-forget; the SDK would also send the signal twice)"
            )
        else:
            raise NotImplementedError(f"unsupported action {type(action).__name__}")
        inst.pending[key] = work
        self._append(inst, event)
        if work.kind == "sub":
            assert work.child_id is not None
            child = self._instances.get(work.child_id)
            if work.name not in self.orchestrators:
                reason = f"orchestrator {work.name!r} is not registered"
            elif child is not None and child.status in _ACTIVE:
                reason = f"instance {work.child_id!r} is already running"
            else:
                child = self._start(
                    work.child_id,
                    work.name,
                    work.input,
                    (iid, key),
                    getattr(action, "version", None) or "",
                )
                child.parent_work = work
                return
            self._deliver(
                work,
                self._event(
                    Ev.SUB_ORCHESTRATION_INSTANCE_FAILED,
                    TaskScheduledId=key,
                    Reason=reason,
                    Details="SubOrchestrationStartFailed",
                ),
            )

    def _finish(
        self, inst: _Instance, status: str, output: Any, error: str | None, custom_status: Any
    ) -> None:
        inst.status, inst.output, inst.error, inst.custom_status = (
            status,
            output,
            error,
            custom_status,
        )
        inst.pending, inst.waiting, inst.updated = {}, {}, self.clock.now()
        self._append(
            inst,
            self._event(
                Ev.EXECUTION_COMPLETED,
                OrchestrationStatus=status,
                Result=json.dumps(output),
                FailureDetails=error,
            ),
        )
        if inst.parent is None:
            return
        parent = self._instances[inst.parent[0]]
        work = parent.pending.get(inst.parent[1])
        if work is None or work is not inst.parent_work:
            return  # parent moved on (finished, continued as new or was replaced)
        if status == "Completed":
            event = self._event(
                Ev.SUB_ORCHESTRATION_INSTANCE_COMPLETED,
                TaskScheduledId=work.task_id,
                Result=json.dumps(output),
            )
        else:
            event = self._event(
                Ev.SUB_ORCHESTRATION_INSTANCE_FAILED,
                TaskScheduledId=work.task_id,
                Reason=error or str(output),
                Details=f"sub-orchestration {inst.instance_id} {status.lower()}",
            )
        self._deliver(work, event)

    def _restart(self, inst: _Instance, new_input: str | None) -> None:
        """continue_as_new: fresh history, same instance id, pending work dropped."""
        inst.events_total += len(inst.history)
        inst.history, inst.pending, inst.waiting, inst.signatures = [], {}, {}, []
        inst.input, inst.generation = new_input, inst.generation + 1
        self._queue_start(inst)

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

    # -- entities ---------------------------------------------------------------------------

    def _send_signals(
        self, inst: _Instance, context: DurableOrchestrationContext, new_actions: list[dict]
    ) -> None:
        """Send this episode's signals, with the sequence ids the SDK burnt for them."""
        signals = [a for a in new_actions if a["actionType"] == _SIGNAL_ENTITY]
        if not signals:
            return
        used = {e["EventId"] for e in inst.history if e["EventId"] >= 0}
        used.update(k for k in context.open_tasks if isinstance(k, int))
        free = [i for i in range(context._sequence_number) if i not in used]
        if len(free) < len(signals):
            raise RuntimeError(
                f"cannot place {len(signals)} signals of {inst.instance_id!r} "
                f"in free sequence ids {free}"
            )
        for seq, action in zip(free[-len(signals) :], signals, strict=True):
            self._require_entity(action["instanceId"])
            request = _Request(str(uuid.uuid4()), action["operation"], action["input"])
            self._append(
                inst, self._entity_message(inst.instance_id, seq, action["instanceId"], request)
            )

    def _entity_message(self, iid: str, seq: int, sid: str, request: _Request) -> dict:
        """Queue ``request`` for the end of the episode and return its EventSent."""
        self._outbox.append((seq, sid, request))
        message = {
            "id": request.id,
            "op": request.operation,
            "signal": request.reply is None,
            "input": request.input,
            "parent": iid,
        }
        return self._event(
            Ev.EVENT_SENT, EventId=seq, InstanceId=sid, Name="op", Input=json.dumps(message)
        )

    def _require_entity(self, sid: str) -> None:
        """Signals have no reply to carry an error, so an unknown entity fails loudly here."""
        name = sid.split("@", 2)[1]
        if name not in self.entities:
            raise LookupError(f"entity {name!r} is not registered")

    def _entity(self, sid: str) -> _Entity:
        if sid not in self._entities:
            _, name, key = sid.split("@", 2)
            self._entities[sid] = _Entity(name, key)
        return self._entities[sid]

    def _run_entities(self) -> bool:
        busy = [e for e in self._entities.values() if e.queue]
        for entity in busy:
            self._run_entity_batch(entity)
        return bool(busy)

    def _run_entity_batch(self, entity: _Entity) -> None:
        """Run everything queued as one batch through the SDK, as the extension does."""
        batch = list(entity.queue)
        entity.queue.clear()
        fn = self.entities.get(entity.name)
        failed = {
            "isError": True,
            "result": json.dumps(f"entity {entity.name!r} is not registered"),
        }
        results = [failed] * len(batch)
        if fn is not None:
            payload = {
                "self": {"name": entity.name, "key": entity.key},
                "exists": entity.exists,
                "state": entity.state,
                # The extension serializes each (already serialized) input once more.
                "batch": [{"name": r.operation, "input": json.dumps(r.input)} for r in batch],
            }
            try:
                out = json.loads(Entity.create(fn)(json.dumps(payload)))
            except Exception as exc:  # the invocation itself failed: no state change
                failed = {"isError": True, "result": json.dumps(f"{type(exc).__name__}: {exc}")}
                results = [failed] * len(batch)
            else:
                entity.exists = bool(out["entityExists"])
                entity.state = out["entityState"] if entity.exists else None
                results = out["results"]
        for request, result in zip(batch, results, strict=True):
            if request.reply is None or not self._is_live(request.reply):
                continue  # signal, or the caller was replaced/terminated meanwhile
            response = {"result": result["result"]}
            if result["isError"]:
                response["exceptionType"] = "Exception"  # the SDK only checks the key exists
            self._deliver(
                request.reply,
                self._event(Ev.EVENT_RAISED, Name=request.id, Input=json.dumps(response)),
            )

    # -- helpers ----------------------------------------------------------------------------

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


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _iso(dt: datetime) -> str:
    return _utc(dt).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_iso(text: str) -> datetime:
    return _utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def _retry_delay(options: Any, attempts: int) -> timedelta:
    """DTFx semantics: first * backoff^(attempt-1), capped; this SDK only exposes ``first``."""
    ms = options.first_retry_interval_in_milliseconds * (
        getattr(options, "backoff_coefficient", 1.0) ** (attempts - 1)
    )
    cap = getattr(options, "max_retry_interval_in_milliseconds", None)
    return timedelta(milliseconds=min(ms, cap) if cap else ms)


def _leaves(action: Any) -> Iterator[Any]:
    """Flatten WhenAll/WhenAny (JSON dicts or SDK action objects) into their leaf actions."""
    children = (
        action.get("compoundActions")
        if isinstance(action, dict)
        else getattr(action, "compound_tasks", None)
    )
    if children is None:
        yield action
    for child in children or ():
        yield from _leaves(child)


def _signature(action: dict) -> tuple:
    if action["actionType"] in (_CALL_ENTITY, _SIGNAL_ENTITY):
        return (action["actionType"], action["instanceId"], action["operation"])
    return (action["actionType"], action.get("functionName") or action.get("externalEventName"))


def _nondeterminism(before: list[tuple], after: list[tuple]) -> str:
    i = next(
        (i for i, (b, a) in enumerate(zip(before, after, strict=False)) if b != a), len(after)
    )  # no differing pair: this replay stopped short of the earlier one
    now = after[i] if i < len(after) else "nothing"
    return (
        f"Non-deterministic workflow detected: action #{i} was {before[i]} in an earlier "
        f"replay but is {now} now"
    )
