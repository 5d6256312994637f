"""AzureRegistry at the SDK boundary: real azure-ai-ml entities, doubled MLClient operations."""

from __future__ import annotations

from pathlib import Path

import mltable
import pytest
import yaml
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import (
    AzureDataLakeGen2Datastore,
    Data,
    NoneCredentialConfiguration,
    ServicePrincipalConfiguration,
)
from azure.identity import ClientSecretCredential

from drift.backends.azure_errors import AzureServiceError, RetryPolicy, Where
from drift.backends.azure_registry import (
    AzureRegistry,
    DatastoreMismatch,
    NotRemote,
    ServicePrincipal,
)
from drift.backends.local_commits import LocalCommits
from drift.domain.config import Parameters
from drift.domain.registration import (
    TAG_DELTA_VERSION,
    TAG_TABLE,
    RegistrationConflict,
    read_summary,
    register,
)
from drift.domain.types import DataAssetVersion
from tests.azureml_doubles import (
    NOT_FOUND,
    RESOURCE_GROUP,
    SUBSCRIPTION,
    WORKSPACE,
    Fault,
    Workspace,
    http_error,
    wire_client,
    workspace,
)

WHERE = Where(f"Azure ML workspace {WORKSPACE} ({RESOURCE_GROUP})", "managed identity drift-mi")
LONG = (
    f"azureml://subscriptions/{SUBSCRIPTION}/resourcegroups/{RESOURCE_GROUP}/workspaces/"
    f"{WORKSPACE}/datastores/lake/paths"
)
MLTABLES = (
    f"azureml://subscriptions/{SUBSCRIPTION}/resourcegroups/{RESOURCE_GROUP}/workspaces/"
    f"{WORKSPACE}/datastores/drift_mltables/paths"
)
ASSET = "seat_spinning_features"
FOLDER = "seat_spinning_features_folder"
SECRET = "s3cr3t-value-never-shown"


@pytest.fixture
def ws() -> Workspace:
    return workspace()


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make_registry(ws: Workspace, sleeps: list[float], **kwargs) -> AzureRegistry:
    return AzureRegistry(
        ws.client,
        datastore_name="lake",
        account="mylake",
        container="data",
        where=WHERE,
        mltables=ws.mltables,
        policy=RetryPolicy(attempts=6, max_seconds=600),
        sleep=sleeps.append,
        **kwargs,
    )


@pytest.fixture
def registry(ws: Workspace, sleeps: list[float]) -> AzureRegistry:
    return make_registry(ws, sleeps)


def tags(version: int, table: str = f"{LONG}/tables/churn") -> dict[str, str]:
    return {
        TAG_TABLE: table,
        TAG_DELTA_VERSION: str(version),
        "drift.operation": "WRITE",
        "drift.commit_time": "2026-01-01T08:00:00.123Z",
    }


def mltable_asset(version: int = 7, path: str = f"{LONG}/tables/churn") -> DataAssetVersion:
    return DataAssetVersion(ASSET, f"20260101080000-v{version}", "mltable", path, tags(version))


def uploaded_definition(ws: Workspace, asset: DataAssetVersion) -> dict:
    """The MLTable file drift wrote for `asset` (registered by its datastore folder URI)."""
    folder = f"{asset.name}/{asset.version}"
    assert asset.path == f"{MLTABLES}/{folder}/"
    assert set(ws.mltables.blobs) >= {f"{folder}/MLTable"}
    return yaml.safe_load(ws.mltables.text(f"{folder}/MLTable"))


# Paths ---------------------------------------------------------------------------------------


def test_datastore_uri_is_the_long_form(registry: AzureRegistry) -> None:
    assert registry.datastore_uri("tables/churn") == f"{LONG}/tables/churn"
    assert registry.datastore_uri("/tables/churn/") == f"{LONG}/tables/churn"
    for same in (
        "abfss://data@mylake.dfs.core.windows.net/tables/churn",
        "https://mylake.dfs.core.windows.net/data/tables/churn",
        "azureml://datastores/lake/paths/tables/churn",
        f"{LONG}/tables/churn",
    ):
        assert registry.datastore_uri(same) == f"{LONG}/tables/churn", same


