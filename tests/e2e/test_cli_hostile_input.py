"""Hostile files met by the CLI (issue 12): each is one `error: ...` line naming the file, and
exit 2, without a traceback, a hang or unbounded memory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from deltalake import write_deltalake
from typer.testing import CliRunner

from drift.backends import local_commits
from drift.entrypoints.cli import app
from drift.entrypoints.demo import customers
from tests.e2e.test_cli import commit_file, make_project, one_error_line

pytestmark = pytest.mark.e2e
runner = CliRunner()


def bad_input(*args: str) -> str:
    """Run the CLI, expect exit 2 and one error line (test_cli.one_error_line); return it."""
    return one_error_line(runner.invoke(app, list(args)))


def project_with_commit(tmp_path: Path) -> tuple[Path, Path]:
    config = make_project(tmp_path)
    table = tmp_path / "tables" / "features"
    write_deltalake(table, customers(20, seed=2, start_id=120), mode="append")
    return config, Path(commit_file(table, 1))


def nested(depth: int) -> str:
    return '{"commitInfo": ' + '{"a": ' * depth + "1" + "}" * depth + "}"


def test_a_deeply_nested_commit_names_file_and_line(tmp_path: Path) -> None:
    config, commit = project_with_commit(tmp_path)
    lines = commit.read_text().splitlines()
    commit.write_text("\n".join([lines[0], nested(1000), *lines[1:]]) + "\n")

    line = bad_input("inspect", str(commit))
    assert f"{commit}: line 2: JSON nested too deeply" in line

    line = bad_input("on-commit", "--config", str(config), str(commit))
    assert f"{commit}: line 2: JSON nested too deeply" in line


def test_a_fifo_commit_is_refused_not_waited_on(tmp_path: Path) -> None:
    config, commit = project_with_commit(tmp_path)
    commit.unlink()
    os.mkfifo(commit)  # nobody ever writes to it: a blocking read would hang the test

    assert "not a regular file (a FIFO)" in bad_input("inspect", str(commit))
    line = bad_input("on-commit", "--config", str(config), str(commit))
    assert str(commit) in line and "a FIFO" in line


def test_a_commit_linked_to_dev_zero_is_refused(tmp_path: Path) -> None:
    config, commit = project_with_commit(tmp_path)
    commit.unlink()
    commit.symlink_to("/dev/zero")

    assert "a character device" in bad_input("inspect", str(commit))
    assert "a character device" in bad_input("on-commit", "--config", str(config), str(commit))


def test_a_commit_over_the_size_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, commit = project_with_commit(tmp_path)
    monkeypatch.setattr(local_commits, "MAX_COMMIT_BYTES", 100)
    size = commit.stat().st_size

    line = bad_input("inspect", str(commit))
    assert f"{commit}: {size} bytes, more than the 100 a commit file may have" in line
    assert f"{size} bytes" in bad_input("on-commit", "--config", str(config), str(commit))


@pytest.mark.parametrize("key", ["tablePath", "workdir", "jobsDir"])
def test_a_symlink_loop_in_the_config_names_file_and_key(tmp_path: Path, key: str) -> None:
    config, commit = project_with_commit(tmp_path)
    (tmp_path / "loop-a").symlink_to("loop-b")
    (tmp_path / "loop-b").symlink_to("loop-a")
    doc = yaml.safe_load(config.read_text())
    doc["local"][key] = "loop-a/inside"
    config.write_text(yaml.safe_dump(doc))

    for args in (
        ["run", "--config", str(config)],
        ["on-commit", "--config", str(config), str(commit)],
        ["report", "--config", str(config), "--out", str(tmp_path / "r.html")],
    ):
        line = bad_input(*args)
        assert f"{config}: local.{key}: cannot resolve" in line and "loop" in line.lower()


def test_a_commit_path_through_a_symlink_loop_is_one_line(tmp_path: Path) -> None:
    config, _ = project_with_commit(tmp_path)
    (tmp_path / "loop-a").symlink_to("loop-b")
    (tmp_path / "loop-b").symlink_to("loop-a")
    commit = commit_file(tmp_path / "loop-a", 1)

    assert commit in bad_input("inspect", commit)
    assert commit in bad_input("on-commit", "--config", str(config), commit)
