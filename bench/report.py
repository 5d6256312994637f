"""The results as markdown (docs/benchmarks.md) and PNG plots (matplotlib, Agg backend)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

Json = dict[str, Any]


# Numbers ------------------------------------------------------------------------------------


def secs(value: float | None) -> str:
    """A duration with a unit that keeps 2-3 significant figures."""
    if value is None:
        return "n/a"
    if value < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if value < 1:
        return f"{value * 1e3:.3g} ms"
    if value < 100:
        return f"{value:.3g} s"
    return f"{value:,.0f} s"


def times(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value >= 100:
        return f"{value:,.0f}×"
    return f"{value:.2g}×" if value < 10 else f"{value:.0f}×"


def vsecs(value: float) -> str:
    """Virtual seconds: whole, as the virtual clock counts them."""
    return f"{value:,.0f} s"


def num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# Markdown -----------------------------------------------------------------------------------


def markdown(data: Json, path: Path, results_path: Path, img_dir: Path) -> str:
    meta, bench = data["meta"], data["benchmarks"]
    img = Path(os.path.relpath(img_dir, path.parent)).as_posix()
    res = Path(os.path.relpath(results_path, path.parent)).as_posix()
    out = [
        "# Benchmarks",
        "",
        "What drift costs and how fast it reacts, each figure measured against a baseline "
        "in the same run (or, where a baseline is a product's documented behaviour, stated). "
        "The real orchestrators, entity and activities run in-process on drift's local "
        "durable runtime; only training jobs are fakes or operation doubles, and the clock is "
        "virtual except in B1. Times are ratios or distributions from one run: they depend on "
        "the machine, the ratios much less.",
        "",
        "```bash",
        "python -m bench            # everything, 9-12 minutes on 2 cores: bench/results.json, "
        "docs/benchmarks.md, docs/img/",
        "python -m bench --quick    # small sizes, under a minute (what the tests run)",
        "python -m bench --only B1,B4 --out /tmp/bench   # some, elsewhere",
        "```",
        "",
        "`--quick` runs B1 on 10 commits, B2 on 1 and 10 groups × 10 and 40 polls, B3 on ten "
        "minutes, B4 on 100 commits, B5 on tables of 10 and 200 commits, B6 on workspaces "
        "of 100 and 1,000 jobs, B7 with 3 imports of each kind, B8 on 3 jobs at refreshDelay "
        "10 and 600 s and B9 on 3 runs under faults; `tests/bench/test_bench_quick.py` runs "
        "it and checks the "
        "invariants (never the times).",
        "",
        f"Raw figures: [`{res}`]({res}) (one object per benchmark: parameters, measured, "
        "baseline, ratio, notes).",
        "",
        "## Summary",
        "",
        table(["", "benchmark", "drift", "baseline", "ratio"], _summary_rows(bench)),
        "",
        "## Machine",
        "",
        _machine(meta),
        "",
    ]
    sections = {
        "B1": _b1,
        "B2": _b2,
        "B3": _b3,
        "B4": _b4,
        "B5": _b5,
        "B6": _b6,
        "B7": _b7,
        "B8": _b8,
        "B9": _b9,
    }
    for bid, result in bench.items():
        out += [f"## {bid}. {result['title']}", "", f"**{result['headline']}.**", ""]
        if result.get("measured_on"):
            on = result["measured_on"]
            out += [
                f"Measured on its own: {on['date']}, commit {on['commit']} "
                f"(`python -m bench --only {bid}`).",
                "",
            ]
        out += sections[bid](result)
        png = PLOTS.get(bid)
        if png and png in (meta.get("plots") or []):
            out += ["", f"![{bid}]({img}/{png})"]
        out += ["", *(f"- {note}" for note in result.get("notes", [])), ""]
    return "\n".join(out).rstrip() + "\n"


def _machine(meta: Json) -> str:
    packages = ", ".join(f"{k} {v}" for k, v in meta["packages"].items() if v)
    phases = meta.get("phases", {})
    rows = [
        ["date", meta["date"]],
        ["commit", meta.get("commit") or "n/a"],
        ["CPU", f"{meta['cpu']}, {meta['cores']} cores, {meta.get('memory_gib')} GiB"],
        ["OS, Python", f"{meta['os']}, Python {meta['python']}"],
        ["packages", packages],
        [
            "run",
            f"{'quick' if meta['quick'] else 'full'}, {meta['run_s']:.0f} s "
            f"(workers phase {phases.get('workers_s', 0):.0f} s with {meta['workers']} "
            f"process(es); alone phase {phases.get('alone_s', 0):.0f} s)",
        ],
    ]
    return table(["", ""], rows)


def _summary_rows(bench: Json) -> list[list[str]]:
    rows = []
    if "B1" in bench:
        m = bench["B1"]["measured"]["submitted_s"]
        r = bench["B1"]["ratio"]
        rows.append(
            [
                "B1",
                "commit → retraining submitted",
                f"p50 {secs(m['p50'])}, p95 {secs(m['p95'])}",
                "weekly schedule 302,400 s mean; Databricks table trigger ≥ 60 s",
                f"{times(r['weekly_mean_over_p50'])}; {times(r['databricks_min_over_p50'])}",
            ]
        )
    if "B2" in bench:
        row = _b2_summary_row(bench["B2"])
        d, b = row["drift"], row["baseline"]
        rows.append(
            [
                "B2",
                f"orchestration, {row['groups']} groups × {row['polls']} polls",
                f"largest history {num(d['history_max_instance'])} events, replay CPU "
                f"{secs(d['replay_cpu_s'])}",
                f"{num(b['history_max_instance'])} events, {secs(b['replay_cpu_s'])}",
                f"{times(row['ratio_max_history'])} history, {times(row['ratio_replay_cpu'])} CPU",
            ]
        )
    if "B3" in bench:
        m, r = bench["B3"]["measured"], bench["B3"]["ratio"]
        rows.append(
            [
                "B3",
                "compute per monitored job-hour",
                f"{secs(m['drift_s_per_job_hour'])} "
                f"({secs(m['with_network_s_per_job_hour_stated'])} with 1 s network per call)",
                "3,600 s (a cluster waits)",
                f"{times(r['reference_over_drift'])} "
                f"({times(r['reference_over_drift_with_network'])})",
            ]
        )
    if "B4" in bench:
        m = bench["B4"]["measured"]
        p = bench["B4"]["parameters"]
        rows.append(
            [
                "B4",
                f"burst of {p['commits']:,} commits in 60 s",
                f"{m['registrations']} registration{'' if m['registrations'] == 1 else 's'}, "
                f"{m['retrains_started']} retrain{'' if m['retrains_started'] == 1 else 's'}, "
                f"{m['versions_lost']} versions lost",
                f"{bench['B4']['baseline']['registrations_if_one_per_commit']:,} (one per commit)",
                f"{times(bench['B4']['ratio']['commits_per_retrain'])} fewer retrains, 0 lost",
            ]
        )
    if "B5" in bench:
        row = bench["B5"]["rows"][-1]
        rows.append(
            [
                "B5",
                f"classify the newest of {row['commits']:,} commits",
                f"{secs(row['drift_classify_s'])} (1 commit file); "
                f"{secs(row['drift_classify_known_version_s'])} given the version",
                f"DeltaTable load {secs(row['deltatable_load_s'])}",
                f"{times(row['ratio'])}; {times(row['ratio_known_version'])}",
            ]
        )
    if "B6" in bench:
        rows6 = bench["B6"]["rows"]
        warm = [r for r in rows6 if r["scenario"].startswith("drift")][-1]
        cold = [r for r in rows6 if not r["scenario"].startswith("drift")][-1]
        rows.append(
            [
                "B6",
                f"newest job per group, {warm['jobs']:,} jobs",
                f"{warm['drift_calls']} list call{'' if warm['drift_calls'] == 1 else 's'} "
                f"({cold['drift_calls']} on a first run)",
                f"{warm['scan_calls']:,} calls (full scan)",
                f"{times(warm['ratio_calls'])} fewer calls",
            ]
        )
    if "B7" in bench:
        m, b, r = bench["B7"]["measured"], bench["B7"]["baseline"], bench["B7"]["ratio"]
        rows.append(
            [
                "B7",
                "cold start: `import function_app`",
                f"{secs(m['import_s'])}, {m['maxrss_mib']:.0f} MiB",
                f"azure.functions + azure.durable_functions: {secs(b['import_s'])}, "
                f"{b['maxrss_mib']:.0f} MiB",
                f"{r['time_x']:.2f}x the time, {r['memory_x']:.2f}x the memory (goal ≤ 1.5x)",
            ]
        )
    if "B8" in bench:
        r8 = bench["B8"]
        top = max(r8["parameters"]["refresh_delays_s"])
        by = _b8_rows(r8)
        rows.append(
            [
                "B8",
                f"job end → its report row, refreshDelay {top} s",
                f"p50 {vsecs(by[top, 'event']['seen_after_s']['p50'])} with job status events, "
                f"{by[top, 'event']['polls_per_job_hour']:.1f} polls per job-hour",
                f"polling: p50 {vsecs(by[top, 'poll']['seen_after_s']['p50'])}",
                f"{times(r8['ratio']['fewer_polls_event_at_top_vs_poll_at_lowest'])} fewer polls "
                "than polling every "
                f"{min(r8['parameters']['refresh_delays_s'])} s",
            ]
        )
    if "B9" in bench:
        rows.append(_b9_summary_row(bench["B9"]))
    return rows


def _b9_summary_row(result: Json) -> list[Any]:
    m, b = result["measured"], result["baseline"]
    attempts = result["parameters"]["durable_attempts"]
    return [
        "B9",
        "HTTP attempts per activity call, persistent 503",
        f"{m['persistent_503_per_call']} ({m['persistent_503_per_call'] * attempts} per activity); "
        f"30% faults: {m['faults']['completed']} of {m['faults']['runs']} runs",
        f"{b['persistent_503_per_call']} ({b['persistent_503_per_call'] * attempts} per activity)",
        f"{times(result['ratio']['persistent_503'])} fewer attempts",
    ]


def _b2_summary_row(result: Json) -> Json:
    both = [
        r
        for r in result["rows"]
        if r["drift"]["status"] == "measured" and r["baseline"]["status"] == "measured"
    ]
    return max(both, key=lambda r: (r["polls"], r["groups"]))


def _b1(r: Json) -> list[str]:
    m = r["measured"]
    rows = [
        [label, secs(s["p50"]), secs(s["p95"]), secs(s["mean"]), secs(s["max"])]
        for label, s in (
            ("commit → retraining submitted (all groups)", m["submitted_s"]),
            ("commit → registration done", m["registered_s"]),
            ("write_deltalake itself (not included)", m["write_s"]),
        )
    ]
    b, ratio = r["baseline"], r["ratio"]
    p50 = m["submitted_s"]["p50"]
    base = [
        ["drift (p50, measured)", secs(p50), "1×"],
        [
            "Databricks table-update trigger (minimum wait)",
            secs(b["databricks_table_trigger_min_s"]),
            times(ratio["databricks_min_over_p50"]),
        ],
        [
            "reference weekly schedule (mean wait)",
            secs(b["weekly_schedule_mean_s"]),
            times(ratio["weekly_mean_over_p50"]),
        ],
        [
            "reference weekly schedule (longest wait)",
            secs(b["weekly_schedule_max_s"]),
            times(ratio["weekly_max_over_p50"]),
        ],
    ]
    return [
        f"{r['parameters']['commits']} commits, {r['parameters']['model_groups']} model groups, "
        "quiet period 0, real clock.",
        "",
        table(["", "p50", "p95", "mean", "max"], rows),
        "",
        table(["trigger", "wait", "baseline / drift p50"], base),
    ]


def _b2(r: Json) -> list[str]:
    rows = []
    for row in r["rows"]:
        d, b = row["drift"], row["baseline"]
        status = (
            "measured"
            if d["status"] == b["status"] == "measured"
            else f"drift {d['status']}, baseline {b['status']}"
        )
        rows.append(
            [
                f"{row['groups']:,}",
                row["polls"],
                num(d["history_max_monitor"]),
                num(d["history_max_instance"]),
                num(d["history_total"]),
                secs(d["replay_cpu_s"]),
                num(b["history_max_instance"]),
                secs(b["replay_cpu_s"]),
                times(row["ratio_max_history"]),
                times(row["ratio_replay_cpu"]),
                status,
            ]
        )
    header = [
        "groups",
        "polls",
        "drift: largest monitor history",
        "drift: largest instance history",
        "drift: total history",
        "drift: replay CPU",
        "loop: history (one instance)",
        "loop: replay CPU",
        "history ratio",
        "CPU ratio",
        "",
    ]
    m = r["measured"]
    return [
        "History in events; the loop's one instance is both its largest and its total. "
        f"drift's monitor keeps at most {max(m['monitor_max_history'].values())} events "
        "(one generation of 20 polls) however long the job runs. drift writes more history "
        f"in total ({m['drift_history_per_poll']:.1f} events per job poll, linear in groups "
        "and polls: every poll is a replay of its own monitor) than the loop (about 2 per "
        "job poll, its polls batched per round), but replays it in small pieces; the loop "
        "replays its whole, growing history twice a round, so its CPU grows with polls² and "
        "groups × polls².",
        "",
        table(header, rows),
    ]


def _b3(r: Json) -> list[str]:
    m, b, ratio = r["measured"], r["baseline"], r["ratio"]
    rows = [
        ["polls (every 10 s)", num(m["polls_per_job_hour"]), "", ""],
        ["service calls (submit, polls)", num(m["service_calls_per_job_hour"]), "", ""],
        ["activity wall time", secs(m["activity_wall_s_per_job_hour"]), "", ""],
        ["orchestrator replay CPU", secs(m["replay_cpu_s_per_job_hour"]), "", ""],
        [
            "**compute per job-hour**",
            f"**{secs(m['drift_s_per_job_hour'])}**",
            secs(b["reference_s_per_job_hour"]),
            times(ratio["reference_over_drift"]),
        ],
        [
            "with 1 s of network per call (stated)",
            secs(m["with_network_s_per_job_hour_stated"]),
            secs(b["reference_s_per_job_hour"]),
            times(ratio["reference_over_drift_with_network"]),
        ],
    ]
    return [table(["per monitored job-hour", "drift", "reference", "ratio"], rows)]


def _b4(r: Json) -> list[str]:
    rows = []
    for s in r["scenarios"]:
        rows.append(
            [
                f"{s['wait_after_last_change_s']} s",
                num(s["deliveries"]),
                num(s["intakes_started"]),
                num(s["duplicates_dropped"]),
                num(s["skipped_no_data_change"]),
                s["registrations"],
                s["retrains_started"],
                s["jobs_submitted"],
                ", ".join(f"v{v}" for v in s["retrained_versions"]),
                "yes" if s["newest_registered"] else "**no**",
                s["versions_lost"],
                secs(s["local_wall_s"]),
            ]
        )
    header = [
        "quiet period",
        "deliveries",
        "intakes started",
        "duplicates dropped",
        "skipped (no data change)",
        "registrations",
        "retrains",
        "jobs submitted",
        "retrained on",
        "newest registered",
        "versions lost",
        "local processing",
    ]
    return [table(header, rows)]


def _b5(r: Json) -> list[str]:
    rows = [
        [
            f"{x['commits']:,}",
            f"{x['log_files']:,}",
            secs(x["drift_classify_s"]),
            secs(x["drift_classify_known_version_s"]),
            f"{x['drift_commit_files_read']:g}",
            secs(x["deltatable_load_s"]),
            times(x["ratio"]),
            times(x["ratio_known_version"]),
            secs(x["build_s"]),
        ]
        for x in r["rows"]
    ]
    header = [
        "commits",
        "files in _delta_log",
        "drift: list + classify",
        "drift: classify (version known)",
        "commit files read",
        "DeltaTable(path)",
        "ratio",
        "ratio (version known)",
        "table build (separate)",
    ]
    return [table(header, rows)]


def _b6(r: Json) -> list[str]:
    rows = [
        [
            f"{x['jobs']:,}",
            x["scenario"],
            x["drift_calls"],
            f"{x['scan_calls']:,}",
            times(x["ratio_calls"]),
            secs(x["drift_s"]),
            secs(x["scan_s"]) + ("" if x["scan_status"] == "measured" else " (extrapolated)"),
            {True: "yes", None: "not run"}.get(x["same_answer"], "**no**"),
        ]
        for x in r["rows"]
    ]
    header = [
        "jobs in workspace",
        "scenario",
        "drift: list calls",
        "full scan: list calls",
        "calls ratio",
        "drift: time",
        "full scan: time",
        "same newest jobs",
    ]
    return [table(header, rows)]


def _b7(r: Json) -> list[str]:
    rows = []
    for label, x in (("`import function_app`", r["measured"]), ("libraries alone", r["baseline"])):
        heavy = ", ".join(x["heavy_loaded"]) or "none"
        rows.append(
            [
                label,
                secs(x["import_s"]),
                f"{x['maxrss_mib']:.0f} MiB",
                f"{x['modules']:,.0f}",
                heavy,
            ]
        )
    before = r.get("before")
    if before:
        rows.append(
            [
                f"`import function_app` before the lazy imports ({before['commit']})",
                secs(before["import_s"]),
                f"{before['maxrss_mib']:.0f} MiB",
                f"{before['modules']:,.0f}",
                ", ".join(before["heavy_loaded"]),
            ]
        )
    header = ["import", "time (median)", "peak memory (median)", "modules", "heavy modules loaded"]
    ratio = r["ratio"]
    out = [table(header, rows), ""]
    out.append(
        f"Ratio to the libraries alone: {ratio['time_x']:.2f}x the time, "
        f"{ratio['memory_x']:.2f}x the memory"
        + (f" (before: {before['time_x']:.2f}x and {before['memory_x']:.2f}x)." if before else ".")
    )
    return out


def _b8_rows(r: Json) -> dict[tuple[int, str], Json]:
    """B8's rows by (refreshDelay, "poll" or "event")."""
    return {(x["refresh_delay_s"], x["path"]): x for x in r["rows"]}


