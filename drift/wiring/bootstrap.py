"""The one place that turns a config into concrete backends (the composition root)."""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from drift.backends.publish import (
    ENDPOINT_SETTING,
    LOCAL_FILE,
    EventGridEvents,
    EventSink,
    JsonLinesEvents,
    NoEvents,
)
from drift.domain.ports import CommitStore, DataRegistry, JobService
from drift.reporting.run_history import LocalRunHistory, NoHistory, RunHistory

log = logging.getLogger("drift.azure")

if TYPE_CHECKING:  # pydantic models: loaded with the config, not when the app is indexed
    from drift.domain.config import DriftConfig


class BackendUnavailable(RuntimeError):
    """The configured backend is not built yet or cannot start here."""


@dataclass
class Services:
    config: DriftConfig
    commits: CommitStore
    registry: DataRegistry
    jobs: JobService
    table: str  # the watched table, as the commit store names it
    history: RunHistory = field(default_factory=NoHistory)
    events: EventSink = field(
        default_factory=NoEvents
    )  # drift's own events (drift/backends/publish.py)


def with_databricks_groups(config: DriftConfig, jobs: JobService) -> JobService:
    """Route the groups listed under `databricksJobs` to Databricks; the rest stay as they are."""
    params = config.parameters
    if not params.databricks_jobs:
        return jobs
    from drift.backends.databricks_jobs import DatabricksGroup, DatabricksJobs, RoutingJobs

    def client() -> object:
        from databricks.sdk import WorkspaceClient

        return WorkspaceClient()  # host and auth from the environment (or the cluster)

    groups = [
        DatabricksGroup(
            g.group, g.job_id, g.input or params.data_assets[0].name, g.version_parameter
        )
        for g in params.databricks_jobs
    ]
    return RoutingJobs(jobs, DatabricksJobs(client, groups))


@dataclass(frozen=True)
class AuthOptions:
    """How the Azure backend authenticates: managed identity unless tenant + vault are given."""

    tenant: str | None = None
    vault_name: str | None = None
    managed_identity_client_id: str | None = None

    @classmethod
    def from_env(cls) -> AuthOptions:
        """The Functions app's settings (see local.settings.sample.json)."""
        return cls(
            os.environ.get("DRIFT_TENANT_ID") or None,
            os.environ.get("DRIFT_KEY_VAULT_NAME") or None,
            os.environ.get("AZURE_CLIENT_ID") or None,
        )


def watched_table(config: DriftConfig) -> str:
    """The table as its commit store names it, and as run reports do (`Services.table`)."""
    if config.backend == "local" and config.local is not None:
        return str(config.local.table_path)
    return (config.parameters.container_data_path or "").strip("/")


def build_services(config: DriftConfig, auth: AuthOptions | None = None) -> Services:
    services = _backend_services(config, auth or AuthOptions())
    services.jobs = with_databricks_groups(config, services.jobs)
    return services


def _azure_services(config: DriftConfig, auth: AuthOptions) -> Services:
    """Azure ML and ADLS Gen2 (the `databricks` runner uses the same services)."""
    from drift.backends.azure_clients import blob_service, ml_client
    from drift.backends.azure_commits import AzureCommits
    from drift.backends.azure_credentials import credential_for
    from drift.backends.azure_errors import Where
    from drift.backends.azure_jobs import AzureJobs
    from drift.backends.azure_registry import AzureRegistry

    p = config.parameters
    assert p.azml and p.storage_account_name and p.container_name  # checked by the config
    cred = credential_for(
        auth.tenant, auth.vault_name, managed_identity_client_id=auth.managed_identity_client_id
    )
    ws = p.azml
    where = Where(
        f"Azure ML workspace {ws.workspace_name} ({ws.resource_group})", str(cred.identity)
    )
    ml = ml_client(cred.token_credential, ws)
    if p.store_datastore_credentials:
        warn_store_credentials()
    mltables = blob_service(cred.token_credential, p.storage_account_name).get_container_client(
        p.mltable_container
    )
    registry = AzureRegistry(
        ml,
        datastore_name=p.datastore_name,
        account=p.storage_account_name,
        container=p.container_name,
        where=where,
        mltables=mltables,
        mltable_container=p.mltable_container,
        mltable_datastore=p.mltable_datastore_name,
        store_credentials=cred.token_credential if p.store_datastore_credentials else None,
    )
    commits = AzureCommits(p.storage_account_name, p.container_name, cred)
    table = watched_table(config)
    services = Services(config, commits, registry, AzureJobs(ml, where=where), table)
    endpoint = p.events_topic_endpoint or os.environ.get(ENDPOINT_SETTING)
    if endpoint:
        services.events = EventGridEvents(endpoint, cred.token_credential)
    return services


STORE_CREDENTIALS_DEPRECATED = (
    "storeDatastoreCredentials is deprecated and will be removed: it writes the service "
    "principal's secret into the workspace datastore, where anyone allowed to list datastore "
    "secrets can read it. Leave it false: the datastore is identity-based and jobs read the "
    "lake as their own identity (see README, The Azure backend)."
)


def warn_store_credentials() -> None:
    """Say, once per call, why `storeDatastoreCredentials` should go."""
    warnings.warn(STORE_CREDENTIALS_DEPRECATED, DeprecationWarning, stacklevel=3)
    log.warning(STORE_CREDENTIALS_DEPRECATED)


def _backend_services(config: DriftConfig, auth: AuthOptions) -> Services:
    if config.backend in ("azure", "databricks"):
        return _azure_services(config, auth)
    if config.backend == "local":
        from drift.backends.local_commits import LocalCommits
        from drift.backends.local_jobs import LocalJobs
        from drift.backends.local_registry import LocalRegistry

        assert config.local is not None  # guaranteed by config validation
        local = config.local
        registry = LocalRegistry(local.workdir)
        jobs = LocalJobs(local.workdir, local.jobs_dir, registry.resolve)
        history = LocalRunHistory(local.workdir)
        services = Services(config, LocalCommits(), registry, jobs, watched_table(config), history)
        services.events = JsonLinesEvents(local.workdir / LOCAL_FILE)
        return services
    raise BackendUnavailable(f"backend {config.backend!r} is not known")
