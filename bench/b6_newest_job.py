"""B6 finding the newest job per group: service calls and time against the workspace's size.

drift: `AzureJobs.list_jobs(groups)` (one tag-filtered listing of drift's own jobs; a bounded
scan of the newest jobs only for a group drift never submitted) on the operations double
`tests.azureml_doubles.JobsDouble` (pages of 50, newest first, every call counted, every job
built through azure-ai-ml's REST conversion). Baseline: a full `jobs.list()` scan, the
reference's way, keeping each group's newest. Both must name the same newest job per group.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ID = "B6"
TITLE = "Finding the newest job per group: service calls against the workspace's size"
GROUPS = [f"model{i}" for i in range(10)]
RETRAINS_PER_GROUP = 4  # drift's earlier runs: 40 tagged jobs, one page
PAGE_SIZE = 50
# A full scan materializes every job (~2 ms each here); above this many jobs its time is
# extrapolated from the largest scan measured (the scan is linear: same work per page).
SCAN_MEASURED_UP_TO = 10_000
SPEC = Path(__file__).resolve().parents[1] / "tests" / "data" / "azureml" / "command_job.yml"
START = datetime(2025, 1, 1, tzinfo=UTC)

Json = dict[str, Any]


def sizes(quick: bool) -> list[int]:
    return [100, 1_000] if quick else [100, 10_000, 100_000]


def workspace_of(total: int, template: Any, warm: bool) -> Any:
    """`total` jobs: each group's seed (users' first job), drift's retrains of each group
    (tagged, newest; none when `warm` is False: drift's first run) and everybody else's jobs."""
    from drift.domain.plan import TAG_DATA_VERSION, TAG_GROUP, TAG_SOURCE_JOB
    from tests.azureml_doubles import workspace

    ws = workspace(page_size=PAGE_SIZE)
    ours = len(GROUPS) * (1 + (RETRAINS_PER_GROUP if warm else 0))
    others = total - ours
    if others < 0:
        raise ValueError(f"a workspace of {total} jobs cannot hold {ours} of drift's groups")
    # Everybody else's history, one a minute; seeds sit among the newest 200 jobs on a first
    # run (so the bounded scan finds them) and far back on later runs.
    for i in range(others):
        name = f"team{i % 37}_{(START + timedelta(minutes=i)):%Y%m%d%H%M%S}_{i:06d}"
        if i % 5 == 0:
            name = f"adhoc-run-{i}"
        ws.jobs.seed(template, name=name, created_at=START + timedelta(minutes=i), tags={})
    end = START + timedelta(minutes=others)
    for k, group in enumerate(GROUPS):
        at = end - timedelta(minutes=20 * k + 5) if not warm else START - timedelta(days=30)
        ws.jobs.seed(template, name=f"{group}_{at:%Y%m%d%H%M%S}_seed", created_at=at, tags={})
    newest = {}
    if warm:
        for run in range(RETRAINS_PER_GROUP):
            for group in GROUPS:
                at = end + timedelta(days=7 * run, minutes=GROUPS.index(group))
                name = f"{group}_{at:%Y%m%d%H%M%S}_{run:010d}"
                tags = {
                    TAG_GROUP: group,
                    TAG_SOURCE_JOB: f"{group}_seed",
                    TAG_DATA_VERSION: f"{at:%Y%m%d%H%M%S}-v{run}",
                }
                ws.jobs.seed(template, name=name, created_at=at, tags=tags)
                newest[group] = name
    assert len(ws.jobs.names()) == total
    return ws


def _drift(ws: Any) -> tuple[dict[str, str], int, float]:
    from drift.backends.azure_errors import Where
    from drift.backends.azure_jobs import AzureJobs
    from drift.domain.plan import newest_per_group

    jobs = AzureJobs(ws.client, where=Where("bench workspace", "bench identity"))
    ws.service.calls.clear()
    t0 = time.perf_counter()
    found = newest_per_group(jobs.list_jobs(GROUPS))
    elapsed = time.perf_counter() - t0
    return {g: j.name for g, j in found.items()}, ws.service.count(), elapsed


def _scan(ws: Any) -> tuple[dict[str, str], int, float]:
    from drift.backends.azure_jobs import training_job
    from drift.domain.plan import newest_per_group, split_job_name

    wanted = set(GROUPS)
    ws.service.calls.clear()
    t0 = time.perf_counter()
    jobs = []
    for job in ws.client.jobs.list():
        parts = split_job_name(str(job.name))
        if parts and parts[0] in wanted:
            jobs.append(training_job(job))
    found = newest_per_group(jobs)
    elapsed = time.perf_counter() - t0
    return {g: j.name for g, j in found.items()}, ws.service.count(), elapsed


def measure(quick: bool) -> Json:
    from azure.ai.ml import load_job

    template = load_job(SPEC)
    _drift(workspace_of(100, template, True))  # warm-up: azure-ai-ml's first conversions
    rows = []
    per_job_s = None
    for n in sizes(quick):
        for warm in (True, False):
            ws = workspace_of(n, template, warm)
            found, calls, elapsed = _drift(ws)
            row: Json = {
                "jobs": n,
                "scenario": "drift retrained before" if warm else "first run (seeds only)",
                "drift_calls": calls,
                "drift_s": elapsed,
                "scan_calls": math.ceil(n / PAGE_SIZE),
            }
            if n <= SCAN_MEASURED_UP_TO or quick:
                scanned, scan_calls, scan_s = _scan(ws)
                if scan_calls != row["scan_calls"]:
                    raise AssertionError(
                        f"B6: {scan_calls} scan calls, expected {row['scan_calls']}"
                    )
                if scanned != found:
                    raise AssertionError(f"B6: drift found {found}, the full scan {scanned}")
                per_job_s = scan_s / n
                row.update(scan_s=scan_s, scan_status="measured", same_answer=True)
            else:
                assert per_job_s is not None
                row.update(
                    scan_s=per_job_s * n,
                    scan_status="extrapolated",
                    same_answer=None,
                    basis=f"{per_job_s * 1000:.2f} ms per job, from the largest scan measured",
                )
            row["ratio_calls"] = row["scan_calls"] / calls
            row["ratio_time"] = row["scan_s"] / elapsed
            rows.append(row)
    warm_rows = [r for r in rows if r["scenario"].startswith("drift")]
    cold_rows = [r for r in rows if not r["scenario"].startswith("drift")]
    big = warm_rows[-1]
    return {
        "parameters": {
            "jobs": sizes(quick),
            "groups": len(GROUPS),
            "drift_jobs_per_group": RETRAINS_PER_GROUP,
            "page_size": PAGE_SIZE,
            "seed_scan_limit": 500,
            "service": "tests.azureml_doubles.JobsDouble (in-process, no network)",
        },
        "rows": rows,
        "measured": {
            "drift_calls": {str(r["jobs"]): r["drift_calls"] for r in warm_rows},
            "drift_calls_first_run": {str(r["jobs"]): r["drift_calls"] for r in cold_rows},
            "drift_s": {str(r["jobs"]): r["drift_s"] for r in warm_rows},
        },
        "baseline": {
            "scan_calls": {str(r["jobs"]): r["scan_calls"] for r in warm_rows},
            "scan_s": {str(r["jobs"]): r["scan_s"] for r in warm_rows},
        },
        "ratio": {str(r["jobs"]): r["ratio_calls"] for r in warm_rows},
        "notes": [
            f"Workspace: {len(GROUPS)} model groups, each with its seed job and (after a first "
            f"run) {RETRAINS_PER_GROUP} jobs drift submitted and tagged; everything else is "
            "other teams' jobs. On a first run the seeds are among the newest 200 jobs.",
            "Calls are list pages (50 jobs each) the service serves; times are in-process "
            "(azure-ai-ml's REST-to-entity conversion of every job listed, the double's "
            "server-side filtering), without the network, which adds one round trip per page.",
            "A first run lists drift's tagged jobs (none yet) and then scans the newest jobs "
            "until every group's seed is seen (at most 500 jobs): in a workspace of 100 jobs "
            "that is one call more than a full scan.",
            f"Scans of more than {SCAN_MEASURED_UP_TO:,} jobs are not run (~2 ms per job "
            "converted): their call count is exact, their time extrapolated linearly.",
        ],
        "headline": (
            f"{big['jobs']:,} jobs: {big['drift_calls']} list "
            f"call{'' if big['drift_calls'] == 1 else 's'} for drift "
            f"({max(r['drift_calls'] for r in cold_rows)} at most on a first run) vs "
            f"{big['scan_calls']:,} for a full scan; {big['drift_s'] * 1000:.0f} ms vs "
            f"{big['scan_s']:.0f} s in-process"
        ),
    }
