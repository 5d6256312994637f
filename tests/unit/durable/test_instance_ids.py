"""Orchestration instance ids stay within what every durable backend accepts.

The Durable Task Scheduler limits instance ids to 100 printable ASCII characters
(MicrosoftDocs/azure-docs articles/durable-task/scheduler/durable-task-scheduler.md,
"Orchestration instance ID length"); a run id may already take 100, so the monitor's id, the run
id plus the model group, must be bounded on its own.
"""

from __future__ import annotations

import re

from drift.durable.orchestration import intake_instance_id, monitor_instance_id, run_instance_id

LONG_KEY = "abfss://" + "c" * 40 + "@" + "a" * 24 + ".dfs.core.windows.net/" + "t/" * 40


def test_short_monitor_ids_stay_readable() -> None:
    assert monitor_instance_id("run1", "churn") == "run1-churn"


def test_every_id_fits_the_scheduler_limit() -> None:
    run = run_instance_id(LONG_KEY, 12345678901234567890)
    assert len(run) == 100
    ids = [
        intake_instance_id(LONG_KEY, 7),
        run,
        monitor_instance_id(run, "churn"),
        monitor_instance_id("run1", "a group/with spaces"),
    ]
    for iid in ids:
        assert len(iid) <= 100 and re.fullmatch(r"[A-Za-z0-9_.-]+", iid), iid


def test_long_monitor_ids_stay_unique_per_group() -> None:
    run = run_instance_id(LONG_KEY, 1)
    assert monitor_instance_id(run, "churn") != monitor_instance_id(run, "churn2")
    assert monitor_instance_id(run, "churn") == monitor_instance_id(run, "churn")
