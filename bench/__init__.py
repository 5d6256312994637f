"""drift's benchmarks: `python -m bench` runs them all; `--quick` a small version for CI.

The full run writes `bench/results.json` (one object per benchmark id: parameters, measured
figures, baseline figures, ratio), `docs/benchmarks.md` and the plots under `docs/img/`;
`--out DIR` writes `DIR/results.json`, `DIR/benchmarks.md` and `DIR/img/` instead.

A full run has two phases. First, what only needs CPU time (B2's points, measured with
`time.process_time`) and the Delta tables B4 and B5 read run in worker processes, one per
core. Then, with the workers gone, B3, B6, B4, B5, B7 (fresh interpreters importing the app)
and last B1 (which measures wall time) run in this process, alone on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from bench import (
    b1_reaction,
    b2_growth,
    b3_compute,
    b4_burst,
    b5_table_age,
    b6_newest_job,
    b7_cold_start,
    b8_job_events,
    b9_retries,
    tables,
)

ROOT = Path(__file__).resolve().parents[1]
MODULES = {
    m.ID: m
    for m in (
        b1_reaction,
        b2_growth,
        b3_compute,
        b4_burst,
        b5_table_age,
        b6_newest_job,
        b7_cold_start,
        b8_job_events,
        b9_retries,
    )
}
IDS = tuple(sorted(MODULES))

Json = dict[str, Any]


class _Inline(Executor):
    """Runs each task at once, in this process (quick runs, `--workers 1`)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


def run(quick: bool, only: list[str], workers: int, log: Callable[[str], None]) -> Json:
    """Run the selected benchmarks; returns {"meta": ..., "benchmarks": {id: result}}."""
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="drift-bench-"))
    results: dict[str, Json] = {}
    phases: dict[str, float] = {}
    try:
        # Phase 1: CPU-time work and table builds, in worker processes.
        t = time.perf_counter()
        pool: Executor = (
            ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
            if workers > 1
            else _Inline()
        )
        with pool:
            b4_table = work / "b4" / "lake" / "features"
            b5_sizes = b5_table_age.sizes(quick)
            builds: dict[str, Future] = {}
            # Longest first, so that the workers finish together.
            if "B5" in only:
                for n in sorted(b5_sizes, reverse=True):
                    builds[f"B5-{n}"] = pool.submit(
                        tables.build_table, work / "b5" / f"commits-{n}", n
                    )
            if "B4" in only:
                n = b4_burst.commits(quick)
                builds["B4"] = pool.submit(tables.build_table, b4_table, n + 1)
            points: list[tuple[tuple, Future]] = []
            if "B2" in only:
                for key in b2_growth.planned(quick):
                    log(f"B2 {key[0]} {key[1]} groups x {key[2]} polls: queued")
                    points.append(
                        (
                            key,
                            pool.submit(
                                b2_growth.measure, *key, work / "b2" / "-".join(map(str, key))
                            ),
                        )
                    )
            measured = []
            for key, future in points:
                measured.append(future.result())
                log(
                    f"B2 {key[0]} {key[1]} groups x {key[2]} polls: "
                    f"{measured[-1]['replay_cpu_s']:.1f} s replay CPU"
                )
            built = {name: future.result() for name, future in builds.items()}
        phases["workers_s"] = time.perf_counter() - t
        if "B2" in only:
            results["B2"] = b2_growth.assemble(quick, measured)
            log(f"B2: {results['B2']['headline']}")

        # Phase 2: alone on the machine, in this process.
        t = time.perf_counter()
        steps: list[tuple[str, Callable[[], Json]]] = [
            ("B3", lambda: b3_compute.run(quick, work / "b3")),
            ("B6", lambda: b6_newest_job.measure(quick)),
            ("B9", lambda: b9_retries.measure(quick)),
            ("B4", lambda: b4_burst.run(quick, work / "b4" / "app", b4_table, built["B4"])),
            (
                "B5",
                lambda: b5_table_age.measure(
                    {n: work / "b5" / f"commits-{n}" for n in b5_sizes},
                    {n: built[f"B5-{n}"] for n in b5_sizes},
                    quick,
                ),
            ),
            ("B7", lambda: b7_cold_start.measure(quick)),
            ("B8", lambda: b8_job_events.run(quick, work / "b8")),
            ("B1", lambda: b1_reaction.run(quick, work / "b1")),
        ]
        for bid, step in steps:
            if bid not in only:
                continue
            s = time.perf_counter()
            log(f"{bid}: running")
            results[bid] = _in_thread(step)
            results[bid]["run_s"] = time.perf_counter() - s
            log(f"{bid}: {results[bid]['headline']}")
        phases["alone_s"] = time.perf_counter() - t
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ordered = {
        bid: {"id": bid, "title": MODULES[bid].TITLE, **results[bid]}
        for bid in IDS
        if bid in results
    }
    meta = machine(quick, workers)
    meta.update(run_s=time.perf_counter() - started, phases=phases, only=list(only))
    return {"meta": meta, "benchmarks": ordered}


