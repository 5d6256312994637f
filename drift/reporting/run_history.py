"""Run reports kept for `drift report`: SQLite locally; nowhere extra in Azure, where each
report is already the orchestration's output (GET /api/runs and /api/report read them with
the durable instance query, drift/durable/run_query.py)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Protocol

from drift.backends.crashpoints import crash_point

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    instance_id TEXT PRIMARY KEY,
    table_name TEXT,
    finished_at TEXT NOT NULL,
    report TEXT NOT NULL
);
"""


class RunHistory(Protocol):
    def record(self, report: dict[str, Any]) -> None: ...

    def recent(self, limit: int = 20) -> list[dict[str, Any]]: ...


class NoHistory:
    def record(self, report: dict[str, Any]) -> None:
        return None

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        return []


class LocalRunHistory:
    """One row per orchestration instance: recording a replayed run again overwrites it."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.path = workdir / "runs.db"
        with self._db() as db:
            db.executescript(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def record(self, report: dict[str, Any]) -> None:
        db = self._db()
        try:
            with db:
                db.execute(
                    "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?)",
                    (
                        report["instance_id"],
                        report.get("table"),
                        report["finished_at"],
                        json.dumps(report, default=str),
                    ),
                )
        finally:
            db.close()
        crash_point("report")

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        db = self._db()
        try:
            rows = db.execute(
                "SELECT report FROM runs ORDER BY finished_at DESC, rowid DESC LIMIT ?", (limit,)
            ).fetchall()
        finally:
            db.close()
        return [json.loads(r[0]) for r in rows]
