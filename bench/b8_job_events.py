"""B8 job end to report row: Azure ML job status events against polling alone.

Through the real Functions app (as tests/functions do): a commit goes to the Event Grid
function, the watcher starts `drift_retrain`, which fans out one `drift_monitor_job` per
group; the runtime replays them on a VirtualClock. Jobs are `tests.reliability.support.
TimedJobs`: each runs for a seeded random time, then Completed. On the event path, each job's
end is delivered at that instant to `drift_on_job_event` as Azure ML's RunStatusChanged
event; on the poll path nothing is delivered. Measured per job, in virtual seconds: from the
job's end to the moment its monitor returned its row (the row the report holds); per run:
status reads per job-hour; and, in wall time, what handling one event costs here (the
function, the watch entity read, raising the event, the replays and the status read).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    KEY,
    START,
    _event_object,
    append,
    functions_app,
    group_names,
    new_table,
    seed_jobs,
    summary,
)

ID = "B8"
TITLE = "Job end to its report row: job status events against polling"
SEED = 20261203
DELAYS_S = (10, 30, 60, 120, 300, 600)
QUICK_DELAYS_S = (10, 600)

Json = dict[str, Any]


def run(quick: bool, workdir: Path) -> Json:
    groups = group_names(3 if quick else 20)
    low, high = (300, 1200) if quick else (600, 5400)
    rnd = random.Random(SEED)
    runs = {g: float(rnd.randint(low, high)) for g in groups}
    delays = QUICK_DELAYS_S if quick else DELAYS_S
    rows = []
    for delay in delays:
        for path in ("poll", "event"):
            rows.append(_measure(workdir / f"{path}-{delay}", groups, runs, delay, path))
    by = {(r["refresh_delay_s"], r["path"]): r for r in rows}
    top = max(delays)
    event_top, poll_top, poll_low = by[top, "event"], by[top, "poll"], by[min(delays), "poll"]
    wake = [ms for r in rows for ms in r.pop("wake_wall_ms")]
    return {
        "parameters": {
            "refresh_delays_s": list(delays),
            "model_groups": len(groups),
            "job_runs_s": {"min": low, "max": high, "seed": SEED},
            "event_delivery_delay_s": 0,
            "clock": "VirtualClock",
            "path": "commit -> Event Grid function -> drift_retrain -> drift_monitor_job; "
            "events through drift_on_job_event",
        },
        "rows": rows,
        "measured": {
            "event_p50_s_at_each_delay": {d: by[d, "event"]["seen_after_s"]["p50"] for d in delays},
            "poll_p50_s_at_each_delay": {d: by[d, "poll"]["seen_after_s"]["p50"] for d in delays},
            "event_polls_per_job_hour_at_top_delay": event_top["polls_per_job_hour"],
            "poll_polls_per_job_hour_at_lowest_delay": poll_low["polls_per_job_hour"],
            "wake_wall_ms": summary(wake),
        },
        "baseline": {
            "poll_p50_s_at_top_delay": poll_top["seen_after_s"]["p50"],
            "poll_p95_s_at_top_delay": poll_top["seen_after_s"]["p95"],
            "basis": "the same runs with no job status event delivered: the durable timer's "
            "poll alone sees each end",
        },
        "ratio": {
            "fewer_polls_event_at_top_vs_poll_at_lowest": (
                poll_low["polls_per_job_hour"] / event_top["polls_per_job_hour"]
            ),
            "seconds_saved_p50_at_top_delay": poll_top["seen_after_s"]["p50"]
            - event_top["seen_after_s"]["p50"],
        },
        "notes": [
            "Virtual seconds from a job's end to its monitor's row; the event is delivered at "
            "the end itself: Event Grid's own delivery delay (not simulated here) and the wall "
            "time below add to the event path.",
            f"Handling one event here (function, watch entity read, raise, replays, one status "
            f"read): p50 {statistics.median(wake):.0f} ms wall, p95 "
            f"{summary(wake)['p95']:.0f} ms, over {len(wake)} events.",
            "Polls per job-hour count every status read, the timer's and the event's, over the "
            "jobs' running time: with events the timer is only the fallback, so refreshDelay "
            "can be long without making the report late.",
        ],
        "headline": (
            f"a job's end reaches its report row p50 {event_top['seen_after_s']['p50']:.0f} s "
            f"after it (max {event_top['seen_after_s']['max']:.0f} s) with job status events at "
            f"every refreshDelay from {min(delays)} to {top} s, vs p50 "
            f"{by[min(delays), 'poll']['seen_after_s']['p50']:.0f}-"
            f"{poll_top['seen_after_s']['p50']:.0f} s by polling; at refreshDelay {top} s that "
            f"is {event_top['polls_per_job_hour']:.1f} status reads per job-hour, "
            f"{poll_low['polls_per_job_hour'] / event_top['polls_per_job_hour']:.0f}x fewer "
            f"than polling every {min(delays)} s"
        ),
    }


def _measure(
    workdir: Path, groups: list[str], runs: dict[str, float], delay: int, path: str
) -> Json:
    from drift.durable.orchestration import run_instance_id
    from drift.runtime.runtime import VirtualClock
    from tests.app_harness import functions_by_name
    from tests.reliability.support import TimedJobs

    workdir.mkdir(parents=True, exist_ok=True)
    table = workdir / "table"
    new_table(table)
    clock = VirtualClock(START)
    jobs = TimedJobs(seed_jobs(groups), clock=clock, runs_for=dict(runs))
    params = {
        "refreshDelay": str(delay),
        "refreshTimeout": str(4 * 3600),
        "maxParallelJobs": 1000,
        "waitAfterLastChangeSeconds": 0,
    }
    wake_ms: list[float] = []
    on_job_event = functions_by_name()["drift_on_job_event"].get_user_function().client_function
    with functions_app(workdir, table, jobs, clock, **params) as app:
        version = append(table)
        app.deliver(app.event(version))
        run = run_instance_id(KEY, version)
        names = {j.name.split("_")[0]: j.name for j in jobs.submitted}
        assert sorted(names) == sorted(groups), names
        ends = sorted((jobs.started[names[g]] + timedelta(seconds=runs[g]), g) for g in groups)
        if path == "event":
            for at, group in ends:
                app.runtime.run_until_idle(max_time=at)
                clock.sleep_until(at)
                t0 = time.perf_counter()
                payload = _status_event(names[group], f"{group}-end")
                asyncio.run(on_job_event(event=_event_object(payload), client=app.client))
                app.runtime.run_until_idle(max_time=clock.now())
                wake_ms.append((time.perf_counter() - t0) * 1000)
        app.settle()
        report = app.runtime.get_status(run).output
        assert {r["status"] for r in report["retrained"]} == {"Completed"}, report["retrained"]
        seen = []
        for at, group in ends:
            done = app.runtime.get_status(f"{run}-{group}").last_updated_time
            seen.append((done - at).total_seconds())
        polls = sum(jobs.polls.values())
    job_hours = sum(runs.values()) / 3600
    return {
        "refresh_delay_s": delay,
        "path": path,
        "jobs": len(groups),
        "seen_after_s": summary(seen),
        "polls": polls,
        "polls_per_job_hour": polls / job_hours,
        "wake_wall_ms": wake_ms,
    }


def _status_event(job: str, event_id: str) -> Json:
    """Azure ML's RunStatusChanged, as Event Grid delivers it (Event Grid schema)."""
    return {
        "id": event_id,
        "eventType": "Microsoft.MachineLearningServices.RunStatusChanged",
        "subject": f"experiments/5b0ad7a6-2a42-4c33-9b5e-4e6b3c1f0d11/runs/{job}",
        "topic": "/subscriptions/s/resourceGroups/rg/providers/"
        "Microsoft.MachineLearningServices/workspaces/ws",
        "eventTime": START.isoformat(),
        "data": {
            "experimentId": "5b0ad7a6-2a42-4c33-9b5e-4e6b3c1f0d11",
            "experimentName": job.split("_")[0],
            "runId": job,
            "runType": None,
            "runTags": {"drift_managed": "true"},
            "runProperties": {},
            "runStatus": "Completed",
        },
        "dataVersion": "2",
    }
