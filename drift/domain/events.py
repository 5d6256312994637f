"""Storage events: which Event Grid or CloudEvents deliveries announce a finished Delta commit."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from drift.domain.delta_log import NotACommit, parse_commit_path

BLOB_CREATED = "Microsoft.Storage.BlobCreated"
BLOB_RENAMED = "Microsoft.Storage.BlobRenamed"
# On hierarchical-namespace accounts CreateFile fires first, for an empty file; these mean
# the content is complete. CopyBlob on such an account fires when the copy starts, so the
# commit store waits for the copy to succeed before it reads (AzureCommits._read).
FINISHED_APIS = frozenset({"FlushWithClose", "PutBlob", "PutBlockList", "CopyBlob"})
# Why the other BlobCreated APIs are dropped (learn.microsoft.com/azure/event-grid/
# event-schema-blob-storage: Data Lake and SFTP events).
_NOT_TAKEN = {
    "CreateFile": "the file is created empty and not finished yet (FlushWithClose finishes it)",
    "SftpCreate": "an SFTP upload opened the file, still empty: not finished yet",
    "SftpWrite": "an SFTP resumable upload wrote part of the file: not finished yet",
    "SftpCommit": (
        "an SFTP upload finished the file, but drift does not take Delta commits from SFTP: "
        "an SFTP put opens the file empty and overwrites, so it cannot commit a Delta "
        "version atomically, and the event subscription does not deliver it"
    ),
}


@dataclass(frozen=True)
class CommitEvent:
    """A finished `<table>/_delta_log/<N>.json` in a storage account."""

    event_id: str
    url: str
    account: str
    container: str
    table_path: str  # inside the container, no leading or trailing '/'; '' = container root
    version: int
    event_time: datetime | None


@dataclass(frozen=True)
class Rejected:
    """An event drift acknowledges and drops, with the reason it is logged with."""

    event_id: str | None
    reason: str


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except (ValueError, OverflowError):  # not a time, or one UTC cannot hold
            return None
    return None


def _without_query(url: str) -> str:
    """A URL fit for a log line: a SAS token lives in the query string."""
    return url.split("?", 1)[0]


def split_storage_url(url: str) -> tuple[str, str, str] | None:
    """(account, container, path) of a blob or dfs URL; path-style for emulators (Azurite)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return None
    segments = [unquote(s) for s in parts.path.split("/") if s]
    host = parts.hostname
    try:
        ipaddress.ip_address(host)
        path_style = True
    except ValueError:
        path_style = host == "localhost"
    if path_style:  # http://127.0.0.1:10000/<account>/<container>/<path>
        if len(segments) < 3:
            return None
        return segments[0], segments[1], "/".join(segments[2:])
    if len(segments) < 2:
        return None
    return host.split(".", 1)[0], segments[0], "/".join(segments[1:])


def parse_event(payload: Any) -> CommitEvent | Rejected:
    """Accept an event in the Event Grid or the CloudEvents 1.0 schema, as a JSON object."""
    if not isinstance(payload, Mapping):
        return Rejected(None, "event is not a JSON object")
    cloud = "specversion" in payload
    event_id = _text(payload.get("id"))
    event_type = _text(payload.get("type" if cloud else "eventType"))
    data = payload.get("data")
    if event_id is None:
        return Rejected(None, "event has no id")
    if not isinstance(data, Mapping):
        return Rejected(event_id, f"event {event_id} has no data object")
    if event_type == BLOB_CREATED:
        api = _text(data.get("api"))
        if api not in FINISHED_APIS:
            why = _NOT_TAKEN.get(api or "", "not an API drift knows to announce a finished file")
            return Rejected(
                event_id,
                f"BlobCreated by {api or 'an unknown API'}: {why} "
                f"(drift takes {', '.join(sorted(FINISHED_APIS))})",
            )
        url = _text(data.get("url"))
    elif event_type == BLOB_RENAMED:
        url = _text(data.get("destinationUrl"))
    else:
        return Rejected(event_id, f"event type {event_type!r} is not a blob creation or rename")
    if url is None:
        return Rejected(event_id, f"{event_type} event {event_id} carries no blob URL")
    where = split_storage_url(url)
    if where is None:
        return Rejected(event_id, f"{_without_query(url)!r} is not a storage account blob URL")
    account, container, blob = where
    ref = parse_commit_path(f"{container}/{blob}")
    if isinstance(ref, NotACommit):
        return Rejected(event_id, f"{blob}: {ref.reason}")
    table_path = ref.table.removeprefix(container).strip("/")
    when = _time(payload.get("time" if cloud else "eventTime"))
    return CommitEvent(event_id, url, account.lower(), container, table_path, ref.version, when)
