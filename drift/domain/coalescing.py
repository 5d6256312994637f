"""Coalescing commits per table: the state a durable entity keeps, as pure functions.

A table written by a streaming job commits every few seconds. drift waits for a quiet period
after the last data-changing commit (`waitAfterLastChangeSeconds`), keeps a minimum interval
between retrains (`minTimeBetweenTriggersSeconds`), never waits longer than
`maxDelaySeconds` after the first unhandled commit (a table that never goes quiet is still
retrained), and then retrains once on the newest version. Commits during a retrain queue one
follow-up. The entity serialises every update, so concurrent deliveries cannot race, and
exactly one orchestration (the "watcher") acts on the state at a time: the entity hands
that role out and takes it back atomically, so no wake-up is lost between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

State = dict[str, Any]


@dataclass(frozen=True)
class Timing:
    wait_after_last_change_s: int
    min_between_triggers_s: int
    max_delay_s: int
    # How long a watcher may stay silent before a new commit takes its role over: longer than
    # any legitimate silence (a wait, or a retrain whose jobs run to their timeout).
    lease_s: int = 6 * 3600

    def to_dict(self) -> dict[str, int]:
        return {
            "wait_after_last_change_s": self.wait_after_last_change_s,
            "min_between_triggers_s": self.min_between_triggers_s,
            "max_delay_s": self.max_delay_s,
            "lease_s": self.lease_s,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Timing:
        return cls(
            int(data["wait_after_last_change_s"]),
            int(data["min_between_triggers_s"]),
            int(data["max_delay_s"]),
            int(data.get("lease_s", 6 * 3600)),
        )


def initial_state() -> State:
    return {
        "newest": None,  # newest data-changing Delta version seen
        "handled": None,  # newest version a retrain was started for
        "last_change_at": None,  # time of the newest commit event
        "first_pending_at": None,  # time of the oldest commit not yet handled
        "last_trigger_at": None,  # when the last retrain started
        "watcher": None,  # the orchestration instance acting on this table, if any
        "watcher_seen_at": None,  # its last sign of life: the lease
    }


def _later(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if datetime.fromisoformat(a) >= datetime.fromisoformat(b) else b


def pending(state: State) -> bool:
    return state["newest"] is not None and (
        state["handled"] is None or state["newest"] > state["handled"]
    )


def on_commit(
    state: State, version: int, at: str, instance: str, lease_s: int = 6 * 3600
) -> tuple[State, str]:
    """Record a data-changing commit; say whether the caller becomes the watcher.

    Roles: `stale` (already handled or older than a handled version), `queued` (a live
    watcher will pick it up), `watcher` (the caller must act on the table: there was none,
    or the last one fell silent for longer than its lease, e.g. it was terminated).
    """
    state = dict(state)
    if state["handled"] is not None and version <= state["handled"]:
        return state, "stale"
    if state["newest"] is None or version > state["newest"]:
        state["newest"] = version
    state["last_change_at"] = _later(state["last_change_at"], at)
    if state["first_pending_at"] is None:
        state["first_pending_at"] = at
    if state["watcher"] not in (None, instance) and not _lease_expired(state, at, lease_s):
        return state, "queued"
    state["watcher"] = instance
    state["watcher_seen_at"] = at
    return state, "watcher"


def _lease_expired(state: State, at: str, lease_s: int) -> bool:
    seen = state.get("watcher_seen_at")
    if seen is None:
        return False
    silence = datetime.fromisoformat(at) - datetime.fromisoformat(seen)
    return silence > timedelta(seconds=lease_s)


def on_heartbeat(state: State, instance: str, at: str) -> State:
    """The watcher is alive: renew its lease (only the current watcher can)."""
    if state["watcher"] != instance:
        return state
    return {**state, "watcher_seen_at": _later(state.get("watcher_seen_at"), at)}


def on_started(state: State, version: int, at: str) -> State:
    state = dict(state)
    state["handled"] = max(version, state["handled"] or version)
    state["last_trigger_at"] = at
    state["watcher_seen_at"] = _later(state.get("watcher_seen_at"), at)
    # Commits newer than the one being handled keep their pending clock running.
    state["first_pending_at"] = state["last_change_at"] if pending(state) else None
    return state


def on_try_idle(state: State, instance: str) -> tuple[State, bool]:
    """The watcher may stop only if nothing is pending; then the role is released atomically."""
    if pending(state) or state["watcher"] != instance:
        return state, False
    state = dict(state)
    state["watcher"] = None
    state["watcher_seen_at"] = None
    return state, True


def on_release(state: State, instance: str) -> State:
    """A watcher that failed gives the role back, so the next commit can claim it."""
    if state["watcher"] != instance:
        return state
    return {**state, "watcher": None, "watcher_seen_at": None}


def ready_at(state: State, timing: Timing) -> datetime:
    """When the newest pending version may be retrained."""
    last_change = datetime.fromisoformat(state["last_change_at"])
    first_pending = datetime.fromisoformat(state["first_pending_at"] or state["last_change_at"])
    quiet = last_change + timedelta(seconds=timing.wait_after_last_change_s)
    ready = min(quiet, first_pending + timedelta(seconds=timing.max_delay_s))
    if state["last_trigger_at"] is not None:
        earliest = datetime.fromisoformat(state["last_trigger_at"]) + timedelta(
            seconds=timing.min_between_triggers_s
        )
        ready = max(ready, earliest)
    return ready
