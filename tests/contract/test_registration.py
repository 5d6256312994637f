"""Registration at the HTTP boundary: what drift sends to Azure ML and to the lake, and that no
step of it can fetch a storage key."""

from __future__ import annotations

from pathlib import Path

import mltable
import pytest
import yaml
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import Data

from drift.backends.azure_registry import AzureRegistry, MLTableFileConflict, StoredCredentials
from drift.domain.types import DataAssetVersion
from tests.contract.azureml_service import (
    ACCOUNT,
    RESOURCE_GROUP,
    SUBSCRIPTION,
    WORKSPACE,
    AzureService,
)
from tests.contract.conftest import clients

VERSION = "20260101080000-v3"
LONG = (
    f"azureml://subscriptions/{SUBSCRIPTION}/resourcegroups/{RESOURCE_GROUP}/workspaces/"
    f"{WORKSPACE}/datastores"
)
TAGS = {"drift.table": f"{LONG}/drift_lake/paths/tables/churn", "drift.delta_version": "3"}


def register_both(registry: AzureRegistry) -> tuple[DataAssetVersion, DataAssetVersion]:
    uri = registry.datastore_uri("tables/churn")
    table = mltable.from_delta_lake(uri, version_as_of=3)
    mlt = registry.create_mltable(
        DataAssetVersion("churn_data", VERSION, "mltable", uri, TAGS), table
    )
    folder = registry.create_uri_folder(
        DataAssetVersion("churn_data_folder", VERSION, "uri_folder", uri, TAGS)
    )
    return mlt, folder


def test_register_sends_these_requests_and_no_key_bearing_one(
    service: AzureService, registry: AzureRegistry
) -> None:
    mlt, folder = register_both(registry)

    sent = [
        (r.method, r.host.split(".")[0], r.path, r.api_version, r.via) for r in service.requests
    ]
    assert sent == [
        ("GET", "management", "/datastores/drift_lake", "2024-10-01-preview", "injected"),
        ("PUT", "management", "/datastores/drift_lake", "2024-10-01-preview", "injected"),
        ("GET", "management", "/datastores/drift_mltables", "2024-10-01-preview", "injected"),
        ("PUT", "management", "/datastores/drift_mltables", "2024-10-01-preview", "injected"),
        # drift writes the MLTable file as itself, only if absent
        ("PUT", ACCOUNT, f"/drift-mltables/churn_data/{VERSION}/MLTable", None, "injected"),
        # azure-ai-ml reads it back to validate it, through the identity-based datastore
        ("GET", "management", "/datastores/drift_mltables", "2024-10-01-preview", "injected"),
        ("PUT", ACCOUNT, "/drift-mltables", None, "default"),
        ("GET", ACCOUNT, "/drift-mltables", None, "default"),
        ("HEAD", ACCOUNT, f"/drift-mltables/churn_data/{VERSION}/MLTable", None, "default"),
        ("GET", ACCOUNT, f"/drift-mltables/churn_data/{VERSION}/MLTable", None, "default"),
        ("GET", "azuremlschemasprod", "/latest/MLTable.schema.json", None, "injected"),
        (
            "PUT",
            "management",
            f"/data/churn_data/versions/{VERSION}",
            "2023-04-01-preview",
            "injected",
        ),
        (
            "PUT",
            "management",
            f"/data/churn_data_folder/versions/{VERSION}",
            "2023-04-01-preview",
            "injected",
        ),
    ]
    assert service.key_bearing() == []
    # azure-ai-ml uploaded nothing (a remote path skips its LocalUpload) and no request went to
    # the workspace's default datastore.
    assert not any(
        "LocalUpload" in r.path or "workspaceblobstore" in r.path for r in service.requests
    )
    assert all(
        r.headers.get("authorization", "").startswith("Bearer ")
        for r in service.requests
        if r.host != "azuremlschemasprod.azureedge.net"
    )

    # Both datastores are identity-based ADLS Gen2 stores over the lake.
    lake, mltables = (service.requests[i].body["properties"] for i in (1, 3))
    assert (lake["datastoreType"], lake["accountName"], lake["filesystem"]) == (
        "AzureDataLakeGen2",
        ACCOUNT,
        "data",
    )
    assert mltables["filesystem"] == "drift-mltables"
    assert lake["credentials"] == mltables["credentials"] == {"credentialsType": "None"}

    # The MLTable file pins the Delta version and reads the table through the lake's datastore.
    written = yaml.safe_load(service.blobs[("drift-mltables", f"churn_data/{VERSION}/MLTable")])
    assert written["paths"] == [{"folder": f"{LONG}/drift_lake/paths/tables/churn"}]
    assert written["transformations"][0]["read_delta_lake"]["version_as_of"] == 3
    assert service.requests[4].headers.get("if-none-match") == "*"

    # The versions are registered by datastore URI, with drift's tags.
    body = service.requests[-2].body["properties"]
    assert body["dataType"] == "mltable"
    assert body["dataUri"] == f"{LONG}/drift_mltables/paths/churn_data/{VERSION}/"
    assert body["tags"] == TAGS
    folder_body = service.requests[-1].body["properties"]
    assert folder_body["dataType"] == "uri_folder"
    assert folder_body["dataUri"] == f"{LONG}/drift_lake/paths/tables/churn"
    # What drift reads back is what the service answered (long form, trailing slash).
    assert mlt.path == body["dataUri"]
    assert folder.path == f"{LONG}/drift_lake/paths/tables/churn/"
    assert (mlt.type, folder.type) == ("mltable", "uri_folder")


