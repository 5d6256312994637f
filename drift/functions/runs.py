"""HTTP triggers over the run history: GET /api/runs, /api/runs/{instance_id} and /api/report.

In Azure each run's report is its `drift_retrain` instance's output, so these read the durable
instance query (drift.durable.run_query); the page is the one `drift report` writes locally,
built by the same `drift.reporting.html_report.render`. Function keys only: nothing here returns
the Durable management URLs, whose system key would open terminate, purge and raise-event on
every instance.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit, urlunsplit

import azure.durable_functions as df
import azure.functions as func

from drift.durable import run_query
from drift.durable.orchestration import INSTANCE_ID_RE, RETRAIN
from drift.functions import settings

bp = df.Blueprint()
RETRY_AFTER_S = 10


def json_response(
    status: int, body: object, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    """A JSON answer; every HTTP trigger of the app answers through this one."""
    return func.HttpResponse(
        json.dumps(body, default=str),
        status_code=status,
        mimetype="application/json",
        headers=headers,
    )


def _url(
    req: func.HttpRequest, tail: str, query: dict[str, str] | None = None, segments: int = 1
) -> str:
    """`tail` in place of the request route's last `segments` path segments, so the host and
    the route prefix (`/api` unless host.json says otherwise) stay the caller's. The caller's
    query string, which may hold its function key, is never echoed."""
    parts = urlsplit(req.url)
    base = parts.path.rstrip("/").rsplit("/", segments)[0]
    return urlunsplit((parts.scheme, parts.netloc, f"{base}/{tail}", urlencode(query or {}), ""))


def status_url(req: func.HttpRequest, instance_id: str, segments: int = 1) -> str:
    """drift's status endpoint for one run (GET, function key), for /api/retrain's answer."""
    return _url(req, f"runs/{instance_id}", segments=segments)


def check_status_response(req: func.HttpRequest, instance_id: str) -> func.HttpResponse:
    """202 with drift's own status URL, in place of the Durable check-status response."""
    url = status_url(req, instance_id)
    return json_response(
        202,
        {"id": instance_id, "statusQueryGetUri": url},
        {"Location": url, "Retry-After": str(RETRY_AFTER_S)},
    )


def _tables() -> dict[str, str]:
    """Watched table keys -> the table names run reports carry (for runs without a report)."""
    from drift.wiring.bootstrap import watched_table

    return {key: watched_table(cfg) for key, cfg in settings.watchlist().configs.items()}


async def _page(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> run_query.RunsPage:
    return await run_query.recent_runs(
        client,
        run_query.parse_limit(req.params.get("limit")),
        datetime.now(UTC),
        req.params.get("continuation") or None,
        run_query.parse_statuses(req.params.get("status")),
        _tables(),
    )


@bp.function_name("drift_http_runs")
@bp.route(route="runs", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def http_runs(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """The last runs with their reports, newest first; `continuation` pages to older ones."""
    try:
        page = await _page(req, client)
    except run_query.BadQuery as exc:
        return json_response(400, {"error": str(exc)})
    query = {k: v for k, v in req.params.items() if k in ("limit", "status")}
    body = {
        "runs": page.runs,
        "continuation": page.continuation,
        "next": (
            _url(req, "runs", {**query, "continuation": page.continuation})
            if page.continuation
            else None
        ),
    }
    return json_response(200, body)


@bp.function_name("drift_http_run_status")
@bp.route(route="runs/{instance_id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def http_run_status(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """One run: 202 while it runs (poll again), 200 with its report once it ended."""
    instance_id = req.route_params.get("instance_id") or ""
    if not INSTANCE_ID_RE.match(instance_id):  # anything else is not a drift run
        return json_response(404, {"error": "instance_id: no such run"})
    status = await client.get_status(instance_id)
    if not status or status.name != RETRAIN:  # monitors and intakes are not runs
        return json_response(404, {"error": f"instance_id: no run {instance_id}"})
    body = run_query.run_status(status, _tables())
    if body["report"] is None:
        url = status_url(req, instance_id, segments=2)
        return json_response(202, body, {"Location": url, "Retry-After": str(RETRY_AFTER_S)})
    return json_response(200, body)


@bp.function_name("drift_http_report")
@bp.route(route="report", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def http_report(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """The HTML page `drift report` writes, over the last runs of this deployment."""
    from drift.reporting.html_report import render

    try:
        page = await _page(req, client)
    except run_query.BadQuery as exc:
        return json_response(400, {"error": str(exc)})
    return func.HttpResponse(
        render(page.runs),
        status_code=200,
        mimetype="text/html",
        charset="utf-8",
        # The page is self-contained: no script, no external reference; keep it so.
        headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
