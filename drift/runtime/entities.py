"""Durable entities in the local runtime: signals, calls and the batches they run in.

Entities run through the SDK's own ``Entity`` handler with the batch JSON the extension sends;
``call_entity`` is answered the way ``TaskOrchestrationExecutor`` expects (an ``EventSent``
carrying the request id, then an ``EventRaised`` named by that id holding a ``ResponseMessage``).
``signal_entity`` never appears in ``open_tasks`` (it only burns a sequence number), so signals
are read from the new actions and given the sequence ids no task claimed.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from azure.durable_functions import DurableOrchestrationContext
from azure.durable_functions.entity import Entity
from azure.durable_functions.models.history import HistoryEventType as Ev
from azure.durable_functions.models.utils.df_serialization import df_dumps
from azure.durable_functions.models.utils.entity_utils import EntityId

from drift.runtime.history import History, _Entity, _Instance, _Request

_CALL_ENTITY, _SIGNAL_ENTITY = 7, 9


class Entities(History):
    """The entity half of ``LocalDurableRuntime``: client signals and reads, orchestrator
    signals and calls, and each entity's queued operations run as one SDK batch."""

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