def test_the_sdks_own_mltable_upload_takes_the_key_path(
    service: AzureService, tmp_path: Path
) -> None:
    """Why drift writes the file itself: azure-ai-ml's upload of a local MLTable folder (what
    drift did before) fetches the default datastore's account key. The harness sees it."""
    ml, _ = clients(service)
    folder = tmp_path / "churn_data"
    mltable.from_delta_lake(f"{LONG}/drift_lake/paths/tables/churn", version_as_of=3).save(
        str(folder), colocated=False
    )

    ml.data.create_or_update(
        Data(type=AssetTypes.MLTABLE, path=str(folder), name="churn_data", version="1")
    )

    [secrets] = [r for r in service.key_bearing() if r.path.endswith("/listSecrets")]
    assert secrets.path == "/datastores/workspaceblobstore/listSecrets"
    assert any(r.headers.get("authorization", "").startswith("SharedKey") for r in service.requests)


def test_a_retried_registration_finds_its_own_file(service: AzureService, registry) -> None:
    register_both(registry)
    service.data.clear()  # as if the data version PUT had been lost
    service.clear()

    register_both(registry)

    writes = [r for r in service.requests if r.host.startswith(ACCOUNT) and r.method == "PUT"]
    assert [r.status for r in writes if "MLTable" in r.path] == [409]  # already there...
    assert service.key_bearing() == []
    assert ("churn_data", VERSION) in service.data  # ...and the same: registered again


def test_another_definition_at_the_same_path_is_a_conflict(service: AzureService, registry) -> None:
    service.put_blob("drift-mltables", f"churn_data/{VERSION}/MLTable", b"paths: []\n")

    with pytest.raises(MLTableFileConflict, match="already holds another MLTable definition"):
        register_both(registry)


def test_an_mltable_datastore_that_stores_credentials_is_refused(
    service: AzureService, registry
) -> None:
    stored = service.datastores["workspaceblobstore"]
    service.datastores["drift_mltables"] = {
        **stored,
        "name": "drift_mltables",
        "properties": {
            **stored["properties"],
            "datastoreType": "AzureDataLakeGen2",
            "filesystem": "drift-mltables",
            "isDefault": False,
        },
    }
    service.datastores["drift_mltables"]["properties"].pop("containerName")

    with pytest.raises(StoredCredentials, match="drift_mltables"):
        register_both(registry)
    assert service.key_bearing() == []
