"""Orchestrators, the table entity and the activities, registered under drift's names."""

from __future__ import annotations

from functools import cache
from typing import Any

import azure.durable_functions as df

from drift.durable import activities as act
from drift.durable import orchestration
from drift.functions import settings

bp = df.Blueprint()


@bp.function_name(orchestration.RETRAIN)
@bp.orchestration_trigger(context_name="context")
def drift_retrain(context: df.DurableOrchestrationContext) -> orchestration.Orchestration:
    return (yield from orchestration.retrain(context))


@bp.function_name(orchestration.MONITOR)
@bp.orchestration_trigger(context_name="context")
def drift_monitor_job(context: df.DurableOrchestrationContext) -> orchestration.Orchestration:
    return (yield from orchestration.monitor_job(context))


@bp.function_name(orchestration.INTAKE)
@bp.orchestration_trigger(context_name="context")
def drift_commit_intake(context: df.DurableOrchestrationContext) -> orchestration.Orchestration:
    return (yield from orchestration.commit_intake(context))


@bp.function_name(orchestration.TABLE_ENTITY)
@bp.entity_trigger(context_name="context")
def drift_table(context: df.DurableEntityContext) -> None:
    orchestration.table_entity(context)


@bp.function_name(orchestration.WATCH_ENTITY)
@bp.entity_trigger(context_name="context")
def drift_job_watch(context: df.DurableEntityContext) -> None:
    orchestration.watch_entity(context)


@cache
def _bound() -> dict[str, Any]:
    return act.bind(settings.watchlist().services)


def _activity(name: str) -> None:
    """Register activity `name`: the host passes the decoded JSON input, drift does the rest."""

    def activity(payload: dict) -> dict:
        return _bound()[name](payload)

    activity.__name__ = name
    bp.function_name(name)(bp.activity_trigger(input_name="payload")(activity))


for _name in act.ACTIVITIES:
    _activity(_name)
