"""Orchestration time for the local runtime: the wall clock, or a virtual one for tests."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Source of orchestration time; ``now()`` must be tz-aware UTC."""

    def now(self) -> datetime: ...
    def sleep_until(self, dt: datetime) -> None: ...


class RealClock:
    """Wall clock; timers really wait."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep_until(self, dt: datetime) -> None:
        time.sleep(max(0.0, (dt - self.now()).total_seconds()))


class VirtualClock:
    """Clock that jumps straight to the next timer, so hour-long schedules test in milliseconds."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = _utc(start or datetime(2024, 1, 1, tzinfo=UTC))

    def now(self) -> datetime:
        return self._now

    def sleep_until(self, dt: datetime) -> None:
        self._now = max(self._now, _utc(dt))


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _iso(dt: datetime) -> str:
    return _utc(dt).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_iso(text: str) -> datetime:
    return _utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
