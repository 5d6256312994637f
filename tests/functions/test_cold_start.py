"""Indexing the app loads no heavy library: they load inside the activities that use them.

Not a timing test (bench B7 measures the time and memory): it checks, in a fresh interpreter,
which modules `import function_app` leaves in `sys.modules`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.b7_cold_start import HEAVY

ROOT = Path(__file__).resolve().parents[2]
# Also kept out of indexing: the CLI's libraries and the config's pydantic models, which load
# with the first invocation (they weigh as much as the durable SDK itself).
# drift's own events publish with azure-eventgrid, which needs azure-core like every Azure SDK.
ALSO_DEFERRED = (
    "pydantic",
    "yaml",
    "rich",
    "typer",
    "matplotlib",
    "drift.domain.config",
    "drift.domain.policy",
    "azure.eventgrid",
    "azure.core",
)
# Every function the blueprints register, the ones added since the lazy imports included: a
# blueprint left out of function_app.py would pass the module check above unnoticed.
FUNCTIONS = {
    "drift_on_storage_event",
    "drift_on_job_event",
    "drift_http_retrain",
    "drift_http_violation",
    "drift_http_runs",
    "drift_http_run_status",
    "drift_http_report",
    "drift_http_databricks_run",
    "drift_weekly",
    "drift_retrain",
    "drift_monitor_job",
    "drift_commit_intake",
    "drift_table",
    "drift_job_watch",
}


def loaded_after(statement: str) -> tuple[list[str], list[str]]:
    """(every module loaded, the functions the app registered) in a fresh interpreter."""
    code = (
        "import json, sys\n"
        f"{statement}\n"
        "import function_app\n"
        "names = [f.get_function_name() for f in function_app.app.get_functions()]\n"
        "print(json.dumps([sorted(sys.modules), names]))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    modules, names = json.loads(out.stdout.strip().splitlines()[-1])
    return modules, names


def _imported(modules: list[str], name: str) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


def test_importing_the_app_imports_no_heavy_module() -> None:
    modules, names = loaded_after("pass")
    assert [h for h in HEAVY + ALSO_DEFERRED if _imported(modules, h)] == []
    # ... and still registers every function (the activities' names come from drift).
    from drift.durable.activities import ACTIVITIES

    assert sorted(names) == sorted(FUNCTIONS | set(ACTIVITIES))


def test_the_check_sees_a_heavy_module_when_one_is_loaded() -> None:
    """The probe itself works: what an activity imports when it runs shows up."""
    modules, _ = loaded_after("import drift.domain.policy")
    assert [h for h in ("scipy", "numpy", "pyarrow") if _imported(modules, h)] == [
        "scipy",
        "numpy",
        "pyarrow",
    ]
