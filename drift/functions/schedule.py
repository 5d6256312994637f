"""Timer trigger: the weekly run (Monday 08:00 UTC unless DRIFT_SCHEDULE says otherwise)."""

from __future__ import annotations

from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

from drift.functions import settings

bp = df.Blueprint()
DEFAULT_SCHEDULE = "0 0 8 * * 1"


@bp.function_name("drift_weekly")
@bp.timer_trigger(schedule="%DRIFT_SCHEDULE%", arg_name="timer", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def weekly(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    # pydantic models: loaded when a function runs, not at indexing
    from drift.entrypoints import manual

    await manual.start_scheduled(client, settings.watchlist(), datetime.now(UTC))
