"""The Functions app driven in-process: its registered functions, a local runtime made of
them, and a config for one watched table. Shared by tests/functions, tests/reliability and
bench/ (which runs from a checkout)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from drift.runtime.runtime import Clock, LocalDurableRuntime

ACCOUNT, CONTAINER, TABLE_PATH = "acct", "data", "features/seat"
KEY = f"{ACCOUNT}/{CONTAINER}/{TABLE_PATH}"


@cache
def functions_by_name() -> dict[str, Any]:
    """The app's functions, built the way `app.get_functions()` builds them.

    `get_functions()` records every name it returns and raises on a second call in one
    process (the host indexes once), so tests and benchmarks build from the builders.
    """
    import function_app

    app = function_app.app
    functions = [builder.build(app.auth_level) for builder in app._function_builders]
    return {f.get_function_name(): f for f in functions}


def user_function(name: str) -> Callable[..., Any]:
    return functions_by_name()[name].get_user_function()


def app_runtime(
    clock: Clock,
    on_event: Callable[[str, dict], None] | None = None,
    max_episodes: int = 100_000,
) -> LocalDurableRuntime:
    """A runtime made of exactly what the app registers, looked up by trigger type."""
    orchestrators, entities, activities = {}, {}, {}
    for name, fn in functions_by_name().items():
        kind = fn.get_trigger().get_binding_name()
        user = fn.get_user_function()
        if kind == "orchestrationTrigger":
            orchestrators[name] = user.orchestrator_function
        elif kind == "entityTrigger":
            entities[name] = user.entity_function
        elif kind == "activityTrigger":
            activities[name] = user
    return LocalDurableRuntime(
        orchestrators,
        activities,
        clock=clock,
        entities=entities,
        max_episodes=max_episodes,
        on_event=on_event,
    )


def write_config(path: Path, table: Path, **params: Any) -> None:
    """A local-backend config watching `table` under the storage path events name."""
    path.write_text(
        yaml.safe_dump(
            {
                "backend": "local",
                "parameters": {
                    "storageAccountName": ACCOUNT,
                    "containerName": CONTAINER,
                    "containerDataPath": TABLE_PATH,
                    "dataAssets": [{"name": "training_data", "value": "features"}],
                    "refreshDelay": "10",
                    **params,
                },
                "local": {
                    "workdir": str(path.parent / "state"),
                    "tablePath": str(table),
                    "jobsDir": str(path.parent / "jobs"),
                },
            }
        )
    )
