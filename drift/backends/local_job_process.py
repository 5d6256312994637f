"""Runs one local training job and records its outcome: `python -m <this module> <job_dir>`.

`LocalJobs` starts this wrapper detached, so a job outlives the CLI that submitted it and its
state stays readable from `status.json` by any later process. The wrapper owns that file while
it lives: `Running` when it starts, then `Completed`, `Failed` or `Canceled`. The command runs
in its own process group so that a cancel can stop it together with anything it spawned.
The wrapper inherits an open file descriptor holding the job's `flock` from the process that
started it and keeps it open until it exits (the command does not inherit it): the lock is
how `LocalJobs` tells a job that still has a process from one whose process died.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STATUS_FILE = "status.json"
RUN_FILE = "run.json"
LOG_FILE = "std_log.txt"
FINAL_STATES = frozenset({"Completed", "Failed", "Canceled"})
# How long a command may take to stop after SIGTERM before its group gets SIGKILL.
KILL_GRACE_S = 5.0
_POLL_S = 0.1


def utc_now() -> datetime:
    return datetime.now(UTC)


def read_status(job_dir: Path) -> dict[str, Any] | None:
    """The last status written for the job, or None before any was written."""
    try:
        return json.loads((job_dir / STATUS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def write_status(job_dir: Path, status: dict[str, Any]) -> None:
    """Replace `status.json` atomically, so a reader never sees half a file."""
    tmp = job_dir / f".{STATUS_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(status, indent=2), encoding="utf-8")
    os.replace(tmp, job_dir / STATUS_FILE)


def process_alive(pid: int) -> bool:
    """True while `pid` runs; a zombie counts as gone, since it will never write anything."""
    stat = Path(f"/proc/{pid}/stat")
    if Path("/proc/self/stat").exists():
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return False
        return state not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_group(pgid: int, sig: signal.Signals) -> None:
    """Signal a whole process group; a group already gone is fine."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def run(job_dir: Path) -> int:
    """Run the job described by `job_dir/run.json`; 0 only when the command succeeded."""
    job_dir = job_dir.resolve()
    current = read_status(job_dir) or {}
    if current.get("status") in FINAL_STATES:  # cancelled before it got to start
        return 0
    spec = json.loads((job_dir / RUN_FILE).read_text(encoding="utf-8"))
    cancel_requested_at: float | None = None
    child: subprocess.Popen[bytes] | None = None

    def on_sigterm(signum: int, frame: object) -> None:
        nonlocal cancel_requested_at
        if cancel_requested_at is None:
            cancel_requested_at = time.monotonic()
        if child is not None:
            kill_group(child.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)
    started_at = utc_now().isoformat()
    base = {"pid": os.getpid(), "started_at": started_at}
    write_status(job_dir, {"status": "Running", **base})
    print(f"[drift] {started_at} running in {spec['cwd']}: {spec['command']}", flush=True)
    env = {**os.environ, **spec.get("env", {})}
    try:
        child = subprocess.Popen(
            spec["command"],
            shell=True,
            cwd=spec["cwd"],
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        print(f"[drift] could not start the command: {exc}", flush=True)
        write_status(
            job_dir,
            {
                "status": "Failed",
                "exit_code": None,
                **base,
                "ended_at": utc_now().isoformat(),
                "error": str(exc),
            },
        )
        return 1
    base["child_pid"] = child.pid
    if cancel_requested_at is not None:  # SIGTERM arrived while the child was being started
        kill_group(child.pid, signal.SIGTERM)
    else:
        write_status(job_dir, {"status": "Running", **base})

    while True:
        try:
            code = child.wait(timeout=_POLL_S)
            break
        except subprocess.TimeoutExpired:
            if cancel_requested_at is not None and (
                time.monotonic() - cancel_requested_at > KILL_GRACE_S
            ):
                kill_group(child.pid, signal.SIGKILL)

    if cancel_requested_at is not None:
        kill_group(child.pid, signal.SIGKILL)  # leftovers the command spawned
        status = "Canceled"
    else:
        status = "Completed" if code == 0 else "Failed"
    write_status(
        job_dir, {"status": status, "exit_code": code, **base, "ended_at": utc_now().isoformat()}
    )
    print(f"[drift] {status} with exit code {code}", flush=True)
    return 0 if status == "Completed" else 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m drift.backends.local_job_process <job_dir>", file=sys.stderr)
        return 2
    return run(Path(args[0]))


if __name__ == "__main__":
    sys.exit(main())
