"""function_app.py: every trigger is declared with the binding, route, auth and schedule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drift.durable import activities
from drift.durable.orchestration import ENTITIES, ORCHESTRATORS
from tests.functions.conftest import functions_by_name

ROOT = Path(__file__).resolve().parents[2]


def bindings(name: str) -> dict[str, dict]:
    fn = functions_by_name()[name]
    return {b["type"]: b for b in json.loads(fn.get_function_json())["bindings"]}


def test_event_grid_trigger() -> None:
    b = bindings("drift_on_storage_event")
    assert set(b) == {"eventGridTrigger", "durableClient"}


def test_http_trigger_route_method_and_auth_level() -> None:
    b = bindings("drift_http_retrain")
    assert b["httpTrigger"]["route"] == "retrain"
    assert b["httpTrigger"]["methods"] == ["POST"]
    assert b["httpTrigger"]["authLevel"] == "FUNCTION"
    assert "durableClient" in b


def test_run_history_routes_are_get_with_function_keys() -> None:
    routes = {
        "drift_http_runs": "runs",
        "drift_http_run_status": "runs/{instance_id}",
        "drift_http_report": "report",
    }
    for name, route in routes.items():
        b = bindings(name)
        assert b["httpTrigger"]["route"] == route
        assert b["httpTrigger"]["methods"] == ["GET"]
        assert b["httpTrigger"]["authLevel"] == "FUNCTION"
        assert "durableClient" in b


def test_timer_schedule_comes_from_an_app_setting() -> None:
    timer = bindings("drift_weekly")["timerTrigger"]
    assert timer["schedule"] == "%DRIFT_SCHEDULE%"
    assert timer["runOnStartup"] is False
    sample = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
    assert sample["DRIFT_SCHEDULE"] == "0 0 8 * * 1"  # Monday 08:00 UTC


def test_every_orchestrator_entity_and_activity_is_registered() -> None:
    kinds = {name: fn.get_trigger().get_binding_name() for name, fn in functions_by_name().items()}
    assert {n for n, k in kinds.items() if k == "orchestrationTrigger"} == set(ORCHESTRATORS)
    assert {n for n, k in kinds.items() if k == "entityTrigger"} == set(ENTITIES)
    assert {n for n, k in kinds.items() if k == "activityTrigger"} == set(activities.ACTIVITIES)


def test_host_json_bounds_concurrency_and_names_the_hub() -> None:
    host = json.loads((ROOT / "host.json").read_text())
    # The lowest GA bundle with the Durable Task Scheduler provider (tests/infra checks why).
    assert host["extensionBundle"]["version"] == "[4.30.0, 5.0.0)"
    durable = host["extensions"]["durableTask"]
    assert durable["hubName"] == "%TASKHUB_NAME%"  # "default" locally, the task hub in Azure
    assert durable["storageProvider"]["type"] == "azureManaged"
    assert durable["maxConcurrentActivityFunctions"] > 0
    assert host["logging"]["applicationInsights"]["samplingSettings"]["isEnabled"] is True


def test_sample_settings_hold_no_secret() -> None:
    values = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
    assert values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    for key, value in values.items():
        assert "AccountKey=" not in value and "Password" not in key, key


def test_a_copied_sample_takes_the_default_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cp local.settings.sample.json local.settings.json` and DRIFT_CONFIG is all a newcomer
    sets (README): the optional settings are empty, not placeholders drift would take for a
    client id, a vault or a topic."""
    from drift.backends.publish import ENDPOINT_SETTING
    from drift.wiring.bootstrap import AuthOptions

    values = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
    for key in ("AZURE_CLIENT_ID", "DRIFT_KEY_VAULT_NAME", "DRIFT_TENANT_ID", ENDPOINT_SETTING):
        monkeypatch.setenv(key, values[key])
    assert AuthOptions.from_env() == AuthOptions()
    assert values[ENDPOINT_SETTING] == ""


def test_job_status_triggers() -> None:
    assert set(bindings("drift_on_job_event")) == {"eventGridTrigger", "durableClient"}
    b = bindings("drift_http_databricks_run")
    assert b["httpTrigger"]["route"] == "databricks-run"
    assert b["httpTrigger"]["methods"] == ["POST"]
    assert b["httpTrigger"]["authLevel"] == "FUNCTION"
