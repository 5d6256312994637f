"""R6: known secret values never appear in a log line, an exception, a report or a history.

The secrets: a service principal password held base64-encoded in Key Vault (read by drift's
credential path through a secret-client double), a SAS token in the URLs of storage events, a
client secret and a storage account key in the app's environment. Everything is captured at
DEBUG: caplog and a root handler (each record's message, arguments, extras and traceback),
stdout/stderr, the message, repr and traceback of every exception, the JSON reports, the run
history, every durable history event (what the task hub stores), HTTP response bodies. The
Key Vault password is shown to reach the one place it belongs (the datastore drift creates
with `storeDatastoreCredentials`), so its absence everywhere else is not an accident.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import azure.functions as func
import pandas as pd
import pytest
import yaml
from azure.ai.ml import load_job
from deltalake import write_deltalake
from typer.testing import CliRunner

from drift.backends.azure_credentials import credential_for
from drift.backends.azure_errors import RetryPolicy, Where
from drift.backends.azure_jobs import AzureJobs
from drift.backends.azure_registry import AzureRegistry, forget_checked_datastores
from drift.backends.local_commits import LocalCommits
from drift.domain.config import parse_config
from drift.entrypoints.cli import app as cli
from drift.entrypoints.local_run import RunFailed, run_retrain
from drift.reporting.run_history import LocalRunHistory
from drift.runtime.runtime import VirtualClock
from drift.wiring.bootstrap import Services
from tests.azureml_doubles import http_error, workspace
from tests.functions.conftest import App, user_function
from tests.integration.backends.test_azure_backend import finish_after_first_poll
from tests.integration.backends.test_azure_jobs import DATA
from tests.reliability.support import add, record
from tests.unit.backends.test_azure_credentials import TENANT, VAULT, Factory

pytestmark = pytest.mark.reliability

PASSWORD = "R6~pa55.w0rd-KEYVAULT_secret"
SAS_SIG = "R6sasSig0nature+TOKEN/value=="
CLIENT_SECRET = "R6-env-client-secret-0xC0FFEE"
ACCOUNT_KEY = "R6accountKEYbase64valueXYZ=="
SECRETS = {
    "key vault password": PASSWORD,
    "key vault password (base64, as stored)": base64.b64encode(PASSWORD.encode()).decode(),
    "SAS signature": SAS_SIG,
    "SAS signature (URL-encoded)": quote(SAS_SIG, safe=""),
    "client secret (env)": CLIENT_SECRET,
    "storage account key (env)": ACCOUNT_KEY,
}
SAS = f"?sv=2024-05-04&ss=b&srt=co&sp=rl&se=2030-01-01T00:00:00Z&sig={quote(SAS_SIG, safe='')}"
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class Everything(logging.Handler):
    """Keeps every record whole: message, arguments, extras, exception text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not format: keep them raw
            message = f"{record.msg!r} % {record.args!r}"
        self.texts.append(f"{record.name} {record.levelname} {message} {record.__dict__!r}")
        if record.exc_info and record.exc_info[1] is not None:
            self.texts.append("".join(traceback.format_exception(record.exc_info[1])))


class Watch:
    """Everything that could carry a secret out; `check()` looks for each one."""

    def __init__(self, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture) -> None:
        self.caplog, self.capsys = caplog, capsys
        self.handler = Everything()
        self.texts: list[str] = []
        self.counts = {"exceptions": 0, "reports": 0, "history_events": 0, "log_records": 0}

    def exception(self, exc: BaseException) -> None:
        self.counts["exceptions"] += 1
        self.texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]

    def json(self, value: Any, kind: str = "reports") -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.texts.append(json.dumps(value, default=repr))

    def event(self, instance_id: str, event: dict) -> None:
        self.counts["history_events"] += 1
        self.texts.append(instance_id + json.dumps(event))

    def check(self, requirement_part: str) -> None:
        out = self.capsys.readouterr()
        self.counts["log_records"] = len(self.handler.texts)
        everything = "\n".join(
            [*self.texts, *self.handler.texts, self.caplog.text, out.out, out.err]
        )
        assert self.handler.texts, "nothing was logged: the capture is broken"
        leaks = [name for name, value in SECRETS.items() if value in everything]
        assert leaks == [], f"{leaks} leaked"
        add("R6", **{f"{requirement_part}_{k}": v for k, v in self.counts.items()})
        record("R6", secrets_checked=len(SECRETS), leaks=0)


