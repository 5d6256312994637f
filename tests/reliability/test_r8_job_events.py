"""R8: job status events change only how soon a job's end is seen, never what is reported.

The real app on a virtual clock: a commit starts a run whose two jobs end at known times
(churn Completed after 1,000 s, upsell Failed after 1,500 s; refreshDelay 600 s). Job status
events reach the app through `drift_on_job_event` (and the Databricks webhook) lost,
duplicated, reordered, early (before the job really ended), late, or about jobs nobody
watches. Each report must equal the poll-only run's; the figures are how soon each end was
seen and how many status reads it cost. A second test raises events while the status read is
in flight, where the SDK's buffering (an event nobody waits for is handed to every later
waiter, issue #507) would loop a monitor that waited on the event twice in one history.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from deltalake import DeltaTable, write_deltalake

from drift.durable.activities import STATE, bind
from drift.durable.orchestration import ENTITIES, JOB_EVENT, ORCHESTRATORS, RETRAIN, run_instance_id
from drift.functions import durable, settings
from drift.runtime.client import LocalDurableClient
from drift.runtime.runtime import LocalDurableRuntime, VirtualClock
from drift.wiring.bootstrap import build_services
from tests.functions.conftest import KEY, START, App, app_runtime, seed_jobs, write_config
from tests.functions.test_job_events import aml_event, deliver_job_event, post_databricks
from tests.integration.durable.test_orchestration import make_services
from tests.reliability.support import TimedJobs, record

pytestmark = pytest.mark.reliability

DELAY_S = 600
RUNS = {"churn": 1000.0, "upsell": 1500.0}
ENDS = {"upsell": "Failed"}

# (seconds after submit, group or an unknown job name, reported status) per scenario.
Schedule = list[tuple[float, str, str]]
SCENARIOS: dict[str, Schedule] = {
    "poll_only": [],
    "exact": [(1000, "churn", "Completed"), (1500, "upsell", "Failed")],
    "lost": [(1500, "upsell", "Failed")],  # churn's event never arrives
    "duplicated": [
        (t + d, g, s)
        for t, g, s in ((1000, "churn", "Completed"), (1500, "upsell", "Failed"))
        for d in (0, 0, 1, 90)
    ],
    "reordered": [
        (
            300,
            "churn",
            "Completed",
        ),  # claims the end 700 s early (reordered / eventually consistent)
        (1000, "upsell", "Failed"),  # the same, for upsell, 500 s early
        (1000, "churn", "Completed"),
        (1001, "churn", "Running"),  # an older status, delivered after the end
        (1500, "upsell", "Failed"),
        (1500, "upsell", "Running"),
    ],
    "late": [(1000 + 400, "churn", "Completed"), (1500 + 900, "upsell", "Failed")],
    "unknown_jobs": [
        (500, "churn_20990101000000_notours", "Completed"),
        (600, "experiment-run-7", "Completed"),
        (700, "databricks:999", "Completed"),
        (1000, "churn", "Completed"),
        (1500, "upsell", "Failed"),
    ],
}


def make_app(base: Path, monkeypatch: pytest.MonkeyPatch, jobs: TimedJobs) -> App:
    """The deployed app of tests/functions/conftest.py, with refreshDelay 600 s."""
    table = base / "lake" / "features"
    write_deltalake(table, pd.DataFrame({"x": [1, 2, 3]}))
    config = base / "drift.yaml"
    write_config(config, table, refreshDelay=str(DELAY_S), refreshTimeout="7200")
    monkeypatch.setenv(settings.CONFIG_SETTING, str(config))
    settings.watchlist.cache_clear()
    durable._bound.cache_clear()
    real = build_services(settings.watchlist().configs[KEY])
    real.jobs = jobs
    settings.watchlist()._services[KEY] = real
    runtime = app_runtime(jobs.clock)
    return App(base, table, jobs.clock, runtime, LocalDurableClient(runtime), jobs)


def run_scenario(base: Path, monkeypatch: pytest.MonkeyPatch, schedule: Schedule) -> dict:
    jobs = TimedJobs(seed_jobs(), clock=VirtualClock(START), runs_for=dict(RUNS), ends_as=ENDS)
    app = make_app(base, monkeypatch, jobs)
    write_deltalake(app.table, pd.DataFrame({"x": [4]}), mode="append")
    version = DeltaTable(app.table).version()
    app.deliver(app.event(version))
    run = run_instance_id(KEY, version)
    submitted = app.clock.now()
    names = {j.name.split("_")[0]: j.name for j in jobs.submitted}
    for at, who, status in sorted(schedule, key=lambda item: item[0]):
        target = submitted + timedelta(seconds=at)
        app.runtime.run_until_idle(max_time=target)
        app.clock.sleep_until(target)
        if who.startswith("databricks:"):
            body = {
                "event_type": "jobs.on_success",
                "workspace_id": "1",
                "run": {"run_id": "5"},
                "job": {"job_id": who.split(":")[1], "name": "x"},
            }
            assert post_databricks(app, body).status_code == 200
        else:
            deliver_job_event(app, aml_event(names.get(who, who), status, f"{who}-{at}"))
    app.runtime.run_until_idle()
    report = app.runtime.get_status(run).output
    seen = {
        group: (
            app.runtime.get_status(f"{run}-{group}").last_updated_time - submitted
        ).total_seconds()
        - RUNS[group]
        for group in RUNS
    }
    settings.watchlist.cache_clear()
    durable._bound.cache_clear()
    return {
        "rows": normalized(report),
        "latency_s": seen,
        "polls": sum(jobs.polls.values()),
        "raised": sum(1 for c in app.client.calls if c[0] == "raise_event"),
    }


def normalized(report: dict) -> list[dict]:
    """The rows without the job's name: it carries the commit's wall-clock stamp."""
    return [
        {k: v for k, v in row.items() if k not in ("job", "log_path")}
        for row in report["retrained"]
    ]


@pytest.fixture(scope="module")
def poll_only(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict:
    with pytest.MonkeyPatch.context() as mp:
        result = run_scenario(tmp_path_factory.mktemp("poll"), mp, [])
        os.environ.pop(settings.CONFIG_SETTING, None)
    return result


@pytest.mark.parametrize("scenario", sorted(set(SCENARIOS) - {"poll_only"}))
def test_status_events_give_the_poll_only_report(
    scenario: str, poll_only: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_scenario(tmp_path, monkeypatch, SCENARIOS[scenario])
    assert [r["status"] for r in poll_only["rows"]] == ["Completed", "Failed"]
    assert result["rows"] == poll_only["rows"]
    # Never later than polling; with the real end's event, at once.
    for group, latency in result["latency_s"].items():
        assert 0 <= latency <= poll_only["latency_s"][group], (group, latency)
    if scenario in ("exact", "duplicated", "unknown_jobs", "reordered"):
        assert result["latency_s"] == {"churn": 0.0, "upsell": 0.0}
    # One status read per delivered wake-up at most, on top of the timer's polls.
    assert result["polls"] <= poll_only["polls"] + result["raised"]
    record(
        "R8",
        **{
            f"{scenario}_seen_after_s": result["latency_s"],
            f"{scenario}_polls": result["polls"],
            f"{scenario}_reports_equal": result["rows"] == poll_only["rows"],
        },
        poll_only_seen_after_s=poll_only["latency_s"],
        poll_only_polls=poll_only["polls"],
    )


def test_events_during_a_status_read_wake_the_monitor_once(tmp_path: Path) -> None:
    """Raised while `drift_job_state` runs, each event lands in the history before the read's
    result: first with no wait open (the SDK buffers it), later taken by the wait the timer
    already won. Either way the monitor reads once more in a fresh generation, no more."""
    runs = {"churn": 5000.0, "Upsell": 5000.0}
    jobs = TimedJobs(seed_jobs(), clock=VirtualClock(START), runs_for=runs)

    def baseline() -> tuple[list[dict], int]:
        base_jobs = TimedJobs(seed_jobs(), clock=VirtualClock(START), runs_for=runs)
        report, polls = drive(tmp_path / "poll", base_jobs, set())
        return report, polls

    def drive(base: Path, jobs: TimedJobs, raise_on: set[int]) -> tuple[list[dict], int]:
        services = make_services(base, jobs, refreshDelay=DELAY_S, refreshTimeout=7200)
        activities = bind(services)
        runtime = LocalDurableRuntime(
            ORCHESTRATORS, {}, clock=jobs.clock, entities=ENTITIES, max_episodes=100_000
        )
        reads = {"n": 0}

        def state(args: Any) -> Any:
            reads["n"] += 1
            if reads["n"] in raise_on:  # the event arrives while this read is in flight
                for monitor in [i for i in runtime.instances if i.endswith("-churn")]:
                    runtime.raise_event(monitor, JOB_EVENT, {"status": "Running"})
            return activities[STATE](args)

        runtime.activities = {**activities, STATE: state}
        result = runtime.run(RETRAIN, {"delta_version": 0}, "r7")
        assert result.status == "Completed", result.error
        return normalized(result.output), sum(jobs.polls.values())

    expected, polls = baseline()
    # Reads 1-2 are the two groups' first polls (no wait open yet); 5 and 9 come later.
    rows, event_polls = drive(tmp_path / "events", jobs, {1, 5, 9})
    assert rows == expected
    assert event_polls == polls + 3  # one extra read per event: no loop on a buffered event
    record("R8", events_during_a_read=3, extra_reads_for_them=event_polls - polls)
