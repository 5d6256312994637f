"""The configs the app ships with load, so a deployed app indexes and starts."""

from pathlib import Path

from drift.wiring.watchlist import Watchlist

ROOT = Path(__file__).resolve().parents[3]


def test_the_app_default_config_folder_loads() -> None:
    watchlist = Watchlist.load(ROOT / "configs")
    assert list(watchlist) == ["examplelake/data/features/seat_spinning"]
    config = watchlist.configs["examplelake/data/features/seat_spinning"]
    assert config.backend == "azure"
    assert config.parameters.timing.wait_after_last_change_s == 60
