"""Shared fixtures: real Delta tables written by delta-rs in a temporary folder."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from deltalake import DeltaTable, write_deltalake

from tests.figures import FIGURES


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker hands the figures its tests measured to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["drift_figures"] = json.dumps(FIGURES, default=str)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """The controller merges each worker's figures (xdist only; a requirement's tests share a
    file, and `--dist loadfile` keeps a file on one worker)."""
    for requirement, figures in json.loads(node.workeroutput.get("drift_figures", "{}")).items():
        FIGURES.setdefault(requirement, {}).update(figures)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The reliability figures, one line per requirement, and the JSON file they are kept in."""
    if not FIGURES or hasattr(terminalreporter.config, "workerinput"):
        return
    terminalreporter.section("reliability figures")
    for requirement in sorted(FIGURES):
        line = ", ".join(f"{k}={v}" for k, v in sorted(FIGURES[requirement].items()))
        terminalreporter.write_line(f"{requirement}: {line}")
    target = os.environ.get("DRIFT_RELIABILITY_FIGURES")
    path = (
        Path(target)
        if target
        else terminalreporter.config._tmp_path_factory.getbasetemp() / "reliability-figures.json"
    )
    path.write_text(json.dumps(FIGURES, indent=2, sort_keys=True, default=str))
    terminalreporter.write_line(f"written to {path}")


@pytest.fixture(autouse=True)
def _fresh_datastore_checks() -> None:
    """The Azure registry remembers, per process, which workspace datastores it has checked;
    every test starts with a workspace it has not seen, whatever ran before it."""
    from drift.backends.azure_registry import forget_checked_datastores

    forget_checked_datastores()


class DeltaTableDir:
    """A Delta table folder under tmp_path, with helpers to write and read its log."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.log_dir = path / "_delta_log"
        self._next_id = 0

    def rows(self, n: int) -> pd.DataFrame:
        ids = range(self._next_id, self._next_id + n)
        self._next_id += n
        return pd.DataFrame({"id": list(ids), "value": [float(i) for i in ids]})

    def write(self, n: int = 3, mode: str = "append") -> int:
        """Write `n` new rows; returns the version the write committed."""
        write_deltalake(self.path, self.rows(n), mode=mode)
        return self.version()

    def table(self) -> DeltaTable:
        return DeltaTable(self.path)

    def version(self) -> int:
        return self.table().version()

    def commit_file(self, version: int) -> Path:
        return self.log_dir / f"{version:020d}.json"

    def raw(self, version: int) -> bytes:
        return self.commit_file(version).read_bytes()

    def actions(self, version: int) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.raw(version).decode().splitlines() if line]

    def commit_info(self, version: int) -> dict[str, Any]:
        return next(a["commitInfo"] for a in self.actions(version) if "commitInfo" in a)

    def set_commit_info(self, version: int, **fields: Any) -> None:
        """Rewrite fields of one real commit's commitInfo (e.g. a known timestamp)."""
        actions = self.actions(version)
        for action in actions:
            if "commitInfo" in action:
                action["commitInfo"].update(fields)
        text = "\n".join(json.dumps(a) for a in actions) + "\n"
        self.commit_file(version).write_text(text)


@pytest.fixture
def delta_table(tmp_path: Path) -> DeltaTableDir:
    """An empty folder for one Delta table; nothing is written until a test writes."""
    return DeltaTableDir(tmp_path / "table")


@pytest.fixture
def make_delta_table(tmp_path: Path):
    """A factory for more tables in the same test: `make_delta_table("name")`."""
    return lambda name: DeltaTableDir(tmp_path / name)
