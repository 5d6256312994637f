"""Fixtures: drift's real Azure clients wired to the in-memory service."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.ai.ml import MLClient
from azure.storage.blob import BlobServiceClient, ExponentialRetry

from drift.backends.azure_clients import blob_service, ml_client
from drift.backends.azure_errors import RetryPolicy, Where
from drift.backends.azure_jobs import AzureJobs
from drift.backends.azure_registry import AzureRegistry
from drift.domain.config import AzureMLWorkspace
from tests.contract.azureml_service import (
    ACCOUNT,
    RESOURCE_GROUP,
    SUBSCRIPTION,
    WORKSPACE,
    AzureService,
    ServiceTransport,
    StaticToken,
)

WHERE = Where(f"Azure ML workspace {WORKSPACE} ({RESOURCE_GROUP})", "managed identity drift-mi")
WS = AzureMLWorkspace(
    subscriptionId=SUBSCRIPTION, resourceGroup=RESOURCE_GROUP, mlWorkspaceName=WORKSPACE
)
LAKE_CONTAINER = "data"
NO_WAIT = RetryPolicy(attempts=6, max_seconds=600, base_delay=0.0, max_delay=0.0)


@pytest.fixture
def service() -> Iterator[AzureService]:
    """The service, with azure-core's default transport routed to it. (The root conftest's
    autouse fixture resets the registry's per-process datastore checks before each test.)"""
    svc = AzureService()
    with svc.intercept_default_transport():
        yield svc


def clients(service: AzureService, stacked: bool = False) -> tuple[Any, Any]:
    """drift's MLClient and MLTable container client, as bootstrap builds them; `stacked`:
    with the SDKs' own default retries left on (what drift did before), their backoff set to
    zero so that a measurement does not sleep."""
    transport = ServiceTransport(service)
    if not stacked:
        ml = ml_client(StaticToken(), WS, transport=transport)
        blobs = blob_service(StaticToken(), ACCOUNT, transport=transport)
    else:
        ml = MLClient(
            StaticToken(),
            WS.subscription_id,
            WS.resource_group,
            WS.workspace_name,
            transport=transport,
            retry_backoff_factor=0,
        )
        blobs = BlobServiceClient(
            f"https://{ACCOUNT}.blob.core.windows.net",
            credential=StaticToken(),
            transport=transport,
            retry_policy=ExponentialRetry(
                initial_backoff=0, increment_base=0, random_jitter_range=0
            ),
        )
    return ml, blobs.get_container_client("drift-mltables")


def make_registry(
    service: AzureService, policy: RetryPolicy = NO_WAIT, stacked: bool = False
) -> AzureRegistry:
    ml, container = clients(service, stacked)
    return AzureRegistry(
        ml,
        datastore_name="drift_lake",
        account=ACCOUNT,
        container=LAKE_CONTAINER,
        where=WHERE,
        mltables=container,
        policy=policy,
        sleep=lambda s: None,
    )


def make_jobs(
    service: AzureService, policy: RetryPolicy = NO_WAIT, stacked: bool = False, **kwargs: Any
) -> AzureJobs:
    ml, _ = clients(service, stacked)
    return AzureJobs(ml, where=WHERE, policy=policy, sleep=lambda s: None, **kwargs)


@pytest.fixture
def registry(service: AzureService) -> AzureRegistry:
    return make_registry(service)


@pytest.fixture
def jobs(service: AzureService) -> AzureJobs:
    return make_jobs(service)
