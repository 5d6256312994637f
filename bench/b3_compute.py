"""B3 compute while waiting: what watching one job for an hour costs drift, against a cluster.

The real `drift_retrain` orchestrator (register, plan, decide, one `drift_monitor_job`) on a
VirtualClock, with the Azure backend's job service (`AzureJobs`) over the operations double
`tests.azureml_doubles.JobsDouble` (every call goes through azure-ai-ml's REST conversion both
ways, as against the service, minus the network). The job is Running for one hour after it is
submitted, then Completed; drift polls it every 10 s. Measured: wall time spent executing
activities, and the orchestrator's replay CPU; both are what a Functions host spends.
"""

from __future__ import annotations

import gc
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import START, ActivityMeter, new_table

ID = "B3"
TITLE = "Compute while waiting: seconds of compute per monitored job-hour"
JOB_SECONDS = 3600
DELAY_S = 10
# Stated, not measured: the network round trip each service call would add in Azure (a
# pessimistic figure; Azure ML's REST API usually answers in 0.1-0.5 s).
NETWORK_S_PER_CALL = 1.0
REFERENCE_S_PER_HOUR = 3600.0
SPEC = Path(__file__).resolve().parents[1] / "tests" / "data" / "azureml" / "command_job.yml"
SEED = "churn_20260101080000_seed0001"

Json = dict[str, Any]


