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


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()


def test_the_demo_and_bench_libraries_are_extras_not_app_requirements() -> None:
    extras = _project()["optional-dependencies"]
    assert {_name(r) for r in extras["demo"]} == {"pandas", "scikit-learn"}
    assert {_name(r) for r in extras["bench"]} == {"matplotlib"}
    app = {_name(r) for r in _project()["dependencies"]}
    assert app.isdisjoint({"pandas", "scikit-learn", "matplotlib", "azure-eventgrid"})


def test_the_app_imports_nothing_from_the_extras() -> None:
    """Only the demo (drift/demo.py and the jobs it runs) imports pandas or scikit-learn."""
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
