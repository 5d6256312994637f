"""One replay episode: rebuild the context, call the SDK's ``Orchestrator.handle``, act on it.

Deciding what to run next: the returned actions alone are not enough, because the SDK allocates
task ids (the ``EventId``/``TaskScheduledId``/``TimerId`` keys of history events) as sequence
numbers in yield order, and ``call_*_with_retry`` silently allocates extra ids for its retry timer
and rescheduled attempt (``NoOpAction`` tasks that never appear in the actions). So after each
``handle()`` we read the context's ``open_tasks`` -- the exact ids the SDK is waiting on -- and map
each new one to its meaning (activity, timer, retry timer, retry attempt, sub-orchestration,
external event), cross-checking that its action (or its retry parent's) was returned. The
flattened action list must also extend the previous episode's list; a mismatch is reported as a
non-deterministic orchestrator, which the Python SDK itself does not detect.
"""

from __future__ import annotations

import heapq
import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from azure.durable_functions import DurableOrchestrationContext, Orchestrator
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
from azure.durable_functions.models.Task import AtomicTask, RetryAbleTask, TaskBase

from drift.runtime.clock import _iso, _utc
from drift.runtime.entities import _CALL_ENTITY, _SIGNAL_ENTITY, Entities
from drift.runtime.history import _ACTIVE, _Instance, _Request, _Work

_OOP_LABEL = "\n\n$OutOfProcData$:"
_UNSUPPORTED_ACTIONS = {8: "CallHttp"}
_CONTINUE_AS_NEW = 4


class MaxEpisodesExceeded(RuntimeError):
    """Runaway guard: too many replays in one ``run()``."""


class Replay(Entities):
    """The replay half of ``LocalDurableRuntime``: episodes, and the work they schedule."""

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
