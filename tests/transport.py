"""One base for the tests' in-memory azure-core transports.

A transport is the seam where a real Azure SDK client meets the network; the tests' fakes
answer there, so the SDK's own serialization, policies and error mapping run for real. The
connection management azure-core asks of a transport has nothing to do in memory: it lives
here once, and each fake only says how the service answers (`send`).
"""

from __future__ import annotations

from typing import Any, Self

from azure.core.pipeline.transport import HttpTransport


class InMemoryTransport(HttpTransport):
    """No connection to open or close; subclasses implement `send(request, **kwargs)`."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *args: Any) -> None:
        pass

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass
