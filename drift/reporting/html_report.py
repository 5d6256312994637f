"""One self-contained HTML page of the last runs: inline CSS, inline SVG charts, no script and
no external reference, so it can be mailed, attached to a pipeline or opened offline.

Every string from a run (table names, column names, reasons, errors) is untrusted and escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

MAX_BARS = 10
# Statuses of a group the policy kept from running: neither a success nor a failure.
_NOT_RUN = frozenset({None, "", "Skipped", "Blocked", "NotSubmitted"})
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1f2933;
background:#f7f8fa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid
#d5dae1;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;background:#fff;margin:6px 0 12px}
th,td{border:1px solid #d5dae1;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}
.run{background:#fff;border:1px solid #d5dae1;border-radius:6px;padding:8px 14px;margin:12px 0}
.groups{display:flex;flex-wrap:wrap;gap:12px}
.group{border:1px solid #e3e7ec;border-radius:6px;padding:8px 12px;min-width:320px;flex:1 1 420px}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;
color:#fff}
.retrain{background:#2f855a}.skip{background:#718096}.blocked{background:#c53030}
.none{background:#a0aec0}.ok{color:#2f855a}.bad{color:#c53030}
.muted{color:#66788a}.reason{margin:4px 0}ul.rules{margin:4px 0 4px 18px;padding:0}
code{font-family:ui-monospace,SFMono-Regular,Consolas,monospace;font-size:12.5px}
"""


def render(runs: list[dict[str, Any]], title: str = "drift: recent runs") -> str:
    """The report: one section per table (newest run first), each run with its groups."""
    by_table: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_table.setdefault(str(run.get("table") or "(unknown table)"), []).append(run)
    body = [f"<h1>{_e(title)}</h1>", f'<p class="muted">{len(runs)} run(s)</p>']
    if not runs:
        body.append("<p>No runs yet.</p>")
    for table in sorted(by_table):
        table_runs = sorted(by_table[table], key=lambda r: str(r.get("finished_at") or ""))
        table_runs.reverse()
        body.append(_table_section(table, table_runs))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def _table_section(table: str, runs: list[dict[str, Any]]) -> str:
    rows = []
    for run in runs:
        registered = run.get("registered") or {}
        refs = "<br>".join(
            f"<code>{_e(ref)}</code> <span class=muted>({_e(kind)})</span>"
            for kind, ref in registered.items()
        )
        rows.append(
            "<tr>"
            f"<td>{_e(_when(run.get('finished_at')))}</td>"
            f"<td>{_e(run.get('delta_version'))}</td>"
            f"<td>{_e(run.get('data_asset_version'))}</td>"
            f"<td>{refs or '<span class=muted>none</span>'}</td>"
            f"<td>{_e(run.get('skipped') or '')}</td>"
            f"<td><code>{_e(run.get('instance_id'))}</code></td>"
            "</tr>"
        )
    versions = (
        "<table><tr><th>finished</th><th>Delta version</th><th>data asset version</th>"
        "<th>registered</th><th>skipped</th><th>run</th></tr>" + "".join(rows) + "</table>"
    )
    return (
        f"<section><h2>table {_e(table)}</h2><h3>versions registered</h3>{versions}"
        + "".join(_run_block(run) for run in runs)
        + "</section>"
    )


def _run_block(run: dict[str, Any]) -> str:
    version = run.get("data_asset_version")
    target = (
        f"&rarr; data asset version {_e(version)}"
        if version
        else "&rarr; nothing registered" + (" (skipped)" if run.get("skipped") else "")
    )
    head = (
        f"<h3>Delta version {_e(run.get('delta_version'))} {target} <span class=muted>finished "
        f"{_e(_when(run.get('finished_at')))}</span></h3>"
    )
    retrained = run.get("retrained") or []
    if run.get("error"):  # failed or terminated in Azure: the run left no report of its own
        inner = f'<p class="bad">run {_e(run["error"])}</p>'
    elif run.get("skipped"):
        inner = f"<p>skipped: {_e(run['skipped'])}</p>"
    else:
        inner = f"<p>{_registration(run)}</p>"
        if not retrained:
            inner += '<p class="muted">no model group was considered</p>'
        else:
            inner += '<div class="groups">' + "".join(_group(row) for row in retrained) + "</div>"
    return f'<div class="run">{head}{inner}</div>'


def _registration(run: dict[str, Any]) -> str:
    """Whether this run registered the version or found it (a redelivered event, a rerun)."""
    if run.get("newly_registered"):
        return "registered now"
    text = "already registered"
    rows = run.get("retrained") or []
    if rows and all(r.get("reused") or r.get("status") in _NOT_RUN for r in rows):
        text += "; nothing new submitted (a repeat of an earlier run)"
    return f'<span class="muted">{text}</span>'


