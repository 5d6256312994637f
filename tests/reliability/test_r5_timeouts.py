"""R5: a job that never finishes is cancelled at refreshTimeout and reported TimedOut; a job
that ends Canceled, NotResponding or Paused (or Failed, Completed) is reported at its first
poll in that state, not waited on. Poll counts and virtual time are exact: polls at 0, d, 2d,
... and one at the deadline (a timer clipped to it), so ceil(T / d) + 1 polls for timeout T.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from drift.durable.orchestration import POLLS_PER_GENERATION, RETRAIN, run_instance_id
from drift.entrypoints.local_run import run_retrain
from drift.runtime.runtime import VirtualClock
from tests.fakes import FakeJobs
from tests.functions.conftest import KEY, App
from tests.integration.durable.test_orchestration import START, make_services, seed_jobs
from tests.reliability.support import record

pytestmark = pytest.mark.reliability


def by_group(report: dict) -> dict[str, dict]:
    return {row["model_group"]: row for row in report["retrained"]}


@pytest.mark.parametrize(("timeout", "delay"), [(2700, 10), (95, 10), (600, 60), (100, 30)])
def test_a_job_that_never_finishes_is_cancelled_at_the_timeout(
    tmp_path: Path, timeout: int, delay: int
) -> None:
    jobs = FakeJobs(seed_jobs(), script={"churn": ["Running"]})
    clock = VirtualClock(START)
    services = make_services(tmp_path, jobs, refreshTimeout=timeout, refreshDelay=delay)
    report = run_retrain(services, {"delta_version": 0}, clock=clock)

    churn = by_group(report)["churn"]
    assert churn["status"] == "TimedOut"
    assert f"no terminal state after {timeout} s" in churn["error"]
    assert "cancel requested" in churn["error"]
    assert jobs.cancelled == [churn["job"]]  # cancelled once, only the hung job
    polls = jobs.polls[churn["job"]]
    assert polls == math.ceil(timeout / delay) + 1
    assert clock.now() - START == timedelta(seconds=timeout)  # not a second later
    assert by_group(report)["Upsell"]["status"] == "Completed"
    record(
        "R5",
        **{
            f"never_finishes_{timeout}s_every_{delay}s": (
                f"TimedOut after {polls} polls, {timeout} virtual s, 1 cancel, "
                f"{(polls - 1) // POLLS_PER_GENERATION} continue_as_new"
            )
        },
    )


@pytest.mark.parametrize("running_polls", [0, 3])
@pytest.mark.parametrize("terminal", ["Canceled", "NotResponding", "Paused", "Failed"])
def test_a_job_that_ends_is_reported_at_once(
    tmp_path: Path, terminal: str, running_polls: int
) -> None:
    jobs = FakeJobs(seed_jobs(), script={"churn": ["Running"] * running_polls + [terminal]})
    clock = VirtualClock(START)
    services = make_services(tmp_path, jobs, refreshTimeout=2700, refreshDelay=10)
    report = run_retrain(services, {"delta_version": 0}, clock=clock)

    churn = by_group(report)["churn"]
    assert churn["status"] == terminal
    assert jobs.polls[churn["job"]] == running_polls + 1  # no poll after the terminal state
    assert clock.now() - START == timedelta(seconds=10 * running_polls)  # no wait after it
    assert jobs.cancelled == []
    record(
        "R5",
        **{
            f"{terminal}_after_{running_polls}_running": (
                f"reported after {running_polls + 1} polls, {10 * running_polls} virtual s"
            )
        },
    )


def test_through_the_functions_app_a_hung_job_times_out_and_a_paused_one_ends(
    make_app: Callable[..., App],
) -> None:
    app = make_app(refreshTimeout=600, refreshDelay=10)
    app.jobs.script = {"churn": ["Running"], "upsell": ["Running", "Paused"]}
    version = app.commit()
    app.deliver(app.event(version))
    app.settle()

    report = app.runtime.instances[run_instance_id(KEY, version)].output
    rows = by_group(report)
    assert rows["churn"]["status"] == "TimedOut" and rows["upsell"]["status"] == "Paused"
    assert app.jobs.polls[rows["churn"]["job"]] == 61
    assert app.jobs.polls[rows["upsell"]["job"]] == 2
    assert app.jobs.cancelled == [rows["churn"]["job"]]
    assert app.clock.now() - app.runtime.get_status(
        run_instance_id(KEY, version)
    ).created_time == timedelta(seconds=600)
    assert all(r.status == "Completed" for r in app.runtime.instances.values())
    assert [r.name for r in app.runtime.instances.values()].count(RETRAIN) == 1
    record("R5", app_hung_job="TimedOut after 61 polls, 600 virtual s; Paused after 2 polls")
