"""B2 orchestration growth: history per instance, total history and replay CPU, by groups and polls.

drift: the real `drift_retrain` orchestrator fanning out one `drift_monitor_job` per group
(continue_as_new every 20 polls). Baseline: `bench.baseline.poll_all`, one orchestrator polling
every job in a single loop. Both use the same activities and are replayed by the same driver
on a VirtualClock; jobs are `tests.fakes.FakeJobs`, each running for exactly `polls` polls.
Replay CPU is the process CPU time of the run minus the CPU time spent inside activities.
"""

from __future__ import annotations

import gc
import math
import time
from pathlib import Path
from typing import Any

from bench.common import START, ActivityMeter, HistoryMeter, group_names, new_table, seed_jobs

ID = "B2"
TITLE = "Orchestration growth: history and replay CPU against model groups and polls"
DELAY_S, TIMEOUT_S = 10, 2700
# Points whose replay would cost minutes of CPU (estimated from the measured ones) are not run.
SKIP_CPU_S = 200.0

Json = dict[str, Any]


def grid(quick: bool) -> tuple[list[int], list[int]]:
    return ([1, 10], [10, 40]) if quick else ([1, 10, 100, 1000], [10, 270])


def planned(quick: bool) -> list[tuple[str, int, int]]:
    """(kind, groups, polls) to measure; the rest is derived from these (see `assemble`)."""
    groups, polls = grid(quick)
    points = []
    for kind in ("drift", "baseline"):
        for p in polls:
            for g in groups:
                if not quick and predicted_cpu(kind, g, p) > SKIP_CPU_S:
                    continue
                points.append((kind, g, p))
    # Longest first, so a pool of workers finishes together.
    return sorted(points, key=lambda k: -predicted_cpu(*k))


def predicted_cpu(kind: str, groups: int, polls: int) -> float:
    """Rough CPU seconds on a 2-core EPYC VM (measured: ~6 ms per monitor poll; the baseline
    replays its whole history, 2G + 6 events longer each round, twice per round, at ~65 us
    per event replayed)."""
    if kind == "drift":
        return 0.0065 * groups * polls
    return 65e-6 * polls**2 * (2 * groups + 6)


def services(workdir: Path, groups: int, polls: int) -> tuple[Any, Any]:
    from drift.backends.local_commits import LocalCommits
    from drift.backends.local_registry import LocalRegistry
    from drift.domain.config import parse_config
    from drift.wiring.bootstrap import Services
    from tests.fakes import FakeJobs

    names = group_names(groups)
    jobs = FakeJobs(
        seed_jobs(names), script={g: ["Running"] * (polls - 1) + ["Completed"] for g in names}
    )
    table = workdir / "table"
    if not table.exists():
        new_table(table)
    state = workdir / f"state-{groups}-{polls}"
    config = parse_config(
        {
            "backend": "local",
            "parameters": {
                "dataAssets": [{"name": "training_data", "value": "features"}],
                "refreshTimeout": str(TIMEOUT_S),
                "refreshDelay": str(DELAY_S),
                "maxParallelJobs": min(groups, 1000),  # every monitor at once, like the loop
            },
            "local": {
                "workdir": str(state),
                "tablePath": str(table),
                "jobsDir": str(workdir / "jobs"),
            },
        }
    )
    return Services(config, LocalCommits(), LocalRegistry(state), jobs, str(table)), jobs


