"""A live one-line progress display fed by the local runtime's history events."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.status import Status

_EVENT_NAMES = {
    4: "scheduled",
    5: "completed",
    6: "failed",
    7: "started",
    8: "finished",
    10: "waiting",
    11: "timer fired",
}


class Progress:
    """Shows the latest step on stderr; silent when stderr is not a terminal."""

    def __init__(self, console: Console, quiet: bool = False) -> None:
        self.console = console
        self.enabled = not quiet and console.is_terminal
        self._status: Status | None = None

    def __enter__(self) -> Progress:
        if self.enabled:
            self._status = self.console.status("starting")
            self._status.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._status is not None:
            self._status.stop()

    def on_event(self, instance_id: str, event: dict[str, Any]) -> None:
        if self._status is None:
            return
        kind = _EVENT_NAMES.get(int(event.get("EventType", -1)))
        if kind is None:
            return
        name = event.get("Name") or ""
        self._status.update(f"{instance_id}: {name} {kind}".strip())