@pytest.mark.parametrize(
    "elsewhere",
    [
        "abfss://other@mylake.dfs.core.windows.net/tables/churn",
        "abfss://data@otherlake.dfs.core.windows.net/tables/churn",
        "azureml://datastores/workspaceblobstore/paths/tables/churn",
        "../outside",
    ],
)
def test_datastore_uri_refuses_paths_outside_the_container(
    registry: AzureRegistry, elsewhere: str
) -> None:
    with pytest.raises(ValueError):
        registry.datastore_uri(elsewhere)


def test_mltable_saves_the_short_datastore_form_as_a_local_path(tmp_path: Path) -> None:
    """Why datastore_uri gives the long form: mltable 1.7 takes the short one for a local path."""
    short = mltable.from_delta_lake("azureml://datastores/lake/paths/tables/churn", version_as_of=1)
    short.save(str(tmp_path / "short"), colocated=False, overwrite=True)
    saved = yaml.safe_load((tmp_path / "short" / "MLTable").read_text())
    assert not saved["paths"][0]["folder"].startswith("azureml://")  # ../../azureml:/datastores/..

    long = mltable.from_delta_lake(f"{LONG}/tables/churn", version_as_of=1)
    long.save(str(tmp_path / "long"), colocated=False, overwrite=True)
    saved = yaml.safe_load((tmp_path / "long" / "MLTable").read_text())
    assert saved["paths"] == [{"folder": f"{LONG}/tables/churn"}]


def test_create_mltable_writes_the_long_form_whatever_form_it_was_built_from(
    ws: Workspace, registry
) -> None:
    for delta_version, uri in enumerate(
        (
            "azureml://datastores/lake/paths/tables/churn",
            "abfss://data@mylake.dfs.core.windows.net/tables/churn",
            "https://mylake.dfs.core.windows.net/data/tables/churn",
        )
    ):
        asset = mltable_asset(delta_version, path=uri)
        table = mltable.from_delta_lake(uri, version_as_of=delta_version)

        stored = registry.create_mltable(asset, table)

        definition = uploaded_definition(ws, stored)
        assert definition["paths"] == [{"folder": f"{LONG}/tables/churn"}], uri
        step = definition["transformations"][0]["read_delta_lake"]
        assert step["version_as_of"] == delta_version, uri


# Reading -------------------------------------------------------------------------------------


def test_get_data_returns_the_version_with_its_tags(ws: Workspace, registry) -> None:
    ws.data.add(
        Data(
            name=ASSET,
            version="20260101080000-v7",
            type=AssetTypes.MLTABLE,
            path="azureml://datastores/workspaceblobstore/paths/LocalUpload/x/seat/",
            tags=tags(7),
        )
    )

    found = registry.get_data(ASSET, "20260101080000-v7")

    assert found == DataAssetVersion(
        ASSET,
        "20260101080000-v7",
        "mltable",
        "azureml://datastores/workspaceblobstore/paths/LocalUpload/x/seat/",
        tags(7),
    )
    assert registry.get_data(ASSET, "20260101080000-v8") is None
    assert ws.service.count("data.get") == 2
    assert ws.service.count("datastores.get") == 0  # reads never touch the datastore


# Writing -------------------------------------------------------------------------------------


def test_create_mltable_registers_a_real_mltable_data_asset(ws: Workspace, registry) -> None:
    asset = mltable_asset(7)
    table = mltable.from_delta_lake(asset.path, version_as_of=7)

    stored = registry.create_mltable(asset, table)

    [sent] = ws.data.received
    assert isinstance(sent, Data)
    assert (sent.type, sent.name, sent.version) == (AssetTypes.MLTABLE, ASSET, asset.version)
    assert sent.tags == asset.tags
    assert stored.path == sent.path == f"{MLTABLES}/{ASSET}/{asset.version}/"
    assert ws.data.uploads == {}  # the SDK uploaded nothing: drift wrote the file itself
    assert (stored.name, stored.version, stored.type, stored.tags) == (
        ASSET,
        asset.version,
        "mltable",
        asset.tags,
    )
    definition = uploaded_definition(ws, stored)
    assert definition["paths"] == [{"folder": f"{LONG}/tables/churn"}]
    [step] = definition["transformations"]
    assert step["read_delta_lake"]["version_as_of"] == 7


