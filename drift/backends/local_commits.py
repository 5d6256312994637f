"""Delta logs on the local file system: the local backend's CommitStore."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from drift.domain.delta_log import COMMIT_FILE_RE, CommitReadError, commit_file_name

# A commit file lists the actions of one transaction; even a MERGE over 100,000 files stays
# well under this. It bounds what drift reads into memory for one commit.
MAX_COMMIT_BYTES = 256 * 1024 * 1024
_KINDS = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a directory",
}


def read_commit_file(path: str | Path, limit: int | None = None) -> bytes:
    """A commit file's bytes, read with bounds: regular files only (a FIFO would block
    forever, `/dev/zero` never ends), at most `limit` bytes (default `MAX_COMMIT_BYTES`).
    FileNotFoundError as `open` raises it; `CommitReadError` naming the file for anything
    else that is not a commit, or cannot be read (a symlink loop, no permission: retrying
    changes nothing)."""
    try:
        return _read_bounded(path, MAX_COMMIT_BYTES if limit is None else limit)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise CommitReadError(f"{path}: cannot read commit: {exc.strerror or exc}") from None


def _read_bounded(path: str | Path, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; OSError as the OS raises it."""
    # O_NONBLOCK: opening a FIFO without a writer returns at once instead of waiting for one.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
            raise CommitReadError(f"{path}: not a regular file ({kind}); a commit is a file")
        if info.st_size > limit:
            raise CommitReadError(
                f"{path}: {info.st_size} bytes, more than the {limit} a commit file may have"
            )
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, min(1 << 20, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:  # it grew while being read
                raise CommitReadError(f"{path}: more than the {limit} bytes a commit may have")
        return b"".join(chunks)
    finally:
        os.close(fd)


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
        return read_commit_file(self._dir(table) / "_delta_log" / commit_file_name(version))

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
