"""App settings the functions read, each once per worker process."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the config's pydantic models load on the first invocation, not at indexing
    from drift.wiring.watchlist import Watchlist

CONFIG_SETTING = "DRIFT_CONFIG"
DEFAULT_CONFIG = "configs"


APP_ROOT = Path(__file__).resolve().parents[2]  # the folder holding function_app.py


@cache
def watchlist() -> Watchlist:
    """`DRIFT_CONFIG`: a YAML file or a folder of them, relative to the app root."""
    from drift.wiring.bootstrap import AuthOptions
    from drift.wiring.watchlist import Watchlist

    path = APP_ROOT / (os.environ.get(CONFIG_SETTING) or DEFAULT_CONFIG)  # absolute stays so
    return Watchlist.load(path, AuthOptions.from_env())
