"""The .vscode folder Azure Functions developers expect, as the Azure Functions extension
writes it for a Python v2 project (microsoft/vscode-azurefunctions,
src/commands/initProjectForVSCode/InitVSCodeStep/PythonInitVSCodeStep.ts, and
Azure-Samples/functions-quickstart-python-http-azd .vscode/settings.json): F5 runs
`func host start` after installing requirements.txt into the venv, then attaches debugpy."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VSCODE = ROOT / ".vscode"


def load(name: str) -> dict:
    return json.loads((VSCODE / name).read_text())


def test_extensions_recommend_functions_and_python() -> None:
    assert set(load("extensions.json")["recommendations"]) == {
        "ms-azuretools.vscode-azurefunctions",
        "ms-python.python",
    }


def test_f5_starts_the_host_then_attaches_the_debugger() -> None:
    (attach,) = load("launch.json")["configurations"]
    assert attach["type"] == "debugpy" and attach["request"] == "attach"
    assert attach["connect"] == {"host": "localhost", "port": 9091}  # the worker's debug port
    tasks = {t["label"]: t for t in load("tasks.json")["tasks"]}
    host = tasks[attach["preLaunchTask"]]
    assert (host["type"], host["command"]) == ("func", "host start")
    assert host["isBackground"] is True and host["problemMatcher"] == "$func-python-watch"
    install = tasks[host["dependsOn"]]
    for platform in ("linux", "osx", "windows"):
        command = install[platform]["command"]
        assert command.startswith("${config:azureFunctions.pythonVenv}")
        assert command.endswith("-m pip install -r requirements.txt")


def test_settings_describe_a_python_v2_project() -> None:
    settings = load("settings.json")
    assert settings["azureFunctions.projectLanguage"] == "Python"
    assert settings["azureFunctions.projectLanguageModel"] == 2
    assert settings["azureFunctions.projectRuntime"] == "~4"
    assert settings["azureFunctions.pythonVenv"] == ".venv"
    assert settings["azureFunctions.deploySubpath"] == "."
    # .vscode is editor configuration, not part of the deployed package.
    assert ".vscode" in (ROOT / ".funcignore").read_text().split()
