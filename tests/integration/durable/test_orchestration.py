"""The real orchestrators replayed by the local driver, with a real Delta table and registry.

Jobs are a scripted fake so that failures, hangs and faults are exact; the clock is virtual,
so a 45-minute timeout costs nothing and timer arithmetic is checked to the second.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from deltalake import DeltaTable, write_deltalake

from drift.backends.local_commits import LocalCommits
from drift.backends.local_registry import LocalRegistry
from drift.domain.config import parse_config
from drift.domain.types import JobInput, TrainingJob
from drift.durable.activities import bind
from drift.durable.orchestration import (
    ENTITIES,
    MONITOR,
    ORCHESTRATORS,
    POLLS_PER_GENERATION,
    RETRAIN,
)
from drift.entrypoints.local_run import RunFailed, run_retrain
from drift.reporting.report import any_failed
from drift.runtime.runtime import LocalDurableRuntime, VirtualClock
from drift.wiring.bootstrap import Services
from tests.fakes import FakeJobs

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
SEED_INPUT = {"training_data": JobInput("mltable", "azureml:features:20260101000000-v0")}


def seed_jobs() -> list[TrainingJob]:
    return [
        TrainingJob("churn_20260101000000_aaa", SEED_INPUT, "churn", "churn"),
        TrainingJob("churn_20251201000000_old", SEED_INPUT, "churn", "churn"),
        TrainingJob("Upsell_20260102000000_B1", SEED_INPUT, "upsell", "upsell"),
        TrainingJob(
            "report_20260103000000_ccc",
            {"other": JobInput("uri_file", "azureml:x:1")},
            "report",
            "report",
        ),
    ]


def make_services(tmp_path: Path, jobs: FakeJobs, **params: Any) -> Services:
    table = tmp_path / "table"
    if not table.exists():
        write_deltalake(table, pd.DataFrame({"x": [1, 2, 3]}))
    config = parse_config(
        {
            "backend": "local",
            "parameters": {
                "dataAssets": [{"name": "training_data", "value": "features"}],
                "refreshTimeout": "2700",
                "refreshDelay": "10",
                **params,
            },
            "local": {
                "workdir": str(tmp_path / "state"),
                "tablePath": str(table),
                "jobsDir": str(tmp_path / "jobs"),
            },
        }
    )
    registry = LocalRegistry(tmp_path / "state")
    return Services(config, LocalCommits(), registry, jobs, str(table))  # type: ignore[arg-type]


def run(
    services: Services, request: dict[str, Any], clock: VirtualClock | None = None
) -> tuple[dict[str, Any], LocalDurableRuntime]:
    runtime = LocalDurableRuntime(
        ORCHESTRATORS, bind(services), clock=clock or VirtualClock(START), entities=ENTITIES
    )
    result = runtime.run(RETRAIN, request, "run1")
    assert result.status == "Completed", result.error
    return result.output, runtime


def by_group(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["model_group"]: row for row in report["retrained"]}


def test_registers_then_retrains_every_group_that_uses_the_asset(tmp_path: Path) -> None:
    jobs = FakeJobs(
        seed_jobs(),
        script={"churn": ["Queued", "Running", "Completed"], "Upsell": ["Running", "Completed"]},
    )
    clock = VirtualClock(START)
    report, runtime = run(make_services(tmp_path, jobs), {"delta_version": 0}, clock)

    version = report["data_asset_version"]
    assert report["registered"] == {
        "mltable": f"features:{version}",
        "uri_folder": f"features_folder:{version}",
    }
    assert {g: r["status"] for g, r in by_group(report).items()} == {
        "churn": "Completed",
        "Upsell": "Completed",
    }
    assert report["plan"]["left_alone"]["report"].startswith("newest job report_")
    # The newest churn job is cloned, its data input rebound to the new version.
    churn = next(j for j in jobs.submitted if j.name.startswith("churn_"))
    assert churn.tags["drift.source_job"] == "churn_20260101000000_aaa"
    assert churn.inputs["training_data"] == JobInput("mltable", f"azureml:features:{version}")
    assert churn.name.startswith(f"churn_{version[:14]}_")
    # Three polls of churn means two 10 s timers, on the virtual clock.
    assert jobs.polls[churn.name] == 3
    assert clock.now() - START == timedelta(seconds=20)
    assert f"run1-{'churn'}" in runtime.instances
    assert not any_failed(report)


def test_failed_job_is_reported_and_fails_the_run(tmp_path: Path) -> None:
    jobs = FakeJobs(seed_jobs(), script={"churn": ["Running", "Failed"]})
    report, _ = run(make_services(tmp_path, jobs), {"delta_version": 0})
    assert by_group(report)["churn"]["status"] == "Failed"
    assert by_group(report)["churn"]["error"] == "exit code 1"
    assert by_group(report)["Upsell"]["status"] == "Completed"
    assert any_failed(report)


@pytest.mark.parametrize("terminal", ["Canceled", "NotResponding", "Paused"])
def test_monitor_stops_on_every_terminal_state(tmp_path: Path, terminal: str) -> None:
    jobs = FakeJobs(seed_jobs(), script={"churn": ["Running", terminal]})
    report, _ = run(make_services(tmp_path, jobs), {"delta_version": 0})
    churn = by_group(report)["churn"]
    assert churn["status"] == terminal
    assert jobs.polls[churn["job"]] == 2  # no polling after a terminal state
    assert jobs.cancelled == []


def test_hung_job_is_cancelled_at_the_timeout(tmp_path: Path) -> None:
    jobs = FakeJobs(seed_jobs(), script={"churn": ["Running"]})
    clock = VirtualClock(START)
    services = make_services(tmp_path, jobs, refreshTimeout=95, refreshDelay=10)
    report, _ = run(services, {"delta_version": 0}, clock)
    churn = by_group(report)["churn"]
    assert churn["status"] == "TimedOut"
    assert "95 s" in churn["error"]
    assert jobs.cancelled == [churn["job"]]
    # Polls at 0, 10, ..., 90, then one at the deadline (a timer clipped to 95 s).
    assert jobs.polls[churn["job"]] == 11
    assert clock.now() - START == timedelta(seconds=95)


def test_transient_faults_are_retried_without_duplicate_submissions(tmp_path: Path) -> None:
    jobs = FakeJobs(
        seed_jobs(),
        script={"churn": ["Completed"], "Upsell": ["Completed"]},
        fail={"submit_clone": 2, "get_state": 2, "list_jobs": 1},
    )
    report, _ = run(make_services(tmp_path, jobs), {"delta_version": 0})
    assert [r["status"] for r in report["retrained"]] == ["Completed", "Completed"]
    assert len(jobs.submitted) == 2  # one per group, though submit was attempted more often
    assert jobs.submit_calls == 4


def test_permanent_activity_failure_is_reported_per_group(tmp_path: Path) -> None:
    jobs = FakeJobs(seed_jobs(), always_fail={"get_state"})
    report, _ = run(make_services(tmp_path, jobs), {"delta_version": 0})
    for row in report["retrained"]:
        assert row["status"] == "Error"
        assert "403 Forbidden" in row["error"]
    assert any_failed(report)


def test_an_outage_longer_than_the_retries_does_not_abandon_the_job(tmp_path: Path) -> None:
    # Seven failed polls exhaust two activity calls (3 attempts each): the monitor keeps
    # polling on its timers and still sees the job finish.
    jobs = FakeJobs(seed_jobs(), script={"churn": ["Running", "Completed"]}, fail={"get_state": 7})
    report, _ = run(make_services(tmp_path, jobs, model_name_prefix="churn"), {"delta_version": 0})
    assert by_group(report)["churn"]["status"] == "Completed"
    assert jobs.cancelled == []


def test_an_outage_until_the_deadline_still_cancels_the_job(tmp_path: Path) -> None:
    jobs = FakeJobs(seed_jobs(), script={"churn": ["Running"]}, fail={"get_state": 10_000})
    services = make_services(tmp_path, jobs, model_name_prefix="churn", refreshTimeout=60)
    report, _ = run(services, {"delta_version": 0})
    churn = by_group(report)["churn"]
    assert churn["status"] == "TimedOut"
    assert "last poll failed: get_state: 503" in churn["error"]
    assert jobs.cancelled == [churn["job"]]


def test_registration_failure_fails_the_run_with_the_reason(tmp_path: Path) -> None:
    jobs = FakeJobs(seed_jobs())
    services = make_services(tmp_path, jobs)
    with pytest.raises(RunFailed, match=r"00000000000000000007\.json"):
        run_retrain(services, {"delta_version": 7}, clock=VirtualClock(START))
    assert jobs.submitted == []


def test_commit_without_data_change_is_skipped(tmp_path: Path) -> None:
    jobs = FakeJobs(seed_jobs())
    services = make_services(tmp_path, jobs)
    write_deltalake(services.table, pd.DataFrame({"x": [4]}), mode="append")
    DeltaTable(services.table).optimize.compact()
    report, _ = run(services, {"delta_version": 2})
    assert report["skipped"].startswith("OPTIMIZE rewrote")
    assert report["registered"] is None
    assert jobs.submitted == []


def test_dry_run_plans_without_submitting(tmp_path: Path) -> None:
    jobs = FakeJobs(seed_jobs())
    report, _ = run(
        make_services(tmp_path, jobs), {"dry_run": True, "model_name_prefix": ["churn"]}
    )
    assert [j["group"] for j in report["plan"]["jobs"]] == ["churn"]
    assert report["plan"]["jobs"][0]["source_job"] == "churn_20260101000000_aaa"
    assert report["retrained"] == []
    assert jobs.submitted == []


def test_redelivered_commit_registers_and_submits_once(tmp_path: Path) -> None:
    jobs = FakeJobs(seed_jobs())
    services = make_services(tmp_path, jobs)
    first, _ = run(services, {"delta_version": 0})
    second, _ = run(services, {"delta_version": 0})
    assert first["newly_registered"] and not second["newly_registered"]
    assert second["data_asset_version"] == first["data_asset_version"]
    assert [r["job"] for r in second["retrained"]] == [r["job"] for r in first["retrained"]]
    assert len(jobs.submitted) == 2
    registry = services.registry
    assert isinstance(registry, LocalRegistry)
    assert len(registry.list_versions("features")) == 1


def test_explicit_version_must_exist(tmp_path: Path) -> None:
    services = make_services(tmp_path, FakeJobs(seed_jobs()))
    with pytest.raises(RunFailed, match="features:20990101000000-v9 is not registered"):
        run_retrain(
            services, {"data_asset_version": "20990101000000-v9"}, clock=VirtualClock(START)
        )


def test_explicit_version_retrains_selected_groups_only(tmp_path: Path) -> None:
    jobs = FakeJobs(seed_jobs())
    services = make_services(tmp_path, jobs)
    first, _ = run(services, {"delta_version": 0, "model_name_prefix": ["churn"]})
    report, _ = run(
        services,
        {"data_asset_version": first["data_asset_version"], "model_name_prefix": ["Upsell"]},
    )
    assert [r["model_group"] for r in report["retrained"]] == ["Upsell"]
    assert [j.name.split("_")[0] for j in jobs.submitted] == ["churn", "Upsell"]


def test_dry_run_registers_nothing(tmp_path: Path) -> None:
    jobs = FakeJobs(seed_jobs())
    services = make_services(tmp_path, jobs)
    report, _ = run(services, {"delta_version": 0, "dry_run": True})
    version = report["data_asset_version"]
    assert report["would_register"] is True
    assert report["registered"]["mltable"] == f"features:{version}"
    assert services.registry.get_data("features", version) is None
    assert [j["group"] for j in report["plan"]["jobs"]] == ["Upsell", "churn"]


def test_fan_out_is_bounded_by_max_parallel_jobs(tmp_path: Path) -> None:
    seed = [TrainingJob(f"g{i}_20260101000000_s", SEED_INPUT) for i in range(5)]
    jobs = FakeJobs(seed, script={f"g{i}": ["Running"] * (i + 1) + ["Completed"] for i in range(5)})
    report, _ = run(make_services(tmp_path, jobs, maxParallelJobs=2), {"delta_version": 0})
    assert [r["status"] for r in report["retrained"]] == ["Completed"] * 5
    assert [r["model_group"] for r in report["retrained"]] == [f"g{i}" for i in range(5)]
    assert jobs.max_running == 2


def test_long_wait_keeps_each_history_bounded(tmp_path: Path) -> None:
    polls = POLLS_PER_GENERATION * 3
    jobs = FakeJobs(seed_jobs(), script={"churn": ["Running"] * polls + ["Completed"]})
    services = make_services(
        tmp_path, jobs, refreshTimeout=10 * (polls + 5), model_name_prefix="churn"
    )
    report, runtime = run(services, {"delta_version": 0})
    assert by_group(report)["churn"]["status"] == "Completed"
    monitor = runtime.instances["run1-churn"]
    assert monitor.name == MONITOR
    assert monitor.history_events_total > 3 * len(monitor.history)
    assert len(monitor.history) < 12 * POLLS_PER_GENERATION


def test_the_report_is_logged_once_as_one_structured_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import json
    import logging

    jobs = FakeJobs(seed_jobs(), script={"churn": ["Running", "Failed"]})
    with caplog.at_level(logging.INFO, logger="drift.orchestration"):
        run(make_services(tmp_path, jobs), {"delta_version": 0})
    lines = [r.getMessage() for r in caplog.records if "drift run report" in r.getMessage()]
    assert len(lines) == 1  # replays do not log it again
    summary = json.loads(lines[0].split("drift run report ", 1)[1])
    assert summary["retrained"] == {"churn": "Failed", "Upsell": "Completed"}
    assert summary["failed"] is True
