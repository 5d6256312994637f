"""Manual and scheduled runs, free of Functions types: validate a request, preview or start it."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from drift.domain.config import GROUP_NAME_RE
from drift.durable.intake import DurableClient
from drift.durable.orchestration import RETRAIN, safe_id
from drift.entrypoints.local_run import RunFailed, run_retrain
from drift.wiring.watchlist import UnknownTable, Watchlist

# Versions drift writes look like 20261123080000-v42; Azure ML allows letters, digits, '.', '_'
# and '-' in any version string.
Version = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
Group = Annotated[str, StringConstraints(pattern=GROUP_NAME_RE.pattern)]
M = TypeVar("M", bound=BaseModel)


class BadRequest(ValueError):
    """A request body the caller must fix; the message names the field."""


class RetrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    data_asset_version: Version | None = None
    model_name_prefix: list[Group] | None = None  # a comma-separated string is split first
    dry_run: bool = Field(False, strict=True)
    table: str | None = None

    @property
    def groups(self) -> list[str]:
        return list(self.model_name_prefix or [])


class ViolationRequest(BaseModel):
    """A monitored metric crossed its threshold for one group (as MLOps Stacks' monitoring job
    reports `is_metric_violated`): retrain that group on the latest registered version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_group: Group
    is_metric_violated: bool = Field(True, strict=True)
    metric: Annotated[str, StringConstraints(max_length=128)] | None = None
    violation_id: Version | None = None  # same id, same retrain: a re-sent violation is a no-op
    table: str | None = None


def violation_input(request: ViolationRequest, key: str, now: datetime) -> dict[str, Any]:
    """Without an id, one violation per group and metric per UTC hour retrains once."""
    trigger_id = request.violation_id or f"{request.metric or 'metric'}-{now:%Y%m%d%H}"
    return {
        "table_key": key,
        "model_name_prefix": [request.model_group],
        "force": True,
        "trigger": "monitoring",
        "trigger_id": safe_id(trigger_id, limit=80),
    }


def parse_violation(body: bytes) -> ViolationRequest:
    return _validate(_json_object(body), ViolationRequest)


def parse_request(body: bytes) -> RetrainRequest:
    """An empty body means defaults; anything else must be a JSON object of known fields."""
    data = _json_object(body)
    if isinstance(data.get("model_name_prefix"), str):
        groups = data["model_name_prefix"].split(",")
        data["model_name_prefix"] = [g.strip() for g in groups if g.strip()]
    return _validate(data, RetrainRequest)


def _json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"body: not JSON ({exc})") from None
    except RecursionError:
        raise BadRequest("body: JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise BadRequest("body: expected a JSON object")
    return data


def _validate(data: dict[str, Any], model: type[M]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "body"
            message = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{field}: {message}")
        raise BadRequest("; ".join(problems)) from None


def orchestration_input(request: RetrainRequest, key: str) -> dict[str, Any]:
    return {
        "table_key": key,
        "data_asset_version": request.data_asset_version,
        "model_name_prefix": request.groups,
        "dry_run": request.dry_run,
    }


def resolve_table(watchlist: Watchlist, request: RetrainRequest | ViolationRequest) -> str:
    try:
        return watchlist.resolve(request.table)
    except UnknownTable as exc:
        raise BadRequest(str(exc)) from None


def preview(watchlist: Watchlist, request: RetrainRequest) -> dict[str, Any]:
    """A dry run answered at once: the real orchestrator, replayed in-process, registers
    nothing and submits nothing, so the answer has the same shape as a run's report."""
    key = resolve_table(watchlist, request)
    try:
        return run_retrain(
            watchlist.services(key), {**orchestration_input(request, key), "dry_run": True}
        )
    except RunFailed as exc:
        raise BadRequest(str(exc)) from None


async def start_run(client: DurableClient, watchlist: Watchlist, request: RetrainRequest) -> str:
    key = resolve_table(watchlist, request)
    instance = safe_id(f"drift-manual-{key}-{uuid.uuid4().hex[:12]}", limit=100)
    await client.start_new(RETRAIN, instance, orchestration_input(request, key))
    return instance


async def start_violation(
    client: DurableClient, watchlist: Watchlist, request: ViolationRequest, now: datetime
) -> str | None:
    """Start the group's retrain once per violation id; None when nothing is violated."""
    if not request.is_metric_violated:
        return None
    key = resolve_table(watchlist, request)
    args = violation_input(request, key, now)
    instance = safe_id(f"drift-violation-{key}-{request.model_group}-{args['trigger_id']}", 100)
    if not await client.get_status(instance):
        await client.start_new(RETRAIN, instance, args)
    return instance


async def start_scheduled(client: DurableClient, watchlist: Watchlist, at: datetime) -> list[str]:
    """One run per watched table per scheduled minute: a timer that fires twice starts once."""
    started = []
    for key in watchlist:
        instance = safe_id(f"drift-schedule-{key}-{at:%Y%m%d%H%M}", limit=100)
        if await client.get_status(instance):
            continue
        await client.start_new(RETRAIN, instance, {"table_key": key, "model_name_prefix": []})
        started.append(instance)
    return started
