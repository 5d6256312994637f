"""The wheel Databricks installs: it builds, carries its entry points and demo assets, and
`spark_job --help` runs from it in a fresh virtual environment."""

from __future__ import annotations

import fnmatch
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    [built] = out.glob("drift-*.whl")
    return built


def test_wheel_has_entry_points_and_assets(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        text = zf.read(entry_points).decode()
    assert "spark_job = drift.entrypoints.spark_job:main" in text
    assert "drift = drift.entrypoints.cli:main" in text
    assert "drift/demo_assets/models/churn/train.py" in names
    assert not any(n.startswith("tests/") for n in names)


def test_wheel_is_what_the_bundle_installs(wheel: Path) -> None:
    """The bundle's `libraries` glob matches the built file, and `package_name` is the
    distribution the wheel task looks the entry point up in."""
    bundle = yaml.safe_load((ROOT / "infra" / "databricks" / "databricks.yml").read_text())
    for task in bundle["resources"]["jobs"]["retraining_models"]["tasks"]:
        [library] = task["libraries"]
        assert fnmatch.fnmatch(wheel.name, Path(library["whl"]).name)
        with zipfile.ZipFile(wheel) as zf:
            meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            names = [x for x in zf.read(meta).decode().splitlines() if x.startswith("Name: ")]
        assert names == [f"Name: {task['python_wheel_task']['package_name']}"]


def test_spark_job_help_runs_from_the_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    clean = {"PATH": "/usr/bin:/bin"}  # no PYTHONPATH or VIRTUAL_ENV from the test run
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, symlinks=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--quiet", str(wheel)],
        check=True,
        capture_output=True,
        text=True,
        env=clean,
    )
    # Dependencies then come from this interpreter's site-packages, through a .pth line that
    # sorts after the new environment's own site-packages; drift itself only from the wheel.
    own = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
        env=clean,
    ).stdout.strip()
    Path(own, "zz-test-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    where = subprocess.run(
        [python, "-c", "import drift; print(drift.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean,
    )
    assert where.stdout.startswith(str(env_dir)), where.stdout
    help_ = subprocess.run(
        [str(env_dir / "bin" / "spark_job"), "--help"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean,
    )
    for flag in ("--config", "--tenant", "--vault_name", "--data_asset_version"):
        assert flag in help_.stdout
