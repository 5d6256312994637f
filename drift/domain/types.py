"""Value objects shared by the logic and every backend: plain data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

AssetType = Literal["mltable", "uri_folder"]

# Azure ML job states after which a job will not progress by itself.
TERMINAL_STATES = frozenset({"Completed", "Failed", "Canceled", "NotResponding", "Paused"})
# drift's own terminal outcome for a job it cancelled at refreshTimeout.
TIMED_OUT = "TimedOut"


class PermanentError(Exception):
    """A failure that retrying cannot fix (bad input, missing resource, conflict, 401/403).

    Activities report these as a result instead of raising, so the orchestrator fails fast
    instead of spending its retry budget on them.
    """


@dataclass(frozen=True)
class DataAssetVersion:
    """One immutable version of a registered data asset."""

    name: str
    version: str
    type: AssetType
    path: str
    tags: dict[str, str] = field(default_factory=dict)
    # Set by a registry's create call: True when this call wrote the version, False when it
    # found it already there (a concurrent or earlier writer), None when it cannot tell.
    created: bool | None = field(default=None, compare=False)

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    @property
    def uri(self) -> str:
        return f"azureml:{self.name}:{self.version}"


@dataclass(frozen=True)
class JobInput:
    """An input binding as Azure ML job specs write it: `{type, path}` plus an optional mode."""

    type: str
    path: str
    mode: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "path": self.path}
        if self.mode:
            out["mode"] = self.mode
        return out


@dataclass(frozen=True)
class TrainingJob:
    """A training job as the retraining plan sees it, whatever the backend."""

    name: str
    inputs: dict[str, JobInput]
    display_name: str | None = None
    experiment_name: str | None = None
    created_at: datetime | None = None
    tags: dict[str, str] = field(default_factory=dict)
    # The backend's id of a submitted run when the name does not find it (a Databricks run
    # id): the monitor passes it back to `get_state` and `cancel`.
    run_id: str | None = None


@dataclass(frozen=True)
class JobState:
    """What a backend reports about a job at one poll."""

    name: str
    status: str
    started_at: datetime | None = None
    ended_at: datetime | None = None
    error: str | None = None
    log_path: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATES

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return round((self.ended_at - self.started_at).total_seconds(), 3)
