"""drift/durable/job_events.py: which notifications wake which monitors; bad input is one clear
line."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drift.durable.job_events import (
    AML_RUN_COMPLETED,
    AML_STATUS_CHANGED,
    BadNotification,
    from_azureml,
    from_databricks,
)

JOB = "churn_20261123080000_3b5bcb714a"
GROUPS = {"123": ["churn", "churn_eu"]}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
keys = st.sampled_from(["event_type", "job", "run", "task", "job_id", "run_id", "data", "runId"])
bodies = st.dictionaries(keys, json_values, max_size=5) | json_values


def databricks(**over: Any) -> dict[str, Any]:
    return {
        "event_type": "jobs.on_failure",
        "workspace_id": "1234567890",
        "run": {"run_id": "998877"},
        "job": {"job_id": "123", "name": "churn training"},
        **over,
    }


def test_a_run_end_wakes_every_group_of_that_job() -> None:
    notice, _ = from_databricks(databricks(), GROUPS)
    assert notice is not None
    assert (notice.groups, notice.job, notice.status) == (("churn", "churn_eu"), None, "Failed")
    numeric, _ = from_databricks(databricks(job={"job_id": 123}, run={"run_id": 998877}), GROUPS)
    assert numeric == notice  # Databricks sends ids as strings; numbers mean the same


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (databricks(job={"job_id": 1.5}), "job.job_id: expected a string or an integer"),
        (databricks(job={"job_id": True}), "job.job_id: expected a string or an integer"),
        (databricks(run={}), "run.run_id: missing"),
        (databricks(event_type=""), "event_type: missing"),
        (databricks(event_type="runs.done"), "event_type: 'runs.done' is not"),
    ],
)
def test_bad_databricks_bodies_name_the_field(body: dict, field: str) -> None:
    with pytest.raises(BadNotification, match=field.replace(".", r"\.").replace("(", r"\(")):
        from_databricks(body, GROUPS)


def test_azure_ml_events_name_the_job_and_its_group() -> None:
    event = {
        "id": "e",
        "eventType": AML_STATUS_CHANGED,
        "data": {"runId": JOB, "runStatus": "Failed"},
    }
    notice, _ = from_azureml(event)
    assert notice is not None and (notice.groups, notice.job, notice.status) == (
        ("churn",),
        JOB,
        "Failed",
    )
    completed, _ = from_azureml({"type": AML_RUN_COMPLETED, "data": {"runId": JOB}})  # CloudEvents
    assert completed is not None and completed.status == "Completed"
    assert (
        from_azureml({"eventType": AML_STATUS_CHANGED, "data": {"runId": "adhoc-run"}})[0] is None
    )


@settings(max_examples=300, deadline=None)
@given(bodies)
def test_any_databricks_body_is_a_notice_a_reason_or_one_bad_field(body: Any) -> None:
    try:
        notice, reason = from_databricks(body, GROUPS)
    except BadNotification as exc:
        assert str(exc).split(":")[0] in ("body", "event_type", "job.job_id", "run.run_id")
        return
    assert (notice is None) == bool(reason)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["id", "eventType", "type", "data"]), json_values))
def test_any_event_grid_payload_is_a_notice_or_a_reason(event: dict) -> None:
    notice, reason = from_azureml(event)
    assert (notice is None) == bool(reason)