@pytest.fixture
def watch(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture) -> Iterator[Watch]:
    caplog.set_level(logging.DEBUG)
    for name in ("azure", "azure.core", "azure.identity", "azure.keyvault", "msal", "drift"):
        caplog.set_level(logging.DEBUG, logger=name)
    w = Watch(caplog, capsys)
    # Loggers that do not propagate to the root (azureml's) get the handler directly.
    quiet = [
        lg
        for lg in logging.root.manager.loggerDict.values()
        if isinstance(lg, logging.Logger) and not lg.propagate
    ]
    for logger in [logging.getLogger(), *quiet]:
        logger.addHandler(w.handler)
    yield w
    for logger in [logging.getLogger(), *quiet]:
        logger.removeHandler(w.handler)


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets where the app's settings keep them (a careless log of os.environ shows them)."""
    monkeypatch.setenv("AZURE_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv(
        "AzureWebJobsStorage",
        f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={ACCOUNT_KEY};"
        "EndpointSuffix=core.windows.net",
    )
    monkeypatch.setenv("DRIFT_TENANT_ID", TENANT)
    monkeypatch.setenv("DRIFT_KEY_VAULT_NAME", VAULT)


def key_vault(**script: Any) -> Factory:
    """The Key Vault double holding the principal: app id and password, base64 as stored."""
    secrets = {"ApplicationPassword": SECRETS["key vault password (base64, as stored)"]}
    return Factory(**{**secrets, **script})


# --- the credential path ------------------------------------------------------------------------


def test_the_key_vault_credential_path(watch: Watch, planted: None) -> None:
    busy = http_error(503, "Service Unavailable")
    cred = credential_for(
        TENANT,
        VAULT,
        secret_client_factory=key_vault(
            ApplicationPassword=[busy, busy, SECRETS["key vault password (base64, as stored)"]]
        ),
        sleep=lambda s: None,
    )
    assert cred.token_credential._client_credential == PASSWORD  # it was read
    watch.texts += [repr(cred), str(cred.identity), repr(cred.identity)]
    failures = [
        key_vault(ApplicationPassword=PASSWORD),  # stored without base64
        key_vault(ApplicationPassword=SECRETS["key vault password (base64, as stored)"] + "ü"),
        key_vault(ApplicationPassword=http_error(403, "Forbidden")),
        key_vault(ApplicationPassword=[busy] * 10),  # still failing after retries
    ]
    for factory in failures:
        with pytest.raises(Exception) as info:
            credential_for(TENANT, VAULT, secret_client_factory=factory, sleep=lambda s: None)
        watch.exception(info.value)
    watch.check("credentials")


# --- a run on the Azure backend as the Key Vault principal --------------------------------------


class LakeCommits(LocalCommits):
    """A local Delta table standing for `abfss://lake@acct.../features/seat`."""

    def table_uri(self, table: str) -> str:
        return "abfss://lake@acct.dfs.core.windows.net/features/seat"

    def _dir(self, table: str) -> Path:
        assert self.root is not None
        return self.root


def azure_services(tmp_path: Path, fail_datastore: bool = False) -> tuple[Services, Any]:
    write_deltalake(tmp_path / "lake", pd.DataFrame({"x": [1, 2, 3]}))
    cred = credential_for(TENANT, VAULT, secret_client_factory=key_vault(), sleep=lambda s: None)
    ws = workspace()
    ws.jobs.seed(load_job(DATA / "command_job.yml"), created_at=datetime(2026, 1, 1, tzinfo=UTC))
    finish_after_first_poll(ws)
    if fail_datastore:
        ws.service.fail_always("datastores.create_or_update", http_error(403, "Forbidden"))
    config = parse_config(
        {
            "backend": "azure",
            "parameters": {
                "azml": {"subscriptionId": "sub", "resourceGroup": "rg", "mlWorkspaceName": "ws"},
                "storageAccountName": "acct",
                "containerName": "lake",
                "containerDataPath": "features/seat",
                "dataAssets": [{"name": "training_data", "value": "seat_spinning_features"}],
                "refreshDelay": "10",
                "storeDatastoreCredentials": True,
            },
        }
    )
    where = Where("Azure ML workspace ws (rg)", str(cred.identity))
    policy = RetryPolicy(attempts=2, max_seconds=5)
    forget_checked_datastores()
    registry = AzureRegistry(
        ws.client,
        datastore_name="drift_lake",
        account="acct",
        container="lake",
        where=where,
        mltables=ws.mltables,
        store_credentials=cred.token_credential,
        policy=policy,
        sleep=lambda s: None,
    )
    jobs = AzureJobs(ws.client, where=where, policy=policy, sleep=lambda s: None)
    return Services(config, LakeCommits(tmp_path / "lake"), registry, jobs, "features/seat"), ws


