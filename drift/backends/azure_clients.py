"""The Azure SDK clients drift builds, and which layer retries what.

Three layers could retry one call: azure-core's `RetryPolicy` inside every SDK client (by
default 3 more attempts on a 408/429/5xx status, 10 in all, with backoff), drift's adapter
(`azure_errors.call`: bounded attempts and time, full jitter, honours `Retry-After`, knows
permanent from transient and finds a create that went through before its 503), and the
durable activity retry around the whole activity (`orchestration.SERVICE_RETRY`). Stacked, a
run of 503s multiplies: 4 x 6 x 6 = 144 HTTP attempts for one activity (measured). So:

- the SDK clients drift builds do not retry (`retry_total=0`): one HTTP request per attempt;
- drift's adapter retries each service call (`DEFAULT_POLICY`: 6 attempts, 120 s at most);
- the durable retry re-runs an activity whose call outlasted that, at most 6 times.

Measured in `bench/b9_retries.py` (B9) and asserted in `tests/contract/test_retries.py`.
drift's own events (`drift/backends/publish.py`) are the exception: no adapter wraps their
`EventGridPublisherClient`, so azure-core's retry stays the inner layer there, under the
publish activity's durable retry, and a publish that still fails never fails the run.
"""

from __future__ import annotations

from typing import Any

from azure.ai.ml import MLClient
from azure.core.credentials import TokenCredential
from azure.storage.blob import BlobServiceClient

from drift.domain.config import AzureMLWorkspace

# azure-core retries per SDK call. 0: drift's adapter is the only layer retrying a request.
SDK_RETRIES = 0


def ml_client(credential: TokenCredential, workspace: AzureMLWorkspace, **kwargs: Any) -> MLClient:
    """An MLClient whose REST clients do not retry (`kwargs` reach every one: a transport)."""
    return MLClient(
        credential,
        workspace.subscription_id,
        workspace.resource_group,
        workspace.workspace_name,
        retry_total=SDK_RETRIES,
        **kwargs,
    )


def blob_service(credential: TokenCredential, account: str, **kwargs: Any) -> BlobServiceClient:
    """The data lake's blob endpoint as drift's own identity (a token, never a key)."""
    return BlobServiceClient(
        f"https://{account}.blob.core.windows.net",
        credential=credential,
        retry_total=SDK_RETRIES,
        **kwargs,
    )
