"""Publishing `data_asset_version` for the next task: a Databricks task value, or stdout."""

from __future__ import annotations

import os
from typing import Any, Protocol


class _TaskValues(Protocol):
    def set(self, key: str, value: Any) -> None: ...


def on_databricks() -> bool:
    """Databricks sets DATABRICKS_RUNTIME_VERSION on every cluster; nowhere else does."""
    return bool(os.environ.get("DATABRICKS_RUNTIME_VERSION"))


def publish(key: str, value: str, task_values: _TaskValues | None = None) -> str:
    """Set the task value where a job run can read it, and always print it for the log.

    The next task reads it as `{{tasks.training-dataset-registrator.values.<key>}}`.
    """
    if task_values is None and on_databricks():
        from databricks.sdk.runtime import dbutils  # the cluster's own dbutils

        task_values = dbutils.jobs.taskValues
    if task_values is not None:
        task_values.set(key=key, value=value)
    print(f"{key}={value}", flush=True)
    return "task value" if task_values is not None else "stdout"
