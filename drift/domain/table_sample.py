"""A bounded, deterministic look at one pinned version of a Delta table.

The row count comes from the Delta log's per-file statistics (no data read). The sample reads
at most `max_rows` rows, spread over the table's files: every file when the budget allows,
else the newest file plus files picked at random with the seed, each giving rows in proportion
to its size. Within a file the rows come from the start of each row group, so only the pages
holding them are decoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pds
from deltalake import DeltaTable

# A file read at all gives at least this many rows (when it has them), so that picking fewer,
# larger slices beats many tiny reads when the table has more files than the budget covers.
MIN_ROWS_PER_FILE = 50


@dataclass(frozen=True)
class TableSnapshot:
    """A table version as the policy sees it: its size, its schema and a bounded sample."""

    rows: int
    schema: pa.Schema
    sample: pa.Table
    version: int | None = None
    files: int = 0  # data files in the version
    files_read: int = 0  # files the sample came from

    @property
    def rows_read(self) -> int:
        """Rows actually read from storage: the sample is all of them, nothing was discarded."""
        return self.sample.num_rows


@dataclass(frozen=True)
class _File:
    fragment: Any  # pyarrow.dataset.ParquetFileFragment
    rows: int
    modified: int


def read_snapshot(
    uri: str,
    version: int | None,
    max_rows: int,
    storage_options: dict[str, str] | None = None,
    seed: int = 0,
) -> TableSnapshot:
    """Open `uri` at `version` (None: the newest) and sample at most `max_rows` rows."""
    if max_rows < 0:
        raise ValueError(f"max_rows must be >= 0, got {max_rows}")
    table = DeltaTable(uri, version=version, storage_options=storage_options)
    dataset = table.to_pyarrow_dataset()
    schema = dataset.schema
    files = _files(table, dataset)
    rows = sum(f.rows for f in files)
    quotas = _quotas(files, max_rows, np.random.default_rng(seed))
    parts = [_read_file(files[i], quota, schema) for i, quota in sorted(quotas.items()) if quota]
    sample = pa.concat_tables(parts) if parts else schema.empty_table()
    return TableSnapshot(
        rows=rows,
        schema=schema,
        sample=sample,
        version=table.version(),
        files=len(files),
        files_read=len(parts),
    )


def _files(table: DeltaTable, dataset: pds.Dataset) -> list[_File]:
    """Every data file, sorted by path, with its row count from the log when it records one."""
    actions = pa.table(table.get_add_actions(flatten=True))
    names = actions.column_names
    paths = actions.column("path").to_pylist()
    counts = (
        actions.column("num_records").to_pylist() if "num_records" in names else [None] * len(paths)
    )
    times = (
        actions.column("modification_time").to_pylist()
        if "modification_time" in names
        else [0] * len(paths)
    )
    stats = {_norm(p): (n, t or 0) for p, n, t in zip(paths, counts, times, strict=True)}
    files = []
    for fragment in sorted(dataset.get_fragments(), key=lambda f: f.path):
        count, modified = stats.get(_norm(fragment.path), (None, 0))
        if count is None:  # no statistics in the log: the file's footer says
            count = fragment.count_rows()
        files.append(_File(fragment, int(count), int(modified)))
    return files


def _norm(path: str) -> str:
    """A file's path as both sides agree on it: the log stores partition values URL-encoded
    once more than the dataset's fragment paths do, so decode until nothing changes."""
    while (decoded := unquote(path)) != path:
        path = decoded
    return path.lstrip("/")


def _quotas(files: list[_File], budget: int, rng: np.random.Generator) -> dict[int, int]:
    """File index -> rows to read from it; the quotas add up to min(budget, all rows)."""
    total = sum(f.rows for f in files)
    if total <= budget:
        return {i: f.rows for i, f in enumerate(files) if f.rows}
    if budget == 0:
        return {}
    candidates = [i for i, f in enumerate(files) if f.rows]
    newest = max(candidates, key=lambda i: (files[i].modified, files[i].fragment.path))
    others = [i for i in candidates if i != newest]
    order = [newest, *(others[j] for j in rng.permutation(len(others)))]
    wanted = max(1, budget // MIN_ROWS_PER_FILE)
    chosen: list[int] = []
    capacity = 0
    for i in order:
        if len(chosen) >= wanted and capacity >= budget:
            break
        chosen.append(i)
        capacity += files[i].rows
    floor = min(MIN_ROWS_PER_FILE, budget // len(chosen))
    base = [min(files[i].rows, floor) for i in chosen]
    extra = _proportional(
        [files[i].rows - b for i, b in zip(chosen, base, strict=True)], budget - sum(base)
    )
    return {i: b + e for i, b, e in zip(chosen, base, extra, strict=True)}


def _proportional(sizes: list[int], budget: int) -> list[int]:
    """Split `budget` (<= sum(sizes)) in proportion to `sizes`, by largest remainder."""
    total = sum(sizes)
    if budget <= 0 or total == 0:
        return [0] * len(sizes)
    exact = [budget * s / total for s in sizes]
    out = [int(x) for x in exact]
    left = budget - sum(out)
    by_remainder = sorted(range(len(sizes)), key=lambda i: (out[i] - exact[i], i))
    for i in by_remainder:
        if left == 0:
            break
        if out[i] < sizes[i]:
            out[i] += 1
            left -= 1
    return out


def _read_file(file: _File, quota: int, schema: pa.Schema) -> pa.Table:
    """`quota` rows of one file: all of it, or the first rows of each row group in proportion."""
    if quota >= file.rows:
        return _head(file.fragment, file.rows, schema)
    groups = file.fragment.split_by_row_group()
    sizes = [g.row_groups[0].num_rows for g in groups]
    parts = [
        _head(group, n, schema)
        for group, n in zip(groups, _proportional(sizes, quota), strict=True)
        if n
    ]
    return pa.concat_tables(parts) if parts else schema.empty_table()


def _head(fragment: Any, rows: int, schema: pa.Schema) -> pa.Table:
    """The first `rows` rows, partition columns included, with no read-ahead left running.

    An early-stopped scan with read-ahead leaves reads in flight through deltalake's Python
    filesystem, which can crash the interpreter at exit; reading one batch at a time avoids it.
    """
    scanner = pds.Scanner.from_fragment(
        fragment,
        schema=schema,
        batch_size=max(rows, 1),
        batch_readahead=0,
        fragment_readahead=0,
        use_threads=False,
    )
    return scanner.head(rows)
