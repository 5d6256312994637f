"""The wheel's metadata and the Functions app's requirements must not drift apart."""

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_requirements_match_pyproject_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    requirements = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert sorted(requirements) == sorted(project["dependencies"])


def test_console_scripts_point_at_callables() -> None:
    import importlib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert set(scripts) == {"drift", "spark_job"}
    for target in scripts.values():
        module, _, attr = target.partition(":")
        assert callable(getattr(importlib.import_module(module), attr))


def test_durable_sdk_stays_on_its_1_x_line() -> None:
    """drift's orchestrators, entity and client are written and tested against the 1.x API of
    azure-functions-durable; a new major version may change it, so both files cap it below 2."""
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (durable,) = [
        Requirement(d) for d in project["dependencies"] if d.startswith("azure-functions-durable")
    ]
    assert not durable.specifier.contains("2.0.0")
    assert durable.specifier.contains("1.7.0")


def test_license_is_a_pep639_expression_setuptools_reads_without_warnings() -> None:
    """The TOML-table form printed a deprecation banner on every install (issue 14, item 16)."""
    import os
    import warnings

    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]
    assert "setuptools>=77.0.3" in build["requires"]  # the first release reading PEP 639 well
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            dist = apply_configuration(Distribution(), ROOT / "pyproject.toml")
    finally:
        os.chdir(cwd)
    assert dist.metadata.license_expression == "Apache-2.0"


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()


def test_the_demo_and_bench_libraries_are_extras_not_app_requirements() -> None:
    extras = _project()["optional-dependencies"]
    assert {_name(r) for r in extras["demo"]} == {"pandas", "scikit-learn"}
    assert {_name(r) for r in extras["bench"]} == {"matplotlib"}
    app = {_name(r) for r in _project()["dependencies"]}
    assert app.isdisjoint({"pandas", "scikit-learn", "matplotlib"})
    assert (
        "azure-eventgrid" in app
    )  # drift.backends.publish sends drift's own events with it, in Azure


def test_the_app_imports_nothing_from_the_extras() -> None:
    """Only the demo (drift/entrypoints/demo.py and the jobs it runs) imports pandas or
    scikit-learn."""
    offenders = []
    for path in sorted((ROOT / "drift").rglob("*.py")):
        if path.name == "demo.py" or "demo_assets" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            for name in names:
                if name.split(".")[0] in {"pandas", "sklearn", "matplotlib"}:
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_funcignore_keeps_tests_bench_and_docs_out_of_the_package() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".funcignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"tests", "bench", "docs", "scripts", "infra", ".venv"} <= ignored
    # ... and keeps what the app runs: its code, configs and host settings.
    assert ignored.isdisjoint({"drift", "configs", "function_app.py", "host.json"})
    assert ignored.isdisjoint({"requirements.txt"})
