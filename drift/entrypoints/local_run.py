"""Runs the durable orchestrators in-process on the local backend, as the Functions host would."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from drift.durable.activities import bind
from drift.durable.orchestration import ENTITIES, ORCHESTRATORS, RETRAIN
from drift.runtime.runtime import Clock, LocalDurableRuntime, RealClock
from drift.wiring.bootstrap import Services


class RunFailed(RuntimeError):
    """The orchestration itself failed (not a job): the message says which step and why."""


def run_retrain(
    services: Services,
    request: dict[str, Any],
    *,
    clock: Clock | None = None,
    instance_id: str | None = None,
    on_event: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Replay the real `drift_retrain` orchestrator to completion and return its report."""
    runtime = LocalDurableRuntime(
        ORCHESTRATORS,
        bind(services),
        clock=clock or RealClock(),
        on_event=on_event,
        entities=ENTITIES,
    )
    result = runtime.run(RETRAIN, request, instance_id or f"drift-{uuid.uuid4().hex[:12]}")
    if result.status != "Completed":
        raise RunFailed(_reason(result.error))
    return result.output


def _reason(error: str | None) -> str:
    """The first line of an orchestration error, without the SDK's serialized state."""
    text = (error or "orchestration failed").split("$OutOfProcData$", 1)[0]
    return text.strip().split("\n", 1)[0].strip()
