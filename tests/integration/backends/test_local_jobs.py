"""LocalJobs with real processes: the demo churn job trains on a real Delta table via MLTable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mltable
import pandas as pd
import pytest
import yaml
from deltalake import write_deltalake

from drift.backends.local_jobs import JobSpecError, JobSubmitError, LocalJobs
from drift.domain.types import JobInput, JobState

DEMO = Path(__file__).resolve().parents[3] / "drift" / "demo_assets"
SEED = "churn_20260101080000_seed0001"
ASSET = "seat_spinning_features"
ROWS = 48


def wait_for(check: Callable[[], Any], timeout_s: float = 30.0, what: str = "condition") -> Any:
    """Poll until `check()` is truthy; bounded so a broken job fails the test, not hangs it."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


def wait_state(jobs: LocalJobs, name: str, *statuses: str, timeout_s: float = 60.0) -> JobState:
    def reached() -> JobState | None:
        state = jobs.get_state(name)
        return state if state.status in statuses else None

    return wait_for(reached, timeout_s, f"{name} to reach {statuses}")


def gone(pid: int) -> bool:
    """True once `pid` no longer runs (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def status_file(jobs_workdir: Path, name: str) -> dict[str, Any]:
    return json.loads((jobs_workdir / "jobs" / name / "status.json").read_text())


def churn_frame(rows: int) -> pd.DataFrame:
    ids = list(range(rows))
    return pd.DataFrame(
        {
            "customer_id": ids,
            "tenure_months": [1 + (i * 7) % 60 for i in ids],
            "monthly_spend": [10.0 + (i * 13) % 90 for i in ids],
            "support_calls": [(i * 3) % 8 for i in ids],
            "plan": [("basic", "pro", "team")[i % 3] for i in ids],
            "churned": [int((i * 3) % 8 > 4 or 1 + (i * 7) % 60 < 8) for i in ids],
        }
    )


@pytest.fixture
def mltable_folder(tmp_path: Path) -> Path:
    table = tmp_path / "delta" / "seat_spinning_features"
    write_deltalake(str(table), churn_frame(ROWS))
    write_deltalake(str(table), churn_frame(5), mode="append")  # version 1: must not leak in
    folder = tmp_path / "assets" / "seat_spinning_features" / "v1"
    mltable.from_delta_lake(str(table), version_as_of=0).save(str(folder))
    return folder


@pytest.fixture
def assets(mltable_folder: Path) -> dict[tuple[str, str], str]:
    return {(ASSET, "v1"): str(mltable_folder)}


def make_jobs(workdir: Path, jobs_dir: Path, assets: dict[tuple[str, str], str]) -> LocalJobs:
    return LocalJobs(
        workdir, jobs_dir, lambda name, version: assets.get((name, version)), cancel_wait_s=10.0
    )


@pytest.fixture
def created() -> Iterator[list[LocalJobs]]:
    """Every LocalJobs a test makes; on teardown whatever still runs is cancelled."""
    made: list[LocalJobs] = []
    yield made
    for jobs in made:
        for job in jobs.list_jobs():
            jobs.cancel(job.name)


@pytest.fixture
def demo_jobs(tmp_path: Path, assets: dict, created: list[LocalJobs]) -> LocalJobs:
    jobs = make_jobs(tmp_path / "work", DEMO / "jobs", assets)
    created.append(jobs)
    return jobs


def write_spec(jobs_dir: Path, stem: str, body: dict[str, Any] | str) -> Path:
    jobs_dir.mkdir(parents=True, exist_ok=True)
    path = jobs_dir / f"{stem}.yml"
    path.write_text(body if isinstance(body, str) else yaml.safe_dump(body, sort_keys=False))
    return path


def command_spec(name: str, command: str, code: str = "code") -> dict[str, Any]:
    return {
        "$schema": "https://azuremlschemas.azureedge.net/latest/commandJob.schema.json",
        "type": "command",
        "name": name,
        "display_name": name.split("_")[0],
        "experiment_name": name.split("_")[0],
        "code": code,
        "command": command,
        "inputs": {"training_data": {"type": "mltable", "path": f"azureml:{ASSET}:v1"}},
        "outputs": {"model": {"type": "uri_folder"}},
        "created_at": "2026-01-01T08:00:00Z",
    }


@pytest.fixture
def scratch(tmp_path: Path, assets: dict, created: list[LocalJobs]) -> Callable[..., LocalJobs]:
    """LocalJobs over test-only seed specs whose commands run from `tmp_path/seeds/code`."""
    seeds = tmp_path / "seeds"
    (seeds / "code").mkdir(parents=True)

    def build(**commands: str) -> LocalJobs:
        for name, command in commands.items():
            write_spec(seeds, name, command_spec(name, command))
        jobs = make_jobs(tmp_path / "work", seeds, assets)
        created.append(jobs)
        return jobs

    return build


SLEEPER = "python -c \"import time; print('started', flush=True); time.sleep(60)\""


# Listing ------------------------------------------------------------------------------------


def test_list_jobs_reads_the_demo_seed_spec(demo_jobs: LocalJobs) -> None:
    jobs = demo_jobs.list_jobs()
    assert sorted(job.name.split("_")[0] for job in jobs) == ["churn", "fraud", "upsell"]
    [seed] = [job for job in jobs if job.name == SEED]
    assert seed.inputs == {
        "training_data": JobInput("mltable", f"azureml:{ASSET}:20260101080000-v0")
    }  # the literal n_estimators input is not a data input
    assert (seed.display_name, seed.experiment_name) == ("churn", "churn")
    assert seed.created_at == datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    assert seed.tags == {"model": "churn"}
    assert demo_jobs.get_job(SEED) == seed
    assert demo_jobs.list_jobs(["churn"]) == [seed]
    assert demo_jobs.get_state(SEED).status == "Completed"
    assert demo_jobs.get_job("churn_20260101080000_nope") is None
    with pytest.raises(KeyError, match="churn_20260101080000_nope"):
        demo_jobs.get_state("churn_20260101080000_nope")


def test_list_jobs_filters_by_exact_group_prefix(tmp_path: Path, assets: dict) -> None:
    seeds = tmp_path / "seeds"
    (seeds / "code").mkdir(parents=True)
    write_spec(seeds, "a", command_spec("churn_20260101080000_Ab12", "true"))
    write_spec(seeds, "b", command_spec("churn_v2_20260101090000_x", "true"))
    write_spec(seeds, "c", command_spec("adhoc-experiment", "true"))
    unnamed = command_spec("ignored", "true")
    del unnamed["name"]
    unnamed["created_at"] = "2025-12-31T23:59:59Z"
    write_spec(seeds, "fraud_20251231235959_zz9", unnamed)  # name falls back to the file stem
    jobs = make_jobs(tmp_path / "work", seeds, assets)

    assert {job.name for job in jobs.list_jobs()} == {
        "churn_20260101080000_Ab12",
        "churn_v2_20260101090000_x",
        "adhoc-experiment",
        "fraud_20251231235959_zz9",
    }
    assert [job.name for job in jobs.list_jobs(["churn"])] == ["churn_20260101080000_Ab12"]
    assert [job.name for job in jobs.list_jobs(["churn_v2", "fraud"])] == [
        "fraud_20251231235959_zz9",
        "churn_v2_20260101090000_x",
    ]  # oldest first
    assert jobs.list_jobs(["chu"]) == []
    assert jobs.list_jobs([]) == []


# Running ------------------------------------------------------------------------------------


def test_submit_clone_trains_the_churn_model(
    demo_jobs: LocalJobs, tmp_path: Path, mltable_folder: Path, assets: dict
) -> None:
    name = "churn_20260102090000_Run01"
    bound = {"training_data": JobInput("mltable", f"azureml:{ASSET}:v1")}
    job = demo_jobs.submit_clone(SEED, name, bound, {"drift.asset": f"{ASSET}:v1"})

    assert job.name == name
    assert job.inputs == bound
    assert job.tags == {"model": "churn", "drift.asset": f"{ASSET}:v1"}
    assert (job.display_name, job.experiment_name) == ("churn", "churn")
    assert job.created_at is not None and job.created_at > datetime(2026, 1, 1, tzinfo=UTC)

    state = wait_state(demo_jobs, name, "Completed", "Failed", "NotResponding")
    assert state.status == "Completed", state.error
    assert state.started_at is not None and state.ended_at is not None
    assert state.started_at.tzinfo is not None and state.started_at <= state.ended_at

    job_dir = tmp_path / "work" / "jobs" / name
    metrics = json.loads((job_dir / "outputs" / "model" / "metrics.json").read_text())
    assert metrics["rows"] == ROWS  # version 0 only: the appended rows are not in it
    assert metrics["data"] == str(mltable_folder)
    assert metrics["n_estimators"] == 50  # the literal input reached the command
    assert 0.0 <= metrics["accuracy"] <= 1.0
    assert (job_dir / "outputs" / "model" / "model.pkl").stat().st_size > 0
    assert f"trained churn model on {ROWS} rows" in Path(state.log_path or "").read_text()

    spec = yaml.safe_load((job_dir / "job.yml").read_text())
    assert spec["name"] == name
    assert spec["code"] == str((DEMO / "models" / "churn").resolve())
    assert spec["inputs"]["training_data"] == {"type": "mltable", "path": f"azureml:{ASSET}:v1"}
    assert spec["inputs"]["n_estimators"] == 50

    # Another process (a later CLI call) sees the job and its outcome.
    later = make_jobs(tmp_path / "work", DEMO / "jobs", assets)
    assert [j.name for j in later.list_jobs(["churn"])] == [SEED, name]
    assert later.get_job(name) == job
    assert later.get_state(name).status == "Completed"


def test_submitting_the_same_name_again_starts_nothing(
    scratch: Callable[..., LocalJobs], tmp_path: Path, assets: dict, created: list[LocalJobs]
) -> None:
    record_run = (
        "python -c \"import os, time; open('runs.txt', 'a').write(os.environ['DRIFT_JOB_NAME']"
        " + '\\n'); time.sleep(1)\""
    )
    jobs = scratch(counter_20260101080000_seed=record_run)
    bound = {"training_data": JobInput("mltable", f"azureml:{ASSET}:v1")}
    first = jobs.submit_clone("counter_20260101080000_seed", "counter_20260102080000_a", bound, {})
    again = jobs.submit_clone(
        "counter_20260101080000_seed", "counter_20260102080000_a", bound, {"other": "tag"}
    )
    assert again == first

    # Concurrent submits from separate processes' worth of LocalJobs race for one new name.
    racers = [make_jobs(tmp_path / "work", tmp_path / "seeds", assets) for _ in range(4)]
    created.extend(racers)
    results: list[str] = []
    threads = [
        threading.Thread(
            target=lambda j=j: results.append(
                j.submit_clone(
                    "counter_20260101080000_seed", "counter_20260102080000_b", bound, {}
                ).name
            )
        )
        for j in racers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["counter_20260102080000_b"] * 4

    for name in ("counter_20260102080000_a", "counter_20260102080000_b"):
        assert wait_state(jobs, name, "Completed", "Failed").status == "Completed"
    runs = (tmp_path / "seeds" / "code" / "runs.txt").read_text().split()
    assert sorted(runs) == ["counter_20260102080000_a", "counter_20260102080000_b"]


def test_a_failing_training_run_is_failed_with_its_log_tail(
    demo_jobs: LocalJobs, tmp_path: Path, assets: dict
) -> None:
    table = tmp_path / "delta" / "no_label"
    write_deltalake(str(table), churn_frame(10).drop(columns=["churned"]))
    folder = tmp_path / "assets" / "no_label"
    mltable.from_delta_lake(str(table), version_as_of=0).save(str(folder))
    assets[(ASSET, "nolabel")] = str(folder)
    name = "churn_20260102100000_Bad01"

    demo_jobs.submit_clone(
        SEED, name, {"training_data": JobInput("mltable", f"azureml:{ASSET}:nolabel")}, {}
    )
    state = wait_state(demo_jobs, name, "Completed", "Failed", "NotResponding")

    assert state.status == "Failed"
    assert state.error is not None
    assert "exit code 2" in state.error
    assert "lacks columns ['churned']" in state.error
    assert len(state.error) < 1000
    assert state.ended_at is not None and state.log_path is not None
    assert status_file(tmp_path / "work", name)["exit_code"] == 2


def test_cancel_stops_a_hanging_job(scratch: Callable[..., LocalJobs], tmp_path: Path) -> None:
    jobs = scratch(hang_20260101080000_seed=SLEEPER)
    name = "hang_20260102080000_x1"
    jobs.submit_clone("hang_20260101080000_seed", name, {}, {})
    assert wait_state(jobs, name, "Running").status == "Running"
    status = wait_for(
        lambda: (s := status_file(tmp_path / "work", name)).get("child_pid") and s,
        what="the command to start",
    )

    jobs.cancel(name)

    state = jobs.get_state(name)
    assert state.status == "Canceled"
    assert state.ended_at is not None and state.terminal
    assert wait_for(lambda: gone(status["child_pid"]), 10, "the command to exit")
    assert wait_for(lambda: gone(status["pid"]), 10, "the wrapper to exit")
    jobs.cancel(name)  # already ended: not an error, and stays Canceled
    jobs.cancel(SEED)
    jobs.cancel("hang_20260101080000_seed")
    jobs.cancel("never_20260101080000_submitted")
    assert jobs.get_state(name).status == "Canceled"


def test_a_killed_wrapper_is_failed_at_the_next_poll_and_its_command_stopped(
    scratch: Callable[..., LocalJobs], tmp_path: Path
) -> None:
    jobs = scratch(hang_20260101080000_seed=SLEEPER)
    name = "hang_20260102080000_k9"
    jobs.submit_clone("hang_20260101080000_seed", name, {}, {})
    status = wait_for(
        lambda: (s := status_file(tmp_path / "work", name)).get("child_pid") and s,
        what="the command to start",
    )

    os.kill(status["pid"], signal.SIGKILL)

    state = wait_state(jobs, name, "Failed", timeout_s=10)
    assert state.terminal and str(status["pid"]) in (state.error or "")
    assert "died mid-training" in (state.error or "") and "drift violation" in (state.error or "")
    assert wait_for(lambda: gone(status["child_pid"]), 10, "the orphan to exit")
    jobs.cancel(name)  # ended: nothing to do
    assert jobs.get_state(name).status == "Failed"
    assert jobs.submit_clone("hang_20260101080000_seed", name, {}, {}).name == name
    assert jobs.get_state(name).status == "Failed"  # a retried submit does not run it again


# Errors -------------------------------------------------------------------------------------


def test_an_unresolvable_asset_fails_the_submit_and_leaves_no_job(
    demo_jobs: LocalJobs, tmp_path: Path
) -> None:
    name = "churn_20260102110000_Miss1"
    for path in (f"azureml:{ASSET}:404", f"azureml:{ASSET}@latest"):
        with pytest.raises(JobSubmitError, match=r"training_data.*" + ASSET):
            demo_jobs.submit_clone(SEED, name, {"training_data": JobInput("mltable", path)}, {})
    assert demo_jobs.get_job(name) is None
    assert not (tmp_path / "work" / "jobs" / name).exists()
    with pytest.raises(KeyError, match="churn_20200101000000_none"):
        demo_jobs.submit_clone("churn_20200101000000_none", name, {}, {})


def test_a_command_using_an_undeclared_output_fails_the_submit(
    scratch: Callable[..., LocalJobs],
) -> None:
    jobs = scratch(out_20260101080000_seed="python x.py --out ${{outputs.report}}")
    with pytest.raises(JobSubmitError, match=r"outputs\.report"):
        jobs.submit_clone("out_20260101080000_seed", "out_20260102080000_a", {}, {})


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda s: s.pop("command"), "command"),
        (lambda s: s.update(inputs=["training_data"]), "inputs"),
        (
            lambda s: s["inputs"]["training_data"].update(path=["a", "b"]),
            "inputs.training_data.path",
        ),
        (lambda s: s.update(type="pipeline"), "type"),
        (lambda s: s.update(name="bad name!"), "name"),
        (lambda s: s.update(created_at="yesterday"), "created_at"),
        (lambda s: s.update(outputs={"model": "uri_folder"}), "outputs.model"),
    ],
)
def test_a_malformed_spec_names_the_file_and_key(
    tmp_path: Path, assets: dict, change: Callable[[dict], Any], key: str
) -> None:
    spec = command_spec("churn_20260101080000_seed", "true")
    change(spec)
    path = write_spec(tmp_path / "seeds", "broken", spec)
    jobs = make_jobs(tmp_path / "work", tmp_path / "seeds", assets)
    with pytest.raises(JobSpecError) as caught:
        jobs.list_jobs()
    assert caught.value.key == key
    assert str(path) in str(caught.value) and repr(key) in str(caught.value)


def test_a_spec_that_is_not_yaml_names_the_file(tmp_path: Path, assets: dict) -> None:
    path = write_spec(tmp_path / "seeds", "garbled", "name: [unclosed\ncommand: x\n")
    jobs = make_jobs(tmp_path / "work", tmp_path / "seeds", assets)
    with pytest.raises(JobSpecError, match=r"garbled\.yml.*not valid YAML"):
        jobs.get_job("anything")
    assert isinstance(JobSpecError(path, None, "x"), ValueError)


# Crashes ------------------------------------------------------------------------------------

CRASHING_SUBMIT = """
import sys
from pathlib import Path
from drift.backends.local_jobs import LocalJobs
from drift.domain.types import JobInput
work, seeds, folder = (Path(a) for a in sys.argv[1:4])
jobs = LocalJobs(work, seeds, lambda name, version: str(folder))
bound = {"training_data": JobInput("mltable", "azureml:" + sys.argv[4] + ":v1")}
jobs.submit_clone("counter_20260101080000_seed", "counter_20260102080000_c", bound, {})
"""


def submit_in_a_process_killed_at(point: str, tmp_path: Path, folder: Path) -> None:
    """Run a submit in another process that SIGKILLs itself at `point`
    (drift/backends/crashpoints.py)."""
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "DRIFT_CRASH_AT": point, "PYTHONPATH": str(root)}
    args = [str(tmp_path / "work"), str(tmp_path / "seeds"), str(folder), ASSET]
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_SUBMIT, *args], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]


RECORD_RUN = (
    "python -c \"import os, time; open('runs.txt', 'a').write(os.environ['DRIFT_JOB_NAME']"
    " + '\\n'); time.sleep(1)\""
)


@pytest.mark.parametrize("point", ["job-row", "job-folder", "process-start"])
@pytest.mark.parametrize("found_by", ["submit", "poll"])
def test_a_submit_killed_at_any_step_runs_the_job_exactly_once(
    scratch: Callable[..., LocalJobs],
    tmp_path: Path,
    mltable_folder: Path,
    point: str,
    found_by: str,
) -> None:
    jobs = scratch(counter_20260101080000_seed=RECORD_RUN)
    name = "counter_20260102080000_c"
    submit_in_a_process_killed_at(point, tmp_path, mltable_folder)
    assert jobs.get_job(name) is not None  # the row is there whatever the step

    if found_by == "submit":  # a rerun plans the same name and submits it again
        bound = {"training_data": JobInput("mltable", f"azureml:{ASSET}:v1")}
        jobs.submit_clone("counter_20260101080000_seed", name, bound, {})
    assert wait_state(jobs, name, "Completed", "Failed").status == "Completed"
    assert jobs.get_state(name).status == "Completed"
    runs = (tmp_path / "seeds" / "code" / "runs.txt").read_text().split()
    assert runs == [name]


def test_a_job_never_started_and_without_a_folder_can_be_cancelled(
    scratch: Callable[..., LocalJobs], tmp_path: Path, mltable_folder: Path
) -> None:
    jobs = scratch(counter_20260101080000_seed=RECORD_RUN)
    name = "counter_20260102080000_c"
    submit_in_a_process_killed_at("job-row", tmp_path, mltable_folder)
    assert not (tmp_path / "work" / "jobs" / name).exists()

    jobs.cancel(name)

    assert jobs.get_state(name).status == "Canceled"
    assert not (tmp_path / "seeds" / "code" / "runs.txt").exists()


@pytest.mark.parametrize("kind", ["fifo", "deep"])
def test_a_hostile_spec_file_names_the_file(tmp_path: Path, assets: dict, kind: str) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    path = seeds / "churn_20260101080000_seed.yml"
    if kind == "fifo":
        os.mkfifo(path)  # nobody writes to it: reading it would block forever
        problem = "not a regular file"
    else:
        path.write_text("command: " + "[" * 5000 + "]" * 5000 + "\n")
        problem = "nested too deeply"
    jobs = make_jobs(tmp_path / "work", seeds, assets)
    with pytest.raises(JobSpecError, match=problem) as caught:
        jobs.list_jobs()
    assert str(path) in str(caught.value)


def test_a_wrapper_from_before_the_job_lock_is_not_taken_for_dead(
    scratch: Callable[..., LocalJobs], tmp_path: Path, mltable_folder: Path
) -> None:
    """A job started by an older drift (its wrapper holds no lock) still running at the
    upgrade is recognised by its pid and command line, not marked Failed."""
    jobs = scratch(counter_20260101080000_seed=RECORD_RUN)
    name = "counter_20260102080000_c"
    submit_in_a_process_killed_at("job-folder", tmp_path, mltable_folder)  # folder, no process
    job_dir = tmp_path / "work" / "jobs" / name
    root = Path(__file__).resolve().parents[3]
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "drift.backends.local_job_process", str(job_dir)],
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: status_file(tmp_path / "work", name).get("status") == "Running")
        assert jobs.get_state(name).status == "Running"
    finally:
        wrapper.wait(timeout=30)
    assert jobs.get_state(name).status == "Completed"
    assert (tmp_path / "seeds" / "code" / "runs.txt").read_text().split() == [name]