def test_the_same_definition_is_written_once_to_the_same_path(ws: Workspace, registry) -> None:
    first = registry.create_mltable(
        mltable_asset(7), mltable.from_delta_lake(f"{LONG}/tables/churn", version_as_of=7)
    )
    again = registry.create_mltable(
        mltable_asset(7), mltable.from_delta_lake(f"{LONG}/tables/churn", version_as_of=7)
    )

    assert again == first
    assert list(ws.mltables.blobs) == [f"{ASSET}/{first.version}/MLTable"]
    assert ws.service.count("blobs.upload") == 2  # the second found its own file
    assert ws.service.count("blobs.download") == 1


def test_create_mltable_refuses_a_local_table(ws: Workspace, registry, tmp_path: Path) -> None:
    asset = mltable_asset(1, path=str(tmp_path))

    with pytest.raises(NotRemote, match=f"{WORKSPACE}"):
        registry.create_mltable(asset, mltable.from_delta_lake(str(tmp_path), version_as_of=1))

    assert ws.service.calls == []


def test_create_uri_folder_registers_the_datastore_uri(ws: Workspace, registry) -> None:
    asset = DataAssetVersion(
        FOLDER,
        "20260101080000-v7",
        "uri_folder",
        "abfss://data@mylake.dfs.core.windows.net/tables/churn",
        tags(7),
    )

    stored = registry.create_uri_folder(asset)

    [sent] = ws.data.received
    assert isinstance(sent, Data)
    assert (sent.type, sent.name, sent.version) == (AssetTypes.URI_FOLDER, FOLDER, asset.version)
    assert sent.path == f"{LONG}/tables/churn"
    assert sent.tags == asset.tags
    assert stored == DataAssetVersion(  # as the service keeps it: a trailing slash
        FOLDER, asset.version, "uri_folder", f"{LONG}/tables/churn/", asset.tags
    )


@pytest.mark.parametrize(
    "refusal",
    [
        "asset_path",  # what azure-ai-ml raises for "(UserError) Asset paths cannot be updated."
        "conflict",  # a plain 409
    ],
)
def test_an_existing_version_is_returned_not_overwritten(ws: Workspace, registry, refusal) -> None:
    other = "abfss://data@mylake.dfs.core.windows.net/tables/other"
    ws.data.add(
        Data(
            name=FOLDER,
            version="20260101080000-v7",
            type=AssetTypes.URI_FOLDER,
            path=registry.datastore_uri(other),
            tags=tags(7, table=other),
        )
    )
    if refusal == "conflict":
        ws.data.on_changed_path = lambda name, version: http_error(
            409, f"Data version {name}:{version} already exists"
        )

    stored = registry.create_uri_folder(
        DataAssetVersion(FOLDER, "20260101080000-v7", "uri_folder", f"{LONG}/tables/churn", tags(7))
    )

    assert stored.tags == tags(7, table=other)  # the first writer's pin, for registration to judge
    assert stored.path == f"{LONG}/tables/other"
    assert ws.service.counts()["data.create_or_update"] == 1


def test_a_create_that_went_through_before_a_503_is_not_repeated_differently(
    ws: Workspace, registry, sleeps
) -> None:
    ws.service.fail("data.create_or_update", Fault(http_error(503, "busy"), after=True))

    stored = registry.create_uri_folder(
        DataAssetVersion(FOLDER, "20260101080000-v7", "uri_folder", "tables/churn", tags(7))
    )

    assert stored.path == f"{LONG}/tables/churn/"
    assert ws.service.count("data.create_or_update") == 2  # the retry PUTs identical content
    assert len(sleeps) == 1