def measure(kind: str, groups: int, polls: int, workdir: Path) -> Json:
    """Run one point in this process and return its figures."""
    from bench.baseline import POLL_ALL, poll_all
    from drift.durable.activities import bind
    from drift.durable.orchestration import ENTITIES, MONITOR, ORCHESTRATORS, RETRAIN
    from drift.runtime.runtime import LocalDurableRuntime, VirtualClock

    workdir.mkdir(parents=True, exist_ok=True)
    _warm_up(workdir)
    svc, jobs = services(workdir, groups, polls)
    meter, hist = ActivityMeter(), HistoryMeter()
    clock = VirtualClock(START)
    runtime = LocalDurableRuntime(
        {**ORCHESTRATORS, POLL_ALL: poll_all},
        meter.wrap(bind(svc)),
        clock=clock,
        max_episodes=100_000_000,
        on_event=hist.on_event,
        entities=ENTITIES,
    )
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = runtime.run(RETRAIN if kind == "drift" else POLL_ALL, {"delta_version": 0}, "run")
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if result.status != "Completed":
        raise RuntimeError(f"B2 {kind} {groups}x{polls}: {result.status} {result.error}")
    instances = runtime.instances
    monitors = [iid for iid, r in instances.items() if r.name == MONITOR]
    statuses = (
        [r["status"] for r in result.output["retrained"]]
        if kind == "drift"
        else result.output["statuses"]
    )
    return {
        "kind": kind,
        "groups": groups,
        "polls": polls,
        "status": "measured",
        "instances": len(instances),
        "episodes": sum(r.episodes for r in instances.values()),
        "history_total": sum(r.history_events_total for r in instances.values()),
        "history_max_instance": max(hist.max_generation(i) for i in instances),
        "history_root": hist.max_generation("run"),
        "history_max_monitor": max((hist.max_generation(i) for i in monitors), default=None),
        "monitor_generations": max((hist.generations[i] for i in monitors), default=None),
        "replayed_events": hist.replayed,
        "job_polls": sum(jobs.polls.values()),
        "replay_cpu_s": max(0.0, cpu - meter.total_cpu),
        "activity_cpu_s": meter.total_cpu,
        "wall_s": wall,
        "virtual_s": (clock.now() - START).total_seconds(),
        "outcome": statuses if kind == "baseline" else _count(statuses),
    }


