"""The durable orchestrators: register, plan, fan out one monitored retraining per group, report.

These generator functions are what Azure Functions runs (issue: the Functions app registers
them) and what the local driver replays in-process. They must stay deterministic: no I/O,
clock, random or environment reads; every side effect is an activity, time is
`context.current_utc_datetime`, waiting is a durable timer.

Longer than 500 lines on purpose: every function here runs under replay, so the orchestrators,
the two entities and the instance ids and retry options they share stay in the one module
that must keep that rule, and can be checked for it in one read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from drift.backends import publish as pub
from drift.domain import coalescing
from drift.domain.plan import TAG_SUBMITTED_BY
from drift.domain.types import TERMINAL_STATES, TIMED_OUT
from drift.durable import activities as act
from drift.reporting.report import any_failed

log = logging.getLogger("drift.orchestration")

RETRAIN = "drift_retrain"
MONITOR = "drift_monitor_job"
INTAKE = "drift_commit_intake"
TABLE_ENTITY = "drift_table"
# Which monitors watch which jobs, per model group: what a job status event is routed by.
WATCH_ENTITY = "drift_job_watch"
# The external event a job status notification raises on its monitors. Its data is only a
# hint: the monitor always reads the status with the activity.
JOB_EVENT = "drift_job_status"

# Activities get 6 attempts, 5 s apart (the Python SDK's RetryOptions has no backoff): at a
# 30% fault rate per attempt about 0.7% of runs would still lose a step with 6, against ~24%
# with 3 (tests/reliability R3). The Azure adapters also retry with backoff inside each
# attempt, and permanent errors are never retried.
SERVICE_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=5000, max_number_of_attempts=6)
# Polls per monitor generation before continue_as_new trims its history.
POLLS_PER_GENERATION = 20
# Retrains, and loop passes (waits included), per watcher generation before continue_as_new.
RUNS_PER_GENERATION = 10
PASSES_PER_GENERATION = 100
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


def _row(
    job: Json, state: Json | None, status: str, error: str | None = None, reused: bool = False
) -> Json:
    state = state or {}
    return {
        "model_group": job["group"],
        "job": job["job_name"],
        "source_job": job["source_job"],
        "status": status,
        "duration_s": state.get("duration_s"),
        "error": error or state.get("error"),
        "log_path": state.get("log_path"),
        "reused": reused,  # the job existed already: found again, not submitted
    }


def monitor_job(context: df.DurableOrchestrationContext) -> Orchestration:
    """Submit one job, watch it to its end, cancel it at the deadline; returns its report row.

    The first generation registers the monitor with its group's watch entity, so a job status
    event (Event Grid for Azure ML, a webhook for Databricks) can find it; the final one
    unregisters it. Both are signals: fire-and-forget, no wait.
    """
    args: Json = context.get_input()
    job: Json = args["job"]
    watch = df.EntityId(WATCH_ENTITY, watch_key(job["group"]))
    if not args.get("submitted"):
        context.signal_entity(
            watch, "watch", {"instance": context.instance_id, "job": job["job_name"]}
        )
    row = yield from _monitor(context, args, watch)
    if row is not None:  # None: continued as new, still watching
        context.signal_entity(watch, "unwatch", context.instance_id)
    return row


def _monitor(
    context: df.DurableOrchestrationContext, args: Json, watch: df.EntityId
) -> Orchestration:
    """Poll the job's status after each wake-up until it ends or the deadline passes.

    A wake-up is the durable timer (`refreshDelay`) or a job status event, whichever comes
    first; either way the status is read with the activity, so a lost, late, duplicated or
    out-of-order event changes only how soon the end is seen. After an event the monitor
    continues as new at once: the Python SDK (1.7) hands an event that arrived while nobody
    was waiting to every later waiter of that name in the same history (Azure Functions
    Durable Python issue #507), so an event must never be waited on twice in one generation.
    The next generation starts with the status read, which is the poll the event asked for.

    A poll that still fails after its retries (an outage) is not the job's end: polling goes
    on until the deadline, where the job is cancelled as any other. Only a permanent error
    (the job or the permission is gone) stops monitoring early, and then the job is still
    asked to stop, so nothing keeps running unwatched.
    """
    job: Json = args["job"]
    name = job["job_name"]
    key = args.get("table_key")
    ref = {"job": name, "table_key": key}
    reused = bool(args.get("reused"))
    if args.get("run_id"):
        ref["run_id"] = args["run_id"]
    try:
        if not args.get("submitted"):
            tags = {**job["tags"], TAG_SUBMITTED_BY: context.instance_id}
            submitted = yield from _call(
                context, act.SUBMIT, {**job, "tags": tags, "table_key": key}
            )
            reused = bool((submitted or {}).get("existing"))
            if isinstance(submitted, dict) and submitted.get("run_id"):
                ref["run_id"] = submitted["run_id"]  # poll and cancel that run
                # ... and be woken by that run's notification only (a Databricks webhook names
                # the job and the run, not drift's job name).
                context.signal_entity(
                    watch,
                    "watch",
                    {"instance": context.instance_id, "job": name, "run_id": ref["run_id"]},
                )
    except Exception as exc:
        yield from _cancel_quietly(context, ref)  # the submit may have gone through
        return _row(job, None, "Error", f"submit failed: {_first_line(exc)}")
    deadline = (
        datetime.fromisoformat(args["deadline"])
        if args.get("deadline")
        else context.current_utc_datetime + timedelta(seconds=int(args["timeout_s"]))
    )
    delay = min(timedelta(seconds=int(args["delay_s"])), MAX_TIMER)
    state: Json | None = None
    outage: str | None = args.get("outage")
    waiters: list[Any] = []  # this generation's event waits (the timer won each one so far)
    woken = int(args.get("woken") or 0)
    for poll in range(POLLS_PER_GENERATION):
        try:
            state = yield from _call(context, act.STATE, ref)
            outage = None
        except ActivityError as exc:
            yield from _cancel_quietly(context, ref)
            return _row(job, state, "Error", _first_line(exc), reused)
        except Exception as exc:
            outage = _first_line(exc)
        status = state["status"] if state and outage is None else "Unknown"
        context.set_custom_status(
            {"job": name, "status": status, "poll": poll, "outage": outage, "woken": woken}
        )
        if status in TERMINAL_STATES:
            return _row(job, state, status, reused=reused)
        now = context.current_utc_datetime
        if now >= deadline:
            cancelled = yield from _cancel_quietly(context, ref)
            final = None
            if cancelled:
                try:
                    final = yield from _call(context, act.STATE, ref)
                except Exception:
                    final = None
            now_status = final["status"] if final else "unknown"
            detail = f"no terminal state after {args['timeout_s']} s; cancel "
            detail += f"requested (job now {now_status})" if cancelled else "could not be sent"
            if outage:
                detail += f"; last poll failed: {outage}"
            return _row(job, final or state, TIMED_OUT, detail, reused)
        if any(w.is_completed for w in waiters):
            # An event came while the status was being read, and an earlier (abandoned) wait
            # took it: read again in a fresh generation rather than sleep through it.
            woken += 1
            break
        timer = context.create_timer(min(now + delay, deadline))
        event = context.wait_for_external_event(JOB_EVENT)
        waiters.append(event)
        winner = yield context.task_any([timer, event])
        if winner is event:
            timer.cancel()
            woken += 1
            break
    context.continue_as_new(
        {
            **args,
            "submitted": True,
            "reused": reused,
            "run_id": ref.get("run_id"),
            "deadline": deadline.isoformat(),
            "outage": outage,
            "woken": woken,
        }
    )
    return None


def _cancel_quietly(context: df.DurableOrchestrationContext, ref: Json) -> Orchestration:
    """Ask the job to stop; report whether the request went through instead of raising."""
    try:
        yield from _call(context, act.CANCEL, ref)
    except Exception:
        return False
    return True


def retrain(context: df.DurableOrchestrationContext) -> Orchestration:
    """Register (or resolve) a version, plan, decide, fan out bounded monitors, report."""
    request: Json = context.get_input() or {}
    report = yield from _retrain(context, request)
    if not report["dry_run"]:
        report["finished_at"] = _now(context)
        try:
            yield from _call(
                context, act.RECORD, {"report": report, "table_key": request.get("table_key")}
            )
        except Exception as exc:  # the report is the run's output anyway: keep it
            report["record_error"] = _first_line(exc)
        _log_report(context, report)
    return report


def _retrain(context: df.DurableOrchestrationContext, request: Json) -> Orchestration:
    key = request.get("table_key")
    context.set_custom_status({"stage": "registering"})
    if request.get("data_asset_version"):
        reg = yield from _call(
            context,
            act.RESOLVE,
            {"data_asset_version": request["data_asset_version"], "table_key": key},
        )
    else:
        reg = yield from _call(
            context,
            act.REGISTER,
            {
                "delta_version": request.get("delta_version"),
                "dry_run": bool(request.get("dry_run")),
                "table_key": key,
            },
        )
    report: Json = {
        "instance_id": context.instance_id,
        "trigger": request.get("trigger") or ("commit" if "delta_version" in request else "run"),
        "table": reg["table"],
        "delta_version": reg["delta_version"],
        "operation": reg.get("operation"),
        "data_asset_version": reg["asset_version"],
        "registered": reg["registered"],
        "newly_registered": bool(reg.get("created")),
        "would_register": reg.get("would_register"),
        "skipped": reg["skipped"],
        "dry_run": bool(request.get("dry_run")),
        "plan": None,
        "retrained": [],
    }
    if reg["skipped"]:
        context.set_custom_status({"stage": "skipped", "reason": reg["skipped"]})
        return report
    if not request.get("data_asset_version") and not report["dry_run"]:
        # Every run that registers announces it (a rerun finds the version and sends the same
        # id again): at least once, even when a crash hid that this run created it.
        yield from _publish(context, key, [_registered_event(context, report)])

    context.set_custom_status({"stage": "planning", "data_version": reg["asset_version"]})
    plan: Json = yield from _call(
        context,
        act.PLAN,
        {
            "data_version": reg["asset_version"],
            "groups": request.get("model_name_prefix") or [],
            "salt": request.get("trigger_id") or "",
            "table_key": key,
        },
    )
    decisions: Json = {}
    if plan["jobs"] and reg["delta_version"] is not None:
        context.set_custom_status({"stage": "deciding", "groups": len(plan["jobs"])})
        decided = yield from _call(
            context,
            act.DECIDE,
            {
                "delta_version": reg["delta_version"],
                "groups": [
                    {"group": j["group"], "baseline_version": j.get("baseline_version")}
                    for j in plan["jobs"]
                ],
                "force": bool(request.get("force")),
                "table_key": key,
            },
        )
        decisions = decided["decisions"]
    report["plan"] = {
        "jobs": plan["jobs"],
        "left_alone": plan["left_alone"],
        "decisions": decisions,
    }
    if request.get("dry_run"):
        context.set_custom_status({"stage": "dry run", "jobs": len(plan["jobs"])})
        return report

    chosen = [j for j in plan["jobs"] if _action(decisions, j["group"]) == "retrain"]
    started = [_job_event(context, report, pub.STARTED, j, decisions) for j in chosen]
    yield from _publish(context, key, started)

    def finished(rows: list[Json]) -> Orchestration:
        events = [_job_event(context, report, pub.FINISHED, r, decisions) for r in rows]
        yield from _publish(context, key, events)

    rows = yield from _fan_out(context, {**plan, "jobs": chosen}, key, finished)
    by_group = {row["model_group"]: row for row in rows}
    report["retrained"] = [
        {
            **(by_group.get(j["group"]) or _not_retrained(j, decisions[j["group"]])),
            "decision": decisions.get(j["group"]),
        }
        for j in plan["jobs"]
    ]
    context.set_custom_status({"stage": "done", "jobs": len(chosen)})
    return report


def _action(decisions: Json, group: str) -> str:
    """No decision (the version pins nothing drift can read) means the reference's behaviour."""
    decision = decisions.get(group)
    return decision["action"] if decision else "retrain"


def _not_retrained(job: Json, decision: Json) -> Json:
    status = "Blocked" if decision["action"] == "blocked" else "Skipped"
    return {**_row(job, None, status), "job": "", "error": decision["reason"]}


def _log_report(context: df.DurableOrchestrationContext, report: Json) -> None:
    """One structured line per run, written once (not again on every replay)."""
    if context.is_replaying:
        return
    summary = {
        "instance_id": report["instance_id"],
        "table": report["table"],
        "delta_version": report["delta_version"],
        "data_asset_version": report["data_asset_version"],
        "retrained": {r["model_group"]: r["status"] for r in report["retrained"]},
        "failed": any_failed(report),
    }
    log.info("drift run report %s", json.dumps(summary, sort_keys=True))


def _publish(
    context: df.DurableOrchestrationContext, key: str | None, events: list[Json]
) -> Orchestration:
    """Hand drift's own events to the publish activity; a failure never fails the run."""
    if not events:
        return
    try:
        yield from _call(context, act.PUBLISH, {"events": events, "table_key": key})
    except Exception as exc:
        if not context.is_replaying:
            log.warning(
                "drift events %s not published: %s", [e["type"] for e in events], _first_line(exc)
            )


def _registered_event(context: df.DurableOrchestrationContext, report: Json) -> Json:
    data = {
        "table": report["table"],
        "delta_version": report["delta_version"],
        "operation": report["operation"],
        "data_asset_version": report["data_asset_version"],
        "registered": report["registered"],
        "run": report["instance_id"],
    }
    subject = f"{report['table']}@{report['data_asset_version']}"
    return pub.cloud_event(
        pub.REGISTERED,
        subject,
        context.current_utc_datetime,
        data,
        report["table"],
        report["data_asset_version"],
    )


def _job_event(
    context: df.DurableOrchestrationContext, report: Json, kind: str, item: Json, decisions: Json
) -> Json:
    """`item` is a planned job (started) or the monitor's row (finished)."""
    group = item.get("group") or item["model_group"]
    job = item.get("job_name") or item.get("job")
    data: Json = {
        "table": report["table"],
        "delta_version": report["delta_version"],
        "data_asset_version": report["data_asset_version"],
        "group": group,
        "job": job,
        "source_job": item.get("source_job"),
        "decision": decisions.get(group),
        "run": report["instance_id"],
    }
    if kind == pub.FINISHED:
        data.update(
            status=item["status"],
            duration_s=item.get("duration_s"),
            error=item.get("error"),
            reused=bool(item.get("reused")),  # another run submitted this job: not a new training
        )
    run = report["instance_id"]
    return pub.cloud_event(
        kind, f"{group}/{job}", context.current_utc_datetime, data, run, group, job
    )


def _fan_out(
    context: df.DurableOrchestrationContext,
    plan: Json,
    key: str | None,
    on_rows: Any = None,
) -> Orchestration:
    """At most `max_parallel` monitors at once; a slot is refilled as soon as one ends.

    `on_rows(rows)`, a sub-orchestration step, runs as each batch of monitors returns."""
    waiting: list[Json] = list(plan["jobs"])
    running: list[tuple[Json, Any]] = []
    rows: dict[str, Json] = {}
    limit = max(1, int(plan["max_parallel"]))
    while waiting or running:
        while waiting and len(running) < limit:
            job = waiting.pop(0)
            child = context.call_sub_orchestrator(
                MONITOR,
                {
                    "job": job,
                    "timeout_s": plan["timeout_s"],
                    "delay_s": plan["delay_s"],
                    "table_key": key,
                },
                instance_id=monitor_instance_id(context.instance_id, job["group"]),
            )
            running.append((job, child))
        winner = yield context.task_any([task for _, task in running])
        done: list[Json] = []
        for job, task in list(running):
            if task is winner or task.is_completed:
                running.remove((job, task))
                result = task.result
                if isinstance(result, Exception):  # the monitor itself failed
                    result = _row(job, None, "Error", _first_line(result))
                rows[job["group"]] = result
                done.append(result)
        if on_rows is not None:
            yield from on_rows(done)
        context.set_custom_status(
            {"stage": "retraining", "done": len(rows), "total": len(plan["jobs"])}
        )
    return [rows[job["group"]] for job in plan["jobs"]]


def commit_intake(context: df.DurableOrchestrationContext) -> Orchestration:
    """One per (table, Delta version): classify the commit, queue it, maybe become the watcher.

    Its deterministic instance id makes a redelivered event a no-op; the table entity makes
    a burst of commits one retrain on the newest version.
    """
    args: Json = context.get_input()
    key = args["table_key"]
    version = int(args["delta_version"])
    entity = df.EntityId(TABLE_ENTITY, entity_key(key))
    if not args.get("watching"):
        commit: Json = yield from _call(
            context, act.CLASSIFY, {"delta_version": version, "table_key": key}
        )
        if not commit["data_change"]:
            context.set_custom_status({"stage": "skipped", "reason": commit["reason"]})
            return {"delta_version": version, "role": "skipped", "reason": commit["reason"]}
        at = args.get("at") or _now(context)
        lease = coalescing.Timing.from_dict(args["timing"]).lease_s
        claim = {"version": version, "at": at, "instance": context.instance_id, "lease_s": lease}
        role = yield context.call_entity(entity, "commit", claim)
        if role != "watcher":
            context.set_custom_status({"stage": role})
            return {"delta_version": version, "role": role}
    try:
        runs = yield from _watch(context, entity, key, coalescing.Timing.from_dict(args["timing"]))
    except Exception:
        # Hand the role back so the next commit finds a new watcher, then fail visibly.
        yield context.call_entity(entity, "release", context.instance_id)
        raise
    if runs is None:  # history trimmed: the same instance goes on watching
        context.continue_as_new({**args, "watching": True})
        return None
    return {"delta_version": version, "role": "watcher", "runs": runs}


def _now(context: df.DurableOrchestrationContext) -> str:
    return context.current_utc_datetime.isoformat()


def _watch(
    context: df.DurableOrchestrationContext,
    entity: df.EntityId,
    key: str,
    timing: coalescing.Timing,
) -> Orchestration:
    """Retrain on the newest pending version whenever the timing allows, until idle.

    Each pass renews the watcher's lease; a watcher whose lease was taken over stops. Returns
    the runs, or None after a bounded number of passes so the caller can trim history.
    """
    runs: list[Json] = []
    me = context.instance_id
    for _ in range(PASSES_PER_GENERATION):
        if len(runs) >= RUNS_PER_GENERATION:
            break
        state: Json = yield context.call_entity(
            entity, "get", {"instance": me, "at": _now(context)}
        )
        if state["watcher"] != me:
            return runs  # the role was taken over after this watcher's lease ran out
        if not coalescing.pending(state):
            idle = yield context.call_entity(entity, "try_idle", me)
            if idle:
                return runs
            continue
        wake = coalescing.ready_at(state, timing)
        now = context.current_utc_datetime
        if now < wake:
            status = {"stage": "waiting", "newest": state["newest"], "until": wake.isoformat()}
            context.set_custom_status(status)
            yield context.create_timer(min(wake, now + MAX_TIMER))
            continue
        target = state["newest"]
        yield context.call_entity(entity, "started", {"version": target, "at": _now(context)})
        context.set_custom_status({"stage": "retraining", "delta_version": target})
        run_id = run_instance_id(key, target)
        try:
            report = yield context.call_sub_orchestrator(
                RETRAIN, {"table_key": key, "delta_version": target}, instance_id=run_id
            )
            failed = any_failed(report)
        except Exception:  # the run's own status says why; the table goes on being watched
            failed = True
        runs.append({"delta_version": target, "instance_id": run_id, "failed": failed})
    return None


def table_entity(context: df.DurableEntityContext) -> None:
    """The per-table coalescing state; every operation is applied serially."""
    state = context.get_state(coalescing.initial_state)
    operation = context.operation_name
    data = context.get_input()
    result: Any = None
    if operation == "commit":
        state, result = coalescing.on_commit(
            state, int(data["version"]), data["at"], data["instance"], int(data["lease_s"])
        )
    elif operation == "get" and data:
        state = coalescing.on_heartbeat(state, data["instance"], data["at"])
    elif operation == "started":
        state = coalescing.on_started(state, int(data["version"]), data["at"])
    elif operation == "try_idle":
        state, result = coalescing.on_try_idle(state, data)
    elif operation == "release":
        state = coalescing.on_release(state, data)
    elif operation != "get":
        raise ValueError(f"unknown operation {operation!r} on {TABLE_ENTITY}")
    context.set_state(state)
    context.set_result(result if operation != "get" else state)


def watch_entity(context: df.DurableEntityContext) -> None:
    """Per model group: which monitor instances watch which jobs ({instance id: job name}, or
    {instance id: {"job", "run_id"}} once the backend returned a run id for it)."""
    state: dict[str, str | dict[str, str]] = context.get_state(dict)
    operation = context.operation_name
    data = context.get_input()
    if operation == "watch":
        run_id = data.get("run_id")
        state[data["instance"]] = {"job": data["job"], "run_id": run_id} if run_id else data["job"]
    elif operation == "unwatch":
        state.pop(data, None)
    elif operation != "get":
        raise ValueError(f"unknown operation {operation!r} on {WATCH_ENTITY}")
    context.set_state(state)
    context.set_result(state)


def watch_key(group: str) -> str:
    """The watch entity's key for a model group (group names are case-insensitive)."""
    return safe_id(group.lower())


def entity_key(table_key: str) -> str:
    """Entity keys and instance ids: letters, digits, '-', '_' and '.', bounded in length."""
    return safe_id(table_key)


# What an instance id drift makes looks like (safe_id's characters, at most 100 of them).
INSTANCE_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def safe_id(text: str, limit: int = 90) -> str:
    """A readable id in the characters instance ids and entity keys allow, made unique by a
    hash of the raw text: sanitising alone maps `sales/2024` and `sales-2024` to one id."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    clean = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "x"
    return f"{clean[: limit - len(digest) - 1]}-{digest}"


def intake_instance_id(table_key: str, version: int) -> str:
    """Deterministic per (account, container, table path, version): duplicates find it."""
    return safe_id(f"drift-commit-{table_key}-v{version}", limit=100)


def run_instance_id(table_key: str, version: int) -> str:
    return safe_id(f"drift-run-{table_key}-v{version}", limit=100)


def monitor_instance_id(run_id: str, group: str) -> str:
    """`<run>-<group>` while it fits: the Durable Task Scheduler rejects instance ids longer than
    100 characters, and a run id alone may take 100, so a longer one is hashed down."""
    raw = f"{run_id}-{group}"
    if INSTANCE_ID_RE.fullmatch(raw):
        return raw
    return safe_id(raw, limit=100)


ORCHESTRATORS = {RETRAIN: retrain, MONITOR: monitor_job, INTAKE: commit_intake}
ENTITIES = {TABLE_ENTITY: table_entity, WATCH_ENTITY: watch_entity}