def _b8(r: Json) -> list[str]:
    by = _b8_rows(r)
    rows = []
    for delay in r["parameters"]["refresh_delays_s"]:
        poll, event = by[delay, "poll"], by[delay, "event"]
        rows.append(
            [
                f"{delay} s",
                vsecs(poll["seen_after_s"]["p50"]),
                vsecs(poll["seen_after_s"]["p95"]),
                vsecs(poll["seen_after_s"]["max"]),
                vsecs(event["seen_after_s"]["p50"]),
                vsecs(event["seen_after_s"]["max"]),
                f"{poll['polls_per_job_hour']:.1f}",
                f"{event['polls_per_job_hour']:.1f}",
            ]
        )
    header = [
        "refreshDelay",
        "polling: p50",
        "polling: p95",
        "polling: max",
        "events: p50",
        "events: max",
        "polls per job-hour, polling",
        "with events",
    ]
    p = r["parameters"]
    intro = (
        f"{p['model_groups']} jobs of {p['job_runs_s']['min']:,}-{p['job_runs_s']['max']:,} s "
        "(seeded); virtual seconds from each job's end to its monitor's row."
    )
    return [intro, "", table(header, rows)]


def _b9(r: Json) -> list[str]:
    rows = [
        [
            x["operation"],
            x["drift_per_call"],
            x["drift_per_activity"],
            x["baseline_per_call"],
            x["baseline_per_activity"],
        ]
        for x in r["rows"]
    ]
    header = [
        "activity",
        "drift: HTTP per call",
        "drift: per activity (6 durable attempts)",
        "SDK retry stacked: per call",
        "SDK retry stacked: per activity",
    ]
    faults = []
    for label, f in (
        ("drift", r["measured"]["faults"]),
        ("SDK retry stacked", r["baseline"]["faults"]),
    ):
        faults.append(
            [
                label,
                f"{f['completed']} of {f['runs']}",
                f["activity_calls"],
                f["http_per_call_mean"],
                f["http_per_call_max"],
                f["durable_retries"],
                f"{f['jobs_created']} of {f['jobs_expected']}",
            ]
        )
    header2 = [
        f"{int(r['parameters']['fault_rate'] * 100)}% faults (half after taking effect)",
        "runs completed",
        "activity calls",
        "HTTP per call (mean)",
        "HTTP per call (max)",
        "durable retries",
        "jobs created",
    ]
    return [table(header, rows), "", table(header2, faults)]


