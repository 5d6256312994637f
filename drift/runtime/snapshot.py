"""Saving and resuming the local runtime, as a host keeps its task hub in storage.

``snapshot()`` saves everything a host keeps in its task hub (histories, queued messages and
work, timers, external events, entity states, the clock's time) as JSON-able data, and
``LocalDurableRuntime.restore`` builds a runtime from it, as a restarted host resumes from its
storage.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from drift.runtime.clock import Clock, _iso, _parse_iso
from drift.runtime.history import History, _Entity, _Instance, _Request, _Work

if TYPE_CHECKING:
    from drift.runtime.runtime import LocalDurableRuntime

# Named after the module this runtime grew in (drift/durable_driver.py); kept, so snapshots
# saved before the package layout changed still load.
SNAPSHOT_FORMAT = "drift.durable_driver/1"


class Snapshots(History):
    """``snapshot()`` and ``restore()`` for ``LocalDurableRuntime``."""

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
