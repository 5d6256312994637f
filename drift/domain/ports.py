"""The three ports drift's logic talks to; each backend implements them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

from drift.domain.types import DataAssetVersion, JobInput, JobState, TrainingJob

if TYPE_CHECKING:  # mltable loads pandas and more: only registration needs it at run time
    from mltable import MLTable


class CommitStore(Protocol):
    """Reads a Delta table's log: the only storage access registration needs."""

    def read_commit(self, table: str, version: int) -> bytes:
        """Raw bytes of `<table>/_delta_log/<version>.json`; FileNotFoundError if absent."""
        ...

    def latest_version(self, table: str) -> int | None:
        """Highest committed version, or None for a table with no commit."""
        ...

    def table_uri(self, table: str) -> str:
        """The URI an MLTable reads the table from (a local path, `azureml://…` or `abfss://…`)."""
        ...

    def storage_options(self) -> dict[str, str] | None:
        """What `deltalake` needs to read `table_uri` (None for a local path)."""
        ...


class DataRegistry(Protocol):
    """Where pinned data asset versions live (Azure ML data assets, or SQLite locally)."""

    def get_data(self, name: str, version: str) -> DataAssetVersion | None: ...

    def create_mltable(self, asset: DataAssetVersion, table: MLTable) -> DataAssetVersion:
        """Save the MLTable definition and register it under `asset.name:asset.version`."""
        ...

    def create_uri_folder(self, asset: DataAssetVersion) -> DataAssetVersion: ...


class JobService(Protocol):
    """Training jobs: find, clone-submit, poll, cancel."""

    def list_jobs(self, groups: Sequence[str] | None = None) -> Iterable[TrainingJob]:
        """Jobs that may be a group's newest; backends may filter server-side by group."""
        ...

    def get_job(self, name: str) -> TrainingJob | None: ...

    def submit_clone(
        self, source: str, name: str, inputs: dict[str, JobInput], tags: dict[str, str]
    ) -> TrainingJob:
        """Clone `source` as `name` with `inputs` rebound; an existing `name` is returned as is."""
        ...

    def get_state(self, name: str) -> JobState:
        """The job's state now. A backend whose `submit_clone` returns a `run_id` (Databricks)
        also takes `run_id=` here and in `cancel`; the activities pass it only then."""
        ...

    def cancel(self, name: str) -> None:
        """Ask the job to stop; a job already ended or gone is not an error."""
        ...
