"""The baseline of B2 and B3: the reference's polling loop as one durable orchestrator.

The reference (a Databricks `spark_job`) submits every group's job and then polls all of them
in one loop, sleeping between rounds. Made durable in the most favourable way for it, that is
one orchestrator using drift's own activities, every round's polls fanned out at once
(`task_all`, so a round is one replay, not one per job) and a durable timer between rounds. It
cannot trim its history with `continue_as_new` without losing the jobs it waits on, so the
history holds every poll of every job: that growth is what B2 measures against drift's one
monitor per group.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from drift.domain.types import TERMINAL_STATES, TIMED_OUT
from drift.durable import activities as act
from drift.durable.orchestration import SERVICE_RETRY

POLL_ALL = "bench_poll_all"

Json = dict[str, Any]


def _activity(context: df.DurableOrchestrationContext, name: str, args: Json) -> Any:
    return context.call_activity_with_retry(name, SERVICE_RETRY, {**args, "table_key": None})


def poll_all(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Json]:
    """Register, plan, submit every job, then poll every unfinished job each round."""
    request: Json = context.get_input() or {}
    reg = yield _activity(context, act.REGISTER, {"delta_version": request.get("delta_version")})
    plan = yield _activity(
        context, act.PLAN, {"data_version": reg["asset_version"], "groups": [], "salt": ""}
    )
    jobs: list[Json] = plan["jobs"]
    yield context.task_all([_activity(context, act.SUBMIT, job) for job in jobs])
    deadline = context.current_utc_datetime + timedelta(seconds=int(plan["timeout_s"]))
    delay = timedelta(seconds=int(plan["delay_s"]))
    waiting = [job["job_name"] for job in jobs]
    outcome: dict[str, str] = {}
    rounds = 0
    while waiting:
        rounds += 1
        states = yield context.task_all(
            [_activity(context, act.STATE, {"job": name}) for name in waiting]
        )
        for state in states:
            if state["status"] in TERMINAL_STATES:
                outcome[state["job"]] = state["status"]
        waiting = [name for name in waiting if name not in outcome]
        now = context.current_utc_datetime
        if waiting and now >= deadline:
            yield context.task_all([_activity(context, act.CANCEL, {"job": n}) for n in waiting])
            outcome.update(dict.fromkeys(waiting, TIMED_OUT))
            break
        if waiting:
            yield context.create_timer(min(now + delay, deadline))
    return {"jobs": len(jobs), "rounds": rounds, "statuses": dict(Counter(outcome.values()))}
