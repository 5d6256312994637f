"""Drives real Durable Functions generator orchestrators through LocalDurableRuntime."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import pytest
from dateutil.parser import parse as dt_parse

from drift.durable_driver import (
    DurableDeadlockError,
    InstanceResult,
    LocalDurableRuntime,
    MaxEpisodesExceeded,
    VirtualClock,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ORCH_STARTED, TASK_SCHEDULED, TASK_COMPLETED, TASK_FAILED = 12, 4, 5, 6
TIMER_CREATED, TIMER_FIRED, EVENT_RAISED = 10, 11, 15

# The SDK itself calls azure.functions' df_loads without expected_type (get_input, task results).
pytestmark = pytest.mark.filterwarnings("ignore:azure.functions df_loads:DeprecationWarning")


def runtime(orchestrators: dict, activities: dict | None = None, **kw: Any) -> LocalDurableRuntime:
    return LocalDurableRuntime(orchestrators, activities or {}, clock=VirtualClock(T0), **kw)


def of_type(result: InstanceResult, event_type: int) -> list[dict]:
    return [e for e in result.history if e["EventType"] == event_type]


def test_sequential_activities_replay_each_step() -> None:
    def chain(ctx: df.DurableOrchestrationContext):
        x = ctx.get_input()
        a = yield ctx.call_activity("double", x)
        b = yield ctx.call_activity("double", a)
        c = yield ctx.call_activity("describe", {"value": b})
        return [a, b, c]

    rt = runtime({"chain": chain},
                 {"double": lambda n: n * 2, "describe": lambda d: f"v={d['value']}"})
    result = rt.run("chain", 3, instance_id="seq")

    assert (result.status, result.output, result.error) == ("Completed", [6, 12, "v=12"], None)
    assert result.episodes == 4  # start + one replay per completed activity
    scheduled = of_type(result, TASK_SCHEDULED)
    assert [(e["EventId"], e["Name"], e["Input"]) for e in scheduled] == [
        (0, "double", "3"), (1, "double", "6"), (2, "describe", '{"value": 12}')]
    assert [e["TaskScheduledId"] for e in of_type(result, TASK_COMPLETED)] == [0, 1, 2]
    assert result.history[1]["EventType"] == 0 and result.history[1]["Version"] == ""
    assert result.history[-1]["EventType"] == 13
    assert all(e["IsPlayed"] for e in result.history[:-4])  # last episode is new
    assert not any(e["IsPlayed"] for e in result.history[-4:])
    assert rt.instances["seq"].output == result.output


def test_fan_out_activities_run_in_one_batch() -> None:
    def fan(ctx: df.DurableOrchestrationContext):
        results = yield ctx.task_all([ctx.call_activity("square", i) for i in range(10)])
        return sum(results)

    calls: list[int] = []
    result = runtime({"fan": fan}, {"square": lambda i: calls.append(i) or i * i}).run("fan")

    assert result.output == sum(i * i for i in range(10))
    assert sorted(calls) == list(range(10))
    assert result.episodes == 2  # all ten completions delivered in a single replay
    assert [e["EventId"] for e in of_type(result, TASK_SCHEDULED)] == list(range(10))


def test_fan_out_sub_orchestrators_polling_with_timers() -> None:
    polls: dict[str, int] = {}

    def job_status(job: str) -> str:
        polls[job] = polls.get(job, 0) + 1
        return "done" if polls[job] >= int(job[-1]) else "running"

    def poll(ctx: df.DurableOrchestrationContext):
        job = ctx.get_input()
        while (yield ctx.call_activity("status", job)) != "done":
            yield ctx.create_timer(ctx.current_utc_datetime + timedelta(minutes=5))
        return f"{job}@{ctx.current_utc_datetime.isoformat()}"

    def parent(ctx: df.DurableOrchestrationContext):
        jobs = ["job1", "job2", "job3"]
        return (yield ctx.task_all([ctx.call_sub_orchestrator("poll", j) for j in jobs]))

    clock = VirtualClock(T0)
    rt = LocalDurableRuntime({"parent": parent, "poll": poll}, {"status": job_status}, clock=clock)
    result = rt.run("parent", instance_id="p")

    assert result.status == "Completed"
    assert result.output == [f"job{n}@{(T0 + timedelta(minutes=5 * (n - 1))).isoformat()}"
                             for n in (1, 2, 3)]
    assert clock.now() == T0 + timedelta(minutes=10)
    assert polls == {"job1": 1, "job2": 2, "job3": 3}
    children = {iid: r for iid, r in rt.instances.items() if iid != "p"}
    assert sorted(children) == ["p:0:0", "p:0:1", "p:0:2"]
    job3 = children["p:0:2"]
    created = [dt_parse(e["FireAt"]) for e in of_type(job3, TIMER_CREATED)]
    fired = [(dt_parse(e["FireAt"]), dt_parse(e["Timestamp"])) for e in of_type(job3, TIMER_FIRED)]
    assert created == [T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)]
    assert fired == [(t, t) for t in created]  # fired exactly when requested
    assert [e["InstanceId"] for e in of_type(result, 7)] == sorted(children)


def test_activity_with_retry_succeeds_on_third_attempt() -> None:
    attempts: list[str] = []

    def flaky(x: int) -> int:
        attempts.append(f"attempt{len(attempts) + 1}")
        if len(attempts) < 3:
            raise ConnectionError(f"boom {len(attempts)}")
        return x + 1

    def orch(ctx: df.DurableOrchestrationContext):
        value = yield ctx.call_activity_with_retry("flaky", df.RetryOptions(30_000, 5), 41)
        after = yield ctx.call_activity("flaky", value)  # ids keep counting after hidden ones
        return [value, after]

    clock = VirtualClock(T0)
    result = LocalDurableRuntime({"orch": orch}, {"flaky": flaky}, clock=clock).run("orch")

    assert result.output == [42, 43]
    assert len(attempts) == 4
    timers = of_type(result, TIMER_CREATED)
    assert [dt_parse(e["FireAt"]) for e in timers] == [
        T0 + timedelta(seconds=30), T0 + timedelta(seconds=60)]
    assert [e["EventId"] for e in timers] == [1, 3]
    assert [e["EventId"] for e in of_type(result, TASK_SCHEDULED)] == [0, 2, 4, 5]
    failed = of_type(result, TASK_FAILED)
    assert [(e["Reason"], e["Details"]) for e in failed] == [
        ("boom 1", "ConnectionError"), ("boom 2", "ConnectionError")]
    assert clock.now() == T0 + timedelta(seconds=60)


class BackoffRetry(df.RetryOptions):
    """This SDK's RetryOptions has no backoff; the driver honours DTFx-style fields if present."""

    backoff_coefficient = 2.0
    max_retry_interval_in_milliseconds = 50_000


