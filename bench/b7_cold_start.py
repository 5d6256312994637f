"""B7 cold start: what importing the Functions app costs before the first event is handled.

drift: `import function_app` (what the Python worker does when it indexes the functions).
Baseline: `import azure.functions, azure.durable_functions`, the libraries no Durable
Functions app can do without. Both are measured side by side in one run, alternating, each
import in a fresh interpreter (`python -c`), after one unmeasured warm-up each (bytecode
compiled, files in the page cache, as on a warm host). Time is the import alone
(`time.perf_counter` around it); memory is the process's peak resident set
(`ru_maxrss`) after it, the interpreter included, as the host sees it. Goal (issue 13): at
most 1.5x the baseline in both.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

Json = dict[str, Any]

ID = "B7"
TITLE = "Cold start: importing the Functions app against the Functions libraries alone"
ROOT = Path(__file__).resolve().parents[1]
GOAL = 1.5
# Libraries only activities (or the CLI and the demo) need: none may load at index time.
HEAVY = (
    "scipy",
    "pandas",
    "mltable",
    "deltalake",
    "azure.ai.ml",
    "numpy",
    "pyarrow",
    "sklearn",
    "databricks.sdk",
    "azure.storage",
    "azure.identity",
    "azure.keyvault",
    "matplotlib",
)
BASELINE = "azure.functions, azure.durable_functions"
# This benchmark, full run, at the commit before the heavy imports moved into the activities,
# on the same machine a minute before the run recorded in results.json (both while other work
# shared its 2 cores: the ratios matter, not the absolute times). Kept so the results say
# what changed.
BEFORE: Json = {
    "commit": "b011ebb",
    "import_s": 5.468,
    "maxrss_mib": 253.8,
    "modules": 2156,
    "heavy_loaded": ["scipy", "pandas", "mltable", "deltalake", "numpy", "pyarrow"],
    "baseline_import_s": 0.933,
    "baseline_maxrss_mib": 81.8,
    "time_x": 5.86,
    "memory_x": 3.1,
}
APP = "function_app"


_PROBE = """
import json, resource, sys, time
t0 = time.perf_counter()
import {target}
elapsed = time.perf_counter() - t0
heavy = {heavy!r}
print(json.dumps({{
    "import_s": elapsed,
    "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "modules": len(sys.modules),
    "heavy": [h for h in heavy if h in sys.modules],
}}))
"""


def probe(target: str, root: Path = ROOT) -> Json:
    """Import `target` in a fresh interpreter at `root`; its time, peak memory and modules."""
    path = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH", "")]))
    env = {**os.environ, "PYTHONPATH": path}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(target=target, heavy=HEAVY)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"import {target} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def repeats(quick: bool) -> int:
    return 3 if quick else 15


def measure(quick: bool, root: Path = ROOT) -> Json:
    n = repeats(quick)
    load = os.getloadavg()[0]
    probe(BASELINE, root)  # warm-up: bytecode and page cache, unmeasured
    probe(APP, root)
    base: list[Json] = []
    app: list[Json] = []
    for _ in range(n):  # alternating, so that machine noise falls on both alike
        base.append(probe(BASELINE, root))
        app.append(probe(APP, root))
    measured = _figures(app)
    baseline = _figures(base)
    time_x = measured["import_s"] / baseline["import_s"]
    memory_x = measured["maxrss_mib"] / baseline["maxrss_mib"]
    return {
        "parameters": {
            "measured": f"import {APP}",
            "baseline": f"import {BASELINE}",
            "repeats": n,
            "process": "a fresh `python -c` per import, alternating, after one warm-up each",
            "time": "time.perf_counter() around the import (interpreter start excluded)",
            "memory": "ru_maxrss of the process after the import (interpreter included)",
            "goal": f"at most {GOAL}x the baseline in time and in memory",
            "load_average_1m": round(load, 2),
        },
        "measured": {**measured, "heavy_loaded": app[-1]["heavy"]},
        "baseline": {**baseline, "heavy_loaded": base[-1]["heavy"]},
        "ratio": {"time_x": time_x, "memory_x": memory_x},
        "within_goal": time_x <= GOAL and memory_x <= GOAL,
        "samples": {"app": app, "baseline": base},
        "before": BEFORE,
        "headline": (
            f"import function_app: {measured['import_s'] * 1e3:.0f} ms, "
            f"{measured['maxrss_mib']:.0f} MiB; the Functions libraries alone: "
            f"{baseline['import_s'] * 1e3:.0f} ms, {baseline['maxrss_mib']:.0f} MiB "
            f"({time_x:.2f}x the time, {memory_x:.2f}x the memory)"
        ),
        "notes": [
            "Medians over the repeats. The heavy libraries (" + ", ".join(HEAVY) + ") load "
            "inside the activities and commands that use them; `heavy_loaded` lists any that "
            "importing the app loaded (tests/functions/test_cold_start.py checks it is empty).",
            f"`before`: this benchmark on commit {BEFORE['commit']} (heavy imports at index "
            f"time), run just before on the same machine: {BEFORE['time_x']:.2f}x the time and "
            f"{BEFORE['memory_x']:.2f}x the memory of the libraries alone. The cores were shared "
            "with other work, so absolute times vary between runs; the side-by-side ratios much "
            "less.",
        ],
    }


def _figures(samples: list[Json]) -> Json:
    return {
        "import_s": statistics.median(s["import_s"] for s in samples),
        "maxrss_mib": statistics.median(s["maxrss_mib"] for s in samples),
        "modules": statistics.median(s["modules"] for s in samples),
    }