# Registration end to end (real Delta commits, Azure registry) --------------------------------


class DatastoreCommits(LocalCommits):
    """Real local Delta logs, named by their datastore URI as the Azure commit store would."""

    def __init__(self, registry: AzureRegistry) -> None:
        super().__init__()
        self.registry = registry

    def table_uri(self, table: str) -> str:
        return self.registry.datastore_uri(f"tables/{Path(table).name}")


def test_registration_is_idempotent_and_detects_a_conflicting_pin(
    ws: Workspace, registry, delta_table
) -> None:
    params = Parameters.model_validate({"dataAssets": [{"name": "training_data", "value": ASSET}]})
    store = DatastoreCommits(registry)
    delta_table.write(3)
    table = str(delta_table.path)
    summary = read_summary(store, table, 0)

    first = register(store, registry, params, table, summary)
    again = register(store, registry, params, table, summary)

    assert first.created and not again.created
    assert again.mltable == first.mltable and again.uri_folder == first.uri_folder
    assert len(ws.data.received) == 2  # one create per asset, ever
    definition = uploaded_definition(ws, first.mltable)
    assert definition["paths"] == [{"folder": f"{LONG}/tables/table"}]
    assert definition["transformations"][0]["read_delta_lake"]["version_as_of"] == 0

    class Elsewhere(DatastoreCommits):
        def table_uri(self, table: str) -> str:
            return self.registry.datastore_uri("tables/another_table")

    with pytest.raises(RegistrationConflict):
        register(Elsewhere(registry), registry, params, table, summary)


# The datastore -------------------------------------------------------------------------------


def test_datastore_is_created_identity_based_once_per_process(ws: Workspace, sleeps) -> None:
    first, second = make_registry(ws, sleeps), make_registry(ws, sleeps)

    first.create_uri_folder(DataAssetVersion(FOLDER, "v1", "uri_folder", "tables/churn", tags(1)))
    second.create_uri_folder(DataAssetVersion(FOLDER, "v2", "uri_folder", "tables/churn", tags(2)))

    assert ws.service.count("datastores.get") == 1
    [created] = ws.datastores.created
    assert isinstance(created, AzureDataLakeGen2Datastore)
    assert (created.name, created.account_name, created.filesystem) == ("lake", "mylake", "data")
    assert isinstance(created.credentials, NoneCredentialConfiguration)
    assert created._to_rest_object().properties.credentials.credentials_type == "None"


def test_datastore_stores_a_service_principal_only_when_asked(ws: Workspace, sleeps) -> None:
    credential = ClientSecretCredential("tenant-1", "client-1", SECRET)
    registry = make_registry(ws, sleeps, store_credentials=credential)

    registry.ensure_datastore()

    [created] = ws.datastores.created
    assert isinstance(created.credentials, ServicePrincipalConfiguration)
    assert (created.credentials.tenant_id, created.credentials.client_id) == (
        "tenant-1",
        "client-1",
    )
    assert created.credentials.client_secret == SECRET
    assert SECRET not in repr(ServicePrincipal.of(credential))


def test_an_existing_datastore_is_left_alone(ws: Workspace, sleeps) -> None:
    ws.datastores.stores["lake"] = AzureDataLakeGen2Datastore(
        name="lake", account_name="mylake", filesystem="data"
    )
    registry = make_registry(ws, sleeps, store_credentials=ServicePrincipal("t", "c", SECRET))

    registry.ensure_datastore()
    registry.ensure_datastore()

    assert ws.datastores.created == []
    assert ws.service.count("datastores.get") == 1


def test_a_datastore_pointing_elsewhere_is_refused(ws: Workspace, sleeps) -> None:
    ws.datastores.stores["lake"] = AzureDataLakeGen2Datastore(
        name="lake", account_name="mylake", filesystem="archive"
    )

    with pytest.raises(DatastoreMismatch, match="mylake/archive"):
        make_registry(ws, sleeps).ensure_datastore()


