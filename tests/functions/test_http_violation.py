"""drift_http_violation: a monitoring job's metric violation retrains that group, once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import azure.functions as func

from tests.functions.conftest import App, user_function


def post(app: App, body: Any) -> func.HttpResponse:
    request = func.HttpRequest(
        "POST", "http://localhost:7071/api/violation", body=json.dumps(body).encode()
    )
    fn = user_function("drift_http_violation").client_function
    return asyncio.run(fn(req=request, client=app.client))


def test_a_violation_retrains_only_that_group_once(make_app: Callable[..., App]) -> None:
    app = make_app()
    body = {
        "model_group": "churn",
        "metric": "auc",
        "is_metric_violated": True,
        "violation_id": "run-77",
    }
    response = post(app, body)
    assert response.status_code == 202
    instance = json.loads(response.get_body())["id"]
    assert response.headers["Location"] == f"http://localhost:7071/api/runs/{instance}"
    app.settle()
    report = app.runtime.get_status(instance).output
    assert [r["model_group"] for r in report["retrained"]] == ["churn"]
    assert report["trigger"] == "monitoring"
    assert post(app, body).status_code == 202  # the same violation again
    app.settle()
    assert [j.name.split("_")[0] for j in app.jobs.submitted] == ["churn"]


def test_no_violation_starts_nothing_and_bad_bodies_are_400(make_app: Callable[..., App]) -> None:
    app = make_app()
    response = post(app, {"model_group": "churn", "is_metric_violated": False})
    assert response.status_code == 200 and app.runtime.starts == []
    response = post(app, {"model_group": "no such/group"})
    assert response.status_code == 400
    assert "model_group" in json.loads(response.get_body())["error"]
    response = post(app, {"is_metric_violated": True})
    assert "model_group: Field required" in json.loads(response.get_body())["error"]
