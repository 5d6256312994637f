"""The Databricks bundle runs this package: names, entry point and flags must match the code."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from drift import spark_job, task_values

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "infra" / "databricks" / "databricks.yml"


def bundle() -> dict[str, Any]:
    return yaml.safe_load(BUNDLE.read_text())


def tasks() -> dict[str, dict[str, Any]]:
    job = bundle()["resources"]["jobs"]["retraining_models"]
    return {t["task_key"]: t for t in job["tasks"]}


def test_wheel_tasks_match_the_package_and_its_entry_point() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    module, _, func = project["scripts"]["spark_job"].partition(":")
    assert (module, func) == ("drift.spark_job", "main")
    for task in tasks().values():
        wheel = task["python_wheel_task"]
        assert wheel["package_name"] == project["name"]
        assert wheel["entry_point"] == "spark_job"


def test_parameters_are_flags_spark_job_accepts() -> None:
    for key, task in tasks().items():
        params = [
            p.replace("${var.", "VAR_").replace("}", "")
            for p in task["python_wheel_task"]["parameters"]
        ]
        args = spark_job.parse_args(params)
        assert args.config == "VAR_config", key
    retrainer = tasks()["model-retrainer"]
    assert retrainer["depends_on"] == [{"task_key": "training-dataset-registrator"}]
    params = retrainer["python_wheel_task"]["parameters"]
    version = params[params.index("--data_asset_version") + 1]
    assert version == "{{tasks.training-dataset-registrator.values.data_asset_version}}"
    assert (
        "--data_asset_version"
        not in tasks()["training-dataset-registrator"]["python_wheel_task"]["parameters"]
    )


def test_weekly_schedule_paused_on_a_single_node_cluster() -> None:
    job = bundle()["resources"]["jobs"]["retraining_models"]
    assert job["schedule"] == {
        "quartz_cron_expression": "0 0 8 ? * MON *",
        "timezone_id": "UTC",
        "pause_status": "PAUSED",
    }
    [cluster] = job["job_clusters"]
    new = cluster["new_cluster"]
    assert new["num_workers"] == 0
    assert new["spark_conf"]["spark.databricks.cluster.profile"] == "singleNode"
    assert bundle()["artifacts"]["drift_wheel"]["build"] == "python -m build --wheel"


class RecordingTaskValues:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value


def test_task_value_goes_to_dbutils_on_databricks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    recorder = RecordingTaskValues()
    where = task_values.publish("data_asset_version", "20261123080000-v3", recorder)
    assert where == "task value"
    assert recorder.values == {"data_asset_version": "20261123080000-v3"}
    assert "data_asset_version=20261123080000-v3" in capsys.readouterr().out


def test_elsewhere_the_version_is_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    assert task_values.publish("data_asset_version", "v") == "stdout"
    assert capsys.readouterr().out.strip() == "data_asset_version=v"
