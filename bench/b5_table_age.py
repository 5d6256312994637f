"""B5 commit handling against table age: classifying the newest commit vs loading the table.

drift's path is `LocalCommits.latest_version` (one listing of `_delta_log`) + `read_commit`
(one commit file) + `summarize_commit` + `decide`; the event path already knows the version
and skips the listing. The baseline is `deltalake.DeltaTable(path)`, which replays the log
from the newest checkpoint. Tables come from `bench.tables.build_table` (delta-rs writes,
compaction every 50 appends, delta-rs' checkpoints every 100 commits).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench.common import median_time

ID = "B5"
TITLE = "Commit handling against table age: classify the newest commit vs load the table"

Json = dict[str, Any]


def sizes(quick: bool) -> list[int]:
    return [10, 200] if quick else [10, 1_000, 10_000]


class CountingCommits:
    """LocalCommits that counts the commit files it reads and the log listings it makes."""

    def __init__(self) -> None:
        from drift.backends.local_commits import LocalCommits

        self.inner = LocalCommits()
        self.reads = 0
        self.listings = 0

    def read_commit(self, table: str, version: int) -> bytes:
        self.reads += 1
        return self.inner.read_commit(table, version)

    def latest_version(self, table: str) -> int | None:
        self.listings += 1
        return self.inner.latest_version(table)


def measure(tables: dict[int, Path], built: dict[int, Json], quick: bool) -> Json:
    from deltalake import DeltaTable

    from drift.domain.delta_log import decide, summarize_commit

    repeat = 5 if quick else 20
    rows = []
    for n in sorted(tables):
        path = tables[n]
        table = str(path)
        store = CountingCommits()

        def classify(store: CountingCommits = store, table: str = table) -> Json:
            version = store.latest_version(table)
            assert version is not None
            summary = summarize_commit(store.read_commit(table, version), version, table)
            return {"version": version, "decision": decide(summary)}

        def classify_known(
            store: CountingCommits = store, table: str = table, newest: int = n - 1
        ) -> Json:
            summary = summarize_commit(store.read_commit(table, newest), newest, table)
            return {"version": newest, "decision": decide(summary)}

        def load(table: str = table) -> int:
            return DeltaTable(table).version()

        t_classify, out = median_time(classify, repeat)
        reads, listings = store.reads, store.listings
        t_known, _ = median_time(classify_known, repeat)
        t_load, loaded = median_time(load, repeat)
        if loaded != out["version"]:
            raise AssertionError(f"B5: drift found v{out['version']}, deltalake v{loaded}")
        calls = repeat + 1
        rows.append(
            {
                "commits": n,
                "newest_version": out["version"],
                "decision": out["decision"].action,
                "reason": out["decision"].reason,
                "log_files": len(os.listdir(path / "_delta_log")),
                "checkpoints": built[n]["checkpoints"],
                "build_s": built[n]["build_s"],
                "drift_classify_s": t_classify,
                "drift_classify_known_version_s": t_known,
                "drift_commit_files_read": reads / calls,
                "drift_log_listings": listings / calls,
                "deltatable_load_s": t_load,
                "ratio": t_load / t_classify,
                "ratio_known_version": t_load / t_known,
            }
        )
    oldest = rows[-1]
    return {
        "parameters": {
            "commits": [r["commits"] for r in rows],
            "repeat": repeat,
            "writer": "deltalake.write_deltalake appends; OPTIMIZE every 50 appends; "
            "delta-rs checkpoints every 100 commits; all commit files kept",
            "timing": f"median of {repeat} runs after one warm-up run",
        },
        "rows": rows,
        "measured": {
            "drift_classify_s": {str(r["commits"]): r["drift_classify_s"] for r in rows},
            "drift_classify_known_version_s": {
                str(r["commits"]): r["drift_classify_known_version_s"] for r in rows
            },
            "commit_files_read": max(r["drift_commit_files_read"] for r in rows),
        },
        "baseline": {
            "deltatable_load_s": {str(r["commits"]): r["deltatable_load_s"] for r in rows}
        },
        "ratio": {str(r["commits"]): r["ratio"] for r in rows},
        "build": {str(r["commits"]): round(r["build_s"], 2) for r in rows},
        "notes": [
            "drift reads one commit file whatever the table's age; listing `_delta_log` to find "
            "the newest version grows with the number of files in it (the Azure backend lists "
            "only from `_last_checkpoint` on). The Event Grid path knows the version from the "
            "event and does not list.",
            "`DeltaTable(path)` reads `_last_checkpoint`, the checkpoint and the commits after "
            "it: with checkpoints every 100 commits its cost follows the table's state, that is "
            "its live files and tombstones (files OPTIMIZE removed, kept for the 7-day default "
            "retention), which here grow with the number of commits.",
            "Table build time is measured separately (not part of either figure); in the full "
            "run the tables are built in a worker process while B2 runs.",
        ],
        "headline": (
            f"{oldest['commits']:,} commits: drift classifies the newest in "
            f"{_ms(oldest['drift_classify_s'])} ({_ms(oldest['drift_classify_known_version_s'])} "
            f"given the version), reading 1 commit file, vs {_ms(oldest['deltatable_load_s'])} "
            f"to load the table with deltalake ({oldest['ratio']:.0f}x; "
            f"{oldest['ratio_known_version']:.0f}x)"
        ),
    }


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 0.01 else f"{seconds * 1000:.0f} ms"
