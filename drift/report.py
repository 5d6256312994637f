"""Run reports: the JSON document every entry point returns, and its terminal rendering."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich renders for the CLI; the orchestrators only need any_failed
    from rich.console import Console

OK_STATUSES = frozenset({"Completed"})
# Decided by the retraining policy, not failures: the report says why for each group.
NOT_RUN_STATUSES = frozenset({"Skipped", "Blocked"})


def empty_report() -> dict[str, Any]:
    return {
        "table": None,
        "delta_version": None,
        "operation": None,
        "data_asset_version": None,
        "registered": None,
        "newly_registered": False,
        "skipped": None,
        "dry_run": False,
        "plan": None,
        "retrained": [],
    }


def any_failed(report: dict[str, Any]) -> bool:
    """A run fails when any retraining did not complete (failed, cancelled, timed out, error)."""
    return any(
        row["status"] not in OK_STATUSES | NOT_RUN_STATUSES for row in report.get("retrained") or []
    )


def print_report(console: Console, report: dict[str, Any]) -> None:
    from rich.table import Table

    head = f"table {report['table']}  Delta version {report['delta_version']}"
    if report.get("operation"):
        head += f" ({report['operation']})"
    console.print(head, highlight=False)
    if report.get("skipped"):
        console.print(f"[yellow]skipped[/yellow]: {report['skipped']}", highlight=False)
        return
    reg = report.get("registered") or {}
    state = "registered" if report.get("newly_registered") else "already registered"
    console.print(f"{state}: {reg.get('mltable')}  {reg.get('uri_folder')}", highlight=False)
    plan = report.get("plan") or {}
    for group, reason in (plan.get("left_alone") or {}).items():
        console.print(f"[dim]left alone[/dim] {group}: {reason}", highlight=False)
    if report.get("dry_run"):
        decisions = plan.get("decisions") or {}
        table = Table(
            "group",
            "decision",
            "top drift",
            "source job",
            "new job",
            "new inputs",
            title="dry run: the plan",
        )
        for job in plan.get("jobs") or []:
            inputs = ", ".join(f"{k}={v['path']}" for k, v in job["inputs"].items())
            decision = decisions.get(job["group"]) or {}
            table.add_row(
                job["group"],
                decision.get("reason", "retrain"),
                top_drift(decision),
                job["source_job"],
                job["job_name"],
                inputs,
            )
        console.print(table)
        return
    table = Table("group", "job", "status", "duration (s)", "detail", title="retraining")
    for row in report.get("retrained") or []:
        colour = _colour(row["status"])
        table.add_row(
            row["model_group"],
            row["job"],
            f"[{colour}]{row['status']}[/{colour}]",
            "" if row.get("duration_s") is None else f"{row['duration_s']:.1f}",
            row.get("error") or "",
        )
    console.print(table)


def _colour(status: str) -> str:
    return "green" if status in OK_STATUSES else "yellow" if status in NOT_RUN_STATUSES else "red"


def top_drift(decision: dict[str, Any], n: int = 3) -> str:
    """`x 0.42, kind 0.03`: the largest drifts a decision measured."""
    drifts = decision.get("drift") or []
    return ", ".join(
        f"{d['column']} {d['score']:.2f}" for d in drifts[:n] if d.get("score") is not None
    )


def print_demo(console: Console, steps: list[dict[str, Any]]) -> None:
    """One block per commit: what drift registered, skipped or retrained, and how it ended."""
    console.rule("drift demo: what happened")
    seen_jobs: set[str] = set()
    for step in steps:
        rep = step.get("report") or {}
        console.print(
            f"[bold]commit {step['delta_version']}[/bold]  {step['operation']}", highlight=False
        )
        if rep.get("skipped"):
            console.print(f"  [yellow]skipped[/yellow]  {rep['skipped']}", highlight=False)
            continue
        reg = rep.get("registered") or {}
        verb = "registered" if rep.get("newly_registered") else "already registered"
        console.print(
            f"  {verb} version {rep.get('data_asset_version')}: {_names(reg)}", highlight=False
        )
        for row in rep.get("retrained") or []:
            colour = _colour(row["status"])
            if row["status"] in NOT_RUN_STATUSES:
                console.print(
                    f"  [{colour}]{row['status'].lower()}[/{colour}] "
                    f"{row['model_group']}: {row.get('error')}",
                    highlight=False,
                )
                continue
            again = " (existing job, not resubmitted)" if row["job"] in seen_jobs else ""
            why = (row.get("decision") or {}).get("reason")
            took = "" if row.get("duration_s") is None else f" in {row['duration_s']:.1f} s"
            console.print(f"  retrained {row['model_group']}: {row['job']}{again}", highlight=False)
            if why:
                console.print(f"    [dim]{why}[/dim]", highlight=False)
            console.print(
                f"    [{colour}]{row['status']}[/{colour}]{took}  {row.get('detail') or ''}",
                highlight=False,
            )
            seen_jobs.add(row["job"])


def _names(registered: dict[str, str]) -> str:
    return ", ".join(f"{ref.rsplit(':', 1)[0]} ({kind})" for kind, ref in registered.items())
