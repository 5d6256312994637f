"""A data asset registry on disk: MLTable folders plus an SQLite index, like a tiny workspace."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from mltable import MLTable

from drift.backends.crashpoints import crash_point
from drift.domain.types import DataAssetVersion

_SCHEMA = """
CREATE TABLE IF NOT EXISTS data_assets (
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    type TEXT NOT NULL,
    path TEXT NOT NULL,
    tags TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
"""


class LocalRegistry:
    """Immutable asset versions: an insert that meets an existing key keeps the first one."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.assets_dir = workdir / "assets"
        workdir.mkdir(parents=True, exist_ok=True)
        self.db_path = workdir / "registry.db"
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.db_path, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            with db:
                yield db
        finally:
            db.close()

    def get_data(self, name: str, version: str) -> DataAssetVersion | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT name, version, type, path, tags FROM data_assets "
                "WHERE name = ? AND version = ?",
                (name, version),
            ).fetchone()
        return _asset(row) if row else None

    def list_versions(self, name: str) -> list[DataAssetVersion]:
        """Every version of an asset, oldest first (versions sort by their UTC stamp)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT name, version, type, path, tags FROM data_assets WHERE name = ? "
                "ORDER BY created_at, version",
                (name,),
            ).fetchall()
        return [_asset(r) for r in rows]

    def create_mltable(self, asset: DataAssetVersion, table: MLTable) -> DataAssetVersion:
        """Publish the folder first, then the row: a crash in between leaves a folder without
        a row, which the next attempt replaces, never a row pointing at nothing.

        The folder is written under a hidden staging name and renamed into place, all under
        an exclusive lock on the version (`workdir/locks/`, released by the kernel if this
        process dies): whoever holds it knows any staging folder of the version is a crashed
        writer's leftover, and removes it."""
        existing = self.get_data(asset.name, asset.version)
        if existing is not None:
            return replace(existing, created=False)
        folder = self.assets_dir / asset.name / asset.version
        with self._version_lock(asset):
            existing = self.get_data(asset.name, asset.version)
            if existing is not None:  # a concurrent registration wrote it while we waited
                return replace(existing, created=False)
            for leftover in folder.parent.glob(f".{asset.version}.*"):
                shutil.rmtree(leftover, ignore_errors=True)
            staging = folder.with_name(f".{asset.version}.{uuid.uuid4().hex}")
            table.save(str(staging), colocated=False, overwrite=True)
            crash_point("mltable-staged")
            shutil.rmtree(folder, ignore_errors=True)  # an unregistered leftover of a crash
            staging.rename(folder)
            crash_point("mltable-saved")
            row = DataAssetVersion(asset.name, asset.version, "mltable", str(folder), asset.tags)
            stored, inserted = self._insert(row)
        return replace(stored, created=inserted)

    def create_uri_folder(self, asset: DataAssetVersion) -> DataAssetVersion:
        stored, inserted = self._insert(asset)
        crash_point("registry-row")
        return replace(stored, created=inserted)

    @contextmanager
    def _version_lock(self, asset: DataAssetVersion) -> Iterator[None]:
        locks = self.workdir / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        name = f"asset-{asset.name}-{asset.version}.lock".replace("/", "_")
        fd = os.open(locks / name, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _insert(self, asset: DataAssetVersion) -> tuple[DataAssetVersion, bool]:
        """INSERT OR IGNORE: the first writer of a version wins; everyone gets the stored row."""
        with self._connect() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO data_assets VALUES (?, ?, ?, ?, ?, ?)",
                (
                    asset.name,
                    asset.version,
                    asset.type,
                    asset.path,
                    json.dumps(asset.tags, sort_keys=True),
                    datetime.now(UTC).isoformat(),
                ),
            )
            inserted = cursor.rowcount == 1
        stored = self.get_data(asset.name, asset.version)
        assert stored is not None
        return stored, inserted

    def resolve(self, name: str, version: str) -> str | None:
        """The local folder a job reads for `azureml:<name>:<version>`."""
        asset = self.get_data(name, version)
        return asset.path if asset else None


def _asset(row: tuple[str, str, str, str, str]) -> DataAssetVersion:
    name, version, kind, path, tags = row
    return DataAssetVersion(name, version, kind, path, json.loads(tags))  # type: ignore[arg-type]
