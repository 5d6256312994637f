"""GET /api/runs, /api/runs/{id} and /api/report: the run history read from the durable
instance query (the LocalDurableClient answers it as the SDK does: first page only)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import azure.functions as func
import numpy as np
import pandas as pd
from deltalake import write_deltalake

from drift.domain.policy_config import Policies
from drift.durable.orchestration import MONITOR
from drift.functions import settings
from tests.functions.conftest import KEY, App, user_function

BASE = "http://localhost:7071/api"
POLICY = {
    "policy": {"trigger": "on_drift", "driftThreshold": 0.1, "sampleRows": 5000},
    "groups": {"churn": {"trigger": "always"}},
}


def call(
    app: App, name: str, url: str, method: str = "GET", body: bytes = b"", **kw: Any
) -> func.HttpResponse:
    query = dict(p.split("=", 1) for p in url.partition("?")[2].split("&") if p)
    request = func.HttpRequest(method, url, body=body, params=query, **kw)
    fn = user_function(name).client_function
    return asyncio.run(fn(req=request, client=app.client))


def retrain(app: App, body: dict[str, Any] | None = None) -> str:
    raw = json.dumps(body or {}).encode()
    response = call(app, "drift_http_retrain", f"{BASE}/retrain", "POST", raw)
    assert response.status_code == 202, response.get_body()
    return json.loads(response.get_body())["id"]


def runs(app: App, query: str = "") -> dict[str, Any]:
    response = call(app, "drift_http_runs", f"{BASE}/runs{query}")
    assert response.status_code == 200, response.get_body()
    assert response.mimetype == "application/json"
    return json.loads(response.get_body())


def status(app: App, instance_id: str) -> func.HttpResponse:
    return call(
        app,
        "drift_http_run_status",
        f"{BASE}/runs/{instance_id}",
        route_params={"instance_id": instance_id},
    )


def write(app: App, mean: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": rng.normal(mean, 5, 2000).round().astype("int64")})
    write_deltalake(app.table, frame, mode="append")


def history(make_app: Callable[..., App]) -> tuple[App, list[str]]:
    """Three runs an hour apart: a first retrain, one on drifted data, one terminated."""
    app = make_app()
    services = settings.watchlist().services(KEY)
    services.config = services.config.model_copy(
        update={"retraining": Policies.model_validate(POLICY)}
    )
    app.jobs.script = {"churn": ["Running", "Completed"], "upsell": ["Running", "Failed"]}
    ids = []
    for mean in (50, 80):
        write(app, mean, seed=int(mean))
        ids.append(retrain(app))
        app.settle()
        app.advance(3600)
    ids.append(retrain(app))
    asyncio.run(app.client.terminate(ids[-1], "stopped by an operator"))
    app.settle()
    return app, ids


def test_runs_are_newest_first_with_their_reports(make_app: Callable[..., App]) -> None:
    app, ids = history(make_app)
    body = runs(app)
    assert [r["instance_id"] for r in body["runs"]] == ids[::-1]
    assert body["continuation"] is None and body["next"] is None
    terminated, drifted, first = body["runs"]
    assert terminated["runtime_status"] == "Terminated"
    assert terminated["error"] == "Terminated: stopped by an operator"
    assert terminated["table"] == first["table"] == str(app.table)  # one section per table
    assert drifted["runtime_status"] == "Completed"
    groups = {r["model_group"]: r for r in drifted["retrained"]}
    assert groups["upsell"]["decision"]["action"] == "retrain"  # on_drift, and it drifted
    assert groups["upsell"]["status"] == "Failed" and groups["churn"]["status"] == "Completed"
    assert first["data_asset_version"] != drifted["data_asset_version"]
    # Monitors and intakes are instances too, never runs.
    assert all(app.runtime.get_status(r["instance_id"]).name != MONITOR for r in body["runs"])
    assert any(call[0] == "get_status_by" for call in app.client.calls)


def test_pages_follow_the_continuation(make_app: Callable[..., App]) -> None:
    app, ids = history(make_app)
    first = runs(app, "?limit=2")
    assert [r["instance_id"] for r in first["runs"]] == ids[:0:-1]
    assert first["next"] == f"{BASE}/runs?limit=2&continuation={first['continuation']}"
    second = runs(app, f"?limit=2&continuation={first['continuation']}")
    assert [r["instance_id"] for r in second["runs"]] == ids[:1]
    assert second["continuation"] is None
    failed_only = runs(app, "?status=terminated")
    assert [r["instance_id"] for r in failed_only["runs"]] == ids[2:]


def test_bad_parameters_are_400_naming_the_field(make_app: Callable[..., App]) -> None:
    app = make_app()
    for query, field in (
        ("?limit=0", "limit"),
        ("?limit=many", "limit"),
        ("?status=exploded", "status"),
        ("?continuation=%%%", "continuation"),
    ):
        for name, route in (("drift_http_runs", "runs"), ("drift_http_report", "report")):
            response = call(app, name, f"{BASE}/{route}{query}")
            assert response.status_code == 400, (route, query)
            assert json.loads(response.get_body())["error"].startswith(field)


def test_a_run_status_is_202_while_it_runs_then_200_with_its_report(
    make_app: Callable[..., App],
) -> None:
    app = make_app()
    app.jobs.script = {"churn": ["Running"] * 5 + ["Completed"]}
    instance = retrain(app, {"model_name_prefix": "churn"})
    app.advance(15)  # registered and submitted; the job still runs
    running = status(app, instance)
    assert running.status_code == 202
    assert running.headers["Location"] == f"{BASE}/runs/{instance}"
    body = json.loads(running.get_body())
    assert body["runtime_status"] == "Running" and body["report"] is None
    app.settle()
    done = status(app, instance)
    assert done.status_code == 200
    report = json.loads(done.get_body())["report"]
    assert [r["status"] for r in report["retrained"]] == ["Completed"]
    assert report["instance_id"] == instance


def test_only_drift_runs_have_a_status(make_app: Callable[..., App]) -> None:
    app = make_app()
    instance = retrain(app, {"model_name_prefix": "churn"})
    app.settle()
    monitor = f"{instance}-churn"
    assert app.runtime.get_status(monitor).name == MONITOR
    for other in (monitor, "no-such-run", "../admin", "a" * 101):
        response = status(app, other)
        assert response.status_code == 404, other
        assert "durabletask" not in response.get_body().decode()


def test_the_report_is_the_page_drift_report_writes(make_app: Callable[..., App]) -> None:
    from drift.durable.run_query import run_report
    from drift.reporting.html_report import render

    app, ids = history(make_app)
    response = call(app, "drift_http_report", f"{BASE}/report")
    assert response.status_code == 200
    assert response.mimetype == "text/html" and response.charset == "utf-8"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    page = response.get_body().decode()
    # The same builder over the same reports as `drift report` (reports are the outputs).
    statuses = [asyncio.run(app.client.get_status(i)) for i in ids[::-1]]
    tables = {KEY: str(app.table)}
    assert page == render([run_report(s, tables) for s in statuses])
    assert "3 run(s)" in page and all(i in page for i in ids)
