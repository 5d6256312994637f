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


def build_services(config: DriftConfig) -> Services:
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
