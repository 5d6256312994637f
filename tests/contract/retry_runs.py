"""HTTP attempts per activity call under faults: shared by tests/contract/test_retries.py and
bench/b9_retries.py.

An activity call is one run of an activity function (one durable attempt); the durable retry
runs it up to `SERVICE_RETRY.max_number_of_attempts` times, as the orchestrator's
`call_activity_with_retry` would (its waits are skipped: only attempts are counted). Faults are
injected on every request drift's clients send; the reads azure-ai-ml makes with a storage
client of its own while validating an MLTable are left alone (their failure only skips that
validation, and that client's retry is the SDK's, not drift's).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drift.domain.types import PermanentError
from drift.durable import activities as act
from drift.durable.orchestration import SERVICE_RETRY
from drift.wiring.bootstrap import Services
from tests.contract.azureml_service import AzureService, Fault, flaky, persistent
from tests.contract.workspace import DATA_VERSION, seed, services, submit_args

DURABLE_ATTEMPTS = SERVICE_RETRY.max_number_of_attempts
OPERATIONS = ("register", "plan", "submit", "poll", "cancel")
SEEDED_JOBS = 3


@dataclass
class Call:
    """One activity, retried by the durable layer: HTTP requests of each of its attempts."""

    op: str
    http: list[int]
    ok: bool

    @property
    def total(self) -> int:
        return sum(self.http)


@dataclass
class Run:
    calls: list[Call] = field(default_factory=list)
    completed: bool = False
    jobs_created: int = 0  # job PUTs the service accepted
    failure: str | None = None

    def per_call(self) -> list[int]:
        """HTTP requests per activity call (one durable attempt)."""
        return [n for c in self.calls for n in c.http]


def drift_requests_only(fault: Fault) -> Fault:
    return lambda seen: None if seen.via == "default" else fault(seen)


def durable(
    service: AzureService, run: Run, op: str, fn: Callable[[Services, Any], Any], ws, args
) -> Any:
    """Run an activity as the durable retry would; None when every attempt failed."""
    http: list[int] = []
    for _ in range(DURABLE_ATTEMPTS):
        before = len(service.requests)
        try:
            out = fn(ws, args)
        except PermanentError as exc:
            http.append(len(service.requests) - before)
            run.calls.append(Call(op, http, False))
            raise RuntimeError(f"{op}: permanent: {exc}") from None
        except Exception:
            http.append(len(service.requests) - before)
            continue
        http.append(len(service.requests) - before)
        run.calls.append(Call(op, http, True))
        return out
    run.calls.append(Call(op, http, False))
    return None


def full_run(fault: Fault | None, stacked: bool = False) -> Run:
    """Register, plan, submit the three recorded jobs, poll them to the end (one is
    cancelled while running), every activity under `fault`."""
    service = AzureService()
    run = Run()
    with service.intercept_default_transport():
        seed(service)
        ws = services(service, stacked=stacked)
        service.fault = drift_requests_only(fault) if fault else None
        try:
            _steps(service, ws, run)
            run.completed = True
        except RuntimeError as exc:
            run.failure = str(exc)
    run.jobs_created = len(service.jobs) - SEEDED_JOBS
    return run


def _steps(service: AzureService, ws: Services, run: Run) -> None:
    def must(op: str, fn: Callable[[Services, Any], Any], args: Any) -> Any:
        out = durable(service, run, op, fn, ws, args)
        if out is None:
            raise RuntimeError(f"{op}: every durable attempt failed")
        if isinstance(out, dict) and act.PERMANENT_ERROR in out:
            raise RuntimeError(f"{op}: {out[act.PERMANENT_ERROR]}")
        return out

    must("register", act.register_version, {"delta_version": 3})
    plan = must("plan", act.plan_retraining, {"data_version": DATA_VERSION})
    names = {}
    for job in plan["jobs"]:
        names[job["group"]] = must("submit", act.submit_job, submit_args(job))["job"]
    for group, name in sorted(names.items()):
        service.set_status(name, "Running")
        must("poll", act.job_state, {"job": name})
        if group == "churnauto":
            must("cancel", act.cancel_job, {"job": name})
            service.set_status(name, "Canceled")
        else:
            service.set_status(name, "Completed")
        state = must("poll", act.job_state, {"job": name})
        if state["status"] not in ("Completed", "Canceled"):
            raise RuntimeError(f"poll: {name} ended {state['status']}")


def persistent_503(stacked: bool) -> dict[str, Call]:
    """Each operation's activity against a service answering 503 to everything."""
    out: dict[str, Call] = {}
    for op in OPERATIONS:
        service = AzureService()
        run = Run()
        with service.intercept_default_transport():
            seed(service)
            ws = services(service, stacked=stacked)
            name = _arrange(service, ws, op)
            service.fault = drift_requests_only(persistent(503))
            fn, args = _activity(op, name)
            durable(service, run, op, fn, ws, args)
        [out[op]] = run.calls
    return out


def _arrange(service: AzureService, ws: Services, op: str) -> str | None:
    """Everything an operation needs before it, without faults."""
    if op == "register":
        return None
    act.register_version(ws, {"delta_version": 3})
    plan = act.plan_retraining(ws, {"data_version": DATA_VERSION})
    job = next(j for j in plan["jobs"] if j["group"] == "churn")
    if op in ("plan", "submit"):
        service.jobs.pop(job["job_name"], None)
        return str(job["job_name"]) if op == "submit" else None
    name = act.submit_job(ws, submit_args(job))
    service.set_status(name["job"], "Running")
    return str(name["job"])


def _activity(op: str, name: str | None) -> tuple[Callable[[Services, Any], Any], Any]:
    if op == "register":
        return act.register_version, {"delta_version": 3}
    if op == "plan":
        return act.plan_retraining, {"data_version": DATA_VERSION}
    if op == "submit":
        return _submit_named(name), {}
    if op == "poll":
        return act.job_state, {"job": name}
    return act.cancel_job, {"job": name}


def _submit_named(name: str | None) -> Callable[[Services, Any], Any]:
    def submit(ws: Services, _: Any) -> Any:
        plan = act.plan_retraining(ws, {"data_version": DATA_VERSION})
        job = next(j for j in plan["jobs"] if j["job_name"] == name)
        return act.submit_job(ws, submit_args(job))

    return submit


def faulty_runs(rate: float, runs: int, stacked: bool = False) -> dict[str, Any]:
    """`runs` full runs with `rate` of drift's requests failing (half after taking effect)."""
    results = [full_run(flaky(rate, seed=i + 1), stacked) for i in range(runs)]
    per_call = [n for r in results for n in r.per_call()]
    per_activity = [c.total for r in results for c in r.calls]
    by_op: Counter[str] = Counter()
    for r in results:
        for c in r.calls:
            by_op[c.op] += c.total
    return {
        "runs": runs,
        "fault_rate": rate,
        "completed": sum(r.completed for r in results),
        "failures": [r.failure for r in results if r.failure],
        "activity_calls": len(per_call),
        "activities": len(per_activity),
        "http_per_call_mean": round(statistics.fmean(per_call), 2),
        "http_per_call_max": max(per_call),
        "http_per_activity_max": max(per_activity),
        "durable_retries": sum(len(c.http) - 1 for r in results for c in r.calls),
        "jobs_created": sum(r.jobs_created for r in results),
        "jobs_expected": 3 * sum(r.completed for r in results),
    }
