"""Run reports: the JSON document every entry point returns, and its terminal rendering."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

OK_STATUSES = frozenset({"Completed"})


def empty_report() -> dict[str, Any]:
    return {"table": None, "delta_version": None, "operation": None, "data_asset_version": None,
            "registered": None, "newly_registered": False, "skipped": None, "dry_run": False,
            "plan": None, "retrained": []}


def any_failed(report: dict[str, Any]) -> bool:
    """A run fails when any retraining did not complete (failed, cancelled, timed out, error)."""
    return any(row["status"] not in OK_STATUSES for row in report.get("retrained") or [])


def print_report(console: Console, report: dict[str, Any]) -> None:
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
        table = Table("group", "source job", "new job", "new inputs", title="dry run: the plan")
        for job in plan.get("jobs") or []:
            inputs = ", ".join(f"{k}={v['path']}" for k, v in job["inputs"].items())
            table.add_row(job["group"], job["source_job"], job["job_name"], inputs)
        console.print(table)
        return
    table = Table("group", "job", "status", "duration (s)", "detail", title="retraining")
    for row in report.get("retrained") or []:
        colour = "green" if row["status"] in OK_STATUSES else "red"
        table.add_row(row["model_group"], row["job"], f"[{colour}]{row['status']}[/{colour}]",
                      "" if row.get("duration_s") is None else f"{row['duration_s']:.1f}",
                      row.get("error") or "")
    console.print(table)


def print_demo(console: Console, steps: list[dict[str, Any]]) -> None:
    table = Table("commit", "operation", "drift did", "data version", "retrained", "status",
                  title="drift demo: what happened")
    for step in steps:
        rep = step.get("report") or {}
        rows = rep.get("retrained") or []
        did = "skipped: " + rep["skipped"] if rep.get("skipped") else "registered + retrained"
        table.add_row(
            str(step["delta_version"]), step["operation"], did,
            rep.get("data_asset_version") or "",
            "\n".join(f"{r['model_group']}: {r['job']}" + (f" ({r['detail']})" if r.get("detail")
                                                            else "") for r in rows),
            "\n".join(r["status"] for r in rows),
        )
    console.print(table)
