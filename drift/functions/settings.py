"""App settings the functions read, each once per worker process."""

from __future__ import annotations

import os
from functools import cache

from drift.bootstrap import AuthOptions
from drift.watchlist import Watchlist

CONFIG_SETTING = "DRIFT_CONFIG"
DEFAULT_CONFIG = "drift.yaml"


@cache
def watchlist() -> Watchlist:
    """`DRIFT_CONFIG`: a YAML file or a folder of them, relative to the app root."""
    return Watchlist.load(os.environ.get(CONFIG_SETTING) or DEFAULT_CONFIG, AuthOptions.from_env())
