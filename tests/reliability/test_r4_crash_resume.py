"""R4: a host crash at every activity boundary, then a new host resumes from saved state.

`LocalDurableRuntime.snapshot()` saves what a Durable Functions host keeps in its task hub
(histories, queued messages and work, timers, entity states, the clock's time) as JSON;
`LocalDurableRuntime.restore(...)` builds a new runtime from it with freshly bound functions.
`crash_after_activity(N, recorded=...)` stops the host right after the N-th activity ran:

- `lost`: the activity ran (its side effects happened) but its completion was never stored,
  so the new host runs it again (Durable Functions is at-least-once for activities);
- `recorded`: its completion was stored; only the replay that consumes it is left.

For N = 1 .. (the activities of an uncrashed run), in both modes, the resumed run's report
equals the uncrashed run's, no job is submitted twice (a re-executed submit finds its job by
its deterministic name), no version is registered twice and the run history has one row.
The same is done through the Functions app (intake, table entity, watcher, retrain).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import pandas as pd
import pytest
from azure.durable_functions import EntityId
from deltalake import write_deltalake

from drift.backends.local_registry import LocalRegistry
from drift.durable.activities import bind
from drift.durable.orchestration import (
    ENTITIES,
    ORCHESTRATORS,
    RETRAIN,
    TABLE_ENTITY,
    entity_key,
    intake_instance_id,
    run_instance_id,
)
from drift.functions import settings
from drift.reporting.run_history import LocalRunHistory
from drift.runtime.client import LocalDurableClient
from drift.runtime.runtime import HostCrash, LocalDurableRuntime, VirtualClock
from drift.wiring.bootstrap import Services
from tests.functions.conftest import KEY, App, app_runtime
from tests.functions.conftest import seed_jobs as app_seed_jobs
from tests.integration.durable.test_orchestration import START, make_services, seed_jobs
from tests.reliability.support import TimedJobs, add, build_app, record, submitted_per_group

pytestmark = pytest.mark.reliability

MODES = {"lost": False, "recorded": True}
REQUEST = {"delta_version": 0}


# --- the retrain orchestrator on the local driver ------------------------------------------------


def world(base: Path, table: Path) -> tuple[Services, TimedJobs, VirtualClock]:
    """Everything outside the host, which survives its crash: table, registry, run history and
    the job service (churn runs 25 s, Upsell 5 s of the clock). Every world starts from a
    copy of the same table, so data versions and job names are the same in all of them."""
    shutil.copytree(table, base / "table")
    clock = VirtualClock(START)
    jobs = TimedJobs(seed_jobs(), clock=clock, runs_for={"churn": 25, "Upsell": 5})
    services = make_services(base, jobs)
    services.history = LocalRunHistory(base / "state")
    return services, jobs, clock


def check_world(services: Services, jobs: TimedJobs) -> None:
    assert submitted_per_group(jobs) == {"churn": 1, "Upsell": 1}  # never a twin
    registry = services.registry
    assert isinstance(registry, LocalRegistry)
    assert len(registry.list_versions("features")) == 1
    history = services.history
    assert isinstance(history, LocalRunHistory)
    assert [r["instance_id"] for r in history.recent()] == ["run1"]


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("r4-table") / "table"
    write_deltalake(path, pd.DataFrame({"x": [1, 2, 3]}))
    return path


def without_paths(report: dict[str, Any], base: Path) -> dict[str, Any]:
    return json.loads(json.dumps(report).replace(str(base), "<world>"))


@pytest.fixture(scope="module")
def uncrashed(tmp_path_factory: pytest.TempPathFactory, table: Path) -> tuple[dict, int]:
    base = tmp_path_factory.mktemp("r4-uncrashed")
    services, jobs, clock = world(base, table)
    runtime = LocalDurableRuntime(ORCHESTRATORS, bind(services), clock=clock, entities=ENTITIES)
    result = runtime.run(RETRAIN, REQUEST, "run1")
    assert result.status == "Completed", result.error
    assert [r["status"] for r in result.output["retrained"]] == ["Completed", "Completed"]
    check_world(services, jobs)
    return without_paths(result.output, base), runtime.activities_run


def test_the_uncrashed_run_has_activities_to_crash_at(uncrashed: tuple[dict, int]) -> None:
    _, activities = uncrashed
    assert activities >= 10  # register, plan, decide, 2 submits, 6 polls, record
    record("R4", activities_per_run=activities)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_crash_after_every_activity_resumes_to_the_same_report(
    tmp_path: Path, table: Path, uncrashed: tuple[dict, int], mode: str
) -> None:
    expected, total = uncrashed
    reran = differing = 0
    for n in range(1, total + 1):
        base = tmp_path / f"crash-{n}"
        services, jobs, clock = world(base, table)
        host = LocalDurableRuntime(ORCHESTRATORS, bind(services), clock=clock, entities=ENTITIES)
        host.crash_after_activity(n, recorded=MODES[mode])
        with pytest.raises(HostCrash):
            host.run(RETRAIN, REQUEST, "run1")
        crashed_at = clock.now()
        saved = json.loads(json.dumps(host.snapshot()))  # JSON is all that survives

        # A new host: new clock object, new bindings; the world (services, jobs) lives on.
        clock = VirtualClock(START)
        jobs.clock = clock
        resumed = LocalDurableRuntime.restore(
            saved, ORCHESTRATORS, bind(services), ENTITIES, clock=clock
        )
        assert clock.now() == crashed_at
        resumed.run_until_idle()
        result = resumed.instances["run1"]
        assert result.status == "Completed", (n, result.error)
        report = without_paths(result.output, base)
        if report != expected:
            # At-least-once: a registration re-executed after a lost result finds the version
            # it created, so the report says newly_registered=False (see the R4 figures).
            assert {**report, "newly_registered": True} == expected, n
            differing += 1
        check_world(services, jobs)
        reran += resumed.activities_run - (total - host.activities_run)
    add("R4", crash_points=total, resumed_runs=total, duplicate_jobs=0, duplicate_registrations=0)
    record(
        "R4",
        **{
            f"{mode}_reports_equal": total - differing,
            f"{mode}_reports_newly_registered_false": differing,
            f"{mode}_activities_run_twice": reran,
        },
    )
    if mode == "recorded":
        assert reran == 0 and differing == 0


# --- the same through the Functions app ----------------------------------------------------------

STAMP = re.compile(r"_\d{14}_[0-9a-f]{6,}")


def normalized(app: App, value: Any, asset_version: str) -> Any:
    """A report of one app, comparable with another app's: paths and the commit's own time
    (which names the data version and the jobs) replaced by placeholders."""
    text = json.dumps(value, sort_keys=True)
    text = text.replace(str(app.tmp), "<app>").replace(asset_version, "<version>")
    return json.loads(STAMP.sub("_<stamp>_<hash>", text))


def app_outcome(app: App, version: int) -> dict[str, Any]:
    run = app.runtime.instances[run_instance_id(KEY, version)]
    intake = app.runtime.instances[intake_instance_id(KEY, version)]
    assert run.status == "Completed" and intake.status == "Completed", (run.error, intake.error)
    report = run.output
    exists, state = app.runtime.read_entity_state(EntityId(TABLE_ENTITY, entity_key(KEY)))
    assert exists
    registry = settings.watchlist().services(KEY).registry
    assert isinstance(registry, LocalRegistry)
    assert len(registry.list_versions("features")) == 1
    assert submitted_per_group(app.jobs) == {"churn": 1, "upsell": 1}
    return normalized(
        app,
        {"report": report, "intake": intake.output, "entity": state},
        report["data_asset_version"],
    )


def app_jobs(clock: VirtualClock) -> TimedJobs:
    return TimedJobs(app_seed_jobs(), clock=clock, runs_for={"churn": 25, "upsell": 5})


def new_host(app: App, saved: dict[str, Any]) -> None:
    """Replace the app's host by one restored from `saved` (the client binds to the new one)."""
    clock = VirtualClock(START)
    functions = app_runtime(clock)  # what the app registers, bound afresh
    app.runtime = LocalDurableRuntime.restore(
        saved, functions.orchestrators, functions.activities, functions.entities, clock=clock
    )
    app.client = LocalDurableClient(app.runtime)
    app.clock = clock
    assert isinstance(app.jobs, TimedJobs)
    app.jobs.clock = clock


