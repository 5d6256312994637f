"""R7: the real `drift` CLI SIGKILLed at each step boundary of a local run, then rerun.

Every scenario is a real local project (a Delta table written by `deltalake`, a job spec, a
config) and real `drift on-commit` processes. `DRIFT_CRASH_AT=<point>` makes the CLI SIGKILL
itself at that boundary (`drift/backends/crashpoints.py`: deterministic, where an outside signal
timed by the clock would miss a millisecond step). The same command is then rerun, without the
variable, until it exits normally. The training script appends `start <job>` and
`end <job>` to a log outside drift's folders, so the figures count real training processes:

- retrainings run: training processes started; duplicates: more than one for a group and
  data version; lost: a group and data version that never completed a training;
- and per scenario: one registered version per asset, no staging folder left, one job row.

A kill of the CLI leaves the detached job running; `machine-crash` also kills the job's
processes mid-training (a laptop switched off): the rerun reports the job `Failed`, saying it
died, and the documented command (`drift violation --group ... --violation-id ...`) retrains it.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from deltalake import write_deltalake

from drift.backends.crashpoints import ENV, POINTS
from drift.entrypoints.demo import customers
from tests.reliability.support import add, record

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
GROUP = "churn"
SEED = "churn_20260101080000_seed0001"
TRAIN = """\
import os, sys, time
from pathlib import Path
log = Path(__file__).with_name("trainings.log")
with open(log, "a") as f:
    f.write("start " + os.environ["DRIFT_JOB_NAME"] + "\\n")
assert (Path(sys.argv[1]) / "MLTable").is_file(), sys.argv[1]  # the pinned data is published
time.sleep(SECONDS)
with open(log, "a") as f:
    f.write("end " + os.environ["DRIFT_JOB_NAME"] + "\\n")
