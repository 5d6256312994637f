"""Which layer retries what (drift/backends/azure_clients.py), counted in HTTP attempts."""

from __future__ import annotations

import pytest

from drift.backends.azure_clients import SDK_RETRIES
from drift.backends.azure_errors import DEFAULT_POLICY
from tests.contract.conftest import NO_WAIT
from tests.contract.retry_runs import DURABLE_ATTEMPTS, OPERATIONS, faulty_runs, persistent_503


def test_the_layers() -> None:
    assert SDK_RETRIES == 0  # azure-core: one request per SDK call
    assert DEFAULT_POLICY.attempts == NO_WAIT.attempts == 6  # drift's adapter
    assert DURABLE_ATTEMPTS == 6  # the durable activity retry


def test_persistent_503_costs_6_requests_per_activity_call() -> None:
    calls = persistent_503(stacked=False)

    assert set(calls) == set(OPERATIONS)
    for op, call in calls.items():
        assert not call.ok, op
        assert call.http == [6] * DURABLE_ATTEMPTS, op  # adapter 6 x SDK 1, per attempt
        assert call.total == 36, op


def test_with_the_sdk_retry_left_on_the_layers_multiply() -> None:
    """What drift did before: azure-core's 3 status retries inside each adapter attempt."""
    calls = persistent_503(stacked=True)

    for op, call in calls.items():
        assert call.http == [24] * DURABLE_ATTEMPTS, op
        assert call.total == 144, op


@pytest.mark.parametrize("stacked", [False, True])
def test_30_percent_faults_every_run_completes_without_duplicates(stacked: bool) -> None:
    result = faulty_runs(0.3, runs=4, stacked=stacked)

    assert result["completed"] == 4, result["failures"]
    assert result["jobs_created"] == result["jobs_expected"] == 12  # no job submitted twice
    assert result["activities"] == 4 * 12  # register, plan, 3 submits, 6 polls, 1 cancel
