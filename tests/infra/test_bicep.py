"""The Azure deployment (infra/, azure.yaml), checked without Azure and without a Bicep compiler.

Every `.bicep` file is parsed with pycep (the parser checkov uses); the parsed trees are then
checked for what docs/deploy.md promises: Flex Consumption, one user-assigned identity and no
keys, locked-down storage, the Event Grid filters the app relies on, least-privilege roles (a
custom Azure ML role with exactly drift's actions, storage roles narrowed to the durable backend
in use), the Durable Task Scheduler as the default backend, diagnostic settings, the vnetEnabled
option, the failed-retraining alert, an azd deployment that touches no resource group but its
own (`azd down` deletes every group it touched); and module wiring a compiler would catch
(params, outputs, paths). The hooks run
against a stub `az`. checkov then scans the templates and must report no failed check: every
suppression is an inline `// checkov:skip=` with its reason, and docs/deploy.md lists each one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from pycep import BicepParser

from drift.domain.events import BLOB_CREATED, BLOB_RENAMED, FINISHED_APIS

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"
SUBSCRIPTION = INFRA / "eventgrid-subscription.bicep"
ACCESS = INFRA / "access.bicep"
RBAC = INFRA / "app" / "rbac.bicep"
ML_ROLE = INFRA / "app" / "role-ml-workspace.bicep"
MLTABLES = INFRA / "app" / "datalake-mltables.bicep"
DTS = INFRA / "app" / "dts.bicep"
NETWORK = INFRA / "app" / "network.bicep"
DIAGNOSTICS = INFRA / "app" / "diagnostics.bicep"
ALERTS = INFRA / "app" / "alerts.bicep"
HOST_JSON = ROOT / "host.json"
HOOKS = INFRA / "hooks"
POSTPROVISION = HOOKS / "postprovision.sh"
POSTDEPLOY = HOOKS / "postdeploy.sh"
DOCS = ROOT / "docs" / "deploy.md"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))
# Text files of the deployment: every Bicep file, parameters, hook scripts, azure.yaml.
# (infra/databricks/ is the Databricks bundle, not part of this deployment.)
DEPLOYMENT_FILES = [
    p
    for p in sorted(INFRA.rglob("*"))
    if p.is_file()
    and p.suffix in {".bicep", ".json", ".sh"}
    and not p.is_relative_to(INFRA / "databricks")
] + [ROOT / "azure.yaml"]

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-4b1a-a20d-d9a3bd6f8aaf"
USER_ACCESS_ADMINISTRATOR = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
# Built-in role -> id; rbac.bicep must name each in a comment on the line that holds the id.
ROLES = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    # MicrosoftDocs/azure-docs articles/role-based-access-control/built-in-roles.md (Integration).
    "Durable Task Data Contributor": "0ad04412-c4d5-4796-b79c-f76d14c8d402",
    "Durable Task Data Reader": "d6a5505f-6ebb-45a4-896e-ac8274cfc0ac",
}
AZUREML_DATA_SCIENTIST = "f6c7c914-8db3-469d-8ca1-694a8f32e121"
# drift's Azure ML calls as RBAC actions (MicrosoftDocs/azure-docs
# articles/role-based-access-control/permissions/ai-machine-learning.md).
ML = "Microsoft.MachineLearningServices/workspaces"
ML_ACTIONS = {
    f"{ML}/read",
    f"{ML}/datastores/read",
    f"{ML}/data/read",
    f"{ML}/data/versions/read",
    f"{ML}/jobs/read",
    f"{ML}/data/write",
    f"{ML}/data/versions/write",
    f"{ML}/jobs/write",
    f"{ML}/jobs/cancel/action",
}
ML_DATASTORE_WRITE = f"{ML}/datastores/write"
# What job submission resolves ("Submitting any type of run (V2)", MicrosoftDocs/azure-docs
# articles/machine-learning/how-to-assign-roles.md), reads spelled out, no secret read.
ML_SUBMIT_ACTIONS = {
    f"{ML}/environments/read",
    f"{ML}/environments/versions/read",
    f"{ML}/environments/build/action",
    f"{ML}/codes/read",
    f"{ML}/codes/versions/read",
    f"{ML}/components/read",
    f"{ML}/components/versions/read",
    f"{ML}/computes/read",
    f"{ML}/experiments/read",
}
CHECKOV_TIMEOUT_S = 240


# ----------------------------------------------------------------------------- helpers
@cache
def parser() -> BicepParser:
    return BicepParser()  # builds the grammar: ~0.4 s, so once


@cache
def tree(path: Path) -> dict[str, Any]:
    return parser().parse(file_path=path)


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def body(config: dict[str, Any]) -> dict[str, Any]:
    """A resource's or module's own body, under any `if (...)` or `for ...` wrapper."""
    while "config" in config and ("condition" in config or "loop_type" in config):
        config = config["config"]
    return config


def condition(config: dict[str, Any]) -> Any:
    return config.get("condition")


def resources(path: Path, type_: str, *, existing: bool = False) -> dict[str, dict[str, Any]]:
    """Resources of one type in a file: symbolic name -> body (declared ones unless existing)."""
    return {
        name: body(res["config"])
        for name, res in tree(path).get("resources", {}).items()
        if res["type"].lower() == type_.lower() and res["existing"] == existing
    }


def the(path: Path, type_: str) -> dict[str, Any]:
    found = resources(path, type_)
    assert len(found) == 1, f"{rel(path)}: expected one {type_}, found {sorted(found)}"
    return next(iter(found.values()))


def all_resources(type_: str) -> list[tuple[Path, str, dict[str, Any]]]:
    return [(p, n, b) for p in BICEP_FILES for n, b in resources(p, type_).items()]


def param_default(path: Path, name: str) -> Any:
    params = tree(path).get("parameters", {})
    assert name in params, f"{rel(path)}: no param {name}"
    return params[name]["default"]


def decorator(path: Path, name: str, kind: str) -> Any:
    for d in tree(path)["parameters"][name]["decorators"]:
        if d["type"] == kind:
            return d["argument"]
    return None


def modules(path: Path) -> dict[str, tuple[Path, dict[str, Any], Any]]:
    """Local modules of a file: symbolic name -> (target file, body, condition)."""
    out = {}
    for name, mod in tree(path).get("modules", {}).items():
        assert mod["type"] == "local", f"{rel(path)}: module {name} is not a local file"
        out[name] = (
            (path.parent / mod["detail"]["path"]).resolve(),
            body(mod["config"]),
            condition(mod["config"]),
        )
    return out


def app_settings(backend: str = "DurableTaskScheduler") -> dict[str, Any]:
    """Every app setting of the function app for one durable backend: api.bicep's own plus those
    main.bicep passes (drift's, the backend's, the Key Vault's)."""
    api = INFRA / "app" / "api.bicep"
    site = the(api, "Microsoft.Web/sites")
    concat = site["properties"]["siteConfig"]["appSettings"]["function"]
    assert concat["type"] == "concat", "api.bicep: appSettings is concat(hostSettings, appSettings)"
    assert list(concat["parameters"].values()) == ["hostSettings", "appSettings"]
    settings = list(tree(api)["variables"]["hostSettings"]["value"])
    passed = modules(MAIN)["api"][1]["params"]["appSettings"]["function"]
    assert passed["type"] == "concat"
    variables = tree(MAIN)["variables"]
    for arg in passed["parameters"].values():
        if isinstance(arg, dict):  # useKeyVault ? keyVaultSettings : []
            operands = arg["operator"]["operands"]
            assert operands["condition"] == "useKeyVault"
            arg = operands["true_value"]
        value = variables[arg]["value"]
        if isinstance(value, dict):  # useDurableTaskScheduler ? schedulerSettings : ...
            operands = value["operator"]["operands"]
            assert operands["condition"] == "useDurableTaskScheduler"
            chosen = backend == "DurableTaskScheduler"
            value = variables[operands["true_value" if chosen else "false_value"]]["value"]
        settings += value
    names = [s["name"] for s in settings]
    assert len(names) == len(set(names)), f"app setting set twice: {names}"
    return {s["name"]: s["value"] for s in settings}


def walk_strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from walk_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk_strings(v)


# ------------------------------------------------------------------------ parse and wire
def test_the_deployment_files_exist() -> None:
    expected = {
        "infra/main.bicep",
        "infra/access.bicep",
        "infra/eventgrid-subscription.bicep",
        "infra/app/api.bicep",
        "infra/app/plan.bicep",
        "infra/app/storage.bicep",
        "infra/app/identity.bicep",
        "infra/app/monitoring.bicep",
        "infra/app/keyvault.bicep",
        "infra/app/eventgrid-topic.bicep",
        "infra/app/rbac.bicep",
        "infra/app/role-ml-workspace.bicep",
        "infra/app/datalake-mltables.bicep",
        "infra/app/dts.bicep",
        "infra/app/network.bicep",
        "infra/app/diagnostics.bicep",
        "infra/app/alerts.bicep",
    }
    assert expected <= {rel(p) for p in BICEP_FILES}
    for other in ("infra/main.parameters.json", "infra/abbreviations.json", "azure.yaml"):
        assert (ROOT / other).is_file(), other


@pytest.mark.parametrize("path", BICEP_FILES, ids=rel)
def test_every_bicep_file_parses(path: Path) -> None:
    try:
        parsed = tree(path)
    except Exception as exc:  # lark raises several error types; all mean "does not parse"
        pytest.fail(f"{rel(path)} does not parse: {type(exc).__name__}: {exc}"[:2000])
    assert isinstance(parsed, dict) and "globals" in parsed, f"{rel(path)}: empty parse"


def test_no_registry_modules() -> None:
    """Only local modules: nothing here can fetch `br/public:` (or any registry/template spec)."""
    for path in BICEP_FILES:
        text = path.read_text()
        assert not re.search(r"'(br|ts)[:/]", text), f"{rel(path)} references a registry module"
        for name, (target, _, _) in modules(path).items():
            assert target.is_file(), f"{rel(path)}: module {name} -> missing {target}"


def test_module_params_and_outputs_match_their_files() -> None:
    """What `bicep build` would reject: unknown or missing params, unknown outputs."""
    for path in BICEP_FILES:
        mods = modules(path)
        for name, (target, config, _) in mods.items():
            declared = tree(target).get("parameters", {})
            given = set(config.get("params", {}))
            assert given <= set(declared), (
                f"{rel(path)}: module {name} passes unknown params {given - set(declared)}"
            )
            required = {p for p, d in declared.items() if d.get("default") is None}
            assert required <= given, (
                f"{rel(path)}: module {name} misses required params {required - given}"
            )
        for mod, output in re.findall(r"\b(\w+)\.outputs\.(\w+)", path.read_text()):
            assert mod in mods, f"{rel(path)}: {mod}.outputs.{output}: no module {mod}"
            outputs = tree(mods[mod][0]).get("outputs", {})
            assert output in outputs, f"{rel(path)}: module {mod} has no output {output}"


# ------------------------------------------------------------------------------- azd shape
def test_main_follows_the_azd_template_shape() -> None:
    assert tree(MAIN)["globals"]["scope"]["value"] == "subscription"
    text = MAIN.read_text()
    assert (
        "var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))"
        in text
    )
    assert "loadJsonContent('abbreviations.json')" in text
    abbreviations = json.loads((INFRA / "abbreviations.json").read_text())
    for key in set(re.findall(r"abbrs\.(\w+)", text)):
        assert key in abbreviations, f"main.bicep uses abbrs.{key}, not in abbreviations.json"
    (rg,) = resources(MAIN, "Microsoft.Resources/resourceGroups").values()
    assert rg["location"] == "location"
    assert decorator(MAIN, "location", "metadata") == {"azd": {"type": "location"}}


def test_azd_deploys_into_its_own_resource_group_only() -> None:
    """`azd down` deletes every resource group holding a resource of the azd deployment, nested
    module deployments included: one role assignment on the data lake from main.bicep and
    `azd down` deletes the data lake's resource group. So every module main.bicep deploys goes
    to `rg`, and nothing below it picks another scope; other groups are only read (`existing`)."""
    for name, (target, config, _) in modules(MAIN).items():
        assert config["scope"] == "rg", f"main.bicep: module {name} deploys outside rg"
        todo, seen = [target], set()
        while todo:
            path = todo.pop()
            seen.add(path)
            for sub, (sub_target, sub_config, _) in modules(path).items():
                assert "scope" not in sub_config, f"{rel(path)}: module {sub} changes scope"
                if sub_target not in seen:
                    todo.append(sub_target)
            for res_name, res in tree(path).get("resources", {}).items():
                scope = body(res["config"]).get("scope")
                if not res["existing"] and isinstance(scope, dict):
                    pytest.fail(f"{rel(path)}: {res_name} is deployed to another scope")
    # The cross-group roles live in access.bicep, which a hook deploys with the Azure CLI.
    assert {config["scope"]["function"]["type"] for _, config, _ in modules(ACCESS).values()} == {
        "resource_group"
    }


def test_main_parameters_map_azd_environment_values() -> None:
    values = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    declared = tree(MAIN)["parameters"]
    assert set(values) <= set(declared), set(values) - set(declared)
    required = {p for p, d in declared.items() if d.get("default") is None}
    assert required <= set(values), f"required params azd cannot fill: {required - set(values)}"
    assert values["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert values["location"]["value"] == "${AZURE_LOCATION}"
    assert values["principalId"]["value"] == "${AZURE_PRINCIPAL_ID}"
    for name, entry in values.items():
        assert re.fullmatch(r"\$\{[A-Z_]+(=[^}]*)?\}", entry["value"]), (name, entry)


def test_azure_yaml_has_the_service_and_the_hooks() -> None:
    azd = yaml.safe_load((ROOT / "azure.yaml").read_text())
    assert azd["name"] == "drift"
    assert azd["services"]["api"] == {"project": ".", "language": "python", "host": "function"}
    for event, script in (("postprovision", POSTPROVISION), ("postdeploy", POSTDEPLOY)):
        hook = azd["hooks"][event]
        assert (ROOT / hook["run"]).resolve() == script, event
        assert hook["shell"] == "sh" and hook.get("continueOnError", False) is False
        assert script.stat().st_mode & stat.S_IXUSR, f"{rel(script)} must be executable"
    assert (ROOT / "function_app.py").is_file() and (ROOT / "host.json").is_file()
    # The function app is the azd service: azd finds it by this tag.
    api = INFRA / "app" / "api.bicep"
    assert the(api, "Microsoft.Web/sites")["tags"]["function"]["parameters"]["arg_2"] == {
        "'azd-service-name'": "serviceName"
    }
    assert modules(MAIN)["api"][1]["params"]["serviceName"] == "api"


# --------------------------------------------------------------------- the Function App
def test_flex_consumption_plan() -> None:
    plan = the(INFRA / "app" / "plan.bicep", "Microsoft.Web/serverfarms")
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True  # Linux


def test_function_app_on_flex_with_the_user_assigned_identity() -> None:
    site = the(INFRA / "app" / "api.bicep", "Microsoft.Web/sites")
    assert site["kind"] == "functionapp,linux"
    assert site["identity"] == {
        "type": "UserAssigned",
        "userAssignedIdentities": {"'${identityId}'": {}},
    }
    props = site["properties"]
    assert props["httpsOnly"] is True
    assert props["siteConfig"]["minTlsVersion"] == "1.2"
    assert props["siteConfig"]["scmMinTlsVersion"] == "1.2"
    assert props["siteConfig"]["ftpsState"] == "Disabled"
    flex = props["functionAppConfig"]
    assert flex["runtime"] == {"name": "python", "version": "3.11"}
    assert set(flex["scaleAndConcurrency"]) >= {"maximumInstanceCount", "instanceMemoryMB"}
    package = flex["deployment"]["storage"]
    assert package["type"] == "blobContainer"
    assert package["authentication"] == {
        "type": "UserAssignedIdentity",
        "userAssignedIdentityResourceId": "identityId",
    }
    assert modules(MAIN)["api"][1]["params"]["identityId"] == {
        "operator": {
            "type": "property_accessor",
            "operands": {
                "operand_1": "identity",
                "operand_2": {
                    "operator": {
                        "type": "property_accessor",
                        "operands": {"operand_1": "outputs", "operand_2": "id"},
                    }
                },
            },
        }
    }
    identities = all_resources("Microsoft.ManagedIdentity/userAssignedIdentities")
    assert len(identities) == 1, identities


def test_basic_auth_publishing_is_off() -> None:
    policies = resources(
        INFRA / "app" / "api.bicep", "Microsoft.Web/sites/basicPublishingCredentialsPolicies"
    )
    assert {p["name"]: p["properties"]["allow"] for p in policies.values()} == {
        "ftp": False,
        "scm": False,
    }


def test_host_storage_and_telemetry_by_identity() -> None:
    settings = app_settings()
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    for key in ("accountName", "blobServiceUri", "queueServiceUri", "tableServiceUri"):
        assert f"AzureWebJobsStorage__{key}" in settings  # Durable Functions: blob+queue+table
    assert "AzureWebJobsStorage" not in settings  # a connection string would carry a key
    assert "APPLICATIONINSIGHTS_CONNECTION_STRING" in settings
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == (
        "ClientId=${identityClientId};Authorization=AAD"
    )
    # Flex Consumption rejects these: runtime and version come from functionAppConfig.
    assert "FUNCTIONS_WORKER_RUNTIME" not in settings
    assert "FUNCTIONS_EXTENSION_VERSION" not in settings


def test_drift_settings_cover_what_the_app_reads() -> None:
    settings = app_settings()
    sample = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
    local_only = {"AzureWebJobsStorage", "FUNCTIONS_WORKER_RUNTIME", "AzureWebJobsFeatureFlags"}
    assert set(sample) - local_only <= set(settings), set(sample) - local_only - set(settings)
    assert settings["AZURE_CLIENT_ID"] == "identityClientId"
    assert settings["DRIFT_CONFIG"] == "driftConfig"
    assert settings["DRIFT_SCHEDULE"] == "driftSchedule"
    schedule_py = (ROOT / "drift" / "functions" / "schedule.py").read_text()
    default = re.search(r'DEFAULT_SCHEDULE = "([^"]+)"', schedule_py).group(1)
    assert param_default(MAIN, "driftSchedule") == default == "0 0 8 * * 1"
    assert param_default(MAIN, "useKeyVault") is False
    # DRIFT_CONFIG is a folder deployed with the code: .funcignore must not drop it.
    ignored = (ROOT / ".funcignore").read_text().split()
    assert param_default(MAIN, "driftConfig") not in ignored


def test_no_keys_anywhere() -> None:
    forbidden = re.compile(
        r"AccountKey|listKeys|listkeys|listAccountSas|listServiceSas|SharedAccessSignature"
        r"|DefaultEndpointsProtocol|InstrumentationKey=|primaryKey",
    )
    for path in DEPLOYMENT_FILES:
        hit = forbidden.search(path.read_text())
        assert hit is None, f"{rel(path)}: {hit.group(0)}"
    for path in BICEP_FILES:  # a secret, if ever one, only as a Key Vault reference
        for text in walk_strings(tree(path)):
            if "@Microsoft.KeyVault(" in text:
                assert "@Microsoft.KeyVault(SecretUri=" in text, f"{rel(path)}: {text}"
    for path in BICEP_FILES:  # no secret parameter is needed
        assert "@secure" not in path.read_text(), rel(path)


# -------------------------------------------------------------- storage, monitoring, vault
def test_storage_accounts_are_locked_down() -> None:
    accounts = all_resources("Microsoft.Storage/storageAccounts")
    assert accounts, "the app's storage account"
    for path, name, account in accounts:
        props = account["properties"]
        where = f"{rel(path)}:{name}"
        assert props["allowSharedKeyAccess"] is False, where
        assert props["allowBlobPublicAccess"] is False, where
        assert props["minimumTlsVersion"] == "TLS1_2", where
        assert props["supportsHttpsTrafficOnly"] is True, where
    for path, name, container in all_resources(
        "Microsoft.Storage/storageAccounts/blobServices/containers"
    ):
        assert container["properties"]["publicAccess"] == "None", f"{rel(path)}:{name}"


def test_application_insights_without_local_auth() -> None:
    path = INFRA / "app" / "monitoring.bicep"
    insights = the(path, "Microsoft.Insights/components")["properties"]
    assert insights["DisableLocalAuth"] is True
    assert insights["WorkspaceResourceId"]
    the(path, "Microsoft.OperationalInsights/workspaces")


def test_key_vault_is_optional_and_rbac_only() -> None:
    vault = the(INFRA / "app" / "keyvault.bicep", "Microsoft.KeyVault/vaults")["properties"]
    assert vault["enableRbacAuthorization"] is True
    assert vault["enableSoftDelete"] is True
    assert vault["enablePurgeProtection"] is True
    assert "accessPolicies" not in vault
    _, _, when = modules(MAIN)["keyVault"]
    assert when == "useKeyVault"


# ------------------------------------------------------------------------------ Event Grid
def test_system_topic_on_the_data_lake() -> None:
    path = INFRA / "app" / "eventgrid-topic.bicep"
    topic = the(path, "Microsoft.EventGrid/systemTopics")
    assert topic["identity"] == {"type": "SystemAssigned"}  # writes dead letters
    assert topic["properties"]["topicType"] == "Microsoft.Storage.StorageAccounts"
    assert topic["properties"]["source"] == "sourceId"
    assert topic["location"] == "location"
    # main.bicep: on the existing data lake account, in its region; unless one exists already.
    _, config, when = modules(MAIN)["eventGridTopic"]
    assert when == {"operator": {"type": "not", "operands": {"bool_value": "useExistingTopic"}}}
    for param, prop in (("sourceId", "id"), ("location", "location")):
        assert config["params"][param]["operator"]["operands"] == {
            "operand_1": "dataLake",
            "operand_2": prop,
        }
    lake = tree(MAIN)["resources"]["dataLake"]
    assert lake["existing"] and lake["type"] == "Microsoft.Storage/storageAccounts"
    existing = tree(MAIN)["resources"]["existingTopic"]
    assert existing["existing"] and condition(existing["config"]) == "useExistingTopic"


def test_subscription_only_in_its_post_deploy_file() -> None:
    kind = "Microsoft.EventGrid/systemTopics/eventSubscriptions"
    found = [(rel(p), n) for p, n, _ in all_resources(kind)]
    jobs = INFRA / "ml-job-events.bicep"  # tests/infra/test_events_bicep.py
    assert sorted(found) == [(rel(SUBSCRIPTION), "subscription"), (rel(jobs), "subscription")]
    assert tree(SUBSCRIPTION)["globals"]["scope"]["value"] == "resourceGroup"


def test_subscription_filters_match_what_the_app_accepts() -> None:
    sub = the(SUBSCRIPTION, "Microsoft.EventGrid/systemTopics/eventSubscriptions")["properties"]
    filters = sub["filter"]
    assert set(filters["includedEventTypes"]) == {BLOB_CREATED, BLOB_RENAMED}
    prefix = "/blobServices/default/containers/${containerName}/blobs/"
    assert filters["subjectBeginsWith"] == prefix
    advanced = {(f["operatorType"], f["key"]): f["values"] for f in filters["advancedFilters"]}
    (contains,) = advanced[("StringContains", "subject")]
    assert contains.endswith("_delta_log/")
    assert advanced[("StringEndsWith", "subject")] == [".json"]
    # Finished blobs (the app's FINISHED_APIS) plus the API a BlobRenamed event carries.
    assert set(advanced[("StringIn", "data.api")]) == set(FINISHED_APIS) | {"RenameFile"}
    assert len(advanced) == 3


def test_subscription_delivery_retry_and_dead_letter() -> None:
    sub = the(SUBSCRIPTION, "Microsoft.EventGrid/systemTopics/eventSubscriptions")["properties"]
    destination = sub["destination"]
    assert destination["endpointType"] == "AzureFunction"
    assert destination["properties"]["resourceId"] == (
        "${functionAppResourceId}/functions/${functionName}"
    )
    events_py = (ROOT / "drift" / "functions" / "events.py").read_text()
    assert '@bp.function_name("drift_on_storage_event")' in events_py
    assert param_default(SUBSCRIPTION, "functionName") == "drift_on_storage_event"
    assert set(decorator(SUBSCRIPTION, "eventDeliverySchema", "allowed")) == {
        "EventGridSchema",
        "CloudEventSchemaV1_0",
    }
    assert sub["eventDeliverySchema"] == "eventDeliverySchema"
    assert set(sub["retryPolicy"]) == {"maxDeliveryAttempts", "eventTimeToLiveInMinutes"}
    assert param_default(SUBSCRIPTION, "maxDeliveryAttempts") == 30
    assert param_default(SUBSCRIPTION, "eventTimeToLiveInMinutes") == 1440
    assert "deadLetterDestination" not in sub  # the key-based form
    dead = sub["deadLetterWithResourceIdentity"]
    assert dead["identity"] == {"type": "SystemAssigned"}
    assert dead["deadLetterDestination"]["endpointType"] == "StorageBlob"
    assert set(dead["deadLetterDestination"]["properties"]) == {
        "resourceId",
        "blobContainerName",
    }


# ------------------------------------------------------------------- the durable backend
def test_durable_task_scheduler_is_the_default_backend() -> None:
    """Issue 13.1. Names, API version and SKUs: Azure/azure-rest-api-specs
    specification/durabletask/resource-manager/Microsoft.DurableTask/DurableTask/scheduler.tsp
    and taskhub.tsp (2025-11-01 is the stable version with the Consumption SKU)."""
    assert param_default(MAIN, "durableBackend") == "DurableTaskScheduler"
    assert set(decorator(MAIN, "durableBackend", "allowed")) == {
        "DurableTaskScheduler",
        "AzureStorage",
    }
    assert param_default(MAIN, "durableTaskSchedulerSku") == "Consumption"
    assert set(decorator(MAIN, "durableTaskSchedulerSku", "allowed")) == {
        "Consumption",
        "Dedicated",
    }
    _, config, when = modules(MAIN)["durableTaskScheduler"]
    assert when == "useDurableTaskScheduler"
    assert config["params"]["skuName"] == "durableTaskSchedulerSku"
    assert "var useDurableTaskScheduler = durableBackend == 'DurableTaskScheduler'" in (
        MAIN.read_text()
    )
    found = tree(DTS)["resources"]
    scheduler, hub = found["scheduler"], found["taskHub"]
    assert scheduler["type"] == "Microsoft.DurableTask/schedulers"
    assert hub["type"] == "Microsoft.DurableTask/schedulers/taskHubs"
    assert scheduler["api_version"] == hub["api_version"] == "2025-11-01"
    props = body(scheduler["config"])["properties"]
    assert props["sku"]["name"] == "skuName"
    # An empty allow-list denies every caller; the default admits all, authorized by Entra ID.
    assert props["ipAllowlist"] == "ipAllowlist"
    assert param_default(DTS, "ipAllowlist") == ["0.0.0.0/0"]
    assert set(decorator(DTS, "skuName", "allowed")) == {"Consumption", "Dedicated"}
    assert body(hub["config"])["parent"] == "scheduler"
    assert set(tree(DTS)["outputs"]) >= {"endpoint", "taskHubName", "dashboardUrl"}
    assert "DRIFT_DURABLE_DASHBOARD_URL" in tree(MAIN)["outputs"]


def test_the_app_reaches_the_scheduler_by_identity() -> None:
    settings = app_settings("DurableTaskScheduler")
    connection = settings["DURABLE_TASK_SCHEDULER_CONNECTION_STRING"]
    assert re.fullmatch(
        r"Endpoint=\$\{[^}]*durableTaskScheduler\.outputs\.endpoint[^}]*\}"
        r";Authentication=ManagedIdentity;ClientID=\$\{identity\.outputs\.clientId\}",
        connection,
    ), connection
    hub = settings["TASKHUB_NAME"]["operator"]["operands"]
    assert hub["condition"] == "useDurableTaskScheduler"
    assert hub["true_value"]["operator"]["operands"]["operand_1"] == "durableTaskScheduler"
    assert not any(k.startswith("AzureFunctionsJobHost__") for k in settings)


def test_azure_storage_stays_the_alternative_backend() -> None:
    """The Functions host reads AzureFunctionsJobHost__<path> app settings over host.json."""
    settings = app_settings("AzureStorage")
    prefix = "AzureFunctionsJobHost__extensions__durableTask__storageProvider__"
    assert settings[f"{prefix}type"] == "AzureStorage"
    assert settings[f"{prefix}connectionStringName"] == "AzureWebJobsStorage"
    assert settings["TASKHUB_NAME"] == "DriftHub"
    assert "DURABLE_TASK_SCHEDULER_CONNECTION_STRING" not in settings
    for key in ("blobServiceUri", "queueServiceUri", "tableServiceUri"):
        assert f"AzureWebJobsStorage__{key}" in settings


def test_host_json_uses_the_scheduler_and_the_lowest_bundle_that_has_it() -> None:
    """Bundle 4.30.0 is the first GA extension bundle with
    Microsoft.Azure.WebJobs.Extensions.DurableTask.AzureManaged (Azure/azure-functions-extension-
    bundles, tag 4.30.0, commit a9c76ff, PR #621); the range stays below bundle 5."""
    host = json.loads(HOST_JSON.read_text())
    assert host["extensionBundle"] == {
        "id": "Microsoft.Azure.Functions.ExtensionBundle",
        "version": "[4.30.0, 5.0.0)",
    }
    durable = host["extensions"]["durableTask"]
    assert durable["hubName"] == "%TASKHUB_NAME%"
    assert durable["storageProvider"] == {
        "type": "azureManaged",
        "connectionStringName": "DURABLE_TASK_SCHEDULER_CONNECTION_STRING",
    }
    sample = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
    # The local emulator (mcr.microsoft.com/dts/dts-emulator), no authentication, hub "default".
    assert sample["DURABLE_TASK_SCHEDULER_CONNECTION_STRING"] == (
        "Endpoint=http://localhost:8080;Authentication=None"
    )
    assert sample["TASKHUB_NAME"] == "default"


# -------------------------------------------------------------- network, audit and alerts
def test_vnet_option_closes_storage_and_key_vault() -> None:
    """Issue 11.6: VNet integration and private endpoints, off by default."""
    assert param_default(MAIN, "vnetEnabled") is False
    _, config, when = modules(MAIN)["network"]
    assert when == "vnetEnabled"
    # Private endpoints for the storage services the durable backend uses: blob for the host,
    # queue and table too for the Azure Storage backend.
    services = config["params"]["storageServices"]["operator"]["operands"]
    assert services == {
        "condition": "useDurableTaskScheduler",
        "true_value": ["blob"],
        "false_value": ["blob", "queue", "table"],
    }
    (app_subnet, pe_subnet) = the(NETWORK, "Microsoft.Network/virtualNetworks")["properties"][
        "subnets"
    ]
    (delegation,) = app_subnet["properties"]["delegations"]
    assert delegation["properties"]["serviceName"] == "Microsoft.App/environments"
    assert pe_subnet["properties"]["privateEndpointNetworkPolicies"] == "Disabled"
    endpoints = resources(NETWORK, "Microsoft.Network/privateEndpoints")
    group_ids = {
        json.dumps(e["properties"]["privateLinkServiceConnections"][0]["properties"]["groupIds"])
        for e in endpoints.values()
    }
    assert group_ids == {'["service"]', '["vault"]'}
    assert modules(MAIN)["storage"][1]["params"]["vnetEnabled"] == "vnetEnabled"
    assert modules(MAIN)["keyVault"][1]["params"]["vnetEnabled"] == "vnetEnabled"
    api_subnet = modules(MAIN)["api"][1]["params"]["virtualNetworkSubnetId"]
    assert api_subnet["operator"]["operands"]["condition"] == "vnetEnabled"
    site = the(INFRA / "app" / "api.bicep", "Microsoft.Web/sites")
    assert "virtualNetworkSubnetId" in site["properties"]
    account = the(INFRA / "app" / "storage.bicep", "Microsoft.Storage/storageAccounts")
    acls = account["properties"]["networkAcls"]
    assert acls["defaultAction"]["operator"]["operands"] == {
        "condition": "vnetEnabled",
        "true_value": "Deny",
        "false_value": "Allow",
    }
    assert acls["bypass"] == "AzureServices"  # Event Grid dead-letters with its identity
    vault_vars = tree(INFRA / "app" / "keyvault.bicep")["variables"]
    assert vault_vars["publicNetworkAccess"]["value"]["operator"]["operands"] == {
        "condition": "vnetEnabled",
        "true_value": "Disabled",
        "false_value": "Enabled",
    }


def test_diagnostic_settings_audit_key_vault_storage_and_the_app() -> None:
    """Issue 11.5: every diagnostic setting sends to the Log Analytics workspace."""
    found = resources(DIAGNOSTICS, "Microsoft.Insights/diagnosticSettings")
    scopes = {b["scope"]: b for b in found.values()}
    assert set(scopes) == {"blobService", "queueService", "tableService", "functionApp", "vault"}
    for where, setting in scopes.items():
        assert setting["properties"]["workspaceId"] == "logAnalyticsId", where
    assert scopes["vault"]["properties"]["logs"] == [{"categoryGroup": "audit", "enabled": True}]
    assert scopes["functionApp"]["properties"]["logs"] == [
        {"category": "FunctionAppLogs", "enabled": True}
    ]
    assert tree(DIAGNOSTICS)["variables"]["storageLogs"]["value"] == [
        {"categoryGroup": "allLogs", "enabled": True}
    ]
    _, config, when = modules(MAIN)["diagnostics"]
    assert when is None
    assert config["params"]["logAnalyticsId"]["operator"]["operands"]["operand_1"] == "monitoring"


def test_failed_retraining_alert_reads_drifts_run_report() -> None:
    """Issue 13.5: the query's fields are those drift logs (drift/durable/orchestration.py
    _log_report) and it fires on every status drift/reporting/report.py counts as failed."""
    from drift.reporting.report import NOT_RUN_STATUSES, OK_STATUSES

    query = tree(ALERTS)["variables"]["failedRetrainings"]["value"]
    orchestration = (ROOT / "drift" / "durable" / "orchestration.py").read_text()
    prefix = re.search(r'log\.info\("(drift run report) %s"', orchestration).group(1)
    assert f'startswith "{prefix} "' in query
    logged = set(re.findall(r'"(\w+)": ', orchestration[orchestration.index("def _log_report") :]))
    used = set(re.findall(r"report\.(\w+)", query))
    assert used and used <= logged, used - logged
    (excluded,) = re.findall(r"status !in \(([^)]*)\)", query)
    assert set(re.findall(r'"(\w+)"', excluded)) == set(OK_STATUSES | NOT_RUN_STATUSES)
    rule = the(ALERTS, "Microsoft.Insights/scheduledQueryRules")
    (criterion,) = rule["properties"]["criteria"]["allOf"]
    assert criterion["query"] == "failedRetrainings"
    assert (criterion["operator"], criterion["threshold"]) == ("GreaterThan", 0)
    assert rule["properties"]["scopes"] == ["logAnalyticsId"]
    assert param_default(ALERTS, "alertEmail") == ""
    assert param_default(MAIN, "alertEmail") == ""
    group = tree(ALERTS)["resources"]["actionGroup"]
    not_empty = {"function": {"type": "empty", "parameters": {"item_to_test": "alertEmail"}}}
    assert condition(group["config"]) == {
        "operator": {"type": "not", "operands": {"bool_value": not_empty}}
    }
    receivers = body(group["config"])["properties"]["emailReceivers"]
    assert [r["emailAddress"] for r in receivers] == ["alertEmail"]


# ----------------------------------------------------------------------------------- roles
def _grants() -> set[tuple[str, str, str]]:
    """(principal param, role, scope) of every assignment rbac.bicep and access.bicep make
    (access.bicep through small modules scoped to other resource groups; its Azure ML module
    assigns drift's own custom role, shown as "driftMlRunner")."""
    grants = set()
    for name, ra in resources(RBAC, "Microsoft.Authorization/roleAssignments").items():
        role = ra["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
        grants.add((ra["properties"]["principalId"], role, ra["scope"]))
        assert ra["properties"]["principalType"], name
    assert not modules(RBAC)
    for name, (target, config, _) in modules(ACCESS).items():
        params = config["params"]
        scope = config["scope"]["function"]["parameters"]["resource_group_name"]
        role = params.get("roleDefinitionId", "driftMlRunner" if target == ML_ROLE else None)
        assert role, f"access.bicep: module {name} assigns no role"
        grants.add((params["principalId"], role, f"{scope}:{target.stem}"))
    return grants


def test_least_privilege_role_assignments() -> None:
    lake, ml = "dataLakeResourceGroupName", "mlWorkspaceResourceGroupName"
    assert _grants() == {
        ("appPrincipalId", "storageBlobDataOwner", "storage"),
        ("appPrincipalId", "storageQueueDataContributor", "storage"),
        ("appPrincipalId", "storageTableDataContributor", "storage"),
        ("appPrincipalId", "durableTaskDataContributor", "taskHub"),
        ("appPrincipalId", "monitoringMetricsPublisher", "applicationInsights"),
        ("appPrincipalId", "keyVaultSecretsUser", "vault"),
        ("appPrincipalId", "storageBlobDataReader", f"{lake}:role-storage-containers"),
        ("appPrincipalId", "storageBlobDataContributor", f"{lake}:datalake-mltables"),
        ("appPrincipalId", "driftMlRunner", f"{ml}:role-ml-workspace"),
        ("systemTopicPrincipalId", "storageBlobDataContributor", "deadLetterContainer"),
        ("deployerPrincipalId", "keyVaultSecretsOfficer", "vault"),
        ("deployerPrincipalId", "storageBlobDataReader", "deadLetterContainer"),
        ("deployerPrincipalId", "durableTaskDataReader", "taskHub"),
    }
    conditional = {
        name: condition(res["config"])
        for name, res in tree(RBAC)["resources"].items()
        if res["type"] == "Microsoft.Authorization/roleAssignments"
    }
    assert conditional["appSecrets"] == "useKeyVault"
    assert conditional["deployerSecrets"] is not None and conditional["deployerDeadLetter"]
    assert conditional["appStorageBlob"] is None  # the Functions host, whatever the backend
    # Data lake: only the watched containers read, only drift's MLTable container written;
    # Azure ML: the workspace.
    lake_reader = INFRA / "app" / "role-storage-containers.bicep"
    (container_role,) = resources(lake_reader, "Microsoft.Authorization/roleAssignments").values()
    assert container_role["scope"]["operator"]["operands"]["operand_1"] == "containers"
    assert the(MLTABLES, "Microsoft.Authorization/roleAssignments")["scope"] == "container"
    assert the(ML_ROLE, "Microsoft.Authorization/roleAssignments")["scope"] == "workspace"


def test_storage_roles_follow_the_durable_backend() -> None:
    """Issue 11.4: queues and tables only serve the Durable Functions Azure Storage backend
    (includes/functions-durable-permissions.md); the host itself needs Storage Blob Data Owner
    (includes/functions-azurewebjobsstorage-permissions.md). The scheduler's data role is on
    drift's task hub only, and only with that backend."""
    res = tree(RBAC)["resources"]
    not_scheduler = {
        "operator": {"type": "not", "operands": {"bool_value": "useDurableTaskScheduler"}}
    }
    assert condition(res["appStorageQueue"]["config"]) == not_scheduler
    assert condition(res["appStorageTable"]["config"]) == not_scheduler
    assert condition(res["appDurableTask"]["config"]) == "useDurableTaskScheduler"
    task_hub = res["taskHub"]
    assert task_hub["existing"] and task_hub["type"] == "Microsoft.DurableTask/schedulers/taskHubs"
    params = modules(MAIN)["rbac"][1]["params"]
    assert params["useDurableTaskScheduler"] == "useDurableTaskScheduler"
    text = RBAC.read_text()
    assert "functions-azurewebjobsstorage-permissions.md" in text
    assert "functions-durable-permissions.md" in text


def test_role_definition_ids_are_named_constants() -> None:
    variables = {**tree(RBAC)["variables"], **tree(ACCESS)["variables"]}
    lines = RBAC.read_text().splitlines() + ACCESS.read_text().splitlines()
    for role, role_id in ROLES.items():
        line = next((ln for ln in lines if role_id in ln), None)
        assert line is not None, f"rbac.bicep/access.bicep: no {role} ({role_id})"
        assert re.search(rf"^var \w+ = '{role_id}' // {re.escape(role)}$", line), line
    used = {v for _, v, _ in _grants()} - {"driftMlRunner"}
    assert {variables[v]["value"] for v in used} == set(ROLES.values())


def test_azure_ml_custom_role_has_exactly_drifts_actions() -> None:
    """Issue 11.2: drift's own role instead of AzureML Data Scientist, with the actions drift
    calls and nothing that can hand out a secret; each action is listed with its source in
    docs/deploy.md."""
    variables = tree(ACCESS)["variables"]
    reads = set(variables["mlReadActions"]["value"])
    writes = set(variables["mlWriteActions"]["value"])
    datastore = set(variables["mlDatastoreWriteActions"]["value"])
    submit = set(variables["mlSubmitActions"]["value"])
    assert reads | writes == ML_ACTIONS
    assert submit == ML_SUBMIT_ACTIONS
    assert datastore == {ML_DATASTORE_WRITE}
    for action in reads | writes | datastore | submit:
        assert "*" not in action and "secret" not in action.lower() and "key" not in action.lower()
        assert not action.endswith("/delete"), action
    # datastores/write only when drift creates its datastores (a parameter, on by default).
    _, config, _ = modules(ACCESS)["mlRunner"]
    concat = config["params"]["actions"]["function"]
    assert concat["type"] == "concat"
    args = list(concat["parameters"].values())
    assert args[:3] == ["mlReadActions", "mlSubmitActions", "mlWriteActions"]
    assert args[3]["operator"]["operands"] == {
        "condition": "mlCreateDatastores",
        "true_value": "mlDatastoreWriteActions",
        "false_value": [],
    }
    assert param_default(ACCESS, "mlCreateDatastores") is True
    # The definition: custom, assignable in the workspace's resource group only, actions only.
    role = the(ML_ROLE, "Microsoft.Authorization/roleDefinitions")
    props = role["properties"]
    assert props["type"] == "CustomRole"
    (permission,) = props["permissions"]
    assert permission == {
        "actions": "actions",
        "notActions": [],
        "dataActions": [],
        "notDataActions": [],
    }
    (scope,) = props["assignableScopes"]
    assert (
        scope["function"]["type"] == "resource_group" and scope["function"]["property_name"] == "id"
    )
    assert scope["function"]["parameters"] == {"resource_group_name": None, "subscription_id": None}
    assignment = the(ML_ROLE, "Microsoft.Authorization/roleAssignments")["properties"]
    assert assignment["roleDefinitionId"]["function"]["parameters"]["resource_name_1"] == {
        "operator": {
            "type": "property_accessor",
            "operands": {"operand_1": "role", "operand_2": "name"},
        }
    }
    # The built-in role it replaces is gone from every deployment file.
    for path in DEPLOYMENT_FILES:
        assert AZUREML_DATA_SCIENTIST not in path.read_text(), rel(path)
    docs = DOCS.read_text()
    assert "ai-machine-learning.md" in docs
    assert "how-to-assign-roles.md" in docs
    for action in ML_ACTIONS | ML_SUBMIT_ACTIONS | {ML_DATASTORE_WRITE}:
        assert f"`{action}`" in docs, f"docs/deploy.md does not list {action}"


def test_mltables_container_is_created_and_the_only_write_on_the_data_lake() -> None:
    """Issue 10 §2.9 / 11.1: drift writes MLTable files into one data lake container, created by
    access.bicep, with Storage Blob Data Contributor there and nowhere else."""
    assert param_default(ACCESS, "mlTablesContainerName") == "drift-mltables"
    assert param_default(MAIN, "mlTablesContainerName") == "drift-mltables"
    assert tree(MAIN)["outputs"]["DRIFT_MLTABLES_CONTAINER"]["value"] == "mlTablesContainerName"
    container = the(MLTABLES, "Microsoft.Storage/storageAccounts/blobServices/containers")
    assert container["name"] == "containerName"
    assert container["properties"]["publicAccess"] == "None"
    _, config, when = modules(ACCESS)["mlTablesWriter"]
    assert when is None
    assert config["params"]["containerName"] == "mlTablesContainerName"
    assert config["params"]["roleDefinitionId"] == "storageBlobDataContributor"
    writers = [g for g in _grants() if g[0] == "appPrincipalId" and "Contributor" in g[1]]
    lake_writes = [g for g in writers if g[2].startswith("dataLakeResourceGroupName")]
    assert lake_writes == [
        (
            "appPrincipalId",
            "storageBlobDataContributor",
            "dataLakeResourceGroupName:datalake-mltables",
        )
    ]


def test_role_assignment_names_are_guids_of_scope_principal_and_role() -> None:
    assignments = all_resources("Microsoft.Authorization/roleAssignments")
    assert len(assignments) >= 10
    for path, name, ra in assignments:
        where = f"{rel(path)}:{name}"
        guid = ra["name"]["function"]
        assert guid["type"] == "guid", where
        base, principal, role = guid["parameters"].values()
        assert base["operator"]["type"] == "property_accessor", where
        assert base["operator"]["operands"]["operand_2"] == "id", where
        assert principal == ra["properties"]["principalId"], where
        role_ref = ra["properties"]["roleDefinitionId"]["function"]
        assert role_ref["type"] == "subscription_resource_id", where
        assert role_ref["parameters"]["resource_type"] == "Microsoft.Authorization/roleDefinitions"
        assert role == role_ref["parameters"]["resource_name_1"], where


def test_no_owner_or_contributor_anywhere() -> None:
    for path in DEPLOYMENT_FILES:
        text = path.read_text().lower()
        for role_id in (OWNER, CONTRIBUTOR, USER_ACCESS_ADMINISTRATOR):
            assert role_id not in text, f"{rel(path)} grants {role_id}"


# ------------------------------------------------------------------------------- the hooks
def _needed(script: Path) -> set[str]:
    """Variables a hook requires: the arguments of its `need` calls."""
    text = script.read_text().replace("\\\n", " ")
    return {v for args in re.findall(r"^need (.+)$", text, re.M) for v in args.split()}


def _passed(script: Path) -> set[str]:
    """Template parameters a hook passes (`name="$VALUE"` lines after --parameters)."""
    return set(re.findall(r"^[ \t]+(\w+)=\"\$", script.read_text(), re.M))


@pytest.mark.parametrize(
    ("script", "template"), [(POSTPROVISION, ACCESS), (POSTDEPLOY, SUBSCRIPTION)], ids=rel
)
def test_hook_needs_only_what_main_outputs(script: Path, template: Path) -> None:
    outputs = set(tree(MAIN)["outputs"])
    azd_builtin = {"AZURE_SUBSCRIPTION_ID", "AZURE_ENV_NAME"}
    needed = _needed(script)
    assert needed, f"{rel(script)}: no `need` line"
    assert needed <= outputs | azd_builtin, needed - outputs - azd_builtin
    used = set(re.findall(r"\$\{?((?:AZURE|DRIFT)_[A-Z_]+)", script.read_text()))
    optional = {
        "DRIFT_SKIP_EVENTGRID_SUBSCRIPTION",
        "DRIFT_EVENT_DELIVERY_SCHEMA",
        "DRIFT_ML_CREATE_DATASTORES",
    }
    assert used <= needed | optional, used - needed - optional
    # The template's required params are exactly covered by what the hook passes.
    declared = tree(template)["parameters"]
    required = {p for p, d in declared.items() if d.get("default") is None}
    assert required <= _passed(script) <= set(declared), (required, _passed(script))
    assert template.name in script.read_text()
    # The client id must not reach .env as AZURE_CLIENT_ID (DefaultAzureCredential reads it).
    assert "AZURE_CLIENT_ID" not in outputs


SUB = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups"
HOOK_ENV = {
    "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000001",
    "AZURE_ENV_NAME": "dev",
    "AZURE_LOCATION": "swedencentral",
    "AZURE_RESOURCE_GROUP": "rg-dev",
    "AZURE_FUNCTION_APP_NAME": "func-drift-abc",
    "AZURE_FUNCTION_APP_ID": f"{SUB}/rg-dev/providers/Microsoft.Web/sites/func-drift-abc",
    "DRIFT_IDENTITY_PRINCIPAL_ID": "11111111-1111-1111-1111-111111111111",
    "DRIFT_EVENTGRID_SYSTEM_TOPIC_NAME": "egst-drift-abc",
    "DRIFT_EVENTGRID_SYSTEM_TOPIC_RESOURCE_GROUP": "rg-dev",
    "DRIFT_DATA_LAKE_ACCOUNT": "mylake",
    "DRIFT_DATA_LAKE_RESOURCE_GROUP": "rg-lake",
    "DRIFT_DATA_LAKE_CONTAINERS": "data,features",
    "DRIFT_MLTABLES_CONTAINER": "drift-mltables",
    "DRIFT_ML_WORKSPACE": "mlw-prod",
    "DRIFT_ML_WORKSPACE_RESOURCE_GROUP": "rg-ml",
    "DRIFT_DEAD_LETTER_STORAGE_ID": f"{SUB}/rg-dev/providers/Microsoft.Storage/storageAccounts/st1",
    "DRIFT_DEAD_LETTER_CONTAINER": "eventgrid-deadletter",
    "DRIFT_EVENT_DELIVERY_SCHEMA": "CloudEventSchemaV1_0",
}


def _run_hook(
    script: Path, fake_az: Path, tmp_path: Path, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess, list[str]]:
    sh = shutil.which("sh")
    if sh is None:
        pytest.skip("no POSIX sh to run the hooks")
    log = tmp_path / "az.log"
    log.write_text("")
    proc = subprocess.run(
        [sh, str(script)],
        env={"PATH": f"{fake_az}{os.pathsep}{os.environ['PATH']}", "AZ_LOG": str(log), **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    return proc, log.read_text().splitlines()


def test_postprovision_grants_the_cross_group_roles(fake_az: Path, tmp_path: Path) -> None:
    proc, calls = _run_hook(POSTPROVISION, fake_az, tmp_path, HOOK_ENV)
    assert proc.returncode == 0, proc.stderr
    assert calls[0].startswith("account show")
    (deploy,) = [c for c in calls if c.startswith("deployment sub create")]
    assert f"--template-file {ACCESS}" in deploy
    assert "--location swedencentral" in deploy and "--name drift-access-dev" in deploy
    for arg in (
        "appPrincipalId=11111111-1111-1111-1111-111111111111",
        "dataLakeStorageAccountName=mylake",
        "dataLakeResourceGroupName=rg-lake",
        "dataLakeContainerNames=data,features",
        "mlTablesContainerName=drift-mltables",
        "mlWorkspaceName=mlw-prod",
        "mlWorkspaceResourceGroupName=rg-ml",
        "mlCreateDatastores=true",
    ):
        assert f" {arg} " in deploy, arg


def test_postprovision_can_leave_datastore_writes_out(fake_az: Path, tmp_path: Path) -> None:
    env = {**HOOK_ENV, "DRIFT_ML_CREATE_DATASTORES": "false"}
    proc, calls = _run_hook(POSTPROVISION, fake_az, tmp_path, env)
    assert proc.returncode == 0, proc.stderr
    (deploy,) = [c for c in calls if c.startswith("deployment sub create")]
    assert " mlCreateDatastores=false " in deploy


def test_postdeploy_subscribes_each_container_once_the_function_exists(
    fake_az: Path, tmp_path: Path
) -> None:
    proc, calls = _run_hook(POSTDEPLOY, fake_az, tmp_path, HOOK_ENV)
    assert proc.returncode == 0, proc.stderr
    assert calls[0].startswith("account show")
    assert calls[1].startswith("functionapp function show")
    assert "--function-name drift_on_storage_event" in calls[1]
    deployments = [c for c in calls if f"--template-file {SUBSCRIPTION}" in c]
    assert len(deployments) == 2
    for container, call in zip(("data", "features"), deployments, strict=True):
        assert call.startswith("deployment group create")
        assert "--resource-group rg-dev " in call  # the system topic's group
        assert f"--template-file {SUBSCRIPTION}" in call
        assert f" containerName={container} " in call
        assert " systemTopicName=egst-drift-abc " in call
        assert f" functionAppResourceId={HOOK_ENV['AZURE_FUNCTION_APP_ID']} " in call
        assert " functionName=drift_on_storage_event " in call
        assert " eventDeliverySchema=CloudEventSchemaV1_0 " in call


@pytest.mark.parametrize("script", [POSTPROVISION, POSTDEPLOY], ids=rel)
def test_hooks_name_a_missing_output(script: Path, fake_az: Path, tmp_path: Path) -> None:
    missing = sorted(_needed(script) - {"AZURE_SUBSCRIPTION_ID"})[0]
    env = {k: v for k, v in HOOK_ENV.items() if k != missing}
    proc, calls = _run_hook(script, fake_az, tmp_path, env)
    assert proc.returncode == 1
    assert f"{missing} is not set" in proc.stderr
    assert not any(c.startswith("deployment") for c in calls)


def test_postdeploy_can_be_skipped(fake_az: Path, tmp_path: Path) -> None:
    proc, calls = _run_hook(
        POSTDEPLOY, fake_az, tmp_path, {"DRIFT_SKIP_EVENTGRID_SUBSCRIPTION": "true"}
    )
    assert proc.returncode == 0 and calls == []


# --------------------------------------------------------------------------------- checkov
def _checkov() -> list[str] | None:
    """$DRIFT_CHECKOV (a checkov kept in its own venv), else the one next to this interpreter,
    else one on PATH."""
    exe = (
        os.environ.get("DRIFT_CHECKOV")
        or shutil.which("checkov", path=str(Path(sys.executable).parent))
        or shutil.which("checkov")
    )
    return [exe] if exe else None


def test_checkov_reports_no_failed_check() -> None:
    command = _checkov()
    if command is None:
        if os.environ.get("DRIFT_SKIP_CHECKOV") == "1":
            pytest.skip("checkov is not installed and DRIFT_SKIP_CHECKOV=1")
        pytest.fail(
            "checkov is not installed (pip install -e '.[dev]'); DRIFT_SKIP_CHECKOV=1 skips"
        )
    proc = subprocess.run(
        [
            *command,
            *("-d", "infra", "--framework", "bicep"),
            *("--quiet", "--compact", "-o", "json", "--skip-download"),
        ],
        # BC_SKIP_MAPPING: no download of the Bridgecrew/Prisma id mapping (offline, faster).
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
        capture_output=True,
        text=True,
        timeout=CHECKOV_TIMEOUT_S,
        cwd=ROOT,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov printed no JSON (exit {proc.returncode}): {proc.stderr[-2000:]}")
    reports = report if isinstance(report, list) else [report]
    (bicep,) = [r for r in reports if r.get("check_type") == "bicep"]
    summary = bicep["summary"]
    failed = [
        f"{c['check_id']} {c['check_name']} ({c['file_path']}: {c['resource']})"
        for c in bicep["results"].get("failed_checks", [])
    ]
    assert failed == [], "\n".join(failed)
    assert summary["failed"] == 0 and summary["parsing_errors"] == 0, summary
    assert summary["passed"] > 0 and summary["resource_count"] > 0, summary


def test_every_checkov_suppression_is_documented() -> None:
    docs = DOCS.read_text()
    for path in BICEP_FILES:
        for line in path.read_text().splitlines():
            match = re.search(r"checkov:skip=([A-Z0-9_]+)(.*)", line)
            if match is None:
                continue
            check, reason = match.groups()
            assert re.fullmatch(r":\s*\S.{20,}", reason), f"{rel(path)}: {check} without reason"
            assert check in docs, f"{check} ({rel(path)}) is not listed in docs/deploy.md"


def test_network_suppressions_say_what_vnet_enabled_changes() -> None:
    """The network findings are suppressed for the default (no VNet); both the inline reason and
    the docs row must say what DRIFT_VNET_ENABLED does about each."""
    rows = {
        m.group(1): m.group(0)
        for m in re.finditer(r"^\| `(CKV_AZURE_\d+)`.*$", DOCS.read_text(), re.M)
    }
    for path in BICEP_FILES:
        for check, reason in re.findall(r"checkov:skip=(CKV_AZURE_\d+):(.*)", path.read_text()):
            if check in {"CKV_AZURE_222", "CKV_AZURE_35", "CKV_AZURE_59", "CKV_AZURE_109"}:
                assert "vnetEnabled" in reason, f"{rel(path)}: {check}"
                assert "DRIFT_VNET_ENABLED" in rows[check], check
            if check == "CKV_AZURE_189":
                assert "vnetEnabled" in reason and "DRIFT_VNET_ENABLED" in rows[check]
