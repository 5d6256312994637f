"""Fixtures: drift's real Azure clients wired to the in-memory service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drift.backends.azure_clients import blob_service, ml_client
from drift.backends.azure_errors import RetryPolicy, Where
from drift.backends.azure_jobs import AzureJobs
from drift.backends.azure_registry import AzureRegistry, forget_checked_datastores
from drift.config import AzureMLWorkspace
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
    forget_checked_datastores()
    svc = AzureService()
    with svc.intercept_default_transport():
        yield svc
    forget_checked_datastores()


def clients(service: AzureService) -> tuple[object, object]:
    """drift's MLClient and MLTable container client, as bootstrap builds them."""
    transport = ServiceTransport(service)
    ml = ml_client(StaticToken(), WS, transport=transport)
    container = blob_service(StaticToken(), ACCOUNT, transport=transport).get_container_client(
        "drift-mltables"
    )
    return ml, container


def make_registry(service: AzureService, policy: RetryPolicy = NO_WAIT) -> AzureRegistry:
    ml, container = clients(service)
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


def make_jobs(service: AzureService, policy: RetryPolicy = NO_WAIT, **kwargs) -> AzureJobs:
    ml, _ = clients(service)
    return AzureJobs(ml, where=WHERE, policy=policy, sleep=lambda s: None, **kwargs)


@pytest.fixture
def registry(service: AzureService) -> AzureRegistry:
    return make_registry(service)


@pytest.fixture
def jobs(service: AzureService) -> AzureJobs:
    return make_jobs(service)
