"""R3: transient faults in 30% of backend calls; permanent faults end in a clear report.

The real `drift_retrain` orchestrator runs on the local driver against a real Delta table and
registry and FakeJobs whose jobs run on the virtual clock (six model groups per run). A seeded
wrapper makes 30% of calls fail with a ConnectionError, half of them after the call took
effect (the response was lost), so every retry meets its own earlier work. Four settings:

- `attempt`: each activity attempt fails with 30%, drift's retry budget as shipped
  (orchestration.SERVICE_RETRY: 3 attempts). Measured; some activity calls exhaust it.
- `attempt-10`: the same with 10 attempts: every retraining completes.
- `port-azure`: 30% of port calls fail, each port call retried as drift's Azure backend does
  (`azure_errors.call`, 6 attempts with backoff) inside drift's 3 activity attempts: every
  retraining completes. This is the fault model of production.
- `port-bare`: 30% of port calls fail with no retry inside the activity (an activity makes up
  to 5 port calls). Measured.

Always: no hang, no job submitted twice, no version registered twice, and a group that did not
complete is a row naming the fault (`Error`, or `TimedOut` after an outage that lasted to the
deadline), or, before the fan-out, a failed run naming it. "Exhausted" counts activity calls
whose every attempt failed (counted where the activity runs, see support.Attempts).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import pytest

from drift.backends.azure_errors import RetryPolicy, Where, call
from drift.backends.local_registry import LocalRegistry
from drift.domain.types import TrainingJob
from drift.durable import orchestration
from drift.durable.activities import bind
from drift.durable.orchestration import ENTITIES, ORCHESTRATORS, RETRAIN
from drift.entrypoints.local_run import RunFailed, run_retrain
from drift.runtime.runtime import LocalDurableRuntime, VirtualClock
from drift.wiring.bootstrap import Services
from tests.fakes import FakeJobs
from tests.integration.durable.test_orchestration import SEED_INPUT, START, make_services, seed_jobs
from tests.reliability.support import (
    COMMIT_METHODS,
    JOB_METHODS,
    REGISTRY_METHODS,
    Attempts,
    Faults,
    Flaky,
    Forbidden,
    TimedJobs,
    add,
    flaky_activities,
    record,
    submitted_per_group,
)

pytestmark = pytest.mark.reliability

RATE = 0.3
GROUPS = 6
RUNS = 10
FAULT_TEXT = ("503 Service Unavailable", "connection reset", "still failing after retries")


def groups_seed() -> list[TrainingJob]:
    return [TrainingJob(f"g{i}_20260101000000_seed", SEED_INPUT, f"g{i}") for i in range(GROUPS)]


def wire(setting: str, services: Services, faults: Faults, sleeps: list[float]) -> dict:
    """The activities of one run, with faults where `setting` puts them."""
    if setting.startswith("attempt"):
        return flaky_activities(bind(services), faults)
    retry = None
    if setting == "port-azure":
        where = Where("the fault-injected workspace", "test identity")

        def retry(name: str, once: Any) -> Any:
            return call(name, once, where, RetryPolicy(), sleep=sleeps.append)

    services.commits = Flaky(services.commits, COMMIT_METHODS, faults, retry)
    services.registry = Flaky(services.registry, REGISTRY_METHODS, faults, retry)
    services.jobs = Flaky(services.jobs, JOB_METHODS, faults, retry)
    return bind(services)


def one_run(base: Path, setting: str, seed: int) -> dict[str, Any]:
    clock = VirtualClock(START)
    jobs = TimedJobs(
        groups_seed(), clock=clock, runs_for={f"g{i}": 10.0 * i for i in range(GROUPS)}
    )
    services = make_services(base, jobs)
    registry = services.registry
    assert isinstance(registry, LocalRegistry)
    faults = Faults(RATE, seed)
    sleeps: list[float] = []
    attempts = Attempts(orchestration.SERVICE_RETRY.max_number_of_attempts)
    activities = attempts.observe(wire(setting, services, faults, sleeps))
    runtime = LocalDurableRuntime(ORCHESTRATORS, activities, clock=clock, entities=ENTITIES)
    result = runtime.run(RETRAIN, {"delta_version": 0}, f"r3-{setting}-{seed}")

    # Safety, whatever the faults did.
    per_group = submitted_per_group(jobs)
    assert all(n == 1 for n in per_group.values()), per_group  # never a twin
    names = [j.name for j in jobs.submitted]
    assert len(names) == len(set(names))
    assert len(registry.list_versions("features")) <= 1
    rows: list[dict[str, Any]] = []
    if result.status == "Completed":
        rows = result.output["retrained"]
        assert len(rows) == GROUPS
        for row in rows:
            assert row["status"] in ("Completed", "Error", "TimedOut"), row
            if row["status"] != "Completed":
                assert any(t in row["error"] for t in FAULT_TEXT), row
    else:
        assert result.status == "Failed"
        assert any(t in (result.error or "").split("\n")[0] for t in FAULT_TEXT), result.error
    completed = sum(r["status"] == "Completed" for r in rows)
    return {
        "runs": 1,
        "runs_all_completed": int(completed == GROUPS),
        "runs_failed": int(result.status == "Failed"),
        "groups": GROUPS,
        "groups_completed": completed,
        "groups_not_completed": len(rows) - completed,
        "calls": sum(faults.calls.values()),
        "faults_injected": faults.injected,
        "faults_after_effect": sum(faults.after.values()),
        "activity_calls": attempts.calls,
        "activity_attempts": attempts.attempts,
        "activity_attempts_failed": attempts.failed,
        "activity_calls_exhausted": attempts.exhausted,
        **{f"exhausted_{name}": n for name, n in attempts.exhausted_by.items()},
        "jobs_submitted": len(jobs.submitted),
        "submit_calls": jobs.submit_calls,
        "duplicate_submissions": len(names) - len(set(per_group)),
        "inner_retry_sleeps": len(sleeps),
    }


@pytest.mark.parametrize(
    ("setting", "attempts"),
    [("attempt", None), ("attempt-10", 10), ("port-azure", None), ("port-bare", None)],
)
def test_transient_faults_in_30_percent_of_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str, attempts: int | None
) -> None:
    if attempts is not None:
        options = df.RetryOptions(
            first_retry_interval_in_milliseconds=5000, max_number_of_attempts=attempts
        )
        monkeypatch.setattr(orchestration, "SERVICE_RETRY", options)
    totals: Counter[str] = Counter()
    for seed in range(RUNS):
        totals.update(one_run(tmp_path / f"run{seed}", setting, seed))
    budget = attempts or orchestration.SERVICE_RETRY.max_number_of_attempts
    record(f"R3 {setting}", activity_attempts_budget=budget, fault_rate=RATE, **totals)
    assert totals["duplicate_submissions"] == 0
    if setting in ("attempt-10", "port-azure"):
        # The requirement: every retraining completes, nothing submitted twice.
        assert totals["runs_all_completed"] == RUNS
        assert totals["jobs_submitted"] == RUNS * GROUPS
        assert totals["faults_injected"] > 0.2 * totals["calls"]


# --- permanent faults ---------------------------------------------------------------------------


class AlwaysFails:
    """A port whose `method` always fails with `error`, counting the calls."""

    def __init__(self, inner: Any, method: str, error: Exception) -> None:
        self._inner, self._method, self._error = inner, method, error
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name != self._method:
            return attr

        def fail(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            raise self._error

        return fail


PERMANENT = [
    ("commits", "read_commit"),
    ("registry", "create_mltable"),
    ("jobs", "list_jobs"),
    ("jobs", "submit_clone"),
    ("jobs", "get_state"),
    ("jobs", "cancel"),
]
ERRORS = {
    # What drift's backends raise for a 403: a PermanentError, never retried.
    "permanent": lambda what: Forbidden(f"{what} on workspace ws as test identity: 403 Forbidden"),
    # An exception drift cannot classify: treated as transient, so retried.
    "unclassified": lambda what: PermissionError(f"{what}: 403 Forbidden for identity test"),
}


@pytest.mark.parametrize("kind", sorted(ERRORS))
@pytest.mark.parametrize(("port", "method"), PERMANENT)
def test_permanent_faults_end_in_a_clear_failed_report(
    tmp_path: Path, port: str, method: str, kind: str
) -> None:
    """Jobs never finish here, so the monitors reach the 20 s deadline and cancel."""
    jobs = FakeJobs(seed_jobs(), script={"churn": ["Running"], "Upsell": ["Running"]})
    services = make_services(tmp_path, jobs, refreshTimeout=20, refreshDelay=10)
    broken = AlwaysFails(getattr(services, port), method, ERRORS[kind](method))
    setattr(services, port, broken)
    try:
        report = run_retrain(services, {"delta_version": 0}, clock=VirtualClock(START))
    except RunFailed as exc:  # the orchestration failed, with a one-line reason naming it
        assert port != "jobs" or method == "list_jobs", exc
        assert method in str(exc) and "403 Forbidden" in str(exc) and "\n" not in str(exc)
        outcome = f"run failed: {exc}"
    else:
        rows = report["retrained"]
        assert [r["status"] for r in rows] != ["Completed"] * len(rows)
        for row in rows:
            assert row["status"] in ("Error", "TimedOut") and row["error"], row
            if method != "cancel":
                assert method in row["error"] and "403 Forbidden" in row["error"], row
        outcome = "; ".join(sorted({f"{r['status']}: {r['error']}" for r in rows}))
    if kind == "permanent":  # never retried: one call per run, or per group
        assert broken.calls in (1, 2), broken.calls
    assert len(jobs.submitted) <= 2
    add("R3 permanent", cases=1)
    record("R3 permanent", **{f"{method}/{kind}": f"{broken.calls} call(s); {outcome}"})