def run(quick: bool, workdir: Path) -> Json:
    _watch(workdir / "warm-up", 60)  # first calls import azure-ai-ml's schemas, mltable, scipy
    # Quick: ten minutes of virtual time, reported per hour like the full hour.
    return _watch(workdir / "run", JOB_SECONDS // 6 if quick else JOB_SECONDS)


def _watch(workdir: Path, job_seconds: int) -> Json:
    from azure.ai.ml import load_job

    from bench.common import HistoryMeter
    from drift.backends.azure_errors import Where
    from drift.backends.azure_jobs import AzureJobs
    from drift.backends.local_commits import LocalCommits
    from drift.backends.local_registry import LocalRegistry
    from drift.domain.config import parse_config
    from drift.durable.activities import bind
    from drift.durable.orchestration import ENTITIES, MONITOR, ORCHESTRATORS, RETRAIN
    from drift.runtime.runtime import LocalDurableRuntime, VirtualClock
    from drift.wiring.bootstrap import Services
    from tests.azureml_doubles import workspace

    workdir.mkdir(parents=True, exist_ok=True)
    table = workdir / "table"
    new_table(table)
    clock = VirtualClock(START)
    ws = workspace(page_size=50)
    ws.jobs.seed(load_job(SPEC), name=SEED, created_at=START - timedelta(days=7))
    submitted: dict[str, Any] = {}
    real_get, real_create = ws.jobs.get, ws.jobs.create_or_update

    def create_or_update(job: Any, **kwargs: Any) -> Any:
        created = real_create(job, **kwargs)
        submitted[created.name] = clock.now()
        return created

    def get(name: str) -> Any:  # the job runs for an hour of virtual time, then completes
        if name in submitted:
            ran = (clock.now() - submitted[name]).total_seconds()
            ws.jobs.set_status(name, "Running" if ran < job_seconds else "Completed")
        return real_get(name)

    ws.jobs.create_or_update, ws.jobs.get = create_or_update, get  # type: ignore[method-assign]
    jobs = AzureJobs(ws.client, where=Where("bench workspace", "bench identity"), sleep=_no_sleep)
    config = parse_config(
        {
            "backend": "local",
            "parameters": {
                "dataAssets": [{"name": "training_data", "value": "seat_spinning_features"}],
                "refreshTimeout": str(2 * JOB_SECONDS),
                "refreshDelay": str(DELAY_S),
            },
            "local": {
                "workdir": str(workdir / "state"),
                "tablePath": str(table),
                "jobsDir": str(workdir / "jobs"),
            },
        }
    )
    services = Services(config, LocalCommits(), LocalRegistry(workdir / "state"), jobs, str(table))
    meter, hist = ActivityMeter(), HistoryMeter()
    runtime = LocalDurableRuntime(
        ORCHESTRATORS,
        meter.wrap(bind(services)),
        clock=clock,
        max_episodes=10_000_000,
        on_event=hist.on_event,
        entities=ENTITIES,
    )
    ws.service.calls.clear()
    gc.collect()
    cpu = time.process_time()
    result = runtime.run(RETRAIN, {"delta_version": 0}, "b3")
    cpu = time.process_time() - cpu
    if result.status != "Completed":
        raise RuntimeError(f"B3: {result.status} {result.error}")
    row = result.output["retrained"][0]
    monitor = runtime.instances[f"b3-{row['model_group']}"]
    assert monitor.name == MONITOR
    hours = job_seconds / 3600
    watch = ("drift_submit_job", "drift_job_state", "drift_cancel_job")
    watch_wall = sum(meter.wall[a] for a in watch)
    all_wall = meter.total_wall
    replay_cpu = max(0.0, cpu - meter.total_cpu)
    calls = ws.service.counts()
    # Planning lists jobs once per run; watching is submit (3 calls), polls and a cancel.
    watch_calls = sum(n for op, n in calls.items() if op != "jobs.list")
    drift_s = (watch_wall + replay_cpu) / hours
    with_network = drift_s + watch_calls * NETWORK_S_PER_CALL / hours
    polls = meter.calls["drift_job_state"]
    return {
        "parameters": {
            "job_runs_s": job_seconds,
            "refresh_delay_s": DELAY_S,
            "job_service": "AzureJobs over tests.azureml_doubles.JobsDouble (no network)",
            "clock": "VirtualClock",
            "network_s_per_call_stated": NETWORK_S_PER_CALL,
        },
        "measured": {
            "status": row["status"],
            "polls": polls,
            "polls_per_job_hour": polls / hours,
            "service_calls_per_job_hour": watch_calls / hours,
            "service_calls": dict(calls),
            "activity_wall_s_per_job_hour": watch_wall / hours,
            "activity_wall_s_per_poll_ms": 1000 * meter.wall["drift_job_state"] / polls,
            "all_activities_wall_s": all_wall,
            "activities": {a: round(meter.wall[a], 4) for a in sorted(meter.wall)},
            "replay_cpu_s_per_job_hour": replay_cpu / hours,
            "drift_s_per_job_hour": drift_s,
            "with_network_s_per_job_hour_stated": with_network,
            "monitor_generations": hist.generations[monitor.instance_id],
            "monitor_max_history": hist.max_generation(monitor.instance_id),
        },
        "baseline": {
            "reference_s_per_job_hour": REFERENCE_S_PER_HOUR,
            "basis": "the reference's spark_job sleeps on a running cluster until every job ends",
        },
        "ratio": {
            "reference_over_drift": REFERENCE_S_PER_HOUR / drift_s,
            "reference_over_drift_with_network": REFERENCE_S_PER_HOUR / with_network,
        },
        "notes": [
            "drift seconds per job-hour = wall time inside the monitor's activities (submit, "
            "poll, cancel) + the orchestrators' replay CPU, for one job Running for an hour.",
            f"With network: each of the {watch_calls / hours:.0f} service calls per job-hour "
            "charged "
            f"{NETWORK_S_PER_CALL:g} s of waiting (stated, not measured: the doubles answer "
            "in-process; Flex Consumption bills an activity's wall time, waiting included).",
            "Registration, planning and the report (once per run, not per job-hour): "
            f"{all_wall - watch_wall:.2f} s of activity time here.",
        ],
        "headline": (
            f"{drift_s:.1f} s of compute per monitored job-hour ({with_network:.0f} s if "
            f"each of its {watch_calls / hours:.0f} service calls waited {NETWORK_S_PER_CALL:g} s "
            f"on the network) vs {REFERENCE_S_PER_HOUR:,.0f} s for the reference's cluster: "
            f"{REFERENCE_S_PER_HOUR / drift_s:,.0f}x less "
            f"({REFERENCE_S_PER_HOUR / with_network:.0f}x)"
        ),
    }


def _no_sleep(_: float) -> None:
    return None
