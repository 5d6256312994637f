"""Azure service calls: transient faults retried with backoff, permanent ones failed fast.

Transient: 408, 429, 5xx, connection resets and timeouts. They are retried with exponential
backoff and full jitter, honouring `Retry-After`, bounded in attempts and in total time.
Permanent: 401/403, not found, invalid input, conflicts. They raise `AzureServiceError` at
once, naming what was attempted, where and as whom, and never a secret.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from azure.core.exceptions import (
    ClientAuthenticationError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from drift.domain.types import PermanentError

T = TypeVar("T")
log = logging.getLogger("drift.azure")

TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class AzureServiceError(PermanentError):
    """A call Azure refused for good: retrying cannot help."""


class AzureTransientError(RuntimeError):
    """Transient faults outlasted this call's retry budget. Not permanent: the durable retry
    of the activity, or the monitor's next poll, may still succeed."""


@dataclass(frozen=True)
class Where:
    """What to name in an error: the workspace or account, and the identity used."""

    resource: str
    identity: str


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    max_seconds: float = 120.0
    base_delay: float = 1.0
    max_delay: float = 30.0


DEFAULT_POLICY = RetryPolicy()


def status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if status is None:
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ClientAuthenticationError | ResourceNotFoundError):
        return False
    if isinstance(exc, ServiceRequestError | ServiceResponseError | ConnectionError | TimeoutError):
        return True
    status = status_of(exc)
    return status in TRANSIENT_STATUS


def retry_after(exc: BaseException) -> float | None:
    """Seconds the service asked us to wait, from `retry-after-ms` or `Retry-After`."""
    response = getattr(exc, "response", None)
    headers: Any = getattr(response, "headers", None) or {}
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value) / 1000)
            except ValueError:
                pass
    value = headers.get("Retry-After") or headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        if when is None:
            return None
        return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    def wait(state: RetryCallState) -> float:
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        asked = retry_after(exc) if exc is not None else None
        backoff = min(policy.max_delay, policy.base_delay * 2 ** (state.attempt_number - 1))
        jittered = random.uniform(0, backoff)  # full jitter: spreads a burst of clients
        return min(policy.max_delay, asked) if asked is not None else jittered

    return wait


def describe(exc: BaseException) -> str:
    """A one-line reason: status and the service's message, without headers or bodies."""
    status = status_of(exc)
    reason = getattr(exc, "reason", None) or type(exc).__name__
    message = getattr(exc, "message", None) or str(exc)
    first = message.strip().splitlines()[0] if message.strip() else ""
    head = f"{status} {reason}" if status else reason
    return f"{head}: {first}" if first and first not in head else head


def call(
    what: str,
    fn: Callable[[], T],
    where: Where,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `fn`, retrying transient faults; raise AzureServiceError naming what failed."""
    retrying = Retrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.max_seconds),
        wait=_wait(policy),
        sleep=sleep,
        reraise=True,
        before_sleep=lambda s: log.warning(
            "%s on %s: transient %s, attempt %d of %d",
            what,
            where.resource,
            describe(s.outcome.exception()) if s.outcome else "fault",
            s.attempt_number,
            policy.attempts,
        ),
    )
    try:
        return retrying(fn)
    except Exception as exc:
        if isinstance(exc, PermanentError):
            raise
        if is_transient(exc):
            raise AzureTransientError(
                f"{what} on {where.resource} as {where.identity}: still failing after "
                f"retries: {describe(exc)}"
            ) from None
        raise AzureServiceError(
            f"{what} on {where.resource} as {where.identity}: refused: {describe(exc)}"
        ) from None