def test_the_functions_app_resumes_after_a_crash_at_every_activity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = build_app(tmp_path / "uncrashed", monkeypatch, app_jobs(VirtualClock(START)))
    version = base.commit()
    base.deliver(base.event(version))
    base.settle()
    expected = app_outcome(base, version)
    total = base.runtime.activities_run
    assert expected["intake"]["role"] == "watcher" and expected["entity"]["watcher"] is None

    points = 0
    for mode, recorded in sorted(MODES.items()):
        for n in range(1, total + 1):
            app = build_app(tmp_path / f"{mode}-{n}", monkeypatch, app_jobs(VirtualClock(START)))
            version = app.commit()
            app.runtime.crash_after_activity(n, recorded=recorded)
            with pytest.raises(HostCrash):
                app.deliver(app.event(version))  # acknowledged; the host dies working on it
                app.settle()
            new_host(app, json.loads(json.dumps(app.runtime.snapshot())))
            app.deliver(app.event(version))  # Event Grid redelivers: a duplicate, dropped
            app.settle()
            outcome = app_outcome(app, version)
            if outcome != expected:
                assert {
                    **outcome,
                    "report": {**outcome["report"], "newly_registered": True},
                } == expected, (mode, n)
            points += 1
    add("R4", app_crash_points=points)
    record("R4", app_activities_per_run=total)


