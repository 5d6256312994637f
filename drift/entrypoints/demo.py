"""`drift demo`: the whole loop on a laptop, through the same code path as the cloud triggers."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from rich.console import Console

from drift.domain.config import load_config
from drift.entrypoints.local_run import run_retrain
from drift.reporting.html_report import render
from drift.wiring.bootstrap import build_services

MARKER = ".drift-demo"
TABLE = "tables/seat_spinning_features"
CONFIG = """\
# Written by `drift demo`: a local-backend config in the reference's PyDataIO shape.
backend: local
parameters:
  dataAssets:
    - {name: training_data, value: seat_spinning_features}
  refreshTimeout: "300"
  refreshDelay: "1"
retraining:
  policy: {trigger: always}          # churn: the reference's behaviour
  groups:
    upsell: {trigger: on_drift, driftThreshold: 0.1, driftIgnore: [customer_id]}
    fraud:
      validate: {columns: {monthly_spend: {max: 100}}}   # the data breaks this rule
local:
  workdir: state
  tablePath: tables/seat_spinning_features
  jobsDir: jobs
"""


def customers(rows: int, seed: int, start_id: int = 0) -> pd.DataFrame:
    """Synthetic churn data with a real signal, so the example model learns something."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, rows)
    spend = rng.normal(60, 20, rows).round(2).clip(5, None)
    calls = rng.poisson(1.5, rows)
    plan = rng.choice(["basic", "plus", "pro"], rows, p=[0.5, 0.3, 0.2])
    logit = -1.0 - 0.05 * tenure + 0.6 * calls + 0.01 * spend + (plan == "basic") * 0.5
    churned = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype("int64")
    return pd.DataFrame(
        {
            "customer_id": np.arange(start_id, start_id + rows, dtype="int64"),
            "tenure_months": tenure.astype("int64"),
            "monthly_spend": spend,
            "support_calls": calls.astype("int64"),
            "plan": plan,
            "churned": churned,
        }
    )


class DemoError(Exception):
    """`--workdir` cannot hold the demo; the message names it and says what to pass."""


# One Arrow schema for every write. pandas 3 hands strings to Arrow as large_string while
# delta-rs's OPTIMIZE rewrites them as string; files of both made mltable's reader warn
# "Inconsistent or mixed schemas ... column 'plan'" and fall back to its slower reader.
SCHEMA = pa.schema(
    [
        ("customer_id", pa.int64()),
        ("tenure_months", pa.int64()),
        ("monthly_spend", pa.float64()),
        ("support_calls", pa.int64()),
        ("plan", pa.string()),
        ("churned", pa.int64()),
    ]
)


def customers_table(rows: int, seed: int, start_id: int = 0) -> pa.Table:
    """`customers` in the demo table's one schema, as every demo commit writes it."""
    return pa.Table.from_pandas(
        customers(rows, seed, start_id), schema=SCHEMA, preserve_index=False
    )


def _prepare(workdir: Path) -> Path:
    """An empty folder for the demo; a previous demo's folder is replaced, nothing else is."""
    if workdir.exists() and not workdir.is_dir():
        raise DemoError(f"--workdir {workdir}: is a file; pass a new or empty folder")
    try:
        if workdir.exists() and any(workdir.iterdir()):
            if not (workdir / MARKER).exists():
                raise DemoError(
                    f"--workdir {workdir}: exists and is not a drift demo folder; "
                    "pass a new or empty folder"
                )
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DemoError(f"--workdir {workdir}: {exc.strerror or exc}") from None
    (workdir / MARKER).write_text("made by drift demo; safe to delete\n")
    assets = resources.files("drift") / "demo_assets"
    for sub in ("jobs", "models"):
        with resources.as_file(assets / sub) as src:
            shutil.copytree(src, workdir / sub)
    (workdir / "drift.yaml").write_text(CONFIG)
    return workdir / "drift.yaml"


def _metrics(workdir: Path, job: str) -> str:
    for path in (workdir / "state" / "jobs" / job / "outputs").glob("*/metrics.json"):
        data = json.loads(path.read_text())
        return f"rows={data.get('rows')} accuracy={data.get('accuracy', 0):.2f}"
    return ""


def run_demo(workdir: Path, console: Console) -> list[dict[str, Any]]:
    """Create a table, commit append / OPTIMIZE / append, and let drift handle each commit.

    Three model groups show the policy: churn always retrains, upsell retrains only when the
    data drifted from what it last trained on, fraud is blocked by a validation rule.
    """
    config_path = _prepare(workdir)
    table = workdir / TABLE
    write_deltalake(table, customers_table(400, seed=1))
    console.print(f"[dim]wrote Delta table {table} (version 0, 400 rows)[/dim]", soft_wrap=True)
    services = build_services(load_config(config_path))

    commits: list[tuple[str, Any]] = [
        (
            "append 300 rows",
            lambda: write_deltalake(table, customers_table(300, 2, 400), mode="append"),
        ),
        ("OPTIMIZE (compact files)", lambda: DeltaTable(table).optimize.compact()),
        (
            "append 300 rows",
            lambda: write_deltalake(table, customers_table(300, 3, 700), mode="append"),
        ),
    ]
    steps: list[dict[str, Any]] = []
    for label, commit in commits:
        commit()
        version = DeltaTable(table).version()
        console.print(f"[bold]commit {version}[/bold]: {label}; drift handles the event")
        steps.append(_handle(services, workdir, table, version, label))
    console.print("[bold]redelivered[/bold] the last event (Event Grid is at-least-once)")
    steps.append(
        _handle(
            services,
            workdir,
            table,
            steps[-1]["delta_version"],
            "duplicate event for the last commit",
        )
    )
    report = workdir / "report.html"
    report.write_text(render(services.history.recent()), encoding="utf-8")
    console.print(f"[dim]wrote {report} (drift report)[/dim]", soft_wrap=True)
    return steps


def _handle(services: Any, workdir: Path, table: Path, version: int, label: str) -> dict[str, Any]:
    report = run_retrain(services, {"table": str(table), "delta_version": version})
    for row in report["retrained"]:
        row["detail"] = _metrics(workdir, row["job"])
    return {"delta_version": version, "operation": label, "report": report}
