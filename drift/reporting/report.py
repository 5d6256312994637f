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
    """One block per group, so job names and inputs are never cut at 80 columns."""
    if report.get("table") is not None:
        head = f"table {report['table']}  Delta version {report['delta_version']}"
        if report.get("operation"):
            head += f" ({report['operation']})"
        _line(console, head)
    if report.get("skipped"):
        _line(console, f"[yellow]skipped[/yellow]: {report['skipped']}")
        return
    _line(console, _registered(report))
    plan = report.get("plan") or {}
    for group, reason in (plan.get("left_alone") or {}).items():
        _line(console, f"[dim]left alone[/dim] {group}: {reason}")
    if report.get("dry_run"):
        _print_plan(console, plan)
        return
    _print_rows(console, report.get("retrained") or [])


def _print_plan(console: Console, plan: dict[str, Any]) -> None:
    decisions = plan.get("decisions") or {}
    jobs = plan.get("jobs") or []
    _line(console, f"[bold]dry run[/bold]: nothing submitted; the plan for {len(jobs)} group(s)")
    for job in jobs:
        decision = decisions.get(job["group"]) or {}
        _line(console, f"  [bold]{job['group']}[/bold]  {decision.get('reason', 'retrain')}")
        drifts = top_drift(decision)
        if drifts:
            _line(console, f"    top drift   {drifts}")
        _line(console, f"    source job  {job['source_job']}")
        if decision.get("action", "retrain") != "retrain":
            continue  # nothing would be submitted for it
        _line(console, f"    new job     {job['job_name']}")
        for name, value in job["inputs"].items():
            _line(console, f"    input       {name} = {value['path']}")


def _print_rows(
    console: Console, rows: list[dict[str, Any]], seen_jobs: set[str] | None = None
) -> None:
    """Each group: what was decided, which job ran (or was found again), how it ended."""
    for row in rows:
        colour = _colour(row["status"])
        if row["status"] in NOT_RUN_STATUSES:
            why = row.get("error") or (row.get("decision") or {}).get("reason") or ""
            verb = "blocked" if row["status"] == "Blocked" else "skipped"
            why = why.removeprefix(f"{verb.removesuffix('ped')}: ").removeprefix(f"{verb}: ")
            _line(console, f"  [{colour}]{verb}[/{colour}] {row['model_group']}: {why}")
            continue
        reused = row.get("reused") or (seen_jobs is not None and row["job"] in seen_jobs)
        again = " (existing job, not resubmitted)" if reused else ""
        _line(console, f"  retrained {row['model_group']}: {row['job']}{again}")
        why = (row.get("decision") or {}).get("reason")
        if why:
            _line(console, f"    [dim]{why}[/dim]")
        took = "" if row.get("duration_s") is None else f" in {row['duration_s']:.1f} s"
        detail = row.get("detail") or row.get("error") or ""
        _line(console, f"    [{colour}]{row['status']}[/{colour}]{took}  {detail}".rstrip())
        if seen_jobs is not None:
            seen_jobs.add(row["job"])


def _line(console: Console, text: str) -> None:
    """Soft-wrapped: long names fold at the terminal's edge instead of being cut."""
    console.print(text, highlight=False, soft_wrap=True)


def _colour(status: str) -> str:
    return "green" if status in OK_STATUSES else "yellow" if status in NOT_RUN_STATUSES else "red"


def top_drift(decision: dict[str, Any], n: int = 3) -> str:
    """`x 0.42, kind 0.03`: the largest drifts a decision measured, shown as its reason shows
    them (0.0049, not 0.00)."""
    drifts = [d for d in decision.get("drift") or [] if d.get("score") is not None][:n]
    if not drifts:
        return ""
    from drift.domain.policy import score_text

    threshold = decision.get("threshold")
    return ", ".join(f"{d['column']} {score_text(d['score'], threshold)}" for d in drifts)


def print_demo(console: Console, steps: list[dict[str, Any]]) -> None:
    """One block per commit: what drift registered, skipped or retrained, and how it ended."""
    console.rule("drift demo: what happened")
    seen_jobs: set[str] = set()
    for step in steps:
        rep = step.get("report") or {}
        _line(console, f"[bold]commit {step['delta_version']}[/bold]  {step['operation']}")
        if rep.get("skipped"):
            _line(console, f"  [yellow]skipped[/yellow]  {rep['skipped']}")
            continue
        _line(console, "  " + _registered(rep))
        _print_rows(console, rep.get("retrained") or [], seen_jobs)


def _registered(report: dict[str, Any]) -> str:
    """What registration did: `registered`, `already registered` or, in a dry run, `would
    register` the version, and the asset names (the line both printers show)."""
    if report.get("dry_run") and report.get("would_register"):
        state = "would register"
    else:
        state = "registered" if report.get("newly_registered") else "already registered"
    names = _names(report.get("registered") or {})
    return f"{state} version {report.get('data_asset_version')}: {names}"


def _names(registered: dict[str, str]) -> str:
    return ", ".join(f"{ref.rsplit(':', 1)[0]} ({kind})" for kind, ref in registered.items())
