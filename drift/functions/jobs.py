"""Job status notifications: Azure ML's Event Grid events and Databricks' run webhooks wake
the monitors of the jobs they name (drift/durable/job_events.py)."""

from __future__ import annotations

import json
import logging

import azure.durable_functions as df
import azure.functions as func

from drift.durable import job_events
from drift.functions import settings
from drift.functions.events import event_payload
from drift.functions.runs import json_response

bp = df.Blueprint()
log = logging.getLogger("drift.functions.jobs")


@bp.function_name("drift_on_job_event")
@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def on_job_event(event: func.EventGridEvent, client: df.DurableOrchestrationClient) -> None:
    """An event that names no job drift watches is logged and acknowledged, never retried."""
    payload = event_payload(event)
    notice, reason = job_events.from_azureml(payload)
    if notice is None:
        log.info("job event %s ignored: %s", payload.get("id"), reason)
        return
    woken = await job_events.wake(client, notice)
    if not woken:
        log.info("job event %s: no monitor watches job %s (acknowledged)", notice.id, notice.job)
        return
    log.info("job event %s (%s) woke %s", notice.id, notice.status, ", ".join(woken))


@bp.function_name("drift_http_databricks_run")
@bp.route(route="databricks-run", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def http_databricks_run(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """A Databricks webhook notification destination: 200 with the monitors woken, 400 names
    the bad field (Databricks does not retry a 4xx)."""
    try:
        try:
            body = json.loads(req.get_body() or b"null")
        except ValueError:
            raise job_events.BadNotification("body: not JSON") from None
        groups = job_events.databricks_groups(settings.watchlist().configs.values())
        notice, reason = job_events.from_databricks(body, groups)
    except job_events.BadNotification as exc:
        return json_response(400, {"error": str(exc)})
    if notice is None:
        log.info("Databricks notification ignored: %s", reason)
        return json_response(200, {"woken": [], "reason": reason})
    woken = await job_events.wake(client, notice)
    log.info("Databricks notification %s woke %s", notice.id, ", ".join(woken) or "nothing")
    return json_response(200, {"woken": woken, "reason": "" if woken else "no monitor is watching"})