def test_retry_timers_follow_backoff_and_cap() -> None:
    def bad(_: Any) -> None:
        raise OSError("nope")

    def orch(ctx: df.DurableOrchestrationContext):
        try:
            yield ctx.call_activity_with_retry("bad", BackoffRetry(20_000, 4))
        except Exception:
            return "gave up"

    result = runtime({"orch": orch}, {"bad": bad}).run("orch")

    fire_at = [dt_parse(e["FireAt"]) for e in of_type(result, TIMER_CREATED)]
    gaps = [b - a for a, b in itertools.pairwise([T0, *fire_at])]
    assert gaps == [timedelta(seconds=s) for s in (20, 40, 50, 50)]
    assert result.output == "gave up"


def test_retry_exhausted_is_catchable() -> None:
    def always_fails(_: Any) -> None:
        raise ValueError("still broken")

    def orch(ctx: df.DurableOrchestrationContext):
        try:
            yield ctx.call_activity_with_retry("bad", df.RetryOptions(1_000, 3))
        except Exception as exc:
            return f"caught: {exc}"
        return "unreachable"

    result = runtime({"orch": orch}, {"bad": always_fails}).run("orch")

    assert result.status == "Completed"
    assert result.output.startswith("caught: still broken")
    assert "ValueError" in result.output
    assert len(of_type(result, TASK_FAILED)) == 3
    # SDK quirk: after the last attempt it still waits one more retry timer before failing.
    assert len(of_type(result, TIMER_FIRED)) == 3


def test_uncaught_activity_exception_fails_instance() -> None:
    def orch(ctx: df.DurableOrchestrationContext):
        ctx.set_custom_status({"step": "boom"})
        yield ctx.call_activity("bad")
        return "unreachable"

    def bad(_: Any) -> None:
        raise RuntimeError("disk on fire")

    result = runtime({"orch": orch}, {"bad": bad}).run("orch")

    assert result.status == "Failed"
    assert result.error is not None and result.error.startswith("disk on fire")
    assert "$OutOfProcData$" not in result.error
    assert result.custom_status == {"step": "boom"}
    assert result.output is None


def test_sub_orchestrator_failure_propagates_to_parent() -> None:
    def child(ctx: df.DurableOrchestrationContext):
        yield ctx.call_activity("noop")
        raise ValueError("child exploded")

    def parent(ctx: df.DurableOrchestrationContext):
        try:
            yield ctx.call_sub_orchestrator("child", instance_id="kid")
        except Exception as exc:
            return str(exc)

    rt = runtime({"parent": parent, "child": child}, {"noop": lambda _: None})
    result = rt.run("parent")

    assert result.output.startswith("child exploded")
    assert rt.instances["kid"].status == "Failed"


