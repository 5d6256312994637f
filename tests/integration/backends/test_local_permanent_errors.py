"""Local errors that waiting cannot fix fail at once (issue 12, item 5): no activity retry.

Each run goes through the real `drift_retrain` orchestrator on a virtual clock: a retried
activity waits 5 s of that clock between attempts, so an unmoved clock proves no retry."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from deltalake import write_deltalake

from drift.domain.config import load_config
from drift.entrypoints.demo import customers
from drift.entrypoints.local_run import RunFailed, run_retrain
from drift.runtime.runtime import VirtualClock
from drift.wiring.bootstrap import build_services
from tests.e2e.test_cli import make_project

START = datetime(2026, 3, 1, tzinfo=UTC)


def run_failing(config: Path, request: dict, match: str) -> None:
    clock = VirtualClock(START)
    services = build_services(load_config(config))
    with pytest.raises(RunFailed, match=match):
        run_retrain(services, request, clock=clock)
    assert clock.now() == START  # failed on the first attempt: no retry timer ran


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_missing_data_file_named_by_a_commit_is_not_retried(
    tmp_path: Path, dry_run: bool
) -> None:
    config = make_project(tmp_path)
    doc = yaml.safe_load(config.read_text())
    doc["retraining"] = {"policy": {"trigger": "on_drift"}}  # reads the data to decide
    config.write_text(yaml.safe_dump(doc))
    table = tmp_path / "tables" / "features"
    write_deltalake(table, customers(20, seed=2, start_id=120), mode="append")
    log = (table / "_delta_log" / f"{1:020d}.json").read_text().splitlines()
    added = [json.loads(line)["add"]["path"] for line in log if '"add"' in line]
    assert added
    for name in added:
        (table / name).unlink()

    run_failing(config, {"delta_version": 1, "dry_run": dry_run}, "a data file its log names")


@pytest.mark.parametrize("dry_run", [True, False])
def test_an_invalid_job_spec_is_not_retried(tmp_path: Path, dry_run: bool) -> None:
    config = make_project(tmp_path)
    spec = tmp_path / "jobs" / "churn_20260101080000_seed0001.yml"
    doc = yaml.safe_load(spec.read_text())
    doc["inputs"] = ["training_data"]
    spec.write_text(yaml.safe_dump(doc))

    run_failing(config, {"dry_run": dry_run}, r"invalid job spec .*seed0001\.yml: key 'inputs'")


def test_a_job_that_cannot_start_is_an_error_row_at_once(tmp_path: Path) -> None:
    config = make_project(tmp_path)
    spec = tmp_path / "jobs" / "churn_20260101080000_seed0001.yml"
    doc = yaml.safe_load(spec.read_text())
    doc["command"] = "python train.py --out ${{outputs.nowhere}}"
    spec.write_text(yaml.safe_dump(doc))
    clock = VirtualClock(START)

    report = run_retrain(build_services(load_config(config)), {}, clock=clock)

    [row] = report["retrained"]
    assert row["status"] == "Error" and "outputs.nowhere" in row["error"]
    assert clock.now() == START
