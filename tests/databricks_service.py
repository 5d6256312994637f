"""A fake Databricks Jobs service over real HTTP, for driving the real `WorkspaceClient`.

It answers the Jobs API 2.2 endpoints drift calls (`jobs/get`, `jobs/run-now`,
`jobs/runs/get`, `jobs/runs/cancel`) on 127.0.0.1 with the response bodies kept in
`tests/data/databricks/jobs_api/` (their sources are in the SOURCE.md there), and records
every request, so a test asserts what drift sends through the SDK, not what it hands a double.

Modelled behaviour: `run-now` honours `idempotency_token` (one run per token, as the API
promises) and, strict like the Jobs API may be, rejects a job parameter the job does not
declare; each `runs/get` of a run moves it one step along the test's script; `runs/cancel`
ends a run that has not ended as CANCELED. Anything else is a 404, so an unexpected call shows.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parent / "data" / "databricks" / "jobs_api"
TOKEN = "test-token-not-a-secret"  # the fake accepts any bearer token


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None


@dataclass
class FakeRun:
    run_id: int
    job_id: int
    parameters: dict[str, str]
    polls: int = 0
    ended: bool = False
    cancelled: bool = False


@dataclass
class JobsService:
    """The service's state: declared parameters per job, and one script for every run.

    `script` names the runs/get fixture each poll answers with (`running`, `success`,
    `failed`); the last step repeats.
    """

    jobs: dict[int, list[str]]
    script: list[str]
    requests: list[Recorded] = field(default_factory=list)
    runs: dict[int, FakeRun] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def calls(self, method: str | None = None, path_end: str | None = None) -> list[Recorded]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method)
            and (path_end is None or r.path.endswith(path_end))
        ]

    # --- endpoints: (status, body) -------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        with self._lock:
            self.requests.append(Recorded(method, path, query, body))
            route = {
                ("GET", "/api/2.2/jobs/get"): self._get_job,
                ("POST", "/api/2.2/jobs/run-now"): self._run_now,
                ("GET", "/api/2.2/jobs/runs/get"): self._get_run,
                ("POST", "/api/2.2/jobs/runs/cancel"): self._cancel_run,
            }.get((method, path))
            if route is None:
                return 404, _error("ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")
            return route(query, body or {})

    def _get_job(self, query: dict[str, str], _body: Any) -> tuple[int, Any]:
        job_id = int(query["job_id"])
        if job_id not in self.jobs:
            return 400, _error("INVALID_PARAMETER_VALUE", f"Job {job_id} does not exist.")
        job = fixture("jobs_get")
        job["job_id"] = job_id
        job["settings"]["parameters"] = [{"default": "", "name": n} for n in self.jobs[job_id]]
        if not self.jobs[job_id]:
            del job["settings"]["parameters"]
        return 200, job

    def _run_now(self, _query: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        job_id = int(body["job_id"])
        if job_id not in self.jobs:
            return 400, _error("INVALID_PARAMETER_VALUE", f"Job {job_id} does not exist.")
        parameters = body.get("job_parameters") or {}
        unknown = sorted(set(parameters) - set(self.jobs[job_id]))
        if unknown:
            return 400, _error(
                "INVALID_PARAMETER_VALUE", f"Job parameters {unknown} are not defined in job"
            )
        token = body.get("idempotency_token")
        if token in self.tokens:
            run_id = self.tokens[token]
        else:
            run_id = 1001 + len(self.runs)
            self.runs[run_id] = FakeRun(run_id, job_id, dict(parameters))
            if token:
                self.tokens[token] = run_id
        response = fixture("run_now")
        response["run_id"] = response["number_in_job"] = run_id
        return 200, response

    def _get_run(self, query: dict[str, str], _body: Any) -> tuple[int, Any]:
        run = self.runs.get(int(query["run_id"]))
        if run is None:
            return 400, _error("INVALID_PARAMETER_VALUE", f"Run {query['run_id']} does not exist.")
        step = "canceled" if run.cancelled else self.script[min(run.polls, len(self.script) - 1)]
        run.polls += 1
        run.ended = step != "running"
        body = copy.deepcopy(fixture(f"runs_get_{step}"))
        body["run_id"], body["job_id"] = run.run_id, run.job_id
        body["run_page_url"] = body["run_page_url"].replace(
            "#job/42/run/1001", f"#job/{run.job_id}/run/{run.run_id}"
        )
        declared = self.jobs[run.job_id]
        body["job_parameters"] = [
            {"default": "", "name": n, "value": run.parameters.get(n, "")} for n in sorted(declared)
        ]
        return 200, body

    def _cancel_run(self, _query: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        run = self.runs.get(int(body["run_id"]))
        if run is None:
            return 400, _error("INVALID_PARAMETER_VALUE", f"Run {body['run_id']} does not exist.")
        if not run.ended:  # a run that already ended keeps its outcome
            run.cancelled = True
        return 200, {}


def _error(code: str, message: str) -> dict[str, str]:
    return {"error_code": code, "message": message}


class _Handler(BaseHTTPRequestHandler):
    service: JobsService

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        status, answer = self.service.handle(method, url.path, query, body)
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return


@contextmanager
def jobs_service(jobs: dict[int, list[str]], script: list[str]) -> Iterator[JobsService]:
    """Serve a `JobsService` on a free port of 127.0.0.1 for the duration of the block."""
    service = JobsService(jobs, script)
    handler = type("Handler", (_Handler,), {"service": service})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    service.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def workspace_client(service: JobsService) -> Any:
    """The real SDK client, pointed at the fake service with a personal access token."""
    from databricks.sdk import WorkspaceClient

    return WorkspaceClient(host=service.url, token=TOKEN, auth_type="pat")
