"""Delta tables with many commits, every file written by delta-rs, built fast.

A streaming writer's table: one tiny append per commit, `OPTIMIZE` (compaction) after every
50 appends as auto-compaction would do, and the checkpoint delta-rs' own post-commit hook
writes every 100 commits (its default `delta.checkpointInterval`). Expired-log cleanup is off:
every commit file stays, as within a 30-day log retention.

Why it is fast: delta-rs lists the whole `_delta_log` folder on every commit (a write to a log
of 10,000 files takes ~0.3 s instead of ~8 ms), which makes building a long log quadratic. So
while building, the files a newer checkpoint already covers are parked in a side folder, as
if cleaned up, and put back when the table is done. The writer only ever needs the newest
checkpoint and the commits after it, so every file is exactly what delta-rs would write with
them in place; the reader sees the whole log.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

COMPACT_EVERY = 50


def build_table(path: Path, commits: int, compact_every: int = COMPACT_EVERY) -> dict[str, Any]:
    """A table whose log holds commits 0..commits-1; the newest is an append. Returns stats."""
    from deltalake import DeltaTable, write_deltalake
    from deltalake.transaction import PostCommitHookProperties

    from bench.common import tiny_batch

    if commits < 1:
        raise ValueError("a table has at least one commit")
    started = time.perf_counter()
    hooks = PostCommitHookProperties(create_checkpoint=True, cleanup_expired_logs=False)
    log = path / "_delta_log"
    park = path.parent / f".{path.name}-parked-log"
    shutil.rmtree(path, ignore_errors=True)
    shutil.rmtree(park, ignore_errors=True)
    park.mkdir(parents=True)
    write_deltalake(path, tiny_batch(0), post_commithook_properties=hooks)
    table = DeltaTable(path)
    appends = optimizes = 0
    parked_below = 0
    try:
        while table.version() < commits - 1:
            write_deltalake(
                table, tiny_batch(appends), mode="append", post_commithook_properties=hooks
            )
            appends += 1
            if appends % compact_every == 0 and table.version() < commits - 2:
                table.optimize.compact(post_commithook_properties=hooks)
                optimizes += 1
            checkpoint = _last_checkpoint(log)
            if checkpoint > parked_below:
                parked_below = checkpoint
                for name in os.listdir(log):
                    if name[:20].isdigit() and int(name[:20]) < checkpoint:
                        os.rename(log / name, park / name)
                table = DeltaTable(path)  # from the new checkpoint, not the whole history
    finally:
        for name in os.listdir(park):
            os.rename(park / name, log / name)
        park.rmdir()
    names = os.listdir(log)
    return {
        "commits": commits,
        "appends": appends + 1,
        "optimizes": optimizes,
        "checkpoints": sum(1 for n in names if ".checkpoint." in n),
        "log_files": len(names),
        "build_s": time.perf_counter() - started,
    }


def _last_checkpoint(log: Path) -> int:
    try:
        return int(json.loads((log / "_last_checkpoint").read_text())["version"])
    except FileNotFoundError:
        return 0


def build_tables(root: Path, sizes: list[int]) -> dict[int, dict[str, Any]]:
    """One table per size under `root` (used by a worker process in the full run)."""
    return {n: build_table(root / f"commits-{n}", n) for n in sizes}