def test_continue_as_new_keeps_final_history_bounded() -> None:
    def counter(ctx: df.DurableOrchestrationContext):
        n = ctx.get_input()
        total = yield ctx.call_activity("inc", n)
        if total < 5:
            ctx.continue_as_new(total)
            return None
        return total

    result = runtime({"counter": counter}, {"inc": lambda n: n + 1}).run("counter", 0)

    assert (result.status, result.output) == ("Completed", 5)
    assert result.episodes == 10  # two replays per generation, five generations
    assert len(result.history) < 15
    assert result.history_events_total == 5 * len(result.history)
    assert result.history[1]["Input"] == "4"


def test_non_deterministic_orchestrator_is_detected() -> None:
    """The SDK matches completions to tasks by id only; the driver compares action lists."""
    replays = {"n": 0}

    def fickle(ctx: df.DurableOrchestrationContext):
        replays["n"] += 1
        name = "a" if replays["n"] % 2 else "b"
        first = yield ctx.call_activity(name)
        return (yield ctx.call_activity("a", first))

    result = runtime({"fickle": fickle}, {"a": lambda _: 1, "b": lambda _: 2}).run("fickle")

    assert result.status == "Failed"
    assert result.error is not None and "Non-deterministic" in result.error


def test_current_utc_datetime_tracks_orchestrator_started() -> None:
    seen: list[datetime] = []

    def orch(ctx: df.DurableOrchestrationContext):
        if not ctx.is_replaying:
            seen.append(ctx.current_utc_datetime)
        yield ctx.create_timer(ctx.current_utc_datetime + timedelta(hours=1))
        if not ctx.is_replaying:
            seen.append(ctx.current_utc_datetime)
        yield ctx.create_timer(ctx.current_utc_datetime + timedelta(hours=2))
        if not ctx.is_replaying:
            seen.append(ctx.current_utc_datetime)
        return ctx.current_utc_datetime.isoformat()

    result = runtime({"orch": orch}).run("orch")

    started = [dt_parse(e["Timestamp"]) for e in of_type(result, ORCH_STARTED)]
    assert started == [T0, T0 + timedelta(hours=1), T0 + timedelta(hours=3)]
    assert seen == started
    assert dt_parse(result.output) == started[-1]


def test_external_events() -> None:
    def approval(ctx: df.DurableOrchestrationContext):
        first = yield ctx.wait_for_external_event("approve")
        timer = ctx.create_timer(ctx.current_utc_datetime + timedelta(days=1))
        second = ctx.wait_for_external_event("approve")
        winner = yield ctx.task_any([second, timer])
        if winner == timer:
            return [first, "timeout"]
        timer.cancel()
        return [first, second.result]

    rt = runtime({"approval": approval})
    rt.raise_event("i1", "approve", {"by": "ann"})
    rt.raise_event("i1", "approve", {"by": "bob"})
    result = rt.run("approval", instance_id="i1")

    assert result.output == [{"by": "ann"}, {"by": "bob"}]
    assert [e["Input"] for e in of_type(result, EVENT_RAISED)] == [
        '{"by": "ann"}', '{"by": "bob"}']
    assert rt.clock.now() == T0  # the cancelled timer never advanced the clock

    rt.raise_event("i2", "approve", "only one")
    timed_out = rt.run("approval", instance_id="i2")
    assert timed_out.output == ["only one", "timeout"]
    assert rt.clock.now() == T0 + timedelta(days=1)


def test_deadlock_names_the_waiting_instance() -> None:
    def waits(ctx: df.DurableOrchestrationContext):
        return (yield ctx.wait_for_external_event("never"))

    with pytest.raises(DurableDeadlockError, match=r"'stuck'.*never"):
        runtime({"waits": waits}).run("waits", instance_id="stuck")


def test_max_episodes_guard() -> None:
    def forever(ctx: df.DurableOrchestrationContext):
        ctx.continue_as_new(ctx.get_input())
        yield ctx.call_activity("noop")

    with pytest.raises(MaxEpisodesExceeded):
        runtime({"forever": forever}, {"noop": lambda _: None}, max_episodes=20).run("forever")


def test_unknown_activity_fails_task_and_on_event_sees_every_event() -> None:
    def orch(ctx: df.DurableOrchestrationContext):
        return (yield ctx.call_activity("missing"))

    seen: list[tuple[str, int]] = []
    rt = runtime({"orch": orch}, on_event=lambda iid, e: seen.append((iid, e["EventType"])))
    result = rt.run("orch", instance_id="x")

    assert result.status == "Failed" and "'missing' is not registered" in (result.error or "")
    assert seen == [("x", e["EventType"]) for e in result.history]
