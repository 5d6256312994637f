"""What the Event Grid trigger decides, free of Functions types: start one intake per commit.

Event Grid delivers at least once, out of order and in bursts. Each commit maps to one
deterministic instance id; `start_new` silently replaces an instance with the same id, so
the status is checked first and a duplicate is acknowledged without starting anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from drift.domain.events import Rejected, parse_event
from drift.durable.orchestration import INTAKE, intake_instance_id

if TYPE_CHECKING:
    from drift.wiring.watchlist import Watchlist

log = logging.getLogger("drift.intake")


class DurableClient(Protocol):
    """The part of `DurableOrchestrationClient` the triggers use."""

    async def get_status(self, instance_id: str) -> Any: ...

    async def start_new(
        self,
        orchestration_function_name: str,
        instance_id: str | None = None,
        client_input: Any | None = None,
    ) -> str: ...


@dataclass(frozen=True)
class Outcome:
    """What happened to one delivery; logged as one structured line, never raised."""

    action: str  # "started" | "duplicate" | "ignored"
    reason: str
    instance_id: str | None = None
    event_id: str | None = None

    def log(self) -> None:
        level = logging.INFO if self.action != "ignored" else logging.WARNING
        log.log(
            level,
            "drift event %s: %s",
            self.action,
            self.reason,
            extra={
                "drift": {
                    "action": self.action,
                    "reason": self.reason,
                    "instance_id": self.instance_id,
                    "event_id": self.event_id,
                }
            },
        )


# A commit whose intake ended like this was never taken in: a redelivery starts it again.
RETRYABLE = frozenset({"Failed", "Terminated", "Canceled"})


async def handle_event(
    client: DurableClient, payload: Any, watchlist: Watchlist, now: datetime | None = None
) -> Outcome:
    """Start the intake of a finished Delta commit of a watched table, at most once."""
    event = parse_event(payload)
    if isinstance(event, Rejected):
        return _done(Outcome("ignored", event.reason, event_id=event.event_id))
    key = watchlist.match(event)
    if key is None:
        where = f"{event.account}/{event.container}/{event.table_path}"
        reason = f"table {where} is not watched by this app"
        return _done(Outcome("ignored", reason, event_id=event.event_id))
    instance = intake_instance_id(key, event.version)
    what = f"{key} version {event.version}"
    status = await client.get_status(instance)
    if status and _state(status) not in RETRYABLE:
        return _done(Outcome("duplicate", f"{what} is already taken in", instance, event.event_id))
    at = (event.event_time or now or datetime.now(UTC)).astimezone(UTC)
    intake = {
        "table_key": key,
        "delta_version": event.version,
        "at": at.isoformat(),
        "timing": watchlist.configs[key].parameters.timing.to_dict(),
        "event_id": event.event_id,
    }
    try:
        await client.start_new(INTAKE, instance, intake)
    except Exception as exc:
        # The service refuses to start over a running instance: a concurrent delivery won.
        if "already exists" not in str(exc).lower():
            raise
        return _done(Outcome("duplicate", f"{what} is being taken in", instance, event.event_id))
    return _done(Outcome("started", what, instance, event.event_id))


def _state(status: Any) -> str:
    value = getattr(status, "runtime_status", None)
    return str(getattr(value, "value", value))


def _done(outcome: Outcome) -> Outcome:
    outcome.log()
    return outcome