def _count(values: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


_WARM: set[str] = set()


def _warm_up(workdir: Path) -> None:
    """Import and first-call costs (mltable, scipy, the SDK) are not replay: pay them once."""
    if "done" in _WARM:
        return
    from bench.baseline import POLL_ALL, poll_all
    from drift.durable.activities import bind
    from drift.durable.orchestration import ENTITIES, ORCHESTRATORS, RETRAIN
    from drift.runtime.runtime import LocalDurableRuntime, VirtualClock

    for name in (RETRAIN, POLL_ALL):
        svc, _ = services(workdir / "warm-up" / name, 1, 2)
        runtime = LocalDurableRuntime(
            {**ORCHESTRATORS, POLL_ALL: poll_all},
            bind(svc),
            clock=VirtualClock(START),
            entities=ENTITIES,
        )
        runtime.run(name, {"delta_version": 0}, "warm")
    _WARM.add("done")


# Assembling the table ------------------------------------------------------------------------


def assemble(quick: bool, measured: list[Json]) -> Json:
    groups, polls = grid(quick)
    by = {(m["kind"], m["groups"], m["polls"]): m for m in measured}
    rows = []
    for p in polls:
        for g in groups:
            d = by.get(("drift", g, p)) or _extrapolate_drift(by, g, p)
            b = by.get(("baseline", g, p)) or _estimate_baseline(by, g, p)
            rows.append(
                {
                    "groups": g,
                    "polls": p,
                    "drift": d,
                    "baseline": b,
                    "ratio_replay_cpu": _div(b["replay_cpu_s"], d["replay_cpu_s"]),
                    "ratio_max_history": _div(b["history_max_instance"], d["history_max_instance"]),
                }
            )
    top = rows[-1]
    both = [r for r in rows if r["drift"]["status"] == r["baseline"]["status"] == "measured"]
    seen = max(both, key=lambda r: (r["polls"], r["groups"]))
    low = [r for r in rows if r["polls"] == polls[0]]
    high = [r for r in rows if r["polls"] == polls[-1]]
    return {
        "parameters": {
            "groups": groups,
            "polls": polls,
            "refresh_delay_s": DELAY_S,
            "refresh_timeout_s": TIMEOUT_S,
            "polls_per_generation": 20,
            "clock": "VirtualClock",
            "jobs": "tests.fakes.FakeJobs, each job Running until its last poll",
            "skip_above_cpu_s": None if quick else SKIP_CPU_S,
        },
        "rows": rows,
        "measured": {
            "monitor_max_history": {
                str(p): max(r["drift"]["history_max_monitor"] or 0 for r in rows if r["polls"] == p)
                for p in polls
            },
            "drift_history_per_poll": _per_poll(high, "drift"),
            "drift_replay_cpu_per_poll_ms": _cpu_per_poll(high, "drift"),
        },
        "baseline": {
            "max_history": {
                str(p): max(r["baseline"]["history_max_instance"] for r in rows if r["polls"] == p)
                for p in polls
            },
            "replay_cpu_per_poll_ms": _cpu_per_poll(high, "baseline"),
        },
        "ratio": {
            "replay_cpu_largest_measured": seen["ratio_replay_cpu"],
            "max_history_largest_measured": seen["ratio_max_history"],
            "replay_cpu_at_largest": top["ratio_replay_cpu"],
            "max_history_at_largest": top["ratio_max_history"],
        },
        "notes": _notes(rows, low),
        "headline": _headline(seen, top),
    }


def _headline(seen: Json, top: Json) -> str:
    def part(r: Json) -> str:
        return (
            f"{gp(r['groups'], r['polls'])}: largest history of one instance "
            f"{r['drift']['history_max_instance']:,} events (drift) vs "
            f"{r['baseline']['history_max_instance']:,} (one loop), replay CPU "
            f"{r['drift']['replay_cpu_s']:.1f} s vs {r['baseline']['replay_cpu_s']:.1f} s "
            f"(loop / drift: {_fmt_ratio(r['ratio_replay_cpu'])})"
        )

    if seen is top:
        return part(top)
    return (
        f"{part(seen)}; {part(top)}, drift {top['drift']['status']}, the loop "
        f"{top['baseline']['status']}"
    )


def gp(groups: int, polls: int) -> str:
    return f"{groups:,} group{'s' if groups != 1 else ''} x {polls} polls"


def _per_poll(rows: list[Json], side: str) -> float:
    r = rows[-1][side]
    return r["history_total"] / (r["groups"] * r["polls"])


def _cpu_per_poll(rows: list[Json], side: str) -> float:
    r = max((row[side] for row in rows if row[side]["status"] == "measured"), key=_size)
    return 1000 * r["replay_cpu_s"] / (r["groups"] * r["polls"])


def _size(r: Json) -> int:
    return r["groups"] * r["polls"]


def _div(a: float | None, b: float | None) -> float | None:
    return None if not a or not b else a / b


def _fmt_ratio(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.0f}x" if x >= 10 else f"{x:.1f}x"


def _extrapolate_drift(by: dict, groups: int, polls: int) -> Json:
    """Monitors are independent and identical: what depends on polls scales with groups.

    total(G, P) = total(G, P0) + G/g * (total(g, P) - total(g, P0)) for the largest g measured
    at both P0 and P; the parent's history does not depend on polls (every job ends in the same
    round), and a monitor's largest generation does not depend on the number of groups.
    """
    p0 = min(p for (k, _, p) in by if k == "drift")
    g = max(gg for (k, gg, pp) in by if k == "drift" and pp == polls and ("drift", gg, p0) in by)
    base, hi, lo = by[("drift", groups, p0)], by[("drift", g, polls)], by[("drift", g, p0)]
    scale = groups / g
    out = dict(base)

    def extra(key: str) -> float:
        return base[key] + scale * (hi[key] - lo[key])

    for key in ("episodes", "history_total", "replayed_events", "job_polls"):
        out[key] = round(extra(key))
    out.update(
        polls=polls,
        status="extrapolated",
        replay_cpu_s=extra("replay_cpu_s"),
        activity_cpu_s=extra("activity_cpu_s"),
        wall_s=None,
        virtual_s=hi["virtual_s"],
        history_max_monitor=hi["history_max_monitor"],
        monitor_generations=hi["monitor_generations"],
        history_max_instance=max(base["history_root"], hi["history_max_monitor"]),
        basis=f"{gp(groups, p0)} + {scale:g} x ({gp(g, polls)} - {gp(g, p0)})",
    )
    return out


def _estimate_baseline(by: dict, groups: int, polls: int) -> Json:
    """Not run (minutes to hours of CPU). Its history is exact arithmetic; its CPU is estimated.

    Per round the loop adds the same events for every job, so its one history is
    a + b*G + P*(c + d*G) and its episodes e + f*P; the constants are solved from measured
    points and checked on all of them. Every episode replays the whole history, which grows
    linearly, so the events replayed over a run are ~ episodes * history / 2, and replay CPU
    = k * that, k from the largest measured point (checked on the others: see the notes).
    """
    model = baseline_model([m for (k, _, _), m in by.items() if k == "baseline"])
    history, episodes, cpu = model["predict"](groups, polls)
    return {
        "kind": "baseline",
        "groups": groups,
        "polls": polls,
        "status": "estimated",
        "instances": 1,
        "episodes": episodes,
        "history_total": history,
        "history_max_instance": history,
        "history_root": history,
        "history_max_monitor": None,
        "monitor_generations": None,
        "replayed_events": round(episodes * history / 2),
        "job_polls": groups * polls,
        "replay_cpu_s": cpu,
        "activity_cpu_s": None,
        "wall_s": None,
        "virtual_s": None,
        "basis": model["basis"],
    }


def baseline_model(points: list[Json]) -> Json:
    a, b, c, d = _fit_history(points)
    e, f = _episodes_fit(points)
    # The estimated points have the most polls: fit on the measured one nearest to them.
    largest = max(points, key=lambda m: (m["polls"], m["groups"]))

    def shape(groups: int, polls: int) -> tuple[int, int]:
        return round(a + b * groups + polls * (c + d * groups)), round(e + f * polls)

    h, ep = shape(largest["groups"], largest["polls"])
    k = largest["replay_cpu_s"] / (ep * h / 2)

    def predict(groups: int, polls: int) -> tuple[int, int, float]:
        history, episodes = shape(groups, polls)
        return history, episodes, k * episodes * history / 2

    checks = {
        f"{m['groups']}x{m['polls']}": predict(m["groups"], m["polls"])[2] / m["replay_cpu_s"]
        for m in points
        if m["replay_cpu_s"] > 0.5
    }
    basis = (
        f"history = {a:g} + {b:g}G + P({c:g} + {d:g}G), episodes = {e:g} + {f:g}P; "
        f"CPU = {k * 1e6:.0f} us x episodes x history / 2, fitted on "
        f"{gp(largest['groups'], largest['polls'])}"
    )
    return {"predict": predict, "basis": basis, "checks": checks}


def _fit_history(points: list[Json]) -> tuple[float, float, float, float]:
    """Exact fit of history = a + b*G + P*(c + d*G) on two poll counts."""
    polls = sorted({m["polls"] for m in points})
    lo, hi = polls[0], polls[-1]
    gs = sorted({m["groups"] for m in points if m["polls"] == hi})
    g1, g2 = gs[0], gs[-1]
    h = {(m["groups"], m["polls"]): m["history_total"] for m in points}
    # per-round slope for g1 and g2, then intercept; linear in G each.
    s1 = (h[(g1, hi)] - h[(g1, lo)]) / (hi - lo)
    s2 = (h[(g2, hi)] - h[(g2, lo)]) / (hi - lo)
    d = (s2 - s1) / (g2 - g1)
    c = s1 - d * g1
    i1, i2 = h[(g1, lo)] - lo * s1, h[(g2, lo)] - lo * s2
    b = (i2 - i1) / (g2 - g1)
    a = i1 - b * g1
    for (g, p), value in h.items():  # the arithmetic must reproduce every measured point
        predicted = a + b * g + p * (c + d * g)
        if not math.isclose(predicted, value, rel_tol=0.01):
            raise AssertionError(f"baseline history model {predicted} != {value} at {g}x{p}")
    return a, b, c, d


def _episodes_fit(points: list[Json]) -> tuple[float, float]:
    polls = sorted({m["polls"] for m in points})
    lo, hi = polls[0], polls[-1]
    e = {m["polls"]: m["episodes"] for m in points if m["groups"] == 1}
    slope = (e[hi] - e[lo]) / (hi - lo)
    return e[lo] - slope * lo, slope


def _notes(rows: list[Json], low: list[Json]) -> list[str]:
    notes = [
        "Every job runs for exactly `polls` polls (10 s apart on the virtual clock) and all "
        "monitors run at once (maxParallelJobs = groups), as the loop polls every job each "
        "round.",
        "History = events in an instance's history (the Durable Functions extension's JSON "
        "shape); largest instance = the largest single generation of any instance "
        "(continue_as_new starts a new one). drift's largest is its parent `drift_retrain` "
        "when groups are many (two events per monitor), a monitor otherwise.",
        "Replay CPU = process CPU time of the run minus CPU spent inside activities.",
        "The loop (bench/baseline.py) is written the most favourable way: each round polls "
        "every job at once (task_all), so a round costs two replays; polling job by job "
        "would replay once per poll.",
    ]
    points = [r["baseline"] for r in rows if r["baseline"]["status"] == "measured"]
    if len(points) < len(rows):
        checks = baseline_model(points)["checks"]
        notes.append(
            "The loop's CPU estimate, applied to the measured points (over 0.5 s of CPU): "
            + ", ".join(f"{gp(*map(int, k.split('x')))}: {v:.2f}" for k, v in checks.items())
            + "."
        )
    for r in rows:
        for side in ("drift", "baseline"):
            v = r[side]
            if v["status"] != "measured":
                notes.append(
                    f"{side} {gp(r['groups'], r['polls'])}: {v['status']} "
                    f"({v['basis']}); not run because it would take "
                    f"~{v['replay_cpu_s'] / 60:.1f} min of CPU."
                )
    return notes
