"""drift_http_retrain: POST /api/retrain validates, starts a run with status URLs, or previews."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import azure.functions as func
import pytest

from drift.durable.orchestration import RETRAIN
from drift.functions import settings
from tests.functions.conftest import KEY, App, user_function


def post(app: App, body: Any, url: str = "http://localhost:7071/api/retrain") -> func.HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = func.HttpRequest(
        "POST",
        url,
        body=raw,
        headers={"Content-Type": "application/json"},
    )
    fn = user_function("drift_http_retrain").client_function
    return asyncio.run(fn(req=request, client=app.client))


def test_a_run_answers_202_with_drifts_status_url_and_completes(
    make_app: Callable[..., App],
) -> None:
    app = make_app()
    response = post(app, {"model_name_prefix": "churn"})
    assert response.status_code == 202
    links = json.loads(response.get_body())
    instance = links["id"]
    url = f"http://localhost:7071/api/runs/{instance}"
    assert links == {"id": instance, "statusQueryGetUri": url}
    assert response.headers["Location"] == url
    app.settle()
    status = app.runtime.get_status(instance)
    assert status is not None and status.name == RETRAIN
    assert [r["model_group"] for r in status.output["retrained"]] == ["churn"]
    assert [j.name.split("_")[0] for j in app.jobs.submitted] == ["churn"]


def test_an_empty_body_runs_everything(make_app: Callable[..., App]) -> None:
    app = make_app()
    assert post(app, b"").status_code == 202
    app.settle()
    assert sorted(j.name.split("_")[0] for j in app.jobs.submitted) == ["churn", "upsell"]


def test_a_dry_run_answers_the_plan_and_writes_nothing(make_app: Callable[..., App]) -> None:
    app = make_app()
    response = post(app, {"dry_run": True})
    assert response.status_code == 200
    report = json.loads(response.get_body())
    assert report["would_register"] is True
    plan = {j["group"]: j for j in report["plan"]["jobs"]}
    assert sorted(plan) == ["churn", "upsell"]
    assert plan["churn"]["source_job"] == "churn_20260101000000_aaa"
    version = report["data_asset_version"]
    assert plan["churn"]["inputs"]["training_data"]["path"] == f"azureml:features:{version}"
    assert report["plan"]["decisions"]["churn"]["reason"] == "retrain: trigger is always"
    registry = settings.watchlist().services(KEY).registry
    assert registry.get_data("features", version) is None
    assert app.runtime.starts == [] and app.jobs.submitted == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dry_run": "yes"}, "dry_run"),
        ({"model_name_prefix": "churn,bad name"}, "model_name_prefix.1"),
        ({"data_asset_version": "v1; rm -rf"}, "data_asset_version"),
        ({"unexpected": 1}, "unexpected: unknown field"),
        ({"table": "acct/data/nope"}, "table: 'acct/data/nope' is not watched"),
        ([1, 2], "body: expected a JSON object"),
        (b"{not json", "body: not JSON"),
    ],
)
def test_bad_requests_get_400_naming_the_field(
    make_app: Callable[..., App], body: Any, field: str
) -> None:
    app = make_app()
    response = post(app, body)
    assert response.status_code == 400
    assert field in json.loads(response.get_body())["error"]
    assert app.runtime.starts == []


def test_an_unknown_version_in_a_dry_run_is_a_400(make_app: Callable[..., App]) -> None:
    app = make_app()
    response = post(app, {"dry_run": True, "data_asset_version": "20990101000000-v1"})
    assert response.status_code == 400
    assert (
        "features:20990101000000-v1 is not registered" in json.loads(response.get_body())["error"]
    )


def test_the_answer_carries_no_key_and_no_durable_management_url(
    make_app: Callable[..., App],
) -> None:
    """Issue 11: the Durable URLs carry the system key (terminate, purge, raise events on every
    instance); drift answers with its own endpoint, and never echoes the caller's key."""
    app = make_app()
    response = post(app, {}, url="https://drift.example.net/api/retrain?code=CALLER-KEY")
    assert response.status_code == 202
    text = response.get_body().decode() + json.dumps(dict(response.headers))
    for leak in ("runtime/webhooks", "durabletask", "code=", "REDACTED", "CALLER-KEY"):
        assert leak not in text
    instance = json.loads(response.get_body())["id"]
    assert response.headers["Location"] == f"https://drift.example.net/api/runs/{instance}"