"""
MAX_RERUNS = 3


class Project:
    """A local drift project with one model group and a table at Delta version 1."""

    def __init__(self, base: Path, train_s: float = 2.0) -> None:
        self.base = base
        table = base / "tables" / "features"
        write_deltalake(table, customers(40, seed=1))
        write_deltalake(table, customers(20, seed=2, start_id=40), mode="append")
        self.commit = str(table / "_delta_log" / f"{1:020d}.json")
        (base / "code").mkdir()
        (base / "code" / "train.py").write_text(TRAIN.replace("SECONDS", str(train_s)))
        (base / "jobs").mkdir()
        spec = {
            "type": "command",
            "name": SEED,
            "code": "../code",
            "command": "python train.py ${{inputs.training_data}}",
            "inputs": {
                "training_data": {"type": "mltable", "path": "azureml:features:20260101080000-v0"}
            },
            "created_at": "2026-01-01T08:00:00Z",
        }
        (base / "jobs" / f"{SEED}.yml").write_text(yaml.safe_dump(spec))
        self.config = base / "drift.yaml"
        self.config.write_text(
            yaml.safe_dump(
                {
                    "backend": "local",
                    "parameters": {
                        "dataAssets": [{"name": "training_data", "value": "features"}],
                        "refreshTimeout": "60",
                        "refreshDelay": "1",
                    },
                    "local": {
                        "workdir": "state",
                        "tablePath": "tables/features",
                        "jobsDir": "jobs",
                    },
                }
            )
        )
        self.state = base / "state"
        self.runs: list[subprocess.CompletedProcess[str]] = []

    def cli(self, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != ENV}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        if crash_at:
            env[ENV] = crash_at
        done = subprocess.run(
            [sys.executable, "-m", "drift", *args],
            cwd=self.base,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        self.runs.append(done)
        return done

    def on_commit(self, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.cli(
            "on-commit", "--config", str(self.config), self.commit, "--json", crash_at=crash_at
        )

    def trainings(self) -> Counter[tuple[str, str]]:
        log = self.base / "code" / "trainings.log"
        lines = log.read_text().split("\n") if log.exists() else []
        return Counter(tuple(line.split(" ", 1)) for line in lines if line)  # type: ignore[misc]

    def job_rows(self) -> list[str]:
        with sqlite3.connect(self.state / "jobs.db") as db:
            return [r[0] for r in db.execute("SELECT name FROM jobs ORDER BY name")]

    def asset_rows(self) -> Counter[str]:
        with sqlite3.connect(self.state / "registry.db") as db:
            return Counter(r[0] for r in db.execute("SELECT name FROM data_assets"))

    def staging_left(self) -> list[Path]:
        assets = self.state / "assets"
        return [p for p in assets.rglob(".*")] if assets.exists() else []

    def job_status(self, job: str) -> dict[str, Any]:
        return json.loads((self.state / "jobs" / job / "status.json").read_text())


def report_of(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode in (0, 1), (done.returncode, done.stderr[-2000:])
    return json.loads(done.stdout)


def rerun_until_done(project: Project) -> tuple[dict[str, Any], int]:
    """Rerun the command until it exits on its own; its report and how many reruns it took."""
    for reruns in range(1, MAX_RERUNS + 1):
        done = project.on_commit()
        if done.returncode in (0, 1):
            return report_of(done), reruns
    raise AssertionError(f"no rerun finished: {[r.returncode for r in project.runs]}")


def wait_until(check: Any, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def check_converged(project: Project, report: dict[str, Any]) -> tuple[int, int, int]:
    """One registration, one job, one completed training; (runs, duplicates, lost)."""
    [row] = report["retrained"]
    assert (row["model_group"], row["status"]) == (GROUP, "Completed"), row
    assert project.asset_rows() == {"features": 1, "features_folder": 1}
    assert project.staging_left() == []
    jobs = [j for j in project.job_rows() if j != SEED]
    assert jobs == [row["job"]]
    trainings = project.trainings()
    started = trainings[("start", row["job"])]
    completed = trainings[("end", row["job"])]
    assert sum(trainings.values()) == started + completed  # no training of another job
    return started, max(0, started - 1), int(completed == 0)


@pytest.mark.parametrize("point", POINTS)
def test_a_kill_at_each_step_boundary_converges_to_one_training(tmp_path: Path, point: str) -> None:
    project = Project(tmp_path)
    crashed = project.on_commit(crash_at=point)
    assert crashed.returncode == -signal.SIGKILL, (crashed.returncode, crashed.stderr[-2000:])

    report, reruns = rerun_until_done(project)

    assert report["data_asset_version"].endswith("-v1")
    runs, duplicates, lost = check_converged(project, report)
    assert (runs, duplicates, lost) == (1, 0, 0), project.trainings()
    add("R7", kills=1, reruns=reruns, retrainings_run=runs, duplicates=duplicates, lost=lost)
    add("R7", boundaries=1, scenarios=1, trainings_completed=1 - lost)


def test_a_kill_at_every_boundary_in_turn_converges(tmp_path: Path) -> None:
    """One run per boundary, each killed one step further on, then one clean rerun. The
    training outlasts a CLI start, so the run after `process-start` still sees it running."""
    project = Project(tmp_path, train_s=10.0)
    for point in POINTS:
        crashed = project.on_commit(crash_at=point)
        assert crashed.returncode == -signal.SIGKILL, (point, crashed.stderr[-2000:])
    report, reruns = rerun_until_done(project)
    runs, duplicates, lost = check_converged(project, report)
    assert (runs, duplicates, lost) == (1, 0, 0), project.trainings()
    add(
        "R7",
        kills=len(POINTS),
        reruns=len(POINTS) - 1 + reruns,
        retrainings_run=runs,
        duplicates=duplicates,
        lost=lost,
        scenarios=1,
        trainings_completed=1 - lost,
    )


def test_a_machine_crash_mid_training_is_failed_then_retrained_by_one_command(
    tmp_path: Path,
) -> None:
    """The CLI and the job's own processes die mid-training: the rerun says the job died,
    and `drift violation --violation-id` retrains the group once."""
    project = Project(tmp_path)
    crashed = project.on_commit(crash_at="mid-training")
    assert crashed.returncode == -signal.SIGKILL
    [job] = [j for j in project.job_rows() if j != SEED]
    status = wait_until(lambda: (s := project.job_status(job)).get("child_pid") and s)
    for pid in (status["pid"], status["child_pid"]):  # each leads its own process group
        os.killpg(pid, signal.SIGKILL)

    done = project.on_commit()
    assert done.returncode == 1
    [row] = report_of(done)["retrained"]
    assert row["status"] == "Failed" and "died" in row["error"], row
    assert "drift violation" in row["error"]
    again = project.on_commit()  # a rerun does not start it again by itself
    assert [r["status"] for r in report_of(again)["retrained"]] == ["Failed"]

    retry = project.cli(
        "violation", "--config", str(project.config), "--group", GROUP,
        "--violation-id", "retry-1", "--json",
    )  # fmt: skip
    assert retry.returncode == 0, retry.stderr[-2000:]
    [retried] = report_of(retry)["retrained"]
    assert retried["status"] == "Completed" and retried["job"] != job
    trainings = project.trainings()
    assert trainings == {
        ("start", job): 1,
        ("start", retried["job"]): 1,
        ("end", retried["job"]): 1,
    }
    add("R7", kills=1, reruns=3, retrainings_run=2, duplicates=0, lost=0)
    add("R7", scenarios=1, trainings_completed=1)
    record("R7", machine_crash_reported_failed=1, machine_crash_retrained_by_one_command=1)


def test_concurrent_runs_on_one_commit_register_and_train_once(tmp_path: Path) -> None:
    """Three `drift on-commit` processes at once on the same commit (a redelivered event
    handled twice, a user's second terminal): one says it registered, one training runs."""
    project = Project(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != ENV}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    args = [sys.executable, "-m", "drift", "on-commit", "--config", str(project.config)]
    procs = [
        subprocess.Popen(
            [*args, project.commit, "--json"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        reports.append(json.loads(out))

    assert sorted(r["newly_registered"] for r in reports) == [False, False, True]
    assert len({r["retrained"][0]["job"] for r in reports}) == 1
    runs, duplicates, lost = check_converged(project, reports[0])
    assert (runs, duplicates, lost) == (1, 0, 0), project.trainings()
    record("R7", concurrent_runs=3, concurrent_newly_registered_true=1, concurrent_trainings=runs)
