"""B9 retries: HTTP attempts per activity call, under persistent 503 and under 30% faults.

drift's Azure services (real MLClient and blob client) against the in-memory Azure of
`tests/contract/azureml_service.py`, every activity retried as the durable runtime would
(`tests/contract/retry_runs.py`). drift: the SDK clients do not retry (`retry_total=0`), drift's
adapter does (6 attempts), the durable retry re-runs the activity (6 attempts). Baseline: the
same with azure-core's default retry left on in the SDK clients (what drift did before), its
backoff set to zero so that nothing sleeps: only attempts are counted, never times.
"""

from __future__ import annotations

from typing import Any

ID = "B9"
TITLE = "Retries: HTTP attempts per activity call under persistent 503 and 30% faults"
RATE = 0.3

Json = dict[str, Any]


def runs(quick: bool) -> int:
    return 3 if quick else 20


def measure(quick: bool) -> Json:
    from tests.contract.retry_runs import DURABLE_ATTEMPTS, faulty_runs, persistent_503

    n = runs(quick)
    drift_503 = persistent_503(stacked=False)
    base_503 = persistent_503(stacked=True)
    drift_faults = faulty_runs(RATE, n, stacked=False)
    base_faults = faulty_runs(RATE, n, stacked=True)
    rows = [
        {
            "operation": op,
            "drift_per_call": drift_503[op].http[0],
            "drift_per_activity": drift_503[op].total,
            "baseline_per_call": base_503[op].http[0],
            "baseline_per_activity": base_503[op].total,
        }
        for op in drift_503
    ]
    per_call = max(r["drift_per_call"] for r in rows)
    base_per_call = max(r["baseline_per_call"] for r in rows)
    return {
        "parameters": {
            "durable_attempts": DURABLE_ATTEMPTS,
            "adapter_attempts": 6,
            "sdk_retries": 0,
            "fault_rate": RATE,
            "runs_under_faults": n,
        },
        "rows": rows,
        "measured": {"persistent_503_per_call": per_call, "faults": drift_faults},
        "baseline": {"persistent_503_per_call": base_per_call, "faults": base_faults},
        "ratio": {"persistent_503": round(base_per_call / per_call, 2)},
        "headline": (
            f"persistent 503: {per_call} HTTP attempts per activity call "
            f"({per_call * DURABLE_ATTEMPTS} per activity), against {base_per_call} "
            f"({base_per_call * DURABLE_ATTEMPTS}) with the SDK's retry stacked inside; "
            f"30% faults: {drift_faults['completed']} of {n} runs completed, "
            f"{drift_faults['http_per_call_mean']} HTTP requests per activity call on average"
        ),
    }