def test_a_datastore_created_concurrently_is_accepted(ws: Workspace, sleeps) -> None:
    # The create takes effect (another process's, or ours) and still reports a conflict.
    ws.service.fail(
        "datastores.create_or_update",
        Fault(http_error(409, "Datastore lake already exists"), after=True),
    )

    make_registry(ws, sleeps).ensure_datastore()

    assert ws.service.count("datastores.create_or_update") == 1
    assert ws.service.count("datastores.get") == 2
    assert sleeps == []


# Faults --------------------------------------------------------------------------------------


def test_a_throttling_storm_ends_in_success_honouring_retry_after(
    ws: Workspace, registry, sleeps
) -> None:
    ws.service.fail(
        "data.get",
        http_error(429, "Too many requests", retry_after=3),
        http_error(503, "Service busy", retry_after=1),
        http_error(429, "Too many requests", retry_after=2),
    )

    assert registry.get_data(ASSET, "20260101080000-v7") is None

    assert sleeps == [3.0, 1.0, 2.0]
    assert ws.service.count("data.get") == 4


def test_a_403_fails_at_once_naming_workspace_identity_and_asset(
    ws: Workspace, registry, sleeps
) -> None:
    ws.service.fail_always(
        "data.get",
        http_error(
            403,
            "The client 'drift-mi' does not have authorization to perform action "
            "'Microsoft.MachineLearningServices/workspaces/data/versions/read'",
            code="AuthorizationFailed",
        ),
    )

    with pytest.raises(AzureServiceError) as raised:
        registry.get_data(ASSET, "20260101080000-v7")

    message = str(raised.value)
    assert WORKSPACE in message and "managed identity drift-mi" in message
    assert f"{ASSET}:20260101080000-v7" in message and "403" in message
    assert sleeps == [] and ws.service.count("data.get") == 1


def test_errors_never_show_the_stored_secret(ws: Workspace, sleeps) -> None:
    ws.service.fail_always("datastores.create_or_update", http_error(400, "Invalid datastore"))
    registry = make_registry(ws, sleeps, store_credentials=ServicePrincipal("t", "c", SECRET))

    with pytest.raises(AzureServiceError) as raised:
        registry.ensure_datastore()

    assert SECRET not in str(raised.value)
    assert "lake" in str(raised.value) and WORKSPACE in str(raised.value)


# The wire: the real DataOperations/DatastoreOperations over a scripted transport -------------


def echo_datastore(request):
    if request.method == "PUT":
        return 200, {**request.body, "id": f"/datastores{request.path}", "name": "lake"}
    return NOT_FOUND


def test_the_real_sdk_maps_404_to_none_and_sends_an_identity_based_datastore(sleeps) -> None:
    client, wire = wire_client(echo_datastore)
    registry = AzureRegistry(
        client, datastore_name="lake", account="mylake", container="data", where=WHERE
    )

    assert registry.get_data(ASSET, "20260101080000-v7") is None
    registry.ensure_datastore()

    assert [(r.method, r.path) for r in wire.requests] == [
        ("GET", f"/data/{ASSET}/versions/20260101080000-v7"),
        ("GET", "/datastores/lake"),
        ("PUT", "/datastores/lake"),
    ]
    sent = wire.requests[-1].body["properties"]
    assert (sent["datastoreType"], sent["accountName"], sent["filesystem"]) == (
        "AzureDataLakeGen2",
        "mylake",
        "data",
    )
    assert sent["credentials"] == {"credentialsType": "None"}


def test_the_real_sdk_sends_a_service_principal_only_when_asked() -> None:
    client, wire = wire_client(echo_datastore)
    registry = AzureRegistry(
        client,
        datastore_name="lake",
        account="mylake",
        container="data",
        where=WHERE,
        store_credentials=ServicePrincipal("tenant-1", "client-1", SECRET),
    )

    registry.ensure_datastore()

    credentials = wire.requests[-1].body["properties"]["credentials"]
    assert credentials["credentialsType"] == "ServicePrincipal"
    assert (credentials["tenantId"], credentials["clientId"]) == ("tenant-1", "client-1")
    assert credentials["secrets"]["clientSecret"] == SECRET
