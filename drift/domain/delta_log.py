"""Delta commits: which files under `_delta_log` are commits, and whether a commit changed data."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import unquote, urlsplit

from drift.domain.types import PermanentError

COMMIT_FILE_RE = re.compile(r"^(?P<version>\d{20})\.json$")
COMPACTED_RE = re.compile(r"^\d{20}\.\d{20}\.compacted\.json$")
CHECKPOINT_RE = re.compile(r"^\d{20}\.checkpoint(\.\d+\.\d+|\.[^.]+)?\.(parquet|json)$")

Action = Literal["register", "skip", "ignore"]


class CommitReadError(PermanentError, ValueError):
    """A commit file that cannot be parsed; names the file and the line."""


@dataclass(frozen=True)
class CommitRef:
    """`<table>/_delta_log/<version>.json`: a table root and a version."""

    table: str
    version: int
    path: str


@dataclass(frozen=True)
class NotACommit:
    """A path that is not a Delta commit, with the reason a person can read."""

    path: str
    reason: str


@dataclass(frozen=True)
class CommitSummary:
    """What drift needs from a commit's actions."""

    version: int
    timestamp_ms: int | None
    operation: str | None
    data_change: bool
    data_files: int
    files_without_data_change: int

    @property
    def committed_at(self) -> datetime | None:
        if self.timestamp_ms is None:
            return None
        return datetime.fromtimestamp(self.timestamp_ms / 1000, tz=UTC)


@dataclass(frozen=True)
class CommitDecision:
    action: Action
    reason: str


def _path_part(path: str) -> str:
    """The path of a URL (https://, abfss://) or a plain path, with %-escapes decoded."""
    if "://" in path:
        parts = urlsplit(path)
        return unquote(parts.path)
    return path.split("?", 1)[0]


def parse_commit_path(path: str) -> CommitRef | NotACommit:
    """Classify a file path; only `<table>/_delta_log/<20 digits>.json` is a commit."""
    try:
        clean = _path_part(path).replace("\\", "/")
        if "://" in path:
            urlsplit(path)  # the authority is parsed again below: refuse a malformed one now
    except ValueError as exc:
        return NotACommit(path, f"not a valid URL or path ({exc})")
    marker = "/_delta_log/"
    if clean.startswith("_delta_log/"):
        clean = "/" + clean
    if marker not in clean:
        return NotACommit(path, "not in a _delta_log folder: a data file or another path")
    table_part, _, inside = clean.rpartition(marker)
    if "/_delta_log" in table_part + "/":
        return NotACommit(path, "nested _delta_log folders are not a Delta table layout")
    name = inside.rsplit("/", 1)[-1]
    if inside.startswith("_commits/"):
        return NotACommit(path, "staged commit under _delta_log/_commits/ (not yet published)")
    if name.endswith(".crc"):
        return NotACommit(path, "checksum file (.crc), written beside a commit")
    if inside.startswith(".tmp/") or ("/" in inside and inside.split("/", 1)[0].startswith(".")):
        return NotACommit(path, "temporary file of an in-flight commit (.tmp/ folder)")
    if "/" in inside:
        return NotACommit(path, f"not a commit: sub-folder {inside.split('/', 1)[0]!r}")
    if name.endswith(".tmp") or name.startswith("."):
        return NotACommit(path, "temporary file of an in-flight commit")
    if name == "_last_checkpoint":
        return NotACommit(path, "checkpoint pointer (_last_checkpoint)")
    if CHECKPOINT_RE.match(name) or ".checkpoint." in name:
        return NotACommit(path, "checkpoint file: a summary of earlier commits, not a change")
    if COMPACTED_RE.match(name):
        return NotACommit(path, "compacted log file (N.M.compacted.json): no new change")
    match = COMMIT_FILE_RE.match(name)
    if not match:
        return NotACommit(path, f"not a commit file name (expected 20 digits + .json): {name!r}")
    table = table_part.rstrip("/")
    # abfss:// names the container in its authority, so a table may sit at the URL's root.
    container_in_authority = path.startswith(("abfss://", "abfs://"))
    if not table.strip("/") and not container_in_authority:
        return NotACommit(path, "no table folder before _delta_log")
    if "://" in path:
        parts = urlsplit(path)
        table = f"{parts.scheme}://{parts.netloc}{table}"
    return CommitRef(table=table, version=int(match["version"]), path=path)


def commit_file_name(version: int) -> str:
    return f"{version:020d}.json"


def summarize_commit(raw: bytes | str, version: int, source: str = "<commit>") -> CommitSummary:
    """Read a commit's newline-delimited actions; malformed lines raise, naming file and line."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CommitReadError(f"{source}: line {line}: not UTF-8") from None
    timestamp: int | None = None
    in_commit_timestamp: int | None = None
    operation: str | None = None
    data_files = 0
    quiet_files = 0
    latest_file_time: int | None = None
    actions = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            action = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CommitReadError(f"{source}: line {number}: not JSON ({exc.msg})") from None
        except RecursionError:  # json's C decoder recurses once per level of nesting
            raise CommitReadError(f"{source}: line {number}: JSON nested too deeply") from None
        if not isinstance(action, dict):
            raise CommitReadError(f"{source}: line {number}: expected a JSON object per line")
        actions += len(action)
        if "commitInfo" in action:
            info = action["commitInfo"] or {}
            if not isinstance(info, dict):
                raise CommitReadError(f"{source}: line {number}: commitInfo is not an object")
            operation = info.get("operation")
            if not isinstance(operation, str):  # only a name is reported, never a structure
                operation = None
            timestamp = _int_or_none(info.get("timestamp"))
            in_commit_timestamp = _int_or_none(info.get("inCommitTimestamp"))
        for kind in ("add", "remove"):
            if kind in action:
                body = action[kind] or {}
                if not isinstance(body, dict):
                    raise CommitReadError(f"{source}: line {number}: {kind} is not an object")
                if body.get("dataChange", True):
                    data_files += 1
                else:
                    quiet_files += 1
                stamp = _int_or_none(body.get("modificationTime") or body.get("deletionTimestamp"))
                if stamp is not None:
                    latest_file_time = max(latest_file_time or 0, stamp)
    if not actions:  # even a metadata-only commit holds commitInfo, metaData or protocol
        raise CommitReadError(f"{source}: no Delta actions: empty, or only {{}} lines")
    return CommitSummary(
        version=version,
        # In-commit timestamps are the authoritative commit time when the table enables them.
        timestamp_ms=in_commit_timestamp or timestamp or latest_file_time,
        operation=operation,
        data_change=data_files > 0,
        data_files=data_files,
        files_without_data_change=quiet_files,
    )


# Milliseconds between 1970 and the year 9999: what a datetime can hold.
_MAX_MILLIS = 253_402_300_799_999


def _int_or_none(value: object) -> int | None:
    """A commit time in milliseconds, or None for anything a datetime cannot represent."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_MILLIS:
        return value
    return None


def decide(summary: CommitSummary) -> CommitDecision:
    """Register a data change; skip a commit that cannot change what a model trains on."""
    op = summary.operation or "unknown operation"
    if summary.data_change:
        return CommitDecision(
            "register", f"{op} changed data ({summary.data_files} file action(s))"
        )
    if summary.files_without_data_change:
        return CommitDecision(
            "skip",
            f"{op} rewrote {summary.files_without_data_change} file(s) with dataChange=false: "
            "same rows, nothing to retrain",
        )
    return CommitDecision("skip", f"{op} added or removed no data files (metadata only)")
