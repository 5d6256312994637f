"""Fixtures shared by the infra tests (test_bicep.py, test_events_bicep.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def fake_az(tmp_path: Path) -> Path:
    """An `az` that records its arguments and succeeds."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    az = bin_dir / "az"
    az.write_text('#!/bin/sh\necho "$@" >> "$AZ_LOG"\n')
    az.chmod(0o755)
    return bin_dir
