"""The reliability suite (issue: R1-R6). Every test is marked `reliability`; run it alone with
`pytest -m reliability tests/reliability`. The figures each requirement measured are printed
in one line per requirement at the end of the session and written to
`<pytest basetemp>/reliability-figures.json` (or to `$DRIFT_RELIABILITY_FIGURES`)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functions.conftest import make_app  # noqa: F401 - the Functions app fixture
from tests.reliability.support import FIGURES

_written: list[Path] = []


@pytest.fixture(scope="session", autouse=True)
def reliability_figures(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    yield FIGURES
    if FIGURES:
        target = os.environ.get("DRIFT_RELIABILITY_FIGURES")
        path = (
            Path(target) if target else tmp_path_factory.getbasetemp() / "reliability-figures.json"
        )
        path.write_text(json.dumps(FIGURES, indent=2, sort_keys=True, default=str))
        _written.append(path)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("reliability figures")
    for requirement in sorted(FIGURES):
        figures = FIGURES[requirement]
        line = ", ".join(f"{k}={v}" for k, v in sorted(figures.items()))
        terminalreporter.write_line(f"{requirement}: {line}")
    for path in _written:
        terminalreporter.write_line(f"written to {path}")


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
