"""The one place that turns a config into concrete backends (the composition root)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from drift.backends.base import CommitStore, DataRegistry, JobService
from drift.config import DriftConfig
from drift.publish import (
    ENDPOINT_SETTING,
    LOCAL_FILE,
    EventGridEvents,
    EventSink,
    JsonLinesEvents,
    NoEvents,
)
from drift.run_history import LocalRunHistory, NoHistory, RunHistory


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
    events: EventSink = field(default_factory=NoEvents)  # drift's own events (drift/publish.py)


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


def build_services(config: DriftConfig, auth: AuthOptions | None = None) -> Services:
    services = _backend_services(config, auth or AuthOptions())
    services.jobs = with_databricks_groups(config, services.jobs)
    return services


def _azure_services(config: DriftConfig, auth: AuthOptions) -> Services:
    """Azure ML and ADLS Gen2 (the `databricks` runner uses the same services)."""
    from azure.ai.ml import MLClient

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
    ml = MLClient(cred.token_credential, ws.subscription_id, ws.resource_group, ws.workspace_name)
    registry = AzureRegistry(
        ml,
        datastore_name=p.datastore_name,
        account=p.storage_account_name,
        container=p.container_name,
        where=where,
        store_credentials=cred.token_credential if p.store_datastore_credentials else None,
    )
    commits = AzureCommits(p.storage_account_name, p.container_name, cred)
    table = (p.container_data_path or "").strip("/")
    services = Services(config, commits, registry, AzureJobs(ml, where=where), table)
    endpoint = p.events_topic_endpoint or os.environ.get(ENDPOINT_SETTING)
    if endpoint:
        services.events = EventGridEvents(endpoint, cred.token_credential)
    return services


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
        services = Services(config, LocalCommits(), registry, jobs, str(local.table_path), history)
        services.events = JsonLinesEvents(local.workdir / LOCAL_FILE)
        return services
    raise BackendUnavailable(f"backend {config.backend!r} is not known")
