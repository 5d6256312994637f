"""The bundle's two tasks run the way a Databricks `python_wheel_task` runs them.

A wheel task does not run the console script. It puts the task's parameters in `sys.argv`,
finds the entry point in the installed package's metadata, loads it and calls the function;
what the function returns is dropped, so only an exception or `SystemExit` fails the task
(the same call databricks/cli writes for its wheel wrapper, bundle/trampoline/python_wheel.go:
`entry[0].load()()`). Parameters come from `infra/databricks/databricks.yml`, and the task
value the first task publishes is handed to the second through the reference the bundle uses.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from drift.entrypoints import task_values
from tests.e2e.test_cli import make_project

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e

WHEEL_TASK = """
import sys
from importlib import metadata

package, entry_point, *parameters = sys.argv[1:]
sys.argv = [package, *parameters]
[entry] = [
    ep
    for ep in metadata.distribution(package).entry_points
    if ep.name == entry_point and ep.group == "console_scripts"
]
entry.load()()  # the return value is dropped
"""


def run_task(task: dict, config: Path, version: str | None = None) -> subprocess.CompletedProcess:
    """One bundle task as the wheel task runs it, with `--var config=<config>`."""
    wheel = task["python_wheel_task"]
    values = {"${var.config}": str(config), "${var.tenant}": "", "${var.vault_name}": ""}
    if version is not None:
        values[task_values.reference()] = version
    params = [values.get(p, p) for p in wheel["parameters"]]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DATABRICKS_RUNTIME_VERSION", None)
    return subprocess.run(
        [sys.executable, "-c", WHEEL_TASK, wheel["package_name"], wheel["entry_point"], *params],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=600,
    )


def bundle_tasks() -> dict[str, dict]:
    bundle = yaml.safe_load((ROOT / "infra" / "databricks" / "databricks.yml").read_text())
    return {t["task_key"]: t for t in bundle["resources"]["jobs"]["retraining_models"]["tasks"]}


def published_version(out: str) -> str:
    line = next(x for x in out.splitlines() if x.startswith(f"{task_values.VERSION_KEY}="))
    return line.split("=", 1)[1]


def register_then_retrain(config: Path) -> subprocess.CompletedProcess:
    """The bundle's two tasks in order, the version the first publishes handed to the second;
    the registration must pass."""
    registrator, retrainer = bundle_tasks().values()
    registered = run_task(registrator, config)
    assert registered.returncode == 0, registered.stderr
    return run_task(retrainer, config, published_version(registered.stdout))


def test_a_failed_retraining_fails_the_wheel_task(tmp_path: Path) -> None:
    config = make_project(tmp_path, command="python -c \"import sys; sys.exit('bad data')\"")
    retrained = register_then_retrain(config)
    assert retrained.returncode == 1, retrained.stdout + retrained.stderr
    assert '"status": "Failed"' in retrained.stdout


def test_a_completed_retraining_passes_the_wheel_task(tmp_path: Path) -> None:
    retrained = register_then_retrain(make_project(tmp_path))
    assert retrained.returncode == 0, retrained.stdout + retrained.stderr
    assert '"status": "Completed"' in retrained.stdout


def test_bad_input_fails_the_wheel_task(tmp_path: Path) -> None:
    registrator, _ = bundle_tasks().values()
    missing = run_task(registrator, tmp_path / "missing.yaml")
    assert missing.returncode == 2
    assert "missing.yaml" in missing.stderr