# --- the snapshot itself -------------------------------------------------------------------------


def waiter(ctx: df.DurableOrchestrationContext):
    first = yield ctx.call_activity("add", 1)
    yield ctx.create_timer(ctx.current_utc_datetime + timedelta(minutes=5))
    event = yield ctx.wait_for_external_event("go")
    total = yield ctx.call_entity(df.EntityId("counter", "k"), "add", first + event)
    return total


def counter(ctx: df.DurableEntityContext) -> None:
    value = ctx.get_state(lambda: 0) + ctx.get_input()
    ctx.set_state(value)
    ctx.set_result(value)


def test_snapshot_round_trips_timers_events_and_entities() -> None:
    clock = VirtualClock(datetime(2026, 1, 1, tzinfo=UTC))
    adds: list[int] = []
    activities: dict[str, Callable[[Any], Any]] = {"add": lambda x: adds.append(x) or x + 1}
    entities = {"counter": counter}
    host = LocalDurableRuntime({"waiter": waiter}, activities, clock=clock, entities=entities)
    host.signal_entity(df.EntityId("counter", "k"), "add", 40)
    host.run_until_idle(max_time=clock.now())  # the timer is pending, the signal applied
    host.start_new("waiter", None, "w")
    host.raise_event("w", "go", 0)  # nobody waits yet: kept in the history for later
    host.run_until_idle(max_time=clock.now())
    saved = host.snapshot()
    assert json.loads(json.dumps(saved)) == saved
    (w,) = [i for i in saved["instances"] if i["instance_id"] == "w"]
    assert saved["timers"] and [e["Name"] for e in w["history"] if e["EventType"] == 15] == ["go"]

    later = VirtualClock(datetime(2026, 1, 1, tzinfo=UTC))
    copy = LocalDurableRuntime.restore(saved, {"waiter": waiter}, activities, entities, later)
    assert copy.snapshot() == saved  # nothing lost or added on the way
    assert later.now() == clock.now()
    copy.run_until_idle()
    assert copy.instances["w"].output == 42 and adds == [1]  # the activity did not run again
    assert copy.read_entity_state(df.EntityId("counter", "k")) == (True, 42)
    assert later.now() - clock.now() == timedelta(minutes=5)
    host.run_until_idle()  # the original host, untouched by its copy, ends the same way
    assert host.instances["w"].output == 42


def test_crash_modes_decide_whether_the_activity_runs_again() -> None:
    calls: list[int] = []
    activities: dict[str, Callable[[Any], Any]] = {"add": lambda x: calls.append(x) or x + 1}

    def chain(ctx: df.DurableOrchestrationContext):
        a = yield ctx.call_activity("add", 1)
        b = yield ctx.call_activity("add", a)
        return b

    for recorded, runs in ((False, [1, 2, 2]), (True, [1, 2])):
        calls.clear()
        host = LocalDurableRuntime({"chain": chain}, activities, clock=VirtualClock(START))
        host.crash_after_activity(2, recorded=recorded)
        with pytest.raises(HostCrash, match="#2"):
            host.run("chain", None, "c")
        resumed = LocalDurableRuntime.restore(
            host.snapshot(), {"chain": chain}, activities, clock=VirtualClock(START)
        )
        resumed.run_until_idle()
        assert resumed.instances["c"].output == 3 and calls == runs


def test_restore_refuses_what_is_not_a_snapshot() -> None:
    with pytest.raises(ValueError, match="snapshot"):
        LocalDurableRuntime.restore({"format": "something else"}, {}, {})
