"""B4 burst: 1,000 commits on one table within 60 s, delivered out of order and duplicated.

Through the real Functions app (as tests/functions do): each delivery goes to the Event Grid
function with a LocalDurableClient; the intake orchestrators, the `drift_table` entity, the
watcher and `drift_retrain` are replayed by the local runtime on a VirtualClock; the table is
a real Delta table (written by delta-rs before the burst, see `bench.tables`), registration
the real LocalRegistry with MLTables; jobs are `tests.fakes.FakeJobs` (two model groups, each
job Running for 5 polls, so a retrain takes 50 s of virtual time).

"Lost": a data-changing commit whose intake did not complete, or newer than every version
registered at the end; and the newest data-changing version must be registered.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from bench.common import KEY, START, FunctionsApp, functions_app, seed_jobs

ID = "B4"
TITLE = "Burst: 1,000 commits within 60 s, out of order, 10% duplicated"
WINDOW_S = 60.0
DUPLICATES = 0.10
SEED = 20261123
GROUPS = ["churn", "upsell"]
RUNNING_POLLS = 5

Json = dict[str, Any]


def commits(quick: bool) -> int:
    return 100 if quick else 1_000


def run(quick: bool, workdir: Path, table: Path, built: Json) -> Json:
    """`table` holds versions 0..N, N = commits(quick): version 0 existed before the burst."""
    n = commits(quick)
    scenarios = []
    for wait in (60, 0):
        scenarios.append(_burst(workdir / f"wait-{wait}", table, n, wait))
    main = scenarios[0]
    return {
        "parameters": {
            "commits": n,
            "window_s": WINDOW_S,
            "duplicated": DUPLICATES,
            "order": f"random (seed {SEED})",
            "model_groups": len(GROUPS),
            "job_runs_polls": RUNNING_POLLS,
            "wait_after_last_change_s": [s["wait_after_last_change_s"] for s in scenarios],
            "clock": "VirtualClock",
            "table_build_s": round(built["build_s"], 2),
            "optimize_commits": built["optimizes"],
        },
        "scenarios": scenarios,
        "measured": {
            k: main[k]
            for k in (
                "deliveries",
                "intakes_started",
                "duplicates_dropped",
                "skipped_no_data_change",
                "registrations",
                "retrains_started",
                "jobs_submitted",
                "newest_registered",
                "versions_lost",
            )
        },
        "baseline": {
            "registrations_if_one_per_commit": main["data_commits"],
            "basis": "a trigger that registers and retrains on every commit event",
        },
        "ratio": {
            "commits_per_retrain": main["data_commits"] / max(1, main["retrains_started"]),
            "lost": main["versions_lost"],
        },
        "notes": [
            f"The table's writer compacts after every 50 appends, so {built['optimizes']} of "
            f"the {n:,} commits are OPTIMIZE (dataChange=false): their intakes skip them, by "
            "design.",
            "waitAfterLastChangeSeconds 60 is drift's default; 0 retrains as soon as a "
            "commit arrives, and commits arriving during a retrain queue one follow-up.",
            "Local processing time (wall) is what this process took to handle every delivery "
            "in-process; it is not a latency claim (B1 measures that).",
        ],
        "headline": (
            f"{n:,} commits ({main['deliveries']:,} deliveries, shuffled, "
            f"{main['duplicates_dropped']} duplicates dropped): "
            f"{_n(main['registrations'], 'registration')} and "
            f"{_n(main['retrains_started'], 'retrain')} with the default 60 s "
            f"quiet period ({scenarios[1]['retrains_started']} with 0 s); newest version "
            f"registered: {'yes' if main['newest_registered'] else 'NO'}; versions lost: "
            f"{main['versions_lost'] + scenarios[1]['versions_lost']}"
        ),
    }


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _burst(workdir: Path, table: Path, n: int, wait: int) -> Json:
    from drift.durable.orchestration import INTAKE, RETRAIN, intake_instance_id
    from drift.runtime.runtime import VirtualClock
    from tests.fakes import FakeJobs

    workdir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    versions = list(range(1, n + 1))
    deliveries = versions + rng.sample(versions, round(n * DUPLICATES))
    rng.shuffle(deliveries)
    jobs = FakeJobs(
        seed_jobs(GROUPS), script={g: ["Running"] * RUNNING_POLLS + ["Completed"] for g in GROUPS}
    )
    clock = VirtualClock(START)
    step = WINDOW_S / len(deliveries)
    with functions_app(
        workdir,
        table,
        jobs,
        clock,
        waitAfterLastChangeSeconds=wait,
        minTimeBetweenTriggersSeconds=0,
    ) as app:
        wall = time.perf_counter()
        timeline = []
        for i, version in enumerate(deliveries):
            timeline.append([round((clock.now() - START).total_seconds(), 3), version])
            app.deliver(app.event(version, event_id=f"evt-{version}-{i}"))
            app.advance(step)
        app.settle()
        wall = time.perf_counter() - wall
        figures = _outcome(app, n)
        runtime = app.runtime
        started = [iid for iid, name in runtime.starts if name == INTAKE]
        retrains = sorted(
            (r for r in runtime.instances.values() if r.name == RETRAIN),
            key=lambda r: r.output["delta_version"],
        )
        retrain_times = []
        for r in retrains:
            status = runtime.get_status(r.instance_id)
            at = (status.created_time - START).total_seconds()
            retrain_times.append([round(at, 3), r.output["delta_version"]])
        roles: dict[str, int] = {}
        for v in versions:
            status = runtime.get_status(intake_instance_id(KEY, v))
            role = (status.output or {}).get("role", "?") if status else "missing"
            roles[role] = roles.get(role, 0) + 1
        return {
            "wait_after_last_change_s": wait,
            "deliveries": len(deliveries),
            "intakes_started": len(started),
            "intake_ids_unique": len(started) == len(set(started)),
            "duplicates_dropped": len(deliveries) - len(started),
            "intake_roles": roles,
            "retrained_versions": [r.output["delta_version"] for r in retrains],
            "retrains_started": len(retrains),
            "jobs_submitted": len(jobs.submitted),
            "virtual_s_to_idle": (clock.now() - START).total_seconds(),
            "local_wall_s": wall,
            "deliveries_at": timeline,
            "retrains_at": retrain_times,
            **figures,
        }


def _outcome(app: FunctionsApp, n: int) -> Json:
    from drift.domain.delta_log import summarize_commit
    from drift.durable.orchestration import intake_instance_id

    commits = app.services.commits
    changed = {
        v
        for v in range(1, n + 1)
        if summarize_commit(commits.read_commit(str(app.table), v), v).data_change
    }
    registered = [
        int(a.tags["drift.delta_version"]) for a in app.services.registry.list_versions("features")
    ]
    newest = max(changed)
    top = max(registered, default=-1)
    lost = []
    for v in sorted(changed):
        status = app.runtime.get_status(intake_instance_id(KEY, v))
        done = status is not None and status.runtime_status.value == "Completed"
        if not done or v > top:
            lost.append(v)
    return {
        "data_commits": len(changed),
        "skipped_no_data_change": n - len(changed),
        "registrations": len(registered),
        "registered_versions": sorted(registered),
        "registered_twice": len(registered) - len(set(registered)),
        "newest_version": newest,
        "newest_registered": newest in registered,
        "versions_lost": len(lost) + (0 if newest in registered else 1),
        "lost": lost[:20],
    }
