"""The `drift` command line end to end: real Delta tables, real local jobs, JSON and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from deltalake import DeltaTable, write_deltalake
from typer.testing import CliRunner

from drift.entrypoints.cli import app
from drift.entrypoints.demo import customers

pytestmark = pytest.mark.e2e
runner = CliRunner()
ASSETS = Path(__file__).resolve().parents[2] / "drift" / "demo_assets"


def make_project(tmp_path: Path, command: str | None = None, timeout: int = 120) -> Path:
    """A local project: a Delta table, one churn job spec, and a config pointing at both."""
    table = tmp_path / "tables" / "features"
    write_deltalake(table, customers(120, seed=1))
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    spec = yaml.safe_load((ASSETS / "jobs" / "churn_20260101080000_seed0001.yml").read_text())
    spec["code"] = str(ASSETS / "models" / "churn")
    spec["inputs"]["training_data"]["path"] = "azureml:features:20260101080000-v0"
    if command is not None:
        spec["command"] = command
    (jobs / "churn_20260101080000_seed0001.yml").write_text(yaml.safe_dump(spec))
    config = tmp_path / "drift.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "backend": "local",
                "parameters": {
                    "dataAssets": [{"name": "training_data", "value": "features"}],
                    "refreshTimeout": str(timeout),
                    "refreshDelay": "1",
                },
                "local": {"workdir": "state", "tablePath": "tables/features", "jobsDir": "jobs"},
            }
        )
    )
    return config


def invoke(*args: str) -> tuple[int, Any]:
    result = runner.invoke(app, list(args))
    text = result.stdout
    try:
        return result.exit_code, json.loads(text)
    except json.JSONDecodeError:
        return result.exit_code, result.output


def commit_file(table: Path, version: int) -> str:
    return str(table / "_delta_log" / f"{version:020d}.json")


def test_inspect_classifies_without_config(tmp_path: Path) -> None:
    table = tmp_path / "t"
    write_deltalake(table, pd.DataFrame({"x": [1, 2]}))
    write_deltalake(table, pd.DataFrame({"x": [3]}), mode="append")
    DeltaTable(table).optimize.compact()
    DeltaTable(table).create_checkpoint()

    code, doc = invoke("inspect", commit_file(table, 1), "--json")
    assert code == 0
    assert {
        k: doc[k] for k in ("table", "delta_version", "operation", "data_change", "action")
    } == {
        "table": str(table),
        "delta_version": 1,
        "operation": "WRITE",
        "data_change": True,
        "action": "register",
    }
    code, doc = invoke("inspect", commit_file(table, 2), "--json")
    assert (doc["action"], doc["operation"], doc["data_change"]) == ("skip", "OPTIMIZE", False)
    code, doc = invoke(
        "inspect", str(table / "_delta_log" / "00000000000000000002.checkpoint.parquet"), "--json"
    )
    assert doc["action"] == "ignore" and "checkpoint" in doc["reason"]


def test_inspect_missing_commit_is_one_line_error(tmp_path: Path) -> None:
    path = commit_file(tmp_path / "nope", 3)
    result = runner.invoke(app, ["inspect", path])
    assert result.exit_code == 2
    assert path in result.stderr and "Traceback" not in result.output


def test_bad_config_names_file_and_key(tmp_path: Path) -> None:
    config = make_project(tmp_path)
    doc = yaml.safe_load(config.read_text())
    doc["parameters"]["refreshTimeout"] = "soon"
    doc["parameters"]["typo"] = 1
    config.write_text(yaml.safe_dump(doc))
    result = runner.invoke(app, ["run", "--config", str(config), "--json"])
    assert result.exit_code == 2
    assert f"{config}: parameters.refreshTimeout" in result.stderr
    assert f"{config}: parameters.typo: unknown key" in result.stderr
    assert result.stdout == ""


def test_on_commit_registers_and_retrains_then_is_idempotent(tmp_path: Path) -> None:
    config = make_project(tmp_path)
    table = tmp_path / "tables" / "features"
    write_deltalake(table, customers(80, seed=2, start_id=120), mode="append")

    code, first = invoke("on-commit", "--config", str(config), commit_file(table, 1), "--json")
    assert code == 0, first
    version = first["data_asset_version"]
    assert first["registered"] == {
        "mltable": f"features:{version}",
        "uri_folder": f"features_folder:{version}",
    }
    [row] = first["retrained"]
    assert (row["model_group"], row["status"]) == ("churn", "Completed")
    metrics = json.loads(
        next((tmp_path / "state" / "jobs" / row["job"]).rglob("metrics.json")).read_text()
    )
    assert metrics["rows"] == 200  # trained on Delta version 1 exactly

    code, again = invoke("on-commit", "--config", str(config), commit_file(table, 1), "--json")
    assert code == 0
    assert again["newly_registered"] is False
    assert [r["job"] for r in again["retrained"]] == [row["job"]]
    assert len(list((tmp_path / "state" / "jobs").iterdir())) == 1


def test_on_commit_ignores_what_is_not_a_watched_commit(tmp_path: Path) -> None:
    config = make_project(tmp_path)
    table = tmp_path / "tables" / "features"
    DeltaTable(table).create_checkpoint()  # writes _last_checkpoint
    code, doc = invoke(
        "on-commit",
        "--config",
        str(config),
        str(table / "_delta_log" / "_last_checkpoint"),
        "--json",
    )
    assert code == 0 and doc["skipped"].startswith("ignored: checkpoint pointer")
    other = tmp_path / "other"
    write_deltalake(other, pd.DataFrame({"x": [1]}))
    code, doc = invoke("on-commit", "--config", str(config), commit_file(other, 0), "--json")
    assert code == 0 and "not the one this config watches" in doc["skipped"]
    assert doc["retrained"] == []


def test_run_dry_run_then_failing_job_exits_1(tmp_path: Path) -> None:
    config = make_project(tmp_path, command="python -c \"import sys; sys.exit('bad data')\"")
    code, plan = invoke("run", "--config", str(config), "--dry-run", "--json")
    assert code == 0
    [job] = plan["plan"]["jobs"]
    assert job["source_job"] == "churn_20260101080000_seed0001"
    version = plan["data_asset_version"]
    assert job["inputs"]["training_data"]["path"] == f"azureml:features:{version}"
    jobs_dir = tmp_path / "state" / "jobs"
    assert not jobs_dir.exists() or not any(jobs_dir.iterdir())

    code, report = invoke("run", "--config", str(config), "--json")
    assert code == 1
    [row] = report["retrained"]
    assert row["status"] == "Failed"
    assert "bad data" in (row["error"] or "")


def test_hung_job_times_out_and_is_cancelled(tmp_path: Path) -> None:
    config = make_project(tmp_path, command='python -c "import time; time.sleep(600)"', timeout=3)
    code, report = invoke("run", "--config", str(config), "--json")
    assert code == 1
    [row] = report["retrained"]
    assert row["status"] == "TimedOut"
    status = json.loads((tmp_path / "state" / "jobs" / row["job"] / "status.json").read_text())
    assert status["status"] == "Canceled"


def test_run_with_unknown_version_and_bad_prefix(tmp_path: Path) -> None:
    config = make_project(tmp_path)
    result = runner.invoke(
        app, ["run", "--config", str(config), "--data-asset-version", "20990101000000-v1"]
    )
    assert result.exit_code == 2
    assert "features:20990101000000-v1 is not registered" in result.stderr
    result = runner.invoke(app, ["run", "--config", str(config), "--model-prefix", "bad name"])
    assert result.exit_code == 2 and "--model-prefix" in result.stderr


def test_violation_retrains_one_group_then_report_renders(tmp_path: Path) -> None:
    config = make_project(tmp_path)
    code, report = invoke(
        "violation",
        "--config",
        str(config),
        "--group",
        "churn",
        "--metric",
        "auc",
        "--violation-id",
        "v-1",
        "--json",
    )
    assert code == 0, report
    [row] = report["retrained"]
    assert (row["model_group"], row["status"]) == ("churn", "Completed")
    assert row["decision"]["reason"].endswith("(monitoring violation)")
    code, again = invoke(
        "violation", "--config", str(config), "--group", "churn", "--violation-id", "v-1", "--json"
    )
    assert again["retrained"][0]["job"] == row["job"]  # one violation, one retrain

    out = tmp_path / "page.html"
    result = runner.invoke(app, ["report", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 0
    page = out.read_text()
    assert row["job"] in page and "monitoring violation" in page
    result = runner.invoke(app, ["violation", "--config", str(config), "--group", "bad name"])
    assert result.exit_code == 2 and "--group" in result.stderr


def test_spark_job_registers_then_retrains(tmp_path: Path) -> None:
    config = make_project(tmp_path)
    cmd = [sys.executable, "-m", "drift.entrypoints.spark_job", "--config", str(config)]
    reg = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert reg.returncode == 0, reg.stderr
    line = next(x for x in reg.stdout.splitlines() if x.startswith("data_asset_version="))
    version = line.split("=", 1)[1]
    retrain = subprocess.run(
        [*cmd, "--data_asset_version", version], capture_output=True, text=True, check=False
    )
    assert retrain.returncode == 0, retrain.stderr
    report = json.loads(retrain.stdout)
    assert [r["status"] for r in report["retrained"]] == ["Completed"]


def test_demo_end_to_end(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "drift", "demo", "--workdir", str(tmp_path / "demo"), "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    steps = json.loads(out.stdout)
    ops = [(s["delta_version"], s["report"]["skipped"] is None) for s in steps]
    assert ops == [(1, True), (2, False), (3, True), (3, True)]
    assert "OPTIMIZE" in steps[1]["report"]["skipped"]
    v1, v3, dup = steps[0]["report"], steps[2]["report"], steps[3]["report"]
    assert v3["newly_registered"] and not dup["newly_registered"]

    def by_group(report: dict) -> dict:
        return {r["model_group"]: r for r in report["retrained"]}

    # churn always retrains; upsell retrains without a baseline, then skips undrifted data;
    # fraud is blocked by its rule every time.
    assert {g: r["status"] for g, r in by_group(v1).items()} == {
        "churn": "Completed",
        "upsell": "Completed",
        "fraud": "Blocked",
    }
    assert {g: r["status"] for g, r in by_group(v3).items()} == {
        "churn": "Completed",
        "upsell": "Skipped",
        "fraud": "Blocked",
    }
    assert by_group(v3)["upsell"]["error"].startswith("skip: no drift above 0.1")
    assert "monthly_spend max" in by_group(v3)["fraud"]["error"]
    assert by_group(dup)["churn"]["job"] == by_group(v3)["churn"]["job"]
    assert "rows=1000" in by_group(v3)["churn"]["detail"]
    page = (tmp_path / "demo" / "report.html").read_text()
    assert "blocked: monthly_spend max" in page and "<svg" in page
    assert "existing job, not resubmitted" in page  # the redelivered event's run
    assert by_group(dup)["churn"]["reused"] and not by_group(v3)["churn"]["reused"]

    # Runs clean (issue 14, item 17): one schema in every data file of the table, so mltable
    # reads without "Inconsistent or mixed schemas", and its rslex logs stay with each job.
    demo = tmp_path / "demo"
    schemas = {str(pq.read_schema(f)) for f in (demo / "tables").rglob("*.parquet")}
    assert len(schemas) == 1, schemas
    jobs = sorted((demo / "state" / "jobs").iterdir())
    assert jobs
    for job in jobs:
        log = (job / "std_log.txt").read_text()
        assert "Warning" not in log and "mixed schemas" not in log, log
        assert list((job / "tmp").rglob("rslex.log*")), job
    assert not list((demo / "models").rglob("logs"))


@pytest.mark.parametrize(
    "command", ["inspect", "on-commit", "run", "violation", "report", "demo", None]
)
def test_help_shows_flags_as_flags(command: str | None) -> None:
    """Typer 0.27+ printed `{path}` in usage and 0.29 `<bool>` after flags (issue 14, item 14)."""
    result = runner.invoke(app, [command, "--help"] if command else ["--help"])
    assert result.exit_code == 0
    assert "<bool>" not in result.output and "{" not in result.output
    if command == "inspect":
        assert "[OPTIONS] PATH" in result.output


# --- issue 14: the CLI as a newcomer meets it ----------------------------------------------------


def one_error_line(result: Any, *needles: str) -> str:
    """Bad input: exit 2, one `error:` line on stderr naming what was wrong, no traceback."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert "Traceback" not in result.output
    return lines[0]


