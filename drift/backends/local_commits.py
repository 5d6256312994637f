"""Delta logs on the local file system: the local backend's CommitStore."""

from __future__ import annotations

import os
from pathlib import Path

from drift.delta_log import COMMIT_FILE_RE, commit_file_name


class LocalCommits:
    """Tables are folders; `table` is a path, absolute or relative to `root`."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root

    def _dir(self, table: str) -> Path:
        path = Path(table)
        if self.root is not None and not path.is_absolute():
            path = self.root / path
        return path

    def read_commit(self, table: str, version: int) -> bytes:
        return (self._dir(table) / "_delta_log" / commit_file_name(version)).read_bytes()

    def latest_version(self, table: str) -> int | None:
        """Highest commit in one directory listing, without replaying the log."""
        log = self._dir(table) / "_delta_log"
        if not log.is_dir():
            return None
        versions = [
            int(m["version"]) for name in os.listdir(log) if (m := COMMIT_FILE_RE.match(name))
        ]
        return max(versions, default=None)

    def table_uri(self, table: str) -> str:
        return str(self._dir(table).resolve())

    def storage_options(self) -> dict[str, str] | None:
        return None