def _group(row: dict[str, Any]) -> str:
    decision = row.get("decision") or None
    action = str(decision.get("action")) if decision else "none"
    css = action if action in ("retrain", "skip", "blocked") else "none"
    badge = f'<span class="badge {css}">{_e(action if decision else "no policy")}</span>'
    parts = [f"<div class=group><h3>{_e(row.get('model_group'))} {badge}</h3>"]
    if decision:
        parts.append(f'<p class="reason">{_e(decision.get("reason"))}</p>')
        rules = decision.get("failed_rules") or []
        if len(rules) > 1:
            items = "".join(f"<li>{_e(rule)}</li>" for rule in rules)
            parts.append(f'<ul class="rules">{items}</ul>')
        if decision.get("new_rows") is not None:  # a policy that read no data counted none
            rows_text = f"rows {_e(_count(decision.get('new_rows')))}"
            if decision.get("baseline_rows") is not None:
                rows_text += f" (baseline {_e(_count(decision.get('baseline_rows')))})"
            parts.append(f'<p class="muted">{rows_text}</p>')
        drift = decision.get("drift") or []
        if drift:
            parts.append(drift_chart(drift, decision.get("threshold")))
    status = row.get("status")
    not_run = status in _NOT_RUN
    status_css = "ok" if status == "Completed" else "muted" if not_run else "bad"
    job = f"<code>{_e(row['job'])}</code>" if row.get("job") else '<span class="muted">none</span>'
    if row.get("job") and row.get("reused"):
        job += ' <span class="muted">(existing job, not resubmitted)</span>'
    shown = _e(status) + (' <span class="muted">(a policy decision)</span>' if not_run else "")
    parts.append(
        "<table>"
        f"<tr><th>job</th><td>{job}</td></tr>"
        f'<tr><th>status</th><td class="{status_css}">{shown}</td></tr>'
    )
    if not not_run:
        parts.append(f"<tr><th>duration</th><td>{_e(_duration(row.get('duration_s')))}</td></tr>")
    error = row.get("error")
    if error and not (not_run and decision and error == decision.get("reason")):
        label = "why not run" if not_run else "error"  # a skip or a block is not an error
        parts.append(f"<tr><th>{label}</th><td>{_e(error)}</td></tr>")
    parts.append("</table></div>")
    return "".join(parts)


def drift_chart(drift: Iterable[dict[str, Any]], threshold: float | None = None) -> str:
    """A horizontal bar per column (its score), with the threshold as a dashed line."""
    bars = [d for d in drift if _finite(d.get("score"))][:MAX_BARS]
    if not bars:
        return '<p class="muted">no column could be compared</p>'
    from drift.domain.policy import score_text  # the precision the decision's reason uses

    limit = float(threshold) if _finite(threshold) else None
    label_w, bar_w, row_h, top = 150, 240, 18, 16
    scale_max = max([float(d["score"]) for d in bars] + [_finite_or(threshold, 0.0), 1e-9])
    scale_max *= 1.1
    height = top + row_h * len(bars) + 6
    width = label_w + bar_w + 70
    out = [
        f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="system-ui,sans-serif" font-size="11">',
        "<title>drift score (PSI) per column</title>",
    ]
    for i, d in enumerate(bars):
        score = float(d["score"])
        y = top + i * row_h
        w = max(bar_w * score / scale_max, 1.0)
        over = threshold is not None and score >= float(threshold)
        fill = "#c05621" if over else "#4a6fa5"
        name = str(d.get("column"))
        label = name if len(name) <= 22 else name[:21] + "…"
        tip = f"{name}: {d.get('kind')} score {score:.4g}"
        if d.get("note"):
            tip += f" ({d['note']})"
        out.append(
            f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end">{_e(label)}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row_h - 5}" '
            f'fill="{fill}"><title>{_e(tip)}</title></rect>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 12}">{_e(score_text(score, limit))}</text>'
        )
    if _finite(threshold):
        x = label_w + bar_w * float(threshold) / scale_max
        out.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 2}" '
            'stroke="#c53030" stroke-width="1.5" stroke-dasharray="4 3"/>'
            f'<text x="{x:.1f}" y="{top - 6}" text-anchor="middle" fill="#c53030">'
            f"threshold {_e(f'{float(threshold):g}')}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _when(value: Any) -> Any:
    """A run's time as a person reads it (`2026-12-03 16:18:23 UTC`), not the ISO string with
    microseconds the history keeps; anything that is not an ISO time is shown as it is."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _finite_or(value: Any, default: float) -> float:
    return float(value) if _finite(value) else default


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _duration(value: Any) -> str:
    return f"{float(value):.1f} s" if _finite(value) else ""
