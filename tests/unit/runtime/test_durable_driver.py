"""Drives real Durable Functions generator orchestrators through LocalDurableRuntime."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import pytest
from dateutil.parser import parse as dt_parse

from drift.runtime.runtime import (
    DurableDeadlockError,
    InstanceResult,
    LocalDurableRuntime,
    MaxEpisodesExceeded,
    VirtualClock,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ORCH_STARTED, TASK_SCHEDULED, TASK_COMPLETED, TASK_FAILED = 12, 4, 5, 6
TIMER_CREATED, TIMER_FIRED, EVENT_SENT, EVENT_RAISED = 10, 11, 14, 15
Status = df.OrchestrationRuntimeStatus

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

    rt = runtime(
        {"chain": chain}, {"double": lambda n: n * 2, "describe": lambda d: f"v={d['value']}"}
    )
    result = rt.run("chain", 3, instance_id="seq")

    assert (result.status, result.output, result.error) == ("Completed", [6, 12, "v=12"], None)
    assert result.episodes == 4  # start + one replay per completed activity
    scheduled = of_type(result, TASK_SCHEDULED)
    assert [(e["EventId"], e["Name"], e["Input"]) for e in scheduled] == [
        (0, "double", "3"),
        (1, "double", "6"),
        (2, "describe", '{"value": 12}'),
    ]
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
    assert result.output == [
        f"job{n}@{(T0 + timedelta(minutes=5 * (n - 1))).isoformat()}" for n in (1, 2, 3)
    ]
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
        T0 + timedelta(seconds=30),
        T0 + timedelta(seconds=60),
    ]
    assert [e["EventId"] for e in timers] == [1, 3]
    assert [e["EventId"] for e in of_type(result, TASK_SCHEDULED)] == [0, 2, 4, 5]
    failed = of_type(result, TASK_FAILED)
    assert [(e["Reason"], e["Details"]) for e in failed] == [
        ("boom 1", "ConnectionError"),
        ("boom 2", "ConnectionError"),
    ]
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
    assert not rt.raise_event("i1", "approve", "too early")  # no such instance: dropped (404)
    rt.start_new("approval", instance_id="i1")
    rt.run_until_idle()
    assert rt.raise_event("i1", "approve", {"by": "ann"})
    assert rt.raise_event("i1", "approve", {"by": "bob"})
    rt.run_until_idle()
    result = rt.instances["i1"]

    assert result.output == [{"by": "ann"}, {"by": "bob"}]
    assert [e["Input"] for e in of_type(result, EVENT_RAISED)] == ['{"by": "ann"}', '{"by": "bob"}']
    assert rt.clock.now() == T0  # the cancelled timer never advanced the clock
    assert not rt.raise_event("i1", "approve", "late")  # finished: dropped (410)

    rt.start_new("approval", instance_id="i2")
    rt.run_until_idle(max_time=T0)
    rt.raise_event("i2", "approve", "only one")
    rt.run_until_idle()
    assert rt.instances["i2"].output == ["only one", "timeout"]
    assert rt.clock.now() == T0 + timedelta(days=1)


def test_an_event_nobody_waits_for_reaches_every_later_waiter_as_in_the_sdk() -> None:
    """Delivered as the extension delivers it: the SDK (1.7) keeps an event that arrived while
    nothing waited and completes every later wait of that name with it (issue #507)."""

    def twice(ctx: df.DurableOrchestrationContext):
        yield ctx.call_activity("noop")
        first = yield ctx.wait_for_external_event("go")
        second = yield ctx.wait_for_external_event("go")
        return [first, second]

    rt = runtime({"twice": twice}, {"noop": lambda _: None})
    rt.start_new("twice", instance_id="t")
    rt.raise_event("t", "go", 1)  # arrives with the activity's result, before any wait
    rt.run_until_idle()
    assert rt.instances["t"].output == [1, 1]


def test_events_left_unconsumed_are_dropped_by_continue_as_new() -> None:
    def generations(ctx: df.DurableOrchestrationContext):
        n = ctx.get_input()
        if n == 0:
            yield ctx.call_activity("noop")  # the event arrives meanwhile, nobody waits
            ctx.continue_as_new(1)
            return None
        return (yield ctx.wait_for_external_event("go"))

    rt = runtime({"generations": generations}, {"noop": lambda _: None})
    rt.start_new("generations", 0, instance_id="g")
    rt.raise_event("g", "go", "lost")
    rt.run_until_idle()
    assert rt.get_status("g").runtime_status is Status.Running  # type: ignore[union-attr]
    rt.raise_event("g", "go", "kept")
    rt.run_until_idle()
    assert rt.instances["g"].output == "kept"


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


# -- entities -------------------------------------------------------------------------------


def counter(ctx: df.DurableEntityContext) -> None:
    value = ctx.get_state(lambda: 0)
    if ctx.operation_name == "add":
        value += ctx.get_input()
    elif ctx.operation_name == "fail":
        raise ValueError(f"cannot {ctx.get_input()}")
    ctx.set_state(value)
    ctx.set_result({"value": value, "entity": f"{ctx.entity_name}/{ctx.entity_key}"})


def test_entity_calls_and_client_signals_interleave_and_state_persists() -> None:
    cid = df.EntityId("Counter", "k")

    def orch(ctx: df.DurableOrchestrationContext):
        entity = df.EntityId("counter", ctx.get_input())  # names are case-insensitive
        first = yield ctx.call_entity(entity, "add", 5)
        try:
            yield ctx.call_entity(entity, "fail", "divide")
            caught = "no exception"
        except Exception as exc:
            caught = f"{type(exc).__name__}: {exc}"
        ctx.signal_entity(entity, "add", 100)  # sent before the call below, so seen by it
        last = yield ctx.call_entity(entity, "get")
        return [first, caught, last]

    rt = runtime({"orch": orch}, entities={"Counter": counter})
    rt.signal_entity(cid, "add", 1)
    rt.start_new("orch", "k", instance_id="o")
    rt.signal_entity(cid, "add", 10)  # queued before the orchestrator's first call
    assert rt.read_entity_state(cid) == (False, None)  # nothing ran yet
    rt.run_until_idle()

    status = rt.get_status("o")
    assert status is not None and status.runtime_status is Status.Completed
    assert status.output == [
        {"value": 16, "entity": "counter/k"},
        "Exception: cannot divide",
        {"value": 116, "entity": "counter/k"},
    ]
    assert rt.read_entity_state(cid) == (True, 116)

    rt.signal_entity(cid, "add", 1)
    assert rt.read_entity_state(cid) == (True, 116)  # reads don't apply queued operations
    rt.run_until_idle()
    assert rt.read_entity_state(df.EntityId("COUNTER", "k")) == (True, 117)
    assert rt.read_entity_state(df.EntityId("Counter", "other")) == (False, None)


def test_call_entity_then_timer_then_signal_history_matches_sdk_protocol() -> None:
    cid = df.EntityId("Counter", "t")

    def orch(ctx: df.DurableOrchestrationContext):
        before = yield ctx.call_entity(cid, "add", 1)
        yield ctx.create_timer(ctx.current_utc_datetime + timedelta(hours=1))
        ctx.signal_entity(cid, "add", 1000)
        return before["value"]

    rt = runtime({"orch": orch}, entities={"counter": counter})
    rt.start_new("orch", instance_id="o")
    rt.run_until_idle(max_time=T0 + timedelta(minutes=30))
    assert rt.get_status("o").runtime_status is Status.Running  # type: ignore[union-attr]
    assert rt.read_entity_state(cid) == (True, 1)

    rt.signal_entity(cid, "add", 10)  # a client signal while the orchestrator sleeps
    rt.run_until_idle(max_time=T0 + timedelta(minutes=30))
    assert rt.read_entity_state(cid) == (True, 11)
    assert rt.clock.now() == T0

    rt.run_until_idle()
    result = rt.instances["o"]
    assert (result.status, result.output) == ("Completed", 1)
    assert rt.read_entity_state(cid) == (True, 1011)
    assert rt.clock.now() == T0 + timedelta(hours=1)

    sent = of_type(result, EVENT_SENT)
    assert [(e["EventId"], e["InstanceId"], e["Name"]) for e in sent] == [
        (0, "@counter@t", "op"),
        (2, "@counter@t", "op"),
    ]  # timer took id 1
    call, signal = (json.loads(e["Input"]) for e in sent)
    assert (call["op"], call["signal"], call["input"]) == ("add", False, "1")
    assert (signal["op"], signal["signal"], signal["input"]) == ("add", True, "1000")
    [response] = [e for e in of_type(result, EVENT_RAISED)]
    assert response["Name"] == call["id"]
    assert json.loads(json.loads(response["Input"])["result"]) == {
        "value": 1,
        "entity": "counter/t",
    }
    assert [e["EventId"] for e in of_type(result, TIMER_CREATED)] == [1]


def test_entity_batch_keeps_sdk_stale_result_quirk() -> None:
    """Entity.handle never resets the result between operations of one batch."""

    def quiet(ctx: df.DurableEntityContext) -> None:
        if ctx.operation_name == "answer":
            ctx.set_result(42)

    def orch(ctx: df.DurableOrchestrationContext):
        e = df.EntityId("quiet", "q")
        return (yield ctx.task_all([ctx.call_entity(e, "answer"), ctx.call_entity(e, "noop")]))

    result = runtime({"orch": orch}, entities={"quiet": quiet}).run("orch")
    assert result.output == [42, 42]


def test_unknown_entity_call_fails_catchably_and_signal_fails_loudly() -> None:
    def orch(ctx: df.DurableOrchestrationContext):
        try:
            yield ctx.call_entity(df.EntityId("ghost", "g"), "boo")
        except Exception as exc:
            return str(exc)

    rt = runtime({"orch": orch})
    assert rt.run("orch").output == "entity 'ghost' is not registered"
    with pytest.raises(LookupError, match="ghost"):
        rt.signal_entity(df.EntityId("ghost", "g"), "boo")


# -- host-like control ----------------------------------------------------------------------


def test_start_new_replaces_existing_instance() -> None:
    recorded: list[str] = []

    def slow(ctx: df.DurableOrchestrationContext):
        tag = ctx.get_input()
        yield ctx.create_timer(ctx.current_utc_datetime + timedelta(minutes=10))
        return (yield ctx.call_activity("record", tag))

    rt = runtime({"slow": slow}, {"record": lambda tag: recorded.append(tag) or tag})
    assert rt.start_new("slow", "first", instance_id="x") == "x"
    status = rt.get_status("x")
    assert status is not None and status.runtime_status is Status.Pending
    assert (status.input, status.created_time, status.name) == ("first", T0, "slow")
    rt.run_until_idle(max_time=T0)
    assert rt.get_status("x").runtime_status is Status.Running  # type: ignore[union-attr]

    rt.clock.sleep_until(T0 + timedelta(minutes=5))
    rt.start_new("slow", "second", instance_id="x")
    status = rt.get_status("x")
    assert status is not None and status.runtime_status is Status.Pending
    assert status.input == "second"
    rt.run_until_idle()

    status = rt.get_status("x")
    assert status is not None and status.runtime_status is Status.Completed
    assert status.output == "second"
    assert status.last_updated_time == T0 + timedelta(minutes=15)
    assert recorded == ["second"]  # the first instance's timer and activity never happened
    assert rt.clock.now() == T0 + timedelta(minutes=15)  # its stale timer didn't move time
    assert rt.starts == [("x", "slow"), ("x", "slow")]
    assert "first" not in json.dumps(rt.instances["x"].history)
    assert rt.get_status("nope") is None


def test_run_until_idle_max_time_leaves_future_timer_pending() -> None:
    def nap(ctx: df.DurableOrchestrationContext):
        ctx.set_custom_status("sleeping")
        yield ctx.create_timer(ctx.current_utc_datetime + timedelta(hours=2))
        ctx.set_custom_status("awake")
        return "rested"

    clock = VirtualClock(T0)
    rt = LocalDurableRuntime({"nap": nap}, {}, clock=clock)
    iid = rt.start_new("nap")
    rt.run_until_idle(max_time=T0 + timedelta(hours=1))
    status = rt.get_status(iid)
    assert status is not None
    assert (status.runtime_status, status.custom_status) == (Status.Running, "sleeping")
    assert clock.now() == T0

    rt.run_until_idle(max_time=T0 + timedelta(hours=2))  # inclusive bound
    status = rt.get_status(iid)
    assert status is not None
    assert (status.runtime_status, status.output, status.custom_status) == (
        Status.Completed,
        "rested",
        "awake",
    )
    assert clock.now() == T0 + timedelta(hours=2)
    assert rt.starts == [(iid, "nap")]


def test_run_until_idle_tolerates_waiting_instances_and_terminate() -> None:
    def waits(ctx: df.DurableOrchestrationContext):
        return (yield ctx.wait_for_external_event("go"))

    rt = runtime({"waits": waits})
    rt.start_new("waits", instance_id="w1")
    rt.start_new("waits", instance_id="w2")
    rt.run_until_idle()  # no deadlock error: a host just idles
    rt.raise_event("w1", "go", {"ok": True})
    rt.terminate("w2", "operator said so")
    rt.run_until_idle()

    w1, w2 = rt.get_status("w1"), rt.get_status("w2")
    assert w1 is not None and (w1.runtime_status, w1.output) == (Status.Completed, {"ok": True})
    assert w2 is not None and (w2.runtime_status, w2.output) == (
        Status.Terminated,
        "operator said so",
    )
    rt.terminate("w1", "too late")  # finished instances are left alone
    assert rt.get_status("w1").runtime_status is Status.Completed  # type: ignore[union-attr]
    with pytest.raises(KeyError):
        rt.terminate("missing", "x")


def test_failed_status_reports_error_as_output() -> None:
    def boom(ctx: df.DurableOrchestrationContext):
        yield ctx.call_activity("bad")

    def bad(_: Any) -> None:
        raise RuntimeError("kaput")

    rt = runtime({"boom": boom}, {"bad": bad})
    iid = rt.start_new("boom")
    rt.run_until_idle()
    status = rt.get_status(iid)
    assert status is not None and status.runtime_status is Status.Failed
    assert str(status.output).startswith("kaput")