# Plots --------------------------------------------------------------------------------------

PLOTS = {
    "B1": "b1_reaction.png",
    "B2": "b2_growth.png",
    "B3": "b3_compute.png",
    "B4": "b4_burst.png",
    "B5": "b5_table_age.png",
    "B6": "b6_newest_job.png",
    "B7": "b7_cold_start.png",
    "B8": "b8_job_events.png",
}
DRIFT, BASE, OTHER = "#1f77b4", "#d62728", "#7f7f7f"


def plots(data: Json, img_dir: Path, require: bool) -> list[str] | str:
    """Write one PNG per benchmark present; returns the file names (or why there are none)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        if require:
            raise
        return "skipped: matplotlib is not installed"
    img_dir.mkdir(parents=True, exist_ok=True)
    draw = {
        "B1": _p1,
        "B2": _p2,
        "B3": _p3,
        "B4": _p4,
        "B5": _p5,
        "B6": _p6,
        "B7": _p7,
        "B8": _p8,
    }
    written = []
    plt.rcParams.update({"font.size": 9, "axes.grid": True, "grid.alpha": 0.3})
    for bid, result in data["benchmarks"].items():
        if bid not in draw:  # B9 is a table of counts
            continue
        fig = draw[bid](plt, result)
        fig.tight_layout()
        fig.savefig(img_dir / PLOTS[bid], dpi=110)
        plt.close(fig)
        written.append(PLOTS[bid])
    return written


def _p1(plt: Any, r: Json) -> Any:
    samples = [s * 1000 for s in r["samples_s"]]
    m = r["measured"]["submitted_s"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1.2, 1]})
    a.hist(samples, bins=25, color=DRIFT, alpha=0.8)
    for q, style in (("p50", "-"), ("p95", "--")):
        a.axvline(m[q] * 1000, color="black", linestyle=style, label=f"{q} {m[q] * 1000:.0f} ms")
    a.set_xlabel("commit → retraining submitted (ms)")
    a.set_ylabel("commits")
    a.yaxis.get_major_locator().set_params(integer=True)
    a.set_title(f"drift, {len(samples)} commits, real clock")
    a.legend()
    b_ = r["baseline"]
    labels = ["drift p50", "Databricks table trigger\n(minimum)", "weekly schedule\n(mean)"]
    values = [m["p50"], b_["databricks_table_trigger_min_s"], b_["weekly_schedule_mean_s"]]
    b.barh(labels, values, color=[DRIFT, OTHER, BASE])
    b.set_xscale("log")
    b.set_xlabel("seconds from commit to retraining (log)")
    for y, v in enumerate(values):
        b.text(v, y, f" {secs(v)}", va="center")
    b.set_xlim(right=max(values) * 40)
    b.set_title("against the baselines")
    return fig


def _p2(plt: Any, r: Json) -> Any:
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
    polls = r["parameters"]["polls"]
    for p, style in zip(polls, ("-", "--"), strict=False):
        rows = [x for x in r["rows"] if x["polls"] == p]
        g = [x["groups"] for x in rows]
        for side, color, label in (("drift", DRIFT, "drift"), ("baseline", BASE, "one loop")):
            hist = [x[side]["history_max_instance"] for x in rows]
            cpu = [x[side]["replay_cpu_s"] for x in rows]
            for ax, ys in ((a, hist), (b, cpu)):
                ax.plot(g, ys, style, color=color, label=f"{label}, {p} polls")
                for gx, y, x in zip(g, ys, rows, strict=True):
                    measured = x[side]["status"] == "measured"
                    ax.plot(gx, y, "o", color=color, mfc=color if measured else "white")
        monitor = [x["drift"]["history_max_monitor"] for x in rows]
        a.plot(g, monitor, ":", color=DRIFT, alpha=0.6, label=f"drift monitor, {p} polls")
    for ax in (a, b):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("model groups")
    a.set_ylabel("events in the largest instance history")
    a.set_title("history of one instance")
    b.set_ylabel("replay CPU (s)")
    b.set_title("replay CPU, whole run (hollow: extrapolated/estimated)")
    a.legend(fontsize=7)
    return fig


def _p3(plt: Any, r: Json) -> Any:
    m, b_ = r["measured"], r["baseline"]
    labels = ["drift (measured)", "drift + 1 s network\nper call (stated)", "reference cluster"]
    values = [
        m["drift_s_per_job_hour"],
        m["with_network_s_per_job_hour_stated"],
        b_["reference_s_per_job_hour"],
    ]
    fig, ax = plt.subplots(figsize=(8, 2.8))
    ax.barh(labels, values, color=[DRIFT, "#6baed6", BASE])
    ax.set_xscale("log")
    ax.set_xlim(right=max(values) * 20)
    for y, v in enumerate(values):
        ax.text(v, y, f" {secs(v)}", va="center")
    ax.set_xlabel("seconds of compute per monitored job-hour (log)")
    ax.set_title("watching one job for an hour, polled every 10 s")
    return fig


def _p4(plt: Any, r: Json) -> Any:
    scenarios = r["scenarios"]
    fig, axes = plt.subplots(1, len(scenarios), figsize=(10, 3.6), sharey=True)
    for ax, s in zip(axes, scenarios, strict=True):
        t = [x[0] for x in s["deliveries_at"]]
        v = [x[1] for x in s["deliveries_at"]]
        ax.scatter(t, v, s=3, color=OTHER, label="event delivered (version)")
        rt = [x[0] for x in s["retrains_at"]]
        rv = [x[1] for x in s["retrains_at"]]
        ax.scatter(rt, rv, s=60, marker="*", color=DRIFT, zorder=3, label="retrain started")
        ax.set_xlabel("virtual time (s)")
        ax.set_title(
            f"quiet period {s['wait_after_last_change_s']} s: {s['registrations']} "
            f"registration{'' if s['registrations'] == 1 else 's'}, "
            f"{s['versions_lost']} versions lost"
        )
        ax.set_xlim(left=-2)
    axes[0].set_ylabel("Delta version")
    axes[0].legend(loc="lower right")
    return fig


def _p5(plt: Any, r: Json) -> Any:
    rows = r["rows"]
    n = [x["commits"] for x in rows]
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for key, color, style, label in (
        ("deltatable_load_s", BASE, "-", "DeltaTable(path) load"),
        ("drift_classify_s", DRIFT, "-", "drift: list _delta_log + classify"),
        ("drift_classify_known_version_s", DRIFT, "--", "drift: classify (version from event)"),
    ):
        ax.plot(n, [x[key] * 1000 for x in rows], style, marker="o", color=color, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("commits in the table")
    ax.set_ylabel("ms (median)")
    ax.set_title("handling the newest commit as the table ages")
    ax.legend()
    return fig


def _p6(plt: Any, r: Json) -> Any:
    rows = r["rows"]
    warm = [x for x in rows if x["scenario"].startswith("drift")]
    cold = [x for x in rows if not x["scenario"].startswith("drift")]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    n = [x["jobs"] for x in warm]
    a.plot(n, [x["scan_calls"] for x in warm], "-o", color=BASE, label="full jobs.list() scan")
    a.plot(n, [x["drift_calls"] for x in warm], "-o", color=DRIFT, label="drift")
    a.plot(n, [x["drift_calls"] for x in cold], "--o", color=DRIFT, label="drift, first run")
    a.set_ylabel("service calls (list pages)")
    b.plot(n, [x["scan_s"] for x in warm], "-o", color=BASE, label="full scan")
    for x in warm:
        if x["scan_status"] != "measured":
            b.plot(x["jobs"], x["scan_s"], "o", color=BASE, mfc="white")
    b.plot(n, [x["drift_s"] for x in warm], "-o", color=DRIFT, label="drift")
    b.plot(n, [x["drift_s"] for x in cold], "--o", color=DRIFT, label="drift, first run")
    b.set_ylabel("seconds in-process (hollow: extrapolated)")
    for ax in (a, b):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("jobs in the workspace")
        ax.legend()
    a.set_title("finding each group's newest job")
    b.set_title("time, without network")
    return fig


def _p7(plt: Any, r: Json) -> Any:
    bars = [("libraries alone", r["baseline"], BASE), ("function_app", r["measured"], DRIFT)]
    if r.get("before"):
        bars.append(("function_app, before", r["before"], OTHER))
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    names = [n for n, _, _ in bars]
    colours = [c for _, _, c in bars]
    a.bar(names, [x["import_s"] * 1e3 for _, x, _ in bars], color=colours)
    a.set_ylabel("import time, ms (median)")
    b.bar(names, [x["maxrss_mib"] for _, x, _ in bars], color=colours)
    b.set_ylabel("peak resident memory, MiB")
    for ax in (a, b):
        ax.tick_params(axis="x", labelsize=8)
    a.set_title("cold start: import time")
    b.set_title("cold start: memory")
    return fig


def _p8(plt: Any, r: Json) -> Any:
    delays = r["parameters"]["refresh_delays_s"]
    by = _b8_rows(r)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    for path, color, label in (
        ("poll", BASE, "polling alone"),
        ("event", DRIFT, "job status events"),
    ):
        p50 = [by[d, path]["seen_after_s"]["p50"] for d in delays]
        top = [by[d, path]["seen_after_s"]["max"] for d in delays]
        a.plot(delays, p50, "-o", color=color, label=f"{label}, p50")
        a.plot(delays, top, "--", color=color, alpha=0.6, label=f"{label}, max")
        b.plot(
            delays,
            [by[d, path]["polls_per_job_hour"] for d in delays],
            "-o" if path == "poll" else "--x",
            color=color,
            label=label,
        )
    a.set_ylabel("job end → report row (s)")
    a.set_title("how late a job's end is reported")
    b.set_ylabel("status reads per job-hour")
    b.set_yscale("log")
    b.set_title("what watching costs (an event's read replaces a poll)")
    for ax in (a, b):
        ax.set_xscale("log")
        ax.set_xlabel("refreshDelay (s)")
        ax.legend(fontsize=7)
    return fig
