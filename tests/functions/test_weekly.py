"""drift_weekly: the timer starts one run per watched table, once per scheduled time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from azure.functions.timer import TimerRequest

from drift.durable.orchestration import RETRAIN
from drift.entrypoints import manual
from drift.functions import settings
from tests.functions.conftest import START, App, user_function


def test_the_timer_registers_the_latest_version_and_retrains(make_app: Callable[..., App]) -> None:
    app = make_app()
    version = app.commit()
    fn = user_function("drift_weekly").client_function
    asyncio.run(fn(timer=TimerRequest(past_due=False), client=app.client))
    app.settle()
    [(instance, name)] = app.runtime.starts
    assert name == RETRAIN
    report = app.runtime.get_status(instance).output
    assert report["delta_version"] == version and report["newly_registered"] is True
    assert len(app.jobs.submitted) == 2


def test_a_timer_firing_twice_starts_once(make_app: Callable[..., App]) -> None:
    app = make_app()
    first = asyncio.run(manual.start_scheduled(app.client, settings.watchlist(), START))
    again = asyncio.run(manual.start_scheduled(app.client, settings.watchlist(), START))
    assert len(first) == 1 and again == []
    assert [name for name, _ in app.client.calls].count("start_new") == 1
