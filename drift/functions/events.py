"""Event Grid trigger: ADLS Gen2 blob events, in the Event Grid or the CloudEvents schema."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df
import azure.functions as func

from drift.durable import intake
from drift.functions import settings

bp = df.Blueprint()


def event_payload(event: func.EventGridEvent | func.CloudEvent) -> dict[str, Any]:
    """The event back in its wire shape, whichever schema the subscription delivers."""
    if isinstance(event, func.CloudEvent):
        return {
            "specversion": event.specversion,
            "id": event.id,
            "type": event.type,
            "source": event.source,
            "subject": event.subject,
            "time": event.time.isoformat() if event.time else None,
            "data": event.get_json(),
        }
    return {
        "id": event.id,
        "eventType": event.event_type,
        "subject": event.subject,
        "topic": event.topic,
        "eventTime": event.event_time.isoformat() if event.event_time else None,
        "data": event.get_json(),
    }


@bp.function_name("drift_on_storage_event")
@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def on_storage_event(
    event: func.EventGridEvent, client: df.DurableOrchestrationClient
) -> None:
    """Never raises for a bad event: Event Grid would only retry what can never succeed."""
    await intake.handle_event(client, event_payload(event), settings.watchlist())
