"""Named crash points for the crash suite: inert unless `DRIFT_CRASH_AT` names one.

`tests/reliability/test_r7_local_crash.py` kills a real `drift` CLI at each step boundary of a
local run and reruns it. A signal sent from outside at a chosen wall-clock moment cannot hit a
boundary reliably (a step takes milliseconds), and a debugger changes timing and process
layout; so the boundaries are marked in the code, and `DRIFT_CRASH_AT=<point>` makes the
process SIGKILL itself there, the first time it passes, exactly as a power cut or `kill -9`
would (no `finally`, no `atexit`, no flush). Unset, `crash_point` is a dictionary lookup.
`DRIFT_CRASH_AT=<point>:<n>` kills at the n-th pass instead of the first.
"""

from __future__ import annotations

import os
import signal

ENV = "DRIFT_CRASH_AT"
# Every point, in the order a local run passes them (the crash suite kills at each).
POINTS = (
    "mltable-staged",  # the MLTable folder written under its staging name, not yet published
    "mltable-saved",  # the MLTable folder published, its registry row not yet written
    "registry-row",  # both asset rows written, nothing planned yet
    "job-row",  # the job's row written, its folder not yet laid out
    "job-folder",  # the job's folder laid out, its process not yet started
    "process-start",  # the job's process started, its pid not yet recorded
    "mid-training",  # the job runs and the CLI is polling it
    "report",  # the run recorded in the history, the report not yet printed
)
_passes: dict[str, int] = {}


def crash_point(name: str) -> None:
    """SIGKILL this process if `DRIFT_CRASH_AT` names `name` (and this is the chosen pass)."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] == (int(nth) if nth.isdigit() else 1):
        os.kill(os.getpid(), signal.SIGKILL)
