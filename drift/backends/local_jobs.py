"""Training jobs without Azure ML: command job specs in YAML, each run as a local process.

The specs keep the shape Azure ML's `commandJob` schema gives them, so a model group moves
between the local loop and a workspace without rewriting. Seed specs in `jobs_dir` play the
workspace's history (jobs that ran before drift); jobs drift submits get a folder under
`workdir/jobs/<name>/` and a row in `workdir/jobs.db`, so any later process (the next CLI call,
a poller) sees them. Each runs under `local_job_process`, which owns its `status.json`.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from drift.backends.local_job_process import (
    FINAL_STATES,
    LOG_FILE,
    RUN_FILE,
    kill_group,
    process_alive,
    read_status,
    utc_now,
    write_status,
)
from drift.domain import JobInput, JobState, TrainingJob
from drift.plan import job_group

# A model group is the `prefix` of `{prefix}_{YYYYMMDDHHMMSS}_{random}`.
# Azure ML's rule for job names; it also keeps a name from escaping `workdir/jobs/`.
_VALID_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")
_PLACEHOLDER = re.compile(r"\$\{\{\s*(?P<kind>[A-Za-z_]+)\.(?P<key>[A-Za-z0-9_]+)\s*\}\}")
_OPTIONAL = re.compile(r"\$\[\[(?P<body>.*?)\]\]", re.DOTALL)
_ASSET_REF = re.compile(r"^azureml:(?P<name>[^:/@]+):(?P<version>[^:/@]+)$")
_LEADING_PYTHON = re.compile(r"^\s*python3?(?=\s)")
# Keys `az ml job show` reports about one run; a clone must not inherit them.
_RUN_ONLY_KEYS = ("id", "status", "creation_context", "services", "created_at")
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
_WRAPPER_MODULE = "drift.backends.local_job_process"
_LOG_TAIL_LINES = 5
_LOG_TAIL_CHARS = 800
# Wrappers this process started, shared by all instances: polled so that finished ones do not
# linger as zombies (which would look alive) whichever instance polls the job.
_CHILDREN: list[subprocess.Popen[bytes]] = []
_CHILDREN_LOCK = threading.Lock()

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    name TEXT PRIMARY KEY,
    grp TEXT,
    source TEXT NOT NULL,
    spec TEXT NOT NULL,
    created_at TEXT NOT NULL,
    job_dir TEXT NOT NULL,
    pid INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_grp ON jobs (grp);
"""


class JobSpecError(ValueError):
    """A job spec drift cannot use; the message names the file and the offending key."""

    def __init__(self, path: Path | str, key: str | None, problem: str) -> None:
        where = f"{path}: key {key!r}" if key else str(path)
        super().__init__(f"invalid job spec {where}: {problem}")
        self.path = str(path)
        self.key = key


class JobSubmitError(RuntimeError):
    """A clone that cannot start, e.g. an input bound to a data asset version nobody registered."""


@dataclass(frozen=True)
class _Job:
    """A job as stored: its spec, where its relative paths start, and its run folder if any."""

    name: str
    spec: dict[str, Any]
    base_dir: Path
    created_at: datetime
    job_dir: Path | None = None  # None for seed jobs, which ran before drift
    pid: int | None = None

    def training_job(self) -> TrainingJob:
        inputs = {
            key: JobInput(type=str(value["type"]), path=str(value["path"]), mode=value.get("mode"))
            for key, value in (self.spec.get("inputs") or {}).items()
            if isinstance(value, dict) and "type" in value and "path" in value
        }
        return TrainingJob(
            name=self.name,
            inputs=inputs,
            display_name=self.spec.get("display_name"),
            experiment_name=self.spec.get("experiment_name"),
            created_at=self.created_at,
            tags={str(k): str(v) for k, v in (self.spec.get("tags") or {}).items()},
        )


