"""`backend: azure` runs the same orchestrators as the local backend: commits read from a real
Azurite holding a real Delta table, Azure ML reached through a real MLClient whose operations
are doubles (nothing here can reach Azure)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from azure.ai.ml.constants import AssetTypes

from drift.backends.azure_commits import AzureCommits
from drift.backends.azure_errors import RetryPolicy, Where
from drift.backends.azure_jobs import AzureJobs
from drift.backends.azure_registry import AzureRegistry
from drift.domain.config import parse_config
from drift.entrypoints.local_run import run_retrain
from drift.runtime.runtime import VirtualClock
from drift.wiring.bootstrap import Services
from tests.azureml_doubles import Workspace, workspace
from tests.integration.backends.test_azure_commits import (  # noqa: F401 - pytest fixtures
    CONTAINER,
    AzuriteDeltaTable,
    azurite,
    lake,
)
from tests.integration.backends.test_azure_jobs import DATA

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
WHERE = Where("Azure ML workspace ws (rg)", "managed identity (test)")


def finish_after_first_poll(ws: Workspace) -> None:
    """Jobs drift submits report Running once, then Completed."""
    original = ws.jobs.get
    seen: set[str] = set()

    def get(name: str) -> Any:
        job = original(name)
        if name in {j.name for j in ws.jobs.submitted}:
            if name in seen:
                ws.jobs.set_status(name, "Completed")
                job = original(name)
            seen.add(name)
        return job

    ws.jobs.get = get  # type: ignore[method-assign]


def test_the_loop_on_the_azure_backend(tmp_path: Path, lake: Any, azurite: Any) -> None:  # noqa: F811
    from azure.ai.ml import load_job

    table = AzuriteDeltaTable(tmp_path / "local", lake, azurite.blob_url, "features/seat")
    table.write(5)
    version = table.write(7)

    ws = workspace()
    seed = load_job(DATA / "command_job.yml")
    ws.jobs.seed(seed, created_at=datetime(2026, 1, 1, 8, 5, tzinfo=UTC))
    finish_after_first_poll(ws)
    config = parse_config(
        {
            "backend": "azure",
            "parameters": {
                "azml": {"subscriptionId": "sub", "resourceGroup": "rg", "mlWorkspaceName": "ws"},
                "storageAccountName": "devstoreaccount1",
                "containerName": CONTAINER,
                "containerDataPath": "features/seat",
                "dataAssets": [{"name": "training_data", "value": "seat_spinning_features"}],
                "refreshDelay": "10",
            },
        }
    )
    policy = RetryPolicy(attempts=3, max_seconds=5)
    commits = AzureCommits.for_emulator(CONTAINER, blob_url=azurite.blob_url)
    registry = AzureRegistry(
        ws.client,
        datastore_name="drift_lake",
        account="devstoreaccount1",
        container=CONTAINER,
        where=WHERE,
        mltables=ws.mltables,
        policy=policy,
    )
    jobs = AzureJobs(ws.client, where=WHERE, policy=policy)
    services = Services(config, commits, registry, jobs, "features/seat")

    report = run_retrain(services, {"delta_version": version}, clock=VirtualClock(START))

    asset_version = report["data_asset_version"]
    assert asset_version.endswith(f"-v{version}")
    mltable = ws.data.get("seat_spinning_features", asset_version)
    folder = ws.data.get("seat_spinning_features_folder", asset_version)
    assert mltable.type == AssetTypes.MLTABLE and folder.type == AssetTypes.URI_FOLDER
    assert mltable.tags["drift.delta_version"] == str(version)
    assert "datastores/drift_lake/paths/features/seat" in folder.path
    store = ws.datastores.get("drift_lake")
    assert type(store.credentials).__name__ == "NoneCredentialConfiguration"  # identity-based
    [row] = report["retrained"]
    assert row["status"] == "Completed"
    [submitted] = ws.jobs.submitted
    assert submitted.name == row["job"] != seed.name
    bound = submitted._job_inputs["training_data"]  # what a command job submits
    assert bound.path == f"azureml:seat_spinning_features:{asset_version}"

    again = run_retrain(services, {"delta_version": version}, clock=VirtualClock(START))
    assert again["newly_registered"] is False
    assert len(ws.jobs.submitted) == 1  # the rerun found its job
