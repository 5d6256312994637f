"""Training jobs without Azure ML: command job specs in YAML, each run as a local process.

The specs keep the shape Azure ML's `commandJob` schema gives them, so a model group moves
between the local loop and a workspace without rewriting. Seed specs in `jobs_dir` play the
workspace's history (jobs that ran before drift); jobs drift submits get a folder under
`workdir/jobs/<name>/` and a row in `workdir/jobs.db`, so any later process (the next CLI call,
a poller) sees them. Each runs under `local_job_process`, which owns its `status.json` and
holds the job's lock (`workdir/locks/<name>.lock`) for its life: a job whose lock is free has
no process, so whatever moment a process died, the next submit or poll starts a job that never
started and fails one that died mid-training (see `_recover`).

Longer than 500 lines on purpose: the jobs folder, its SQLite rows and the lock protocol
between processes (submit, recover, poll, cancel) are one piece of state; split, no module
would show the whole protocol.
"""

from __future__ import annotations

import copy
import fcntl
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

from drift.backends.crashpoints import ENV as CRASH_ENV
from drift.backends.crashpoints import crash_point
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
from drift.domain.plan import job_group
from drift.domain.types import JobInput, JobState, PermanentError, TrainingJob

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
# A job spec is a page of YAML; this bounds what reading a jobs folder can cost.
MAX_SPEC_BYTES = 1024 * 1024
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


class JobSpecError(PermanentError, ValueError):
    """A job spec drift cannot use; the message names the file and the offending key."""

    def __init__(self, path: Path | str, key: str | None, problem: str) -> None:
        where = f"{path}: key {key!r}" if key else str(path)
        super().__init__(f"invalid job spec {where}: {problem}")
        self.path = str(path)
        self.key = key


class JobSubmitError(PermanentError, RuntimeError):
    """A clone that cannot start, e.g. an input bound to a data asset version nobody registered.
    Permanent: nothing a retry does locally makes the version or the folder appear."""


