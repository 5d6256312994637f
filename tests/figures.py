"""Figures the reliability suite measures, printed once at the end of a test session.

Kept apart from `tests/reliability/support.py` (which imports drift and its data stack) so the
root conftest can print them. Under pytest-xdist each worker runs whole files
(`--dist loadfile`), so a requirement's figures come from one worker: the root conftest ships
each worker's figures to the controller and merges them there.
"""

from __future__ import annotations

from typing import Any

FIGURES: dict[str, dict[str, Any]] = {}


def record(requirement: str, **figures: Any) -> None:
    """Keep figures for the session summary (tests/conftest.py prints them)."""
    FIGURES.setdefault(requirement, {}).update(figures)


def add(requirement: str, **counts: int) -> None:
    """Add to counters kept across the tests of one requirement."""
    bucket = FIGURES.setdefault(requirement, {})
    for name, value in counts.items():
        bucket[name] = bucket.get(name, 0) + value