class LocalJobs:
    """`JobService` over local processes: seed specs are history, submitted clones really run."""

    def __init__(
        self,
        workdir: Path,
        jobs_dir: Path,
        resolve_asset: Callable[[str, str], str | None],
        python: str = sys.executable,
        cancel_wait_s: float = 15.0,
    ) -> None:
        """`resolve_asset(name, version)` gives the local path of a registered data asset
        version (None if unknown); `python` replaces a leading `python` in job commands so they
        use this environment's packages; `cancel_wait_s` bounds how long `cancel` waits for the
        job to stop before killing it."""
        self._workdir = Path(workdir).resolve()
        self._jobs_dir = Path(jobs_dir).resolve()
        self._runs_dir = self._workdir / "jobs"
        self._db = self._workdir / "jobs.db"
        self._resolve_asset = resolve_asset
        self._python = python
        self._cancel_wait_s = cancel_wait_s
        self._runs_dir.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    # JobService ------------------------------------------------------------------------------

    def list_jobs(self, groups: Sequence[str] | None = None) -> list[TrainingJob]:
        """Seed and submitted jobs, oldest first; `groups` keeps only those model groups."""
        wanted = None if groups is None else set(groups)
        jobs = {
            name: job
            for name, job in self._seeds().items()
            if wanted is None or job_group(name) in wanted
        }
        query, params = "SELECT * FROM jobs", []
        if wanted is not None:
            query += f" WHERE grp IN ({', '.join('?' * len(wanted))})"
            params = sorted(wanted)
        with closing(self._connect()) as conn:
            for row in conn.execute(query, params):
                jobs[row["name"]] = self._from_row(row)
        ordered = sorted(jobs.values(), key=lambda job: (job.created_at, job.name))
        return [job.training_job() for job in ordered]

    def get_job(self, name: str) -> TrainingJob | None:
        job = self._find(name)
        return job.training_job() if job else None

    def submit_clone(
        self, source: str, name: str, inputs: dict[str, JobInput], tags: dict[str, str]
    ) -> TrainingJob:
        """Clone `source` as `name` and start it. An existing `name` is returned untouched and
        nothing starts, so a retried submit cannot run a job twice. A clone whose inputs do not
        resolve raises `JobSubmitError` and leaves no trace, so it can be retried once fixed."""
        if not _VALID_NAME.match(name):
            raise ValueError(f"invalid job name {name!r}: use letters, digits, '_' and '-'")
        existing = self._find(name)
        if existing is not None:
            return existing.training_job()
        src = self._find(source)
        if src is None:
            raise KeyError(
                f"cannot clone job {source!r}: no such job in {self._jobs_dir} or {self._db}"
            )
        job_dir = self._runs_dir / name
        now = utc_now()
        spec = self._clone_spec(src, name, inputs, tags, now)
        command, cwd = self._render_command(name, spec, job_dir)  # fails before anything is kept
        job = _Job(name=name, spec=spec, base_dir=job_dir, created_at=now, job_dir=job_dir)
        with self._write() as conn:
            claimed = (
                conn.execute(
                    "INSERT INTO jobs (name, grp, source, spec, created_at, job_dir)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                    (
                        name,
                        job_group(name),
                        source,
                        json.dumps(spec),
                        now.isoformat(),
                        str(job_dir),
                    ),
                ).rowcount
                == 1
            )
        if not claimed:  # a concurrent submit of the same name won the race
            winner = self._find(name)
            assert winner is not None
            return winner.training_job()
        self._start(job, command, cwd)
        return job.training_job()

    def get_state(self, name: str) -> JobState:
        """The job's state from its `status.json`; a wrapper that vanished mid-run shows as
        `NotResponding`, the state Azure ML gives a job whose node stopped reporting."""
        self._reap()
        job = self._find(name)
        if job is None:
            raise KeyError(f"no job named {name!r} in {self._jobs_dir} or {self._db}")
        if job.job_dir is None:
            return JobState(name=name, status="Completed")
        log_path = job.job_dir / LOG_FILE
        status = read_status(job.job_dir) or {"status": "Queued"}
        if status.get("status") not in FINAL_STATES:
            pid = status.get("pid") or job.pid
            if pid is not None and not self._wrapper_alive(pid, job.job_dir):
                status = read_status(job.job_dir) or {"status": "Queued"}  # it may just have ended
                if status.get("status") not in FINAL_STATES:
                    tail = _log_tail(log_path)
                    return JobState(
                        name=name,
                        status="NotResponding",
                        started_at=_parse_time(status.get("started_at")),
                        error=f"job process {pid} ended without a final status"
                        + (f"; log tail:\n{tail}" if tail else ""),
                        log_path=str(log_path),
                    )
        state = str(status.get("status", "Queued"))
        error = None
        if state == "Failed":
            tail = _log_tail(log_path)
            error = status.get("error") or f"exit code {status.get('exit_code')}"
            error += f"; log tail:\n{tail}" if tail else ""
        return JobState(
            name=name,
            status=state,
            started_at=_parse_time(status.get("started_at")),
            ended_at=_parse_time(status.get("ended_at")),
            error=error,
            log_path=str(log_path),
        )

    def cancel(self, name: str) -> None:
        """Stop the job and leave it `Canceled`. SIGTERM lets the wrapper stop its command and
        record the outcome; a wrapper that does not stop in time, or died earlier, is cleaned
        up here. Unknown, seed and already ended jobs are left as they are."""
        self._reap()
        job = self._find(name)
        if job is None or job.job_dir is None:
            return
        job_dir = job.job_dir
        status = read_status(job_dir) or {}
        if status.get("status") in FINAL_STATES:
            return
        pid = status.get("pid") or job.pid
        if pid is not None and self._wrapper_alive(pid, job_dir):
            kill_group(pid, signal.SIGTERM)
            if not self._wait_gone(pid, job_dir, self._cancel_wait_s):
                kill_group(pid, signal.SIGKILL)
                self._wait_gone(pid, job_dir, 5.0)
        status = read_status(job_dir) or {}
        if status.get("status") in FINAL_STATES:
            return
        child_pid = status.get("child_pid")
        if child_pid is not None:
            self._kill_orphaned_command(child_pid, job_dir)
        write_status(
            job_dir,
            {**status, "status": "Canceled", "exit_code": None, "ended_at": utc_now().isoformat()},
        )

    # Lookup ----------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._db, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction, taken up front so concurrent writers queue, not fail."""
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _find(self, name: str) -> _Job | None:
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT * FROM jobs WHERE name = ?", (name,)).fetchone()
        if row is not None:
            return self._from_row(row)
        return self._seeds().get(name)

    def _from_row(self, row: sqlite3.Row) -> _Job:
        job_dir = Path(row["job_dir"])
        return _Job(
            name=row["name"],
            spec=json.loads(row["spec"]),
            base_dir=job_dir,
            created_at=datetime.fromisoformat(row["created_at"]),
            job_dir=job_dir,
            pid=row["pid"],
        )

    def _seeds(self) -> dict[str, _Job]:
        """Seed specs, read on each call so edits to `jobs_dir` show without a restart."""
        if not self._jobs_dir.is_dir():
            return {}
        seeds: dict[str, _Job] = {}
        paths = sorted([*self._jobs_dir.glob("*.yml"), *self._jobs_dir.glob("*.yaml")])
        for path in paths:
            job = load_spec(path)
            if job.name in seeds:
                raise JobSpecError(
                    path,
                    "name",
                    f"job {job.name!r} is also defined in another spec in {self._jobs_dir}",
                )
            seeds[job.name] = job
        return seeds

    # Submission ------------------------------------------------------------------------------

    def _clone_spec(
        self,
        src: _Job,
        name: str,
        inputs: dict[str, JobInput],
        tags: dict[str, str],
        now: datetime,
    ) -> dict[str, Any]:
        """The source spec as a new job: own name, rebound inputs, and absolute local paths so
        the clone's `job.yml` stands on its own."""
        spec = copy.deepcopy(src.spec)
        for key in _RUN_ONLY_KEYS:
            spec.pop(key, None)
        spec["name"] = name
        if spec.get("code") is not None:
            spec["code"] = str(_code_dir(src.name, spec["code"], src.base_dir))
        bound = dict(spec.get("inputs") or {})
        for key, value in bound.items():
            path = value.get("path") if isinstance(value, dict) else None
            if isinstance(path, str) and _is_local_path(path):
                bound[key] = {**value, "path": str((src.base_dir / path).resolve())}
        bound.update({key: value.to_dict() for key, value in inputs.items()})
        spec["inputs"] = bound
        spec["tags"] = {**(spec.get("tags") or {}), **tags}
        spec["created_at"] = now.isoformat()
        return json.loads(json.dumps(spec, default=str))  # plain data for the DB and job.yml

    def _render_command(self, name: str, spec: dict[str, Any], job_dir: Path) -> tuple[str, Path]:
        """The shell command with `${{inputs.*}}`/`${{outputs.*}}` filled in, and its cwd.
        Every data input is resolved, used or not, as Azure ML checks them all at submit."""
        values = {
            key: value
            for key, raw in (spec.get("inputs") or {}).items()
            if (value := self._input_value(name, key, raw)) is not None
        }
        outputs = {key: str(job_dir / "outputs" / key) for key in spec.get("outputs") or {}}
        available = {"inputs": values, "outputs": outputs}

        def known(match: re.Match[str]) -> bool:
            return match["key"] in available.get(match["kind"], {})

        def keep_if_bound(match: re.Match[str]) -> str:  # Azure ML's `$[[ optional ]]` syntax
            body = match["body"]
            return body if all(known(m) for m in _PLACEHOLDER.finditer(body)) else ""

        def fill(match: re.Match[str]) -> str:
            if not known(match):
                raise JobSubmitError(
                    f"job {name!r}: the command uses {match[0]} but the job "
                    f"has no such {match['kind'][:-1]}"
                )
            return shlex.quote(available[match["kind"]][match["key"]])

        command = _PLACEHOLDER.sub(fill, _OPTIONAL.sub(keep_if_bound, spec["command"]))
        if "${{" in command:
            raise JobSubmitError(f"job {name!r}: unsupported placeholder in command {command!r}")
        command = _LEADING_PYTHON.sub(lambda _: shlex.quote(self._python), command, count=1)
        code = spec.get("code")
        return command, (Path(code) if code is not None else job_dir)

    def _input_value(self, job: str, key: str, raw: Any) -> str | None:
        """What `${{inputs.<key>}}` becomes: a local path for data, the text of a literal."""
        if not isinstance(raw, dict):
            return None if raw is None else str(raw)
        if "path" not in raw:
            return None if raw.get("value") is None else str(raw["value"])
        path = str(raw["path"])
        ref = _ASSET_REF.match(path)
        if ref:
            resolved = self._resolve_asset(ref["name"], ref["version"])
            if resolved is None:
                raise JobSubmitError(
                    f"job {job!r}: input {key!r} is bound to data asset "
                    f"{ref['name']}:{ref['version']}, which is not registered"
                )
            return str(resolved)
        if path.startswith("azureml:"):
            raise JobSubmitError(
                f"job {job!r}: input {key!r} path {path!r} is not a pinned "
                "azureml:<name>:<version> reference, which local runs need"
            )
        return path

    def _start(self, job: _Job, command: str, cwd: Path) -> None:
        """Lay out the job folder and start its wrapper detached, so it outlives this process."""
        job_dir = job.job_dir
        assert job_dir is not None
        try:
            job_dir.mkdir(parents=True, exist_ok=True)
            for key in job.spec.get("outputs") or {}:
                (job_dir / "outputs" / key).mkdir(parents=True, exist_ok=True)
            (job_dir / "job.yml").write_text(
                yaml.safe_dump(job.spec, sort_keys=False), encoding="utf-8"
            )
            # The job's own temp folder: libraries that log there (mltable's rslex writes
            # azureml-logs/dataprep/rslex.log.*) keep their files with the job, never in the
            # model's code folder or a temp folder shared by every job.
            (job_dir / "tmp").mkdir(exist_ok=True)
            job_env = {
                "DRIFT_JOB_NAME": job.name,
                "DRIFT_JOB_DIR": str(job_dir),
                "TMPDIR": str(job_dir / "tmp"),
            }
            run = {"command": command, "cwd": str(cwd), "env": job_env}
            (job_dir / RUN_FILE).write_text(json.dumps(run, indent=2), encoding="utf-8")
            write_status(job_dir, {"status": "Queued", "submitted_at": job.created_at.isoformat()})
            env = dict(os.environ)  # the wrapper must import drift whatever the cwd
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH")) if p
            )
            with open(job_dir / LOG_FILE, "ab") as log:
                proc = subprocess.Popen(
                    [self._python, "-m", _WRAPPER_MODULE, str(job_dir)],
                    cwd=job_dir,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        except OSError as exc:
            with suppress(OSError):
                write_status(
                    job_dir,
                    {
                        "status": "Failed",
                        "exit_code": None,
                        "error": str(exc),
                        "ended_at": utc_now().isoformat(),
                    },
                )
            raise JobSubmitError(f"job {job.name!r} could not start: {exc}") from exc
        with _CHILDREN_LOCK:
            _CHILDREN.append(proc)
        with self._write() as conn:
            conn.execute("UPDATE jobs SET pid = ? WHERE name = ?", (proc.pid, job.name))

    # Processes -------------------------------------------------------------------------------

    def _reap(self) -> None:
        with _CHILDREN_LOCK:
            _CHILDREN[:] = [proc for proc in _CHILDREN if proc.poll() is None]

    def _wrapper_alive(self, pid: int, job_dir: Path) -> bool:
        """Whether `pid` is still this job's wrapper (not a reused pid, not a zombie)."""
        if not process_alive(pid):
            return False
        if not Path("/proc/self").exists():  # no procfs to tell: trust the pid
            return True
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            return False
        except OSError:
            return True
        return _WRAPPER_MODULE.encode() in argv and str(job_dir).encode() in argv

    def _wait_gone(self, pid: int, job_dir: Path, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while True:
            self._reap()
            if not self._wrapper_alive(pid, job_dir):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def _kill_orphaned_command(self, pgid: int, job_dir: Path) -> None:
        """Kill the command group a dead wrapper left behind, unless its pid now belongs to an
        unrelated process (checked through the marker every job's environment carries)."""
        proc_dir = Path(f"/proc/{pgid}")
        if proc_dir.exists() and process_alive(pgid):
            try:
                environ = (proc_dir / "environ").read_bytes().split(b"\0")
            except OSError:
                return
            if f"DRIFT_JOB_DIR={job_dir}".encode() not in environ:
                return
        kill_group(pgid, signal.SIGKILL)


# Spec files ----------------------------------------------------------------------------------


def load_spec(path: Path) -> _Job:
    """Read and check one seed spec; `JobSpecError` names the file and key of any problem."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise JobSpecError(path, None, f"not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise JobSpecError(path, None, "expected a mapping of job fields")
    spec: dict[str, Any] = dict(raw)
    spec.setdefault("name", path.stem)
    _check_spec(path, spec)
    created = spec.get("created_at")
    if created is None and isinstance(spec.get("creation_context"), dict):
        created = spec["creation_context"].get("created_at")  # as `az ml job show` writes it
    try:
        created_at = _parse_time(created) or datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except (TypeError, ValueError) as exc:
        raise JobSpecError(path, "created_at", f"not an ISO 8601 timestamp: {created!r}") from exc
    return _Job(name=spec["name"], spec=spec, base_dir=path.parent.resolve(), created_at=created_at)


def _check_spec(path: Path, spec: dict[str, Any]) -> None:
    def need(key: str, value: Any, kind: type | tuple[type, ...], what: str) -> None:
        if not isinstance(value, kind):
            raise JobSpecError(path, key, f"expected {what}, got {type(value).__name__}")

    if spec.get("type", "command") != "command":
        raise JobSpecError(path, "type", f"only command jobs run locally, not {spec['type']!r}")
    need("name", spec["name"], str, "a string")
    if not _VALID_NAME.match(spec["name"]):
        raise JobSpecError(path, "name", f"{spec['name']!r} is not a valid job name")
    if "command" not in spec:
        raise JobSpecError(path, "command", "missing")
    need("command", spec["command"], str, "a string")
    for key in ("code", "display_name", "experiment_name"):
        if spec.get(key) is not None:
            need(key, spec[key], str, "a string")
    for key in ("inputs", "outputs", "tags"):
        if spec.get(key) is not None:
            need(key, spec[key], dict, "a mapping")
    for key, value in (spec.get("inputs") or {}).items():
        if isinstance(value, dict):
            for field in ("type", "path", "mode"):
                if field in value:
                    need(f"inputs.{key}.{field}", value[field], str, "a string")
        elif value is not None:
            need(f"inputs.{key}", value, (str, int, float, bool), "a literal or a mapping")
    for key, value in (spec.get("outputs") or {}).items():
        if value is not None:
            need(f"outputs.{key}", value, dict, "a mapping")


def _code_dir(job: str, code: str, base_dir: Path) -> Path:
    if not _is_local_path(code):
        raise JobSubmitError(
            f"job {job!r}: code {code!r} is not a local folder, which local runs need"
        )
    folder = (base_dir / code).resolve()
    if not folder.is_dir():
        raise JobSubmitError(f"job {job!r}: code folder {folder} does not exist")
    return folder


def _is_local_path(path: str) -> bool:
    return not path.startswith("azureml:") and "://" not in path


def _parse_time(value: Any) -> datetime | None:
    """A tz-aware UTC datetime from YAML (which may already have parsed it) or ISO text."""
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _log_tail(path: Path) -> str:
    """The last few lines of a job's log, which is where a failing script says why."""
    try:
        with open(path, "rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 8192))
            text = log.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("[drift]")]
    return "\n".join(lines[-_LOG_TAIL_LINES:])[-_LOG_TAIL_CHARS:]
