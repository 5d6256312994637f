"""Publishing `data_asset_version` for the next task: a Databricks task value, or stdout."""

from __future__ import annotations

import os
import re
from typing import Any, Protocol

# The bundle's registration task, and the task value it publishes for the retraining task.
REGISTRATION_TASK = "training-dataset-registrator"
VERSION_KEY = "data_asset_version"

# Databricks dynamic value references: an unescaped identifier is letters, digits and
# underscores; anything else must be escaped in backticks, or the whole reference is not
# parsed and reaches the task as literal text ("What is a dynamic value reference?",
# docs.databricks.com/jobs/dynamic-value-references).
_PLAIN_IDENTIFIER = re.compile(r"[A-Za-z0-9_]+")


class _TaskValues(Protocol):
    def set(self, key: str, value: Any) -> None: ...


def identifier(name: str) -> str:
    """`name` as a dynamic value reference segment: as is, or escaped in backticks."""
    if _PLAIN_IDENTIFIER.fullmatch(name):
        return name
    if "`" in name:
        raise ValueError(f"{name!r}: a backtick cannot be escaped in a dynamic value reference")
    return f"`{name}`"


def reference(task_key: str = REGISTRATION_TASK, key: str = VERSION_KEY) -> str:
    """The reference a downstream task's parameter uses to read a task value.

    `reference()` is ``{{tasks.`training-dataset-registrator`.values.data_asset_version}}``.
    """
    return "{{tasks." + identifier(task_key) + ".values." + identifier(key) + "}}"


def on_databricks() -> bool:
    """Databricks sets DATABRICKS_RUNTIME_VERSION on every cluster; nowhere else does."""
    return bool(os.environ.get("DATABRICKS_RUNTIME_VERSION"))


def publish(key: str, value: str, task_values: _TaskValues | None = None) -> str:
    """Set the task value where a job run can read it, and always print it for the log.

    The next task reads it through `reference(<this task's key>, key)`, in the bundle
    ``{{tasks.`training-dataset-registrator`.values.data_asset_version}}``.
    """
    if task_values is None and on_databricks():
        from databricks.sdk.runtime import dbutils  # the cluster's own dbutils

        task_values = dbutils.jobs.taskValues
    if task_values is not None:
        task_values.set(key=key, value=value)
    print(f"{key}={value}", flush=True)
    return "task value" if task_values is not None else "stdout"