class UnknownJob(PermanentError, KeyError):
    """A job name that is neither a seed spec nor a submitted job."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0])


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
        self._locks_dir = self._workdir / "locks"
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
        """Clone `source` as `name` and start it. An existing `name` is returned as it is, and
        started only if no process ever ran it (a crash between its row and its start), so a
        retried submit never runs a job twice and never leaves it unstarted. A clone whose
        inputs do not resolve raises `JobSubmitError` and leaves no trace."""
        if not _VALID_NAME.match(name):
            raise ValueError(f"invalid job name {name!r}: use letters, digits, '_' and '-'")
        existing = self._find(name)
        if existing is not None:
            if existing.job_dir is not None:
                self._recover(existing)
            return existing.training_job()
        src = self._find(source)
        if src is None:
            raise UnknownJob(
                f"cannot clone job {source!r}: no such job in {self._jobs_dir} or {self._db}"
            )
        job_dir = self._runs_dir / name
        now = utc_now()
        spec = self._clone_spec(src, name, inputs, tags, now)
        self._render_command(name, spec, job_dir)  # fails before anything is kept
        with self._write() as conn:
            conn.execute(
                "INSERT INTO jobs (name, grp, source, spec, created_at, job_dir)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                (name, job_group(name), source, json.dumps(spec), now.isoformat(), str(job_dir)),
            )
        crash_point("job-row")
        job = self._find(name)  # ours, or a concurrent submit's that won the race
        assert job is not None
        self._recover(job)
        return job.training_job()

    def get_state(self, name: str) -> JobState:
        """The job's state from its `status.json`. A job no process runs is handled here too:
        one never started is started, one whose process died mid-training is `Failed`."""
        self._reap()
        job = self._find(name)
        if job is None:
            raise UnknownJob(f"no job named {name!r} in {self._jobs_dir} or {self._db}")
        if job.job_dir is None:
            return JobState(name=name, status="Completed")
        log_path = job.job_dir / LOG_FILE
        status = read_status(job.job_dir) or {}
        if status.get("status") not in FINAL_STATES:
            self._recover(job)
            status = read_status(job.job_dir) or {}
        state = str(status.get("status", "Queued"))
        if state == "Running":
            crash_point("mid-training")
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
        record the outcome; a wrapper that does not stop in time is killed, and a job no
        process runs (never started, or died) is marked here. Unknown, seed and already ended
        jobs are left as they are."""
        self._reap()
        job = self._find(name)
        if job is None or job.job_dir is None:
            return
        job_dir = job.job_dir
        if (read_status(job_dir) or {}).get("status") in FINAL_STATES:
            return
        if self._alive(name):
            pid = self._wrapper_pid(job, self._cancel_wait_s)
            if pid is not None:
                kill_group(pid, signal.SIGTERM)
                if not self._wait_gone(name, self._cancel_wait_s):
                    kill_group(pid, signal.SIGKILL)
                    self._wait_gone(name, 5.0)
        with self._run_lock(name) as held:
            if held is None:  # a wrapper that does not die, or one being started right now
                raise RuntimeError(f"job {name!r}: its process did not stop; try again")
            status = read_status(job_dir) or {}
            if status.get("status") in FINAL_STATES:
                return
            if status.get("child_pid") is not None:
                self._kill_orphaned_command(status["child_pid"], job_dir)
            job_dir.mkdir(parents=True, exist_ok=True)
            ended = {"exit_code": None, "ended_at": utc_now().isoformat()}
            write_status(job_dir, {**status, "status": "Canceled", **ended})

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

    def _recover(self, job: _Job) -> None:
        """Make sure a submitted job has, or had, exactly one process.

        A job's wrapper holds an exclusive `flock` on `workdir/locks/<name>.lock` for its whole
        life (it inherits the lock from whoever started it), and the kernel drops the lock the
        moment the process dies, whatever killed it. Whoever takes the lock therefore knows no
        process runs the job and no other process is starting it: a job whose status never
        reached `Running` is started (under the lock, so by one process only); one that was
        `Running` died mid-training and is marked `Failed`, with the command to retrain it.
        """
        assert job.job_dir is not None
        with self._run_lock(job.name) as held:
            if held is None:  # its wrapper runs, or another process is starting it
                return
            status = read_status(job.job_dir) or {}
            if status.get("status") in FINAL_STATES:
                return
            if status.get("status") == "Running":
                if self._unlocked_wrapper_alive(status.get("pid"), job.job_dir):
                    return
                self._mark_died(job, status)
            else:
                self._start(job, held)

    def _mark_died(self, job: _Job, status: dict[str, Any]) -> None:
        assert job.job_dir is not None
        if status.get("child_pid") is not None:
            self._kill_orphaned_command(status["child_pid"], job.job_dir)
        group = job_group(job.name) or job.name
        error = (
            f"job process {status.get('pid')} died mid-training without a final status "
            "(killed, or the machine stopped); to retrain the group run: drift violation "
            f"--config <config> --group {group} --violation-id <a new id>"
        )
        ended = {"exit_code": None, "ended_at": utc_now().isoformat(), "error": error}
        write_status(job.job_dir, {**status, "status": "Failed", **ended})

    def _start(self, job: _Job, lock_fd: int) -> None:
        """Lay out the job folder and start its wrapper detached, so it outlives this process.
        The wrapper inherits `lock_fd`, the job's lock this process holds, and keeps it."""
        job_dir = job.job_dir
        assert job_dir is not None
        try:
            command, cwd = self._render_command(job.name, job.spec, job_dir)
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
            crash_point("job-folder")
            env = dict(os.environ)  # the wrapper must import drift whatever the cwd
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH")) if p
            )
            env.pop(CRASH_ENV, None)  # the crash points are for the process under test
            with open(job_dir / LOG_FILE, "ab") as log:
                proc = subprocess.Popen(
                    [self._python, "-m", _WRAPPER_MODULE, str(job_dir)],
                    cwd=job_dir,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    pass_fds=(lock_fd,),
                )
        except (OSError, JobSubmitError) as exc:
            with suppress(OSError):
                job_dir.mkdir(parents=True, exist_ok=True)
                write_status(
                    job_dir,
                    {
                        "status": "Failed",
                        "exit_code": None,
                        "error": f"could not start: {exc}",
                        "ended_at": utc_now().isoformat(),
                    },
                )
            raise JobSubmitError(f"job {job.name!r} could not start: {exc}") from exc
        with _CHILDREN_LOCK:
            _CHILDREN.append(proc)
        crash_point("process-start")
        with self._write() as conn:
            conn.execute("UPDATE jobs SET pid = ? WHERE name = ?", (proc.pid, job.name))

    # Processes -------------------------------------------------------------------------------

    @contextmanager
    def _run_lock(self, name: str) -> Iterator[int | None]:
        """The job's lock, taken without waiting: its fd while held here, None when a live
        process (the job's wrapper, or a process starting it) holds it."""
        self._locks_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._locks_dir / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield None
                return
            yield fd
        finally:
            os.close(fd)  # a wrapper started with this fd keeps the lock; this process lets go

    def _alive(self, name: str) -> bool:
        """Whether a process holds the job's lock: its wrapper, or a process starting it."""
        with self._run_lock(name) as held:
            return held is None

    def _reap(self) -> None:
        with _CHILDREN_LOCK:
            _CHILDREN[:] = [proc for proc in _CHILDREN if proc.poll() is None]

    def _unlocked_wrapper_alive(self, pid: int | None, job_dir: Path) -> bool:
        """A wrapper started by a drift from before the job lock, still running (it holds no
        lock): alive if `pid` runs this job's wrapper (not a reused pid, not a zombie)."""
        if pid is None or not process_alive(pid):
            return False
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return _WRAPPER_MODULE.encode() in argv and str(job_dir).encode() in argv

    def _wrapper_pid(self, job: _Job, timeout_s: float) -> int | None:
        """The live wrapper's pid, from its status (it writes it first) or the job's row."""
        assert job.job_dir is not None
        deadline = time.monotonic() + timeout_s
        while True:
            pid = (read_status(job.job_dir) or {}).get("pid")
            if pid is None:
                found = self._find(job.name)
                pid = found.pid if found else None
            if pid is not None or not self._alive(job.name) or time.monotonic() >= deadline:
                return pid
            time.sleep(0.05)

    def _wait_gone(self, name: str, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while True:
            self._reap()
            if not self._alive(name):
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
    if not path.is_file():  # a FIFO would block the read forever, a device never end
        raise JobSpecError(path, None, "not a regular file")
    if path.stat().st_size > MAX_SPEC_BYTES:
        raise JobSpecError(path, None, f"larger than {MAX_SPEC_BYTES} bytes")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise JobSpecError(path, None, f"not valid YAML: {exc}") from exc
    except RecursionError:  # PyYAML composes nested nodes recursively
        raise JobSpecError(path, None, "YAML nested too deeply") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise JobSpecError(path, None, f"cannot read: {exc}") from None
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
