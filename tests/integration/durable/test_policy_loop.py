"""The retraining policy inside the real orchestrators: per group, retrain, skip or block, and
compare against the version the group last trained on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from deltalake import write_deltalake

from drift.backends.local_commits import LocalCommits
from drift.backends.local_registry import LocalRegistry
from drift.domain.config import parse_config
from drift.entrypoints.local_run import run_retrain
from drift.reporting.report import any_failed
from drift.reporting.run_history import LocalRunHistory
from drift.runtime.runtime import VirtualClock
from drift.wiring.bootstrap import Services
from tests.fakes import FakeJobs
from tests.integration.durable.test_orchestration import START, seed_jobs

POLICY = {
    "policy": {"trigger": "on_drift", "driftThreshold": 0.1, "sampleRows": 5000},
    "groups": {
        "churn": {"trigger": "always"},
        "Upsell": {"validate": {"columns": {"x": {"max": 100}}}},
    },
}


def rows(mean: float, n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(mean, 5, n), "kind": rng.choice(["a", "b"], n)})


def services_for(tmp_path: Path, jobs: FakeJobs) -> Services:
    table = tmp_path / "table"
    write_deltalake(table, rows(50))
    config = parse_config(
        {
            "backend": "local",
            "parameters": {"dataAssets": [{"name": "training_data", "value": "features"}]},
            "retraining": POLICY,
            "local": {
                "workdir": str(tmp_path / "state"),
                "tablePath": str(table),
                "jobsDir": str(tmp_path / "jobs"),
            },
        }
    )
    state = tmp_path / "state"
    return Services(
        config, LocalCommits(), LocalRegistry(state), jobs, str(table), LocalRunHistory(state)
    )  # type: ignore[arg-type]


def decisions(report: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {r["model_group"]: (r["status"], r["decision"]["reason"]) for r in report["retrained"]}


def test_retrain_skip_and_block_against_what_each_group_trained_on(tmp_path: Path) -> None:
    jobs = FakeJobs(seed_jobs())
    services = services_for(tmp_path, jobs)
    first = run_retrain(services, {"delta_version": 0}, clock=VirtualClock(START))
    # Nothing registered before: on_drift has no baseline, so it retrains.
    assert decisions(first)["Upsell"] == (
        "Completed",
        "retrain: no baseline version to compare with",
    )
    assert decisions(first)["churn"] == ("Completed", "retrain: trigger is always")

    write_deltalake(services.table, rows(50, seed=1), mode="append")  # same distribution
    second = run_retrain(services, {"delta_version": 1}, clock=VirtualClock(START))
    status, reason = decisions(second)["Upsell"]
    assert status == "Skipped" and reason.startswith("skip: no drift above 0.1")
    assert second["retrained"][1]["decision"]["baseline_delta_version"] == 0
    assert decisions(second)["churn"][0] == "Completed"
    assert not any_failed(second)  # a skip is a decision, not a failure

    write_deltalake(services.table, rows(95, seed=2), mode="append")  # shifted past max 100
    third = run_retrain(services, {"delta_version": 2}, clock=VirtualClock(START))
    status, reason = decisions(third)["Upsell"]
    assert status == "Blocked" and reason.startswith("blocked: x max")
    upsell_jobs = [j.name for j in jobs.submitted if j.name.startswith("Upsell_")]
    assert len(upsell_jobs) == 1  # only the first run submitted one

    history = services.history.recent()
    assert [r["delta_version"] for r in history] == [2, 1, 0]


def test_dry_run_shows_each_decision_and_submits_nothing(tmp_path: Path) -> None:
    jobs = FakeJobs(seed_jobs())
    services = services_for(tmp_path, jobs)
    run_retrain(services, {"delta_version": 0}, clock=VirtualClock(START))
    write_deltalake(services.table, rows(70, seed=3), mode="append")
    submitted = len(jobs.submitted)
    report = run_retrain(services, {"dry_run": True}, clock=VirtualClock(START))
    upsell = report["plan"]["decisions"]["Upsell"]
    assert upsell["action"] == "retrain" and "drift" in upsell["reason"]
    assert upsell["drift"][0]["column"] == "x"
    assert len(jobs.submitted) == submitted


def test_a_monitoring_violation_retrains_the_group_even_without_drift(tmp_path: Path) -> None:
    jobs = FakeJobs(seed_jobs())
    services = services_for(tmp_path, jobs)
    run_retrain(services, {"delta_version": 0}, clock=VirtualClock(START))
    request = {
        "model_name_prefix": ["Upsell"],
        "force": True,
        "trigger": "monitoring",
        "trigger_id": "violation-42",
    }
    report = run_retrain(services, request, clock=VirtualClock(START))
    [row] = report["retrained"]
    assert row["status"] == "Completed"
    assert row["decision"]["reason"].endswith("(monitoring violation)")
    upsell = [j.name for j in jobs.submitted if j.name.startswith("Upsell_")]
    assert len(upsell) == 2 and upsell[0] != upsell[1]  # a new job on the same data
    again = run_retrain(services, request, clock=VirtualClock(START))
    assert again["retrained"][0]["job"] == row["job"]  # the same violation retrains once


def test_a_policy_that_needs_no_data_reads_no_table(tmp_path: Path, monkeypatch: Any) -> None:
    import drift.domain.table_sample  # the activity imports read_snapshot from it when it runs

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("read_snapshot called for trigger: always without rules")

    monkeypatch.setattr(drift.domain.table_sample, "read_snapshot", refuse)
    jobs = FakeJobs(seed_jobs())
    services = services_for(tmp_path, jobs)
    services.config = services.config.model_copy(
        update={"retraining": type(services.config.retraining)()}
    )  # the default policy: always, no rules
    report = run_retrain(services, {"delta_version": 0}, clock=VirtualClock(START))
    assert {r["decision"]["reason"] for r in report["retrained"]} == {"retrain: trigger is always"}