def _in_thread(fn: Callable[[], Json]) -> Json:
    """Run a benchmark on a thread of its own, as the Functions worker runs sync functions.

    It matters: mltable's telemetry calls `inspect.stack()` on every call, and on the main
    thread of `python -m` the stack holds frozen `runpy` frames, which `inspect` cannot map to a
    module and answers by scanning every loaded module, every time (~0.3 s per registration).
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="bench")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


def machine(quick: bool, workers: int) -> Json:
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for name in ("deltalake", "azure-functions-durable", "azure-ai-ml", "mltable", "pyarrow"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = round(pages / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": quick,
        "workers": workers,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory,
        "commit": _git_commit(),
        "packages": versions,
    }


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def outputs(out: str | None, quick: bool) -> tuple[Path, Path, Path]:
    """(results.json, benchmarks.md, img dir)."""
    if out is None and not quick:
        return (
            ROOT / "bench" / "results.json",
            ROOT / "docs" / "benchmarks.md",
            ROOT / "docs" / "img",
        )
    base = Path(out) if out else Path(tempfile.mkdtemp(prefix="drift-bench-quick-"))
    return base / "results.json", base / "benchmarks.md", base / "img"


def _jsonable(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, seconds (for CI)")
    parser.add_argument(
        "--out",
        help="write results.json, benchmarks.md and img/ here (default: the repository's "
        "bench/results.json, docs/benchmarks.md and docs/img/ for a full run, a temporary "
        "folder for --quick)",
    )
    parser.add_argument("--only", help="comma-separated ids, e.g. B1,B4 (default: all)")
    parser.add_argument(
        "--workers",
        type=int,
        help="processes for phase 1 (default: 1 with --quick, else the number of cores)",
    )
    args = parser.parse_args(argv)
    only = [i.strip().upper() for i in args.only.split(",")] if args.only else list(IDS)
    unknown = sorted(set(only) - set(IDS))
    if unknown:
        parser.error(f"unknown benchmark id(s) {', '.join(unknown)}; known: {', '.join(IDS)}")
    workers = args.workers or (1 if args.quick else max(1, os.cpu_count() or 1))

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    data = run(args.quick, only, workers, log)
    results_path, markdown_path, img_dir = outputs(args.out, args.quick)
    if set(only) != set(IDS) and results_path.exists():  # a partial run updates the others
        previous = json.loads(results_path.read_text())
        # The machine section keeps describing the full run; what ran now says when and where.
        for result in data["benchmarks"].values():
            result["measured_on"] = {k: data["meta"][k] for k in ("date", "commit", "run_s")}
        data["meta"] = {**data["meta"], **previous.get("meta", {})}
        data["benchmarks"] = {**previous.get("benchmarks", {}), **data["benchmarks"]}
        data["benchmarks"] = {k: data["benchmarks"][k] for k in IDS if k in data["benchmarks"]}
    from bench import report

    results_path.parent.mkdir(parents=True, exist_ok=True)
    data["meta"]["plots"] = report.plots(data, img_dir, require=not args.quick)
    results_path.write_text(json.dumps(data, indent=2, default=_jsonable) + "\n")
    markdown_path.parent.mkdir(parents=True, exist_ok=True)
    markdown_path.write_text(report.markdown(data, markdown_path, results_path, img_dir))
    log(f"wrote {results_path}, {markdown_path} and {img_dir}/ in {data['meta']['run_s']:.0f} s")
    for bid, result in data["benchmarks"].items():
        print(f"{bid}: {result['headline']}")
    return 0