def test_report_out_on_a_folder_and_demo_workdir_on_a_file_are_bad_input(tmp_path: Path) -> None:
    config = make_project(tmp_path)
    folder = tmp_path / "reports"
    folder.mkdir()
    result = runner.invoke(app, ["report", "--config", str(config), "--out", str(folder)])
    one_error_line(result, "--out", str(folder), "is a folder")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    one_error_line(runner.invoke(app, ["demo", "--workdir", str(a_file)]), str(a_file), "file")
    assert a_file.read_text() == "mine"


def test_demo_workdir_that_is_not_a_demo_is_exit_2_like_every_input_error(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    result = runner.invoke(app, ["demo", "--workdir", str(tmp_path)])
    one_error_line(result, str(tmp_path), "not a drift demo folder")
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_malformed_yaml_config_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "drift.yaml"
    config.write_text("backend: local\nparameters:\n  dataAssets: [a, b\n  x: 2\n")
    result = runner.invoke(app, ["run", "--config", str(config)])
    one_error_line(result, str(config), "line 4, column 4", "expected ',' or ']'")


def test_an_unknown_group_is_bad_input_naming_the_groups_that_exist(tmp_path: Path) -> None:
    config = make_project(tmp_path)
    for args in (
        ["violation", "--config", str(config), "--group", "nosuch"],
        ["run", "--config", str(config), "--model-prefix", "nosuch"],
        ["run", "--config", str(config), "--model-prefix", "churn,nosuch", "--dry-run"],
    ):
        one_error_line(runner.invoke(app, args), "nosuch", "groups with jobs: churn")
    jobs = tmp_path / "state" / "jobs"
    assert not jobs.exists() or not any(jobs.iterdir())  # nothing submitted for churn either
    cmd = [sys.executable, "-m", "drift.entrypoints.spark_job", "--config", str(config)]
    reg = subprocess.run(cmd, capture_output=True, text=True, check=True)
    version = reg.stdout.split("data_asset_version=", 1)[1].split()[0]
    spark = subprocess.run(
        [*cmd, "--data_asset_version", version, "--model_name_prefix", "nosuch"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert spark.returncode == 2, spark.stderr
    assert "nosuch" in spark.stderr and "groups with jobs: churn" in spark.stderr


def test_paths_that_are_not_there_or_are_folders_are_bad_input(tmp_path: Path) -> None:
    config = make_project(tmp_path)
    table = tmp_path / "tables" / "features"
    missing = tmp_path / "nonexistent.json"
    one_error_line(runner.invoke(app, ["inspect", str(missing)]), str(missing), "no such file")
    other = commit_file(tmp_path / "other", 4)
    result = runner.invoke(app, ["on-commit", "--config", str(config), other])
    one_error_line(result, other, "no such file")
    log = table / "_delta_log"
    result = runner.invoke(app, ["inspect", str(log)])
    one_error_line(result, "is a folder", commit_file(table, 0))
    result = runner.invoke(app, ["on-commit", "--config", str(config), str(table)])
    one_error_line(result, "is a folder", commit_file(table, 0))


def test_a_commit_file_without_actions_is_refused_and_no_none_is_printed(tmp_path: Path) -> None:
    config = make_project(tmp_path)
    log = tmp_path / "tables" / "features" / "_delta_log"
    for version, content in ((7, b""), (8, b"{}\n")):
        path = log / f"{version:020d}.json"
        path.write_bytes(content)
        one_error_line(runner.invoke(app, ["inspect", str(path)]), str(path), "no Delta actions")
        result = runner.invoke(app, ["on-commit", "--config", str(config), str(path)])
        one_error_line(result, str(path), "no Delta actions")
    not_a_commit = log / "_last_checkpoint"
    not_a_commit.write_text("{}")
    result = runner.invoke(app, ["on-commit", "--config", str(config), str(not_a_commit)])
    assert result.exit_code == 0
    assert "None" not in result.output and "ignored: checkpoint pointer" in result.output


def test_dry_run_at_80_columns_shows_whole_names_and_inputs(tmp_path: Path) -> None:
    config = make_project(tmp_path)
    _, plan = invoke("run", "--config", str(config), "--dry-run", "--json")
    [job] = plan["plan"]["jobs"]
    result = runner.invoke(app, ["run", "--config", str(config), "--dry-run"])  # 80 columns
    assert result.exit_code == 0
    text = result.stdout
    assert "…" not in text
    unfolded = text.replace("\n", "")
    for whole in (job["job_name"], job["source_job"], job["inputs"]["training_data"]["path"]):
        assert whole in unfolded
    assert "None" not in text


def test_top_drift_has_the_precision_of_the_reason() -> None:
    from drift.reporting.report import top_drift

    decision = {
        "reason": "skip: no drift above 0.1 (largest 0.0049 in monthly_spend)",
        "threshold": 0.1,
        "drift": [{"column": "monthly_spend", "score": 0.00493}, {"column": "plan", "score": 0.0}],
    }
    assert top_drift(decision) == "monthly_spend 0.0049, plan 0"


def test_run_marks_a_job_that_already_existed_as_reused(tmp_path: Path) -> None:
    config = make_project(tmp_path)
    first = runner.invoke(app, ["run", "--config", str(config)])
    assert first.exit_code == 0, first.output
    assert "not resubmitted" not in first.stdout
    again = runner.invoke(app, ["run", "--config", str(config)])
    assert again.exit_code == 0, again.output
    assert "already registered" in again.stdout
    assert "(existing job, not resubmitted)" in again.stdout.replace("\n", "")
    _, doc = invoke("run", "--config", str(config), "--json")
    assert [r["reused"] for r in doc["retrained"]] == [True]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run"], "Missing option '--config'"),
        (["nosuch"], "No such command 'nosuch'"),
        (["run", "--dry-run", "true", "-c", "drift.yaml"], "unexpected extra argument"),
        (["report", "-c", "drift.yaml", "--limit", "0"], "--limit"),
    ],
)
def test_usage_errors_follow_the_one_line_convention(args: list[str], needle: str) -> None:
    """Typer's boxed multi-line usage errors, as drift's own: `error: ...`, exit 2."""
    done = subprocess.run(
        [sys.executable, "-m", "drift", *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: ") and needle in line and "--help" in line
    assert done.stdout == ""