def test_a_run_on_the_azure_backend_as_the_key_vault_principal(
    tmp_path: Path, watch: Watch, planted: None
) -> None:
    services, ws = azure_services(tmp_path / "ok")
    report = run_retrain(
        services, {"delta_version": 0}, clock=VirtualClock(START), on_event=watch.event
    )
    assert [r["status"] for r in report["retrained"]] == ["Completed"]
    store, mltables = ws.datastores.created
    assert store.credentials.client_secret == PASSWORD  # where it belongs, and only there
    assert mltables.name == "drift_mltables"
    assert type(mltables.credentials).__name__ == "NoneCredentialConfiguration"
    watch.json(report)
    watch.texts.append(repr(ws.service.calls))

    services, ws = azure_services(tmp_path / "refused", fail_datastore=True)
    with pytest.raises(RunFailed) as info:
        run_retrain(services, {"delta_version": 0}, clock=VirtualClock(START), on_event=watch.event)
    assert "403" in str(info.value) and "drift_lake" in str(info.value)
    watch.exception(info.value)
    watch.check("azure_run")


# --- the Functions app and the CLI, with secrets in settings and in event URLs -------------------


def post(app: App, name: str, body: bytes) -> func.HttpResponse:
    request = func.HttpRequest("POST", f"http://localhost:7071/api/{name}", body=body)
    fn = user_function(f"drift_http_{name}").client_function
    return asyncio.run(fn(req=request, client=app.client))


def test_the_functions_app_with_secrets_in_settings_and_event_urls(
    planted: None, make_app: Callable[..., App], watch: Watch
) -> None:
    app = make_app()
    app.runtime.on_event = watch.event
    version = app.commit()
    commit = app.event(version)
    commit["data"]["url"] += SAS  # as if the sender had used a SAS URL
    cloud = app.event(version, cloud=True)
    cloud["data"]["url"] += SAS
    others = []
    for url_change in (
        lambda u: u.replace(".json", ".checkpoint.parquet"),  # not a commit
        lambda u: u.replace("features/seat", "other/table"),  # not watched
    ):
        event = app.event(version, event_id=f"other-{len(others)}")
        event["data"]["url"] = url_change(event["data"]["url"]) + SAS
        others.append(event)
    creating = app.event(version, api="CreateFile")
    creating["data"]["url"] += SAS
    for payload in [commit, cloud, commit, *others, creating]:
        app.deliver(payload)
    app.settle()

    secret_bodies = [
        json.dumps({"dry_run": SAS_SIG}).encode(),
        json.dumps({"data_asset_version": PASSWORD}).encode(),
        json.dumps({"model_name_prefix": "churn", "token": CLIENT_SECRET}).encode(),
        f'{{"model_name_prefix": ["{PASSWORD}"]}}'.encode(),
        PASSWORD.encode(),
        json.dumps({"dry_run": True}).encode(),
    ]
    for body in secret_bodies:
        response = post(app, "retrain", body)
        watch.texts.append(response.get_body().decode())
        watch.json({"status": response.status_code}, "http_responses")
    violation = {"model_group": "churn", "is_metric_violated": ACCOUNT_KEY}
    response = post(app, "violation", json.dumps(violation).encode())
    watch.texts.append(response.get_body().decode())
    assert response.status_code == 400
    app.settle()

    for iid, inst in app.runtime.instances.items():
        watch.json({"id": iid, "output": inst.output, "error": inst.error}, "reports")
    history = LocalRunHistory(app.tmp / "state")
    watch.json(history.recent(), "run_history")
    assert history.recent(), "the run was recorded"
    watch.check("function_app")


def test_the_cli_run_with_secrets_in_the_environment(
    tmp_path: Path, planted: None, watch: Watch
) -> None:
    table = tmp_path / "table"
    write_deltalake(table, pd.DataFrame({"x": [1, 2, 3]}))
    config = tmp_path / "drift.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "backend": "local",
                "parameters": {"dataAssets": [{"name": "training_data", "value": "features"}]},
                "local": {"workdir": "state", "tablePath": "table", "jobsDir": "jobs"},
            }
        )
    )
    (tmp_path / "jobs").mkdir()
    result = CliRunner().invoke(cli, ["run", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    watch.texts.append(result.output)
    watch.json(json.loads(result.output))
    watch.check("cli_run")


def test_a_malformed_event_url_with_a_sas_token_is_not_logged_whole(
    make_app: Callable[..., App], watch: Watch
) -> None:
    app = make_app()
    event = app.event(1)
    event["data"]["url"] = "ftp://acct.blob.core.windows.net/data/features/seat" + SAS
    app.deliver(event)  # rejected: "'ftp://...?...&sig=...' is not a storage account blob URL"
    watch.check("malformed_url")
