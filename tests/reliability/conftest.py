"""The reliability suite (issue: R1-R6). Every test is marked `reliability`; run it alone with
`pytest -m reliability tests/reliability`. The figures each requirement measured are printed
by the root conftest (tests/conftest.py), one line per requirement at the end of the session,
and written to `<pytest basetemp>/reliability-figures.json` (or `$DRIFT_RELIABILITY_FIGURES`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.functions.conftest import make_app  # noqa: F401 - the Functions app fixture


@pytest.fixture(scope="package", autouse=True)
def _cheap_dataprep_telemetry() -> Iterator[None]:
    """azureml-dataprep (under mltable) records `inspect.stack()` with source lines for its
    telemetry on every MLTable call: ~40 ms each in a pytest stack, most of a registration's
    time. The suite blanks that trace while it runs (no drift code is affected), which keeps
    its many registrations inside the time budget."""
    try:
        from azureml.dataprep.api._loggerfactory import _LoggerFactory
    except ImportError:  # another mltable layout: nothing to speed up
        yield
        return
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_LoggerFactory, "get_stack", staticmethod(lambda limit=3, start=1: ""))
        yield
