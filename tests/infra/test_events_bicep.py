"""The Event Grid pieces of issue 15: Azure ML job status events to drift_on_job_event, and
the optional topic drift publishes its own CloudEvents to. Parsed with pycep, as the rest of
infra/ (tests/infra/test_bicep.py, whose helpers these reuse)."""

from __future__ import annotations

import re
from pathlib import Path

from drift.backends import publish
from drift.domain.plan import TAG_MANAGED
from drift.domain.types import TERMINAL_STATES
from drift.durable import job_events
from tests.infra.test_bicep import (
    HOOK_ENV,
    HOOKS,
    INFRA,
    MAIN,
    ROOT,
    _needed,
    _passed,
    _run_hook,
    app_settings,
    decorator,
    modules,
    param_default,
    resources,
    the,
    tree,
)

JOBS = INFRA / "ml-job-events.bicep"
JOBS_HOOK = HOOKS / "job-events.sh"
TOPIC = INFRA / "app" / "drift-events-topic.bicep"


def test_job_status_subscription_filters_to_drifts_finished_jobs() -> None:
    sub = the(JOBS, "Microsoft.EventGrid/systemTopics/eventSubscriptions")["properties"]
    filters = sub["filter"]
    assert filters["includedEventTypes"] == [job_events.AML_STATUS_CHANGED]
    advanced = {(f["operatorType"], f["key"]): f["values"] for f in filters["advancedFilters"]}
    assert set(advanced[("StringIn", "data.runStatus")]) == set(TERMINAL_STATES)
    assert advanced[("StringIn", f"data.runTags.{TAG_MANAGED}")] == ["true"]
    assert "." not in TAG_MANAGED  # a dot would make it a nested key
    assert len(advanced) == 2
    destination = sub["destination"]
    assert destination["endpointType"] == "AzureFunction"
    assert (
        destination["properties"]["resourceId"]
        == "${functionAppResourceId}/functions/${functionName}"
    )
    assert param_default(JOBS, "functionName") == "drift_on_job_event"
    jobs_py = (ROOT / "drift" / "functions" / "jobs.py").read_text()
    assert '@bp.function_name("drift_on_job_event")' in jobs_py
    assert set(decorator(JOBS, "eventDeliverySchema", "allowed")) == {
        "EventGridSchema",
        "CloudEventSchemaV1_0",
    }
    assert set(sub["retryPolicy"]) == {"maxDeliveryAttempts", "eventTimeToLiveInMinutes"}
    assert "deadLetterDestination" not in sub and "deadLetterWithResourceIdentity" not in sub


def test_job_status_topic_is_the_workspaces_system_topic() -> None:
    assert tree(JOBS)["globals"]["scope"]["value"] == "resourceGroup"
    topic = the(JOBS, "Microsoft.EventGrid/systemTopics")
    assert topic["properties"]["topicType"] == "Microsoft.MachineLearningServices.Workspaces"
    assert topic["properties"]["source"]["operator"]["operands"] == {
        "operand_1": "workspace",
        "operand_2": "id",
    }
    (workspace,) = resources(JOBS, "Microsoft.MachineLearningServices/workspaces", existing=True)
    assert workspace == "workspace"


def test_job_status_hook_deploys_after_the_function_exists(fake_az: Path, tmp_path: Path) -> None:
    assert 'sh "$(dirname "$0")/job-events.sh"' in (HOOKS / "postdeploy.sh").read_text()
    outputs = set(tree(MAIN)["outputs"])
    assert _needed(JOBS_HOOK) <= outputs | {"AZURE_SUBSCRIPTION_ID"}
    declared = tree(JOBS)["parameters"]
    required = {p for p, d in declared.items() if d.get("default") is None}
    assert required <= _passed(JOBS_HOOK) <= set(declared)

    proc, calls = _run_hook(JOBS_HOOK, fake_az, tmp_path, HOOK_ENV)
    assert proc.returncode == 0, proc.stderr
    assert "--function-name drift_on_job_event" in calls[1]
    (deploy,) = [c for c in calls if c.startswith("deployment group create")]
    assert f"--template-file {JOBS}" in deploy and "--resource-group rg-ml " in deploy
    for arg in (
        "mlWorkspaceName=mlw-prod",
        "systemTopicName=drift-ml-job-events",
        f"functionAppResourceId={HOOK_ENV['AZURE_FUNCTION_APP_ID']}",
        "eventDeliverySchema=CloudEventSchemaV1_0",
    ):
        assert f" {arg} " in deploy, arg
    env = {**HOOK_ENV, "DRIFT_ML_SYSTEM_TOPIC_NAME": "existing-topic"}
    _, calls = _run_hook(JOBS_HOOK, fake_az, tmp_path, env)
    assert " systemTopicName=existing-topic " in calls[-1]
    proc, calls = _run_hook(
        JOBS_HOOK, fake_az, tmp_path, {"DRIFT_SKIP_JOB_EVENTS_SUBSCRIPTION": "true"}
    )
    assert proc.returncode == 0 and calls == []


def test_drifts_events_topic_takes_cloud_events_by_identity_only() -> None:
    topic = the(TOPIC, "Microsoft.EventGrid/topics")["properties"]
    assert topic["inputSchema"] == "CloudEventSchemaV1_0"
    assert topic["disableLocalAuth"] is True
    (role,) = resources(TOPIC, "Microsoft.Authorization/roleAssignments").values()
    assert role["scope"] == "topic"
    assert role["properties"]["principalId"] == "senderPrincipalId"
    sender = role["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
    line = next(ln for ln in TOPIC.read_text().splitlines() if ln.startswith(f"var {sender} "))
    assert re.fullmatch(
        rf"var {sender} = 'd5a91429-5739-47e2-a06b-3470a27159e7' // EventGrid Data Sender", line
    )


def test_drifts_events_topic_is_optional_and_its_endpoint_is_the_app_setting() -> None:
    _, config, when = modules(MAIN)["driftEvents"]
    assert when == "publishDriftEvents" and param_default(MAIN, "publishDriftEvents") is False
    assert config["params"]["senderPrincipalId"]["operator"]["operands"]["operand_1"] == (
        "identity"
    )
    settings = app_settings()
    endpoint = settings[publish.ENDPOINT_SETTING]
    assert endpoint["operator"]["operands"]["condition"] == "publishDriftEvents"
    assert publish.ENDPOINT_SETTING in tree(MAIN)["outputs"]
