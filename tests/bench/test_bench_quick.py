"""`python -m bench --quick`: every benchmark runs and its invariants hold (never its times)."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import pytest

import bench
from drift.durable.orchestration import POLLS_PER_GENERATION


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bench")
    assert bench.main(["--quick", "--out", str(folder)]) == 0
    return folder


@pytest.fixture(scope="module")
def results(out: Path) -> dict[str, Any]:
    return json.loads((out / "results.json").read_text())["benchmarks"]


def test_every_benchmark_reports_parameters_figures_baseline_and_ratio(
    out: Path, results: dict[str, Any]
) -> None:
    assert list(results) == ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9"]
    for bid, result in results.items():
        assert result["id"] == bid
        for key in ("title", "parameters", "measured", "baseline", "ratio", "headline"):
            assert result[key], (bid, key)
    meta = json.loads((out / "results.json").read_text())["meta"]
    assert meta["quick"] is True
    page = (out / "benchmarks.md").read_text()
    for bid in results:
        assert f"## {bid}." in page
    if importlib.util.find_spec("matplotlib") is not None:
        for png in (
            "b1_reaction",
            "b2_growth",
            "b3_compute",
            "b4_burst",
            "b5_table_age",
            "b8_job_events",
        ):
            assert (out / "img" / f"{png}.png").stat().st_size > 1000
            assert f"img/{png}.png" in page


def test_the_committed_figures_say_which_run_measured_each() -> None:
    """bench/results.json as committed (no benchmark runs): its machine section describes one
    full run, every benchmark not in it says when it was measured on its own, and the summary
    of docs/benchmarks.md has a row for each benchmark."""
    from bench import report

    root = Path(__file__).resolve().parents[2]
    data = json.loads((root / "bench" / "results.json").read_text())
    meta = data["meta"]
    assert meta["quick"] is False
    for bid, result in data["benchmarks"].items():
        assert bid in meta["only"] or result.get("measured_on"), bid
    rows = report._summary_rows(data["benchmarks"])
    assert [row[0] for row in rows] == list(data["benchmarks"])


def test_b1_measures_every_commit_through_to_submission(results: dict[str, Any]) -> None:
    b1 = results["B1"]
    assert len(b1["samples_s"]) == b1["parameters"]["commits"] == 10
    assert b1["measured"]["submitted_s"]["n"] == 10
    # Registration is done before the jobs are submitted, for every percentile reported.
    for q in ("p50", "p95", "max"):
        assert b1["measured"]["registered_s"][q] <= b1["measured"]["submitted_s"][q]
    assert b1["ratio"]["weekly_mean_over_p50"] > b1["ratio"]["databricks_min_over_p50"]


def test_b2_monitor_history_is_bounded_while_the_loop_grows(results: dict[str, Any]) -> None:
    b2 = results["B2"]
    low, high = b2["parameters"]["polls"]
    rows = {(r["groups"], r["polls"]): r for r in b2["rows"]}
    for (groups, polls), row in rows.items():
        drift, loop = row["drift"], row["baseline"]
        assert drift["status"] == loop["status"] == "measured"
        assert drift["job_polls"] == loop["job_polls"] == groups * polls
        assert drift["monitor_generations"] == math.ceil(polls / POLLS_PER_GENERATION)
        # A monitor generation holds at most 20 polls, whatever the job's length.
        assert drift["history_max_monitor"] <= 9 * POLLS_PER_GENERATION
    for groups in b2["parameters"]["groups"]:
        drift_low, drift_high = (rows[groups, p]["drift"] for p in (low, high))
        loop_low, loop_high = (rows[groups, p]["baseline"] for p in (low, high))
        # The loop's one history grows with every poll; a monitor's stops at one generation.
        assert (
            loop_high["history_max_instance"]
            >= 0.8 * (high / low) * loop_low["history_max_instance"]
        )
        # At most one generation of 20 polls: twice the 10-poll history, however many polls.
        assert (
            drift_high["history_max_monitor"]
            <= (POLLS_PER_GENERATION / low) * drift_low["history_max_monitor"]
        )
        assert drift_high["history_max_instance"] < loop_high["history_max_instance"]
    # drift's total work is linear: history per job poll hardly depends on groups or polls
    # (the parent's few events weigh a little more when there is one group and few polls).
    per_poll = [r["drift"]["history_total"] / (r["groups"] * r["polls"]) for r in rows.values()]
    assert max(per_poll) < 1.5 * min(per_poll)
    # Monitors' largest history is the same for 1 and 10 groups.
    assert (
        len({rows[g, high]["drift"]["history_max_monitor"] for g in b2["parameters"]["groups"]})
        == 1
    )


def test_b3_watches_the_job_to_the_end_on_durable_timers(results: dict[str, Any]) -> None:
    b3 = results["B3"]["measured"]
    seconds = results["B3"]["parameters"]["job_runs_s"]
    assert b3["status"] == "Completed"
    assert b3["polls"] == seconds // 10 + 1
    assert b3["monitor_generations"] == math.ceil(b3["polls"] / POLLS_PER_GENERATION)
    assert results["B3"]["baseline"]["reference_s_per_job_hour"] == 3600


def test_b4_a_burst_loses_no_version(results: dict[str, Any]) -> None:
    b4 = results["B4"]
    assert b4["parameters"]["commits"] == 100
    for scenario in b4["scenarios"]:
        assert scenario["versions_lost"] == 0, scenario["lost"]
        assert scenario["newest_registered"]
        assert scenario["registered_twice"] == 0
        assert scenario["intake_ids_unique"]
        assert scenario["intakes_started"] == 100
        assert scenario["duplicates_dropped"] == scenario["deliveries"] - 100 == 10
        assert scenario["retrains_started"] == scenario["registrations"]
    default = b4["scenarios"][0]
    assert default["wait_after_last_change_s"] == 60
    assert default["registrations"] == 1  # one quiet period, one retrain, on the newest


def test_b5_classifying_the_newest_commit_reads_one_commit_file(results: dict[str, Any]) -> None:
    rows = results["B5"]["rows"]
    assert [r["commits"] for r in rows] == [10, 200]
    for row in rows:
        assert row["drift_commit_files_read"] == 1
        assert row["drift_log_listings"] == 1
        assert row["newest_version"] == row["commits"] - 1
        assert row["decision"] == "register"


def test_b6_drift_needs_fewer_calls_than_a_full_scan(results: dict[str, Any]) -> None:
    rows = results["B6"]["rows"]
    assert {r["jobs"] for r in rows} == {100, 1000}
    for row in rows:
        assert row["same_answer"] is True
        assert row["scan_calls"] == math.ceil(row["jobs"] / 50)
        if row["scenario"].startswith("drift") or row["jobs"] >= 1000:
            assert row["drift_calls"] < row["scan_calls"], row
    warm = [r["drift_calls"] for r in rows if r["scenario"].startswith("drift")]
    assert warm == [1, 1]  # one tag-filtered page, whatever the workspace's size


def test_b7_measures_both_imports_side_by_side(results: dict[str, Any]) -> None:
    b7 = results["B7"]
    assert b7["parameters"]["repeats"] == 3
    assert len(b7["samples"]["app"]) == len(b7["samples"]["baseline"]) == 3
    # The app imports the libraries, so it loads at least their modules; none of the heavy ones.
    assert b7["measured"]["modules"] > b7["baseline"]["modules"]
    assert b7["measured"]["heavy_loaded"] == [] == b7["baseline"]["heavy_loaded"]
    assert b7["ratio"]["time_x"] > 0 and b7["ratio"]["memory_x"] > 0


def test_b9_the_sdk_does_not_retry_inside_drifts_retry(results: dict[str, Any]) -> None:
    b9 = results["B9"]
    for row in b9["rows"]:
        assert row["drift_per_call"] == 6  # the adapter's attempts, one request each
        assert row["drift_per_activity"] == 36
        assert row["baseline_per_call"] == 24  # azure-core's 3 retries inside each attempt
    faults = b9["measured"]["faults"]
    assert faults["completed"] == faults["runs"] == 3
    assert faults["jobs_created"] == faults["jobs_expected"]


def test_b8_events_report_a_jobs_end_at_once_and_never_later(results: dict[str, Any]) -> None:
    b8 = results["B8"]
    delays = b8["parameters"]["refresh_delays_s"]
    by = {(r["refresh_delay_s"], r["path"]): r for r in b8["rows"]}
    for delay in delays:
        poll, event = by[delay, "poll"], by[delay, "event"]
        assert event["seen_after_s"]["max"] == 0  # the event is delivered at the job's end
        assert poll["seen_after_s"]["max"] <= delay  # the next poll at the latest
        assert event["polls"] <= poll["polls"] + event["jobs"]  # one read per wake-up at most
    low, high = min(delays), max(delays)
    assert by[high, "poll"]["seen_after_s"]["p50"] > by[low, "poll"]["seen_after_s"]["p50"]
    assert by[high, "event"]["polls_per_job_hour"] < by[low, "poll"]["polls_per_job_hour"] / 10
    assert b8["measured"]["wake_wall_ms"]["n"] == len(delays) * event["jobs"]
