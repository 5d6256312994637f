"""The durable orchestrators: register, plan, fan out one monitored retraining per group, report.

These generator functions are what Azure Functions runs (issue: the Functions app registers
them) and what the local driver replays in-process. They must stay deterministic: no I/O,
clock, random or environment reads; every side effect is an activity, time is
`context.current_utc_datetime`, waiting is a durable timer.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from drift import activities as act
from drift.domain import TERMINAL_STATES, TIMED_OUT

RETRAIN = "drift_retrain"
MONITOR = "drift_monitor_job"

# Service calls get 3 attempts, 5 s apart (the Python SDK's RetryOptions has no backoff);
# the Azure backend retries transient errors with backoff inside each attempt.
SERVICE_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=5000, max_number_of_attempts=3)
# Polls per monitor generation before continue_as_new trims its history.
POLLS_PER_GENERATION = 20
# Python durable timers must stay under 6 days.
MAX_TIMER = timedelta(days=6) - timedelta(minutes=1)

Json = dict[str, Any]
Orchestration = Generator[Any, Any, Any]


class ActivityError(RuntimeError):
    """An activity reported a permanent error: fail now, do not spend the retry budget."""


def _call(context: df.DurableOrchestrationContext, name: str, args: Json) -> Orchestration:
    """Call an activity with retry for transient faults; raise its permanent errors at once."""
    result = yield context.call_activity_with_retry(name, SERVICE_RETRY, args)
    if isinstance(result, dict) and act.PERMANENT_ERROR in result:
        raise ActivityError(result[act.PERMANENT_ERROR])
    return result


def _first_line(exc: BaseException) -> str:
    """Activity failures arrive as 'reason \\n details'; the reason is what a person needs."""
    return str(exc).split("\n", 1)[0].strip() or type(exc).__name__


def _row(job: Json, state: Json | None, status: str, error: str | None = None) -> Json:
    state = state or {}
    return {
        "model_group": job["group"],
        "job": job["job_name"],
        "source_job": job["source_job"],
        "status": status,
        "duration_s": state.get("duration_s"),
        "error": error or state.get("error"),
        "log_path": state.get("log_path"),
    }


def monitor_job(context: df.DurableOrchestrationContext) -> Orchestration:
    """Submit one job, poll it on durable timers until it ends, cancel it at the deadline."""
    args: Json = context.get_input()
    job: Json = args["job"]
    name = job["job_name"]
    state: Json | None = None
    try:
        if not args.get("submitted"):
            yield from _call(context, act.SUBMIT, job)
        start = context.current_utc_datetime
        deadline = (
            datetime.fromisoformat(args["deadline"])
            if args.get("deadline")
            else start + timedelta(seconds=int(args["timeout_s"]))
        )
        delay = min(timedelta(seconds=int(args["delay_s"])), MAX_TIMER)
        for poll in range(POLLS_PER_GENERATION):
            state = yield from _call(context, act.STATE, {"job": name})
            status = state["status"]
            context.set_custom_status({"job": name, "status": status, "poll": poll})
            if status in TERMINAL_STATES:
                return _row(job, state, status)
            now = context.current_utc_datetime
            if now >= deadline:
                yield from _call(context, act.CANCEL, {"job": name})
                final = yield from _call(context, act.STATE, {"job": name})
                return _row(
                    job,
                    final,
                    TIMED_OUT,
                    f"no terminal state after {args['timeout_s']} s; cancel requested "
                    f"(job now {final['status']})",
                )
            yield context.create_timer(min(now + delay, deadline))
        context.continue_as_new({**args, "submitted": True, "deadline": deadline.isoformat()})
        return None
    except Exception as exc:  # an activity failed after its retries: report, do not crash the run
        return _row(job, state, "Error", _first_line(exc))


def retrain(context: df.DurableOrchestrationContext) -> Orchestration:
    """Register (or resolve) a data version, plan, fan out bounded monitors, fan in a report."""
    request: Json = context.get_input() or {}
    context.set_custom_status({"stage": "registering"})
    if request.get("data_asset_version"):
        reg = yield from _call(
            context, act.RESOLVE, {"data_asset_version": request["data_asset_version"]}
        )
    else:
        reg = yield from _call(
            context,
            act.REGISTER,
            {"table": request.get("table"), "delta_version": request.get("delta_version")},
        )
    report: Json = {
        "instance_id": context.instance_id,
        "table": reg["table"],
        "delta_version": reg["delta_version"],
        "operation": reg.get("operation"),
        "data_asset_version": reg["asset_version"],
        "registered": reg["registered"],
        "newly_registered": bool(reg.get("created")),
        "skipped": reg["skipped"],
        "dry_run": bool(request.get("dry_run")),
        "plan": None,
        "retrained": [],
    }
    if reg["skipped"]:
        context.set_custom_status({"stage": "skipped", "reason": reg["skipped"]})
        return report

    context.set_custom_status({"stage": "planning", "data_version": reg["asset_version"]})
    plan: Json = yield from _call(
        context,
        act.PLAN,
        {"data_version": reg["asset_version"], "groups": request.get("model_name_prefix") or []},
    )
    report["plan"] = {"jobs": plan["jobs"], "left_alone": plan["left_alone"]}
    if request.get("dry_run"):
        context.set_custom_status({"stage": "dry run", "jobs": len(plan["jobs"])})
        return report

    report["retrained"] = yield from _fan_out(context, plan)
    context.set_custom_status({"stage": "done", "jobs": len(plan["jobs"])})
    return report


def _fan_out(context: df.DurableOrchestrationContext, plan: Json) -> Orchestration:
    """At most `max_parallel` monitors at once; a slot is refilled as soon as one ends."""
    waiting: list[Json] = list(plan["jobs"])
    running: list[tuple[Json, Any]] = []
    rows: dict[str, Json] = {}
    limit = max(1, int(plan["max_parallel"]))
    while waiting or running:
        while waiting and len(running) < limit:
            job = waiting.pop(0)
            child = context.call_sub_orchestrator(
                MONITOR,
                {"job": job, "timeout_s": plan["timeout_s"], "delay_s": plan["delay_s"]},
                instance_id=f"{context.instance_id}-{job['group']}",
            )
            running.append((job, child))
        winner = yield context.task_any([task for _, task in running])
        for job, task in list(running):
            if task is winner or task.is_completed:
                running.remove((job, task))
                result = task.result
                if isinstance(result, Exception):  # the monitor itself failed
                    result = _row(job, None, "Error", _first_line(result))
                rows[job["group"]] = result
        context.set_custom_status(
            {"stage": "retraining", "done": len(rows), "total": len(plan["jobs"])}
        )
    return [rows[job["group"]] for job in plan["jobs"]]


ORCHESTRATORS = {RETRAIN: retrain, MONITOR: monitor_job}
