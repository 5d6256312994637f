"""HTTP triggers: POST /api/retrain starts a run or answers a dry run; POST /api/violation.

A started run answers 202 with drift's own status URL (GET /api/runs/{id}, function key), not
the Durable check-status response: its URLs carry the extension's system key, which opens
the management API (terminate, purge, raise events) for every instance."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

from drift.functions import settings
from drift.functions.runs import check_status_response, json_response

bp = df.Blueprint()


@bp.function_name("drift_http_retrain")
@bp.route(route="retrain", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def http_retrain(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    # pydantic models: loaded when a function runs, not at indexing
    from drift.entrypoints import manual

    try:
        request = manual.parse_request(req.get_body())
        if request.dry_run:  # synchronous service calls: off the worker's event loop
            report = await asyncio.to_thread(manual.preview, settings.watchlist(), request)
            return json_response(200, report)
        instance = await manual.start_run(client, settings.watchlist(), request)
    except manual.BadRequest as exc:
        return json_response(400, {"error": str(exc)})
    return check_status_response(req, instance)


@bp.function_name("drift_http_violation")
@bp.route(route="violation", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def http_violation(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """A monitoring job reports a violated metric: retrain that group (202), or nothing (200)."""
    from drift.entrypoints import manual

    try:
        request = manual.parse_violation(req.get_body())
        instance = await manual.start_violation(
            client, settings.watchlist(), request, datetime.now(UTC)
        )
    except manual.BadRequest as exc:
        return json_response(400, {"error": str(exc)})
    if instance is None:
        return json_response(200, {"started": False, "reason": "is_metric_violated is false"})
    return check_status_response(req, instance)
