"""Registration: a data-changing Delta version becomes pinned MLTable and uri_folder assets."""

from __future__ import annotations

from dataclasses import dataclass

from drift.domain.config import Parameters
from drift.domain.delta_log import CommitSummary, decide, summarize_commit
from drift.domain.ports import CommitStore, DataRegistry
from drift.domain.types import DataAssetVersion, PermanentError

TAG_TABLE = "drift.table"
TAG_DELTA_VERSION = "drift.delta_version"
TAG_OPERATION = "drift.operation"
TAG_COMMIT_TIME = "drift.commit_time"
# How far `latest_data_version` walks back past commits that changed no data.
MAX_QUIET_COMMITS = 1000


class RegistrationConflict(PermanentError):
    """An asset version exists but pins different data: never overwrite an immutable version."""


class CommitNotFound(PermanentError, FileNotFoundError):
    """The event or request names a Delta version whose commit file is not there."""


class MissingCommitTime(PermanentError, ValueError):
    """A commit without any timestamp cannot be given a reproducible version string."""


@dataclass(frozen=True)
class Registration:
    table: str
    delta_version: int
    asset_version: str
    mltable: DataAssetVersion
    uri_folder: DataAssetVersion
    created: bool


def asset_version(summary: CommitSummary) -> str:
    """`YYYYMMDDHHMMSS-v<delta version>`: the seed's UTC stamp, taken from the commit itself.

    The stamp sorts like the reference's versions; the Delta version suffix keeps two commits
    in one second apart and makes the string a pure function of (table, version), which is
    what makes registration idempotent under at-least-once delivery.
    """
    committed = summary.committed_at
    if committed is None:
        raise MissingCommitTime(
            f"Delta version {summary.version} has no commitInfo.timestamp, inCommitTimestamp "
            "or file modification time"
        )
    return f"{committed:%Y%m%d%H%M%S}-v{summary.version}"


def read_summary(store: CommitStore, table: str, version: int) -> CommitSummary:
    source = f"{table}/_delta_log/{version:020d}.json"
    try:
        raw = store.read_commit(table, version)
    except FileNotFoundError:
        raise CommitNotFound(f"{source}: commit file not found") from None
    return summarize_commit(raw, version, source=source)


def latest_data_version(store: CommitStore, table: str) -> CommitSummary | None:
    """The newest commit that changed data: an OPTIMIZE on top pins the same rows anyway."""
    latest = store.latest_version(table)
    if latest is None:
        return None
    newest = read_summary(store, table, latest)
    version = latest
    summary = newest
    while not summary.data_change and version > 0 and latest - version < MAX_QUIET_COMMITS:
        version -= 1
        try:
            summary = read_summary(store, table, version)
        except FileNotFoundError:  # older log files expired after a checkpoint
            return newest
    return summary if summary.data_change else newest


def _tags(table_uri: str, summary: CommitSummary) -> dict[str, str]:
    committed = summary.committed_at
    return {
        TAG_TABLE: table_uri,
        TAG_DELTA_VERSION: str(summary.version),
        TAG_OPERATION: summary.operation or "unknown",
        TAG_COMMIT_TIME: committed.isoformat().replace("+00:00", "Z") if committed else "",
    }


def _same_pin(existing: DataAssetVersion, tags: dict[str, str]) -> None:
    keys = (TAG_TABLE, TAG_DELTA_VERSION)
    if any(existing.tags.get(k) != tags[k] for k in keys):
        raise RegistrationConflict(
            f"asset {existing.ref} already exists for table {existing.tags.get(TAG_TABLE)!r} "
            f"version {existing.tags.get(TAG_DELTA_VERSION)!r}, not {tags[TAG_TABLE]!r} "
            f"version {tags[TAG_DELTA_VERSION]!r}"
        )


def register(
    store: CommitStore,
    registry: DataRegistry,
    params: Parameters,
    table: str,
    summary: CommitSummary,
) -> Registration:
    """Register both assets for one data-changing version; registering it again is a no-op."""
    if not summary.data_change:
        raise PermanentError(
            f"version {summary.version}: {decide(summary).reason}; nothing to register"
        )
    version = asset_version(summary)
    table_uri = store.table_uri(table)
    tags = _tags(table_uri, summary)
    # `created` is true for one run only: the one that wrote the MLTable row, or, when an
    # earlier run (killed between the two rows) wrote it, the one that wrote the folder row.
    # A run that lost the MLTable race leaves the rest to the run that won it.
    created = False
    mlt = registry.get_data(params.mltable_name, version)
    found_mltable = mlt is not None
    if mlt is None:
        import mltable  # heavy (pandas and more): loaded by the activity that registers

        definition = mltable.from_delta_lake(table_uri, version_as_of=summary.version)
        mlt = registry.create_mltable(
            DataAssetVersion(params.mltable_name, version, "mltable", table_uri, tags), definition
        )
        created = mlt.created is not False  # False: a concurrent run wrote it first
    _same_pin(mlt, tags)  # also after a create: a concurrent writer may have won it

    folder = registry.get_data(params.uri_folder_name, version)
    if folder is None:
        folder = registry.create_uri_folder(
            DataAssetVersion(params.uri_folder_name, version, "uri_folder", table_uri, tags)
        )
        if found_mltable:
            created = folder.created is not False
    _same_pin(folder, tags)

    return Registration(table, summary.version, version, mlt, folder, created)
