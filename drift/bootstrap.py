"""The one place that turns a config into concrete backends (the composition root)."""

from __future__ import annotations

from dataclasses import dataclass

from drift.backends.base import CommitStore, DataRegistry, JobService
from drift.config import DriftConfig


class BackendUnavailable(RuntimeError):
    """The configured backend is not built yet or cannot start here."""


@dataclass
class Services:
    config: DriftConfig
    commits: CommitStore
    registry: DataRegistry
    jobs: JobService
    table: str  # the watched table, as the commit store names it


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


def build_services(config: DriftConfig) -> Services:
    services = _backend_services(config)
    services.jobs = with_databricks_groups(config, services.jobs)
    return services


def _backend_services(config: DriftConfig) -> Services:
    if config.backend == "local":
        from drift.backends.local_commits import LocalCommits
        from drift.backends.local_jobs import LocalJobs
        from drift.backends.local_registry import LocalRegistry

        assert config.local is not None  # guaranteed by config validation
        local = config.local
        registry = LocalRegistry(local.workdir)
        jobs = LocalJobs(local.workdir, local.jobs_dir, registry.resolve)
        return Services(config, LocalCommits(), registry, jobs, str(local.table_path))
    raise BackendUnavailable(
        f"backend {config.backend!r} is not available in this build; use backend: local"
    )
