"""Registration against a real Delta table, the SQLite registry and real MLTable files."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import mltable
import pytest

from drift.backends.local_commits import LocalCommits
from drift.backends.local_registry import LocalRegistry
from drift.domain.config import Parameters
from drift.domain.delta_log import decide
from drift.domain.registration import (
    TAG_COMMIT_TIME,
    TAG_DELTA_VERSION,
    TAG_OPERATION,
    TAG_TABLE,
    CommitNotFound,
    RegistrationConflict,
    asset_version,
    latest_data_version,
    read_summary,
    register,
)
from drift.domain.types import DataAssetVersion, PermanentError

ASSET = "seat_spinning_features"
FOLDER = "seat_spinning_features_folder"
JAN_1_8AM_MS = 1767254400123  # 2026-01-01T08:00:00.123Z


@pytest.fixture
def params() -> Parameters:
    return Parameters.model_validate({"dataAssets": [{"name": "training_data", "value": ASSET}]})


@pytest.fixture
def registry(tmp_path: Path) -> LocalRegistry:
    return LocalRegistry(tmp_path / "state")


@pytest.fixture
def store() -> LocalCommits:
    return LocalCommits()


def registered(store, registry, params, delta_table, version: int):
    table = str(delta_table.path)
    return register(store, registry, params, table, read_summary(store, table, version))


def rows_per_asset(registry: LocalRegistry) -> dict[str, int]:
    with sqlite3.connect(registry.db_path) as db:
        return dict(db.execute("SELECT name, COUNT(*) FROM data_assets GROUP BY name"))


def expected_stamp(commit_ms: int, version: int) -> str:
    committed = datetime.fromtimestamp(commit_ms / 1000, tz=UTC)
    return committed.strftime("%Y%m%d%H%M%S") + f"-v{version}"


# -- the version string -----------------------------------------------------------------------


def test_asset_version_is_the_commit_time_stamp_and_delta_version(delta_table, store) -> None:
    delta_table.write(3)
    delta_table.write(2)
    commit_ms = delta_table.commit_info(1)["timestamp"]

    summary = read_summary(store, str(delta_table.path), 1)

    assert asset_version(summary) == expected_stamp(commit_ms, 1)


def test_asset_version_of_a_known_commit_time(delta_table, store) -> None:
    delta_table.write(3)
    delta_table.write(2)
    delta_table.set_commit_info(1, timestamp=JAN_1_8AM_MS)

    assert asset_version(read_summary(store, str(delta_table.path), 1)) == "20260101080000-v1"


def test_two_commits_in_the_same_second_get_different_versions(delta_table, store) -> None:
    delta_table.write(3)
    delta_table.write(2)
    delta_table.set_commit_info(0, timestamp=JAN_1_8AM_MS - 123)  # 08:00:00.000
    delta_table.set_commit_info(1, timestamp=JAN_1_8AM_MS + 876)  # 08:00:00.999

    versions = [asset_version(read_summary(store, str(delta_table.path), v)) for v in (0, 1)]

    assert versions == ["20260101080000-v0", "20260101080000-v1"]


# -- register -------------------------------------------------------------------------------------


def test_register_creates_both_assets_with_tags(delta_table, store, registry, params) -> None:
    delta_table.write(3)
    delta_table.write(2)
    delta_table.set_commit_info(1, timestamp=JAN_1_8AM_MS)
    table_uri = str(delta_table.path.resolve())

    reg = registered(store, registry, params, delta_table, 1)

    assert (reg.table, reg.delta_version, reg.asset_version) == (
        str(delta_table.path),
        1,
        "20260101080000-v1",
    )
    assert reg.created is True
    tags = {
        TAG_TABLE: table_uri,
        TAG_DELTA_VERSION: "1",
        TAG_OPERATION: "WRITE",
        TAG_COMMIT_TIME: "2026-01-01T08:00:00.123000Z",
    }
    assert (reg.mltable.name, reg.mltable.version, reg.mltable.type) == (
        ASSET,
        "20260101080000-v1",
        "mltable",
    )
    assert reg.mltable.tags == tags
    assert reg.uri_folder == DataAssetVersion(
        FOLDER, "20260101080000-v1", "uri_folder", table_uri, tags
    )
    assert registry.get_data(ASSET, "20260101080000-v1") == reg.mltable
    assert registry.get_data(FOLDER, "20260101080000-v1") == reg.uri_folder


def test_commit_time_tag_is_the_real_commit_time_in_utc(
    delta_table, store, registry, params
) -> None:
    delta_table.write(3)
    commit_ms = delta_table.commit_info(0)["timestamp"]

    reg = registered(store, registry, params, delta_table, 0)

    commit_time = reg.mltable.tags[TAG_COMMIT_TIME]
    assert commit_time.endswith("Z")
    parsed = datetime.fromisoformat(commit_time.replace("Z", "+00:00"))
    assert round(parsed.timestamp() * 1000) == commit_ms
    assert reg.asset_version == expected_stamp(commit_ms, 0)


def test_the_mltable_is_pinned_to_its_delta_version(delta_table, store, registry, params) -> None:
    delta_table.write(5, mode="overwrite")
    delta_table.write(2)
    reg = registered(store, registry, params, delta_table, 1)
    delta_table.write(4)
    delta_table.write(1, mode="overwrite")
    assert len(delta_table.table().to_pandas()) == 1

    frame = mltable.load(reg.mltable.path).to_pandas_dataframe()

    assert len(frame) == 7
    assert sorted(frame["id"]) == list(range(7))
    definition = (Path(reg.mltable.path) / "MLTable").read_text()
    assert "version_as_of: 1" in definition


def test_registering_an_older_version_pins_that_version(
    delta_table, store, registry, params
) -> None:
    delta_table.write(5)
    delta_table.write(2)
    delta_table.write(2)

    reg = registered(store, registry, params, delta_table, 0)

    assert len(mltable.load(reg.mltable.path).to_pandas_dataframe()) == 5


def test_each_data_version_gets_its_own_asset_version(delta_table, store, registry, params) -> None:
    delta_table.write(3)
    delta_table.write(3)
    delta_table.set_commit_info(0, timestamp=JAN_1_8AM_MS)
    delta_table.set_commit_info(1, timestamp=JAN_1_8AM_MS + 400)

    first = registered(store, registry, params, delta_table, 0)
    second = registered(store, registry, params, delta_table, 1)

    assert (first.asset_version, second.asset_version) == ("20260101080000-v0", "20260101080000-v1")
    assert first.mltable.path != second.mltable.path
    assert rows_per_asset(registry) == {ASSET: 2, FOLDER: 2}
    lengths = [len(mltable.load(r.mltable.path).to_pandas_dataframe()) for r in (first, second)]
    assert lengths == [3, 6]


def test_registering_twice_is_idempotent(delta_table, store, registry, params) -> None:
    delta_table.write(3)
    first = registered(store, registry, params, delta_table, 0)

    again = registered(store, registry, params, delta_table, 0)

    assert first.created is True
    assert again.created is False
    assert again.asset_version == first.asset_version
    assert (again.mltable, again.uri_folder) == (first.mltable, first.uri_folder)
    assert rows_per_asset(registry) == {ASSET: 1, FOLDER: 1}


def test_registering_twice_with_a_fresh_registry_object(
    delta_table, store, tmp_path, params
) -> None:
    delta_table.write(3)
    first = registered(store, LocalRegistry(tmp_path / "state"), params, delta_table, 0)
    reopened = LocalRegistry(tmp_path / "state")

    again = registered(store, reopened, params, delta_table, 0)

    assert again.created is False
    assert again.mltable == first.mltable
    assert rows_per_asset(reopened) == {ASSET: 1, FOLDER: 1}


def test_missing_uri_folder_is_completed_on_a_retry(delta_table, store, registry, params) -> None:
    """A crash between the two creates: the retry registers the second asset only."""
    delta_table.write(3)
    reg = registered(store, registry, params, delta_table, 0)
    with sqlite3.connect(registry.db_path) as db:
        db.execute("DELETE FROM data_assets WHERE name = ?", (FOLDER,))

    again = registered(store, registry, params, delta_table, 0)

    assert again.created is True
    assert again.mltable == reg.mltable
    assert again.uri_folder == reg.uri_folder
    assert rows_per_asset(registry) == {ASSET: 1, FOLDER: 1}


def test_conflict_with_another_tables_asset_version(
    delta_table, make_delta_table, store, registry, params
) -> None:
    delta_table.write(3)
    delta_table.set_commit_info(0, timestamp=JAN_1_8AM_MS)
    other = make_delta_table("other_table")
    other.write(4)
    other.set_commit_info(0, timestamp=JAN_1_8AM_MS + 500)  # same second, same version 0
    first = registered(store, registry, params, delta_table, 0)

    with pytest.raises(RegistrationConflict) as excinfo:
        registered(store, registry, params, other, 0)

    message = str(excinfo.value)
    assert f"{ASSET}:20260101080000-v0" in message
    assert str(delta_table.path.resolve()) in message
    assert str(other.path.resolve()) in message
    assert registry.get_data(ASSET, "20260101080000-v0") == first.mltable
    assert registry.get_data(FOLDER, "20260101080000-v0") == first.uri_folder


def test_conflict_with_a_different_delta_version_tag(delta_table, store, registry, params) -> None:
    delta_table.write(3)
    delta_table.set_commit_info(0, timestamp=JAN_1_8AM_MS)
    uri = str(delta_table.path.resolve())
    squatter = DataAssetVersion(
        FOLDER, "20260101080000-v0", "uri_folder", uri, {TAG_TABLE: uri, TAG_DELTA_VERSION: "99"}
    )
    registry.create_uri_folder(squatter)

    with pytest.raises(RegistrationConflict, match="version '99'"):
        registered(store, registry, params, delta_table, 0)

    assert registry.get_data(FOLDER, "20260101080000-v0") == squatter


def test_a_non_data_change_commit_is_not_registered(delta_table, store, registry, params) -> None:
    for _ in range(3):
        delta_table.write(2)
    delta_table.table().optimize.compact()
    version = delta_table.version()

    with pytest.raises(PermanentError, match=rf"version {version}: OPTIMIZE .*dataChange=false"):
        registered(store, registry, params, delta_table, version)

    assert rows_per_asset(registry) == {}


def test_a_metadata_only_commit_is_not_registered(delta_table, store, registry, params) -> None:
    delta_table.write(2)
    delta_table.table().alter.set_table_properties({"delta.appendOnly": "false"})

    with pytest.raises(PermanentError, match=r"\(metadata only\); nothing to register$"):
        registered(store, registry, params, delta_table, 1)

    assert rows_per_asset(registry) == {}


def test_uses_the_configured_asset_names(delta_table, store, registry) -> None:
    params = Parameters.model_validate(
        {
            "dataAssets": [{"name": "training_data", "value": "features"}],
            "mltableAssetName": "features",
            "uriFolderAssetName": "features_raw",
        }
    )
    delta_table.write(3)

    reg = registered(store, registry, params, delta_table, 0)

    assert (reg.mltable.name, reg.uri_folder.name) == ("features", "features_raw")
    assert rows_per_asset(registry) == {"features": 1, "features_raw": 1}


def test_reading_a_missing_commit_names_it(delta_table, store) -> None:
    delta_table.write(3)
    source = f"{delta_table.path}/_delta_log/00000000000000000001.json"

    with pytest.raises(CommitNotFound, match=f"^{re.escape(source)}: commit file not found$"):
        read_summary(store, str(delta_table.path), 1)


# -- latest_data_version ----------------------------------------------------------------------


def test_latest_data_version_is_the_newest_commit_when_it_changed_data(delta_table, store) -> None:
    delta_table.write(3)
    delta_table.write(3)

    summary = latest_data_version(store, str(delta_table.path))

    assert summary is not None
    assert (summary.version, summary.operation, summary.data_change) == (1, "WRITE", True)


def test_latest_data_version_walks_back_past_quiet_commits(delta_table, store) -> None:
    delta_table.write(3, mode="overwrite")
    for _ in range(3):
        last_append = delta_table.write(2)
    delta_table.table().optimize.compact()
    delta_table.table().alter.set_table_properties({"delta.appendOnly": "false"})
    delta_table.table().optimize.z_order(["id"])
    assert delta_table.version() == last_append + 3

    summary = latest_data_version(store, str(delta_table.path))

    assert summary is not None
    assert summary.version == last_append
    assert summary.data_change is True
    assert decide(summary).action == "register"


def test_latest_data_version_after_a_delete(delta_table, store) -> None:
    delta_table.write(5)
    delta_table.table().delete("id = 0")
    delta_table.table().alter.set_table_properties({"delta.appendOnly": "false"})

    summary = latest_data_version(store, str(delta_table.path))

    assert summary is not None
    assert (summary.version, summary.operation) == (1, "DELETE")


def test_latest_data_version_of_a_missing_table(tmp_path, store) -> None:
    assert latest_data_version(store, str(tmp_path / "nowhere")) is None


def test_latest_data_version_of_an_empty_folder(delta_table, store) -> None:
    delta_table.path.mkdir()
    assert latest_data_version(store, str(delta_table.path)) is None
    delta_table.log_dir.mkdir()
    (delta_table.log_dir / "_last_checkpoint").write_text("{}")
    assert latest_data_version(store, str(delta_table.path)) is None


def test_latest_data_version_of_a_table_without_rows(delta_table, store) -> None:
    delta_table.write(0, mode="overwrite")

    summary = latest_data_version(store, str(delta_table.path))

    assert summary is None or decide(summary).action == "skip"


def test_local_commits_resolve_relative_tables_against_root(delta_table, tmp_path) -> None:
    delta_table.write(3)
    delta_table.write(3)
    store = LocalCommits(root=tmp_path)

    assert store.latest_version("table") == 1
    assert store.read_commit("table", 1) == delta_table.raw(1)
    assert store.table_uri("table") == str(delta_table.path.resolve())
    with pytest.raises(FileNotFoundError):
        store.read_commit("table", 2)


# -- immutability under a race ------------------------------------------------------------------


class RacingRegistry:
    """A LocalRegistry whose first lookup of each asset misses: another registration of the
    same asset version commits between this one's check and its create."""

    def __init__(self, inner: LocalRegistry) -> None:
        self.inner = inner
        self.seen: set[tuple[str, str]] = set()

    def get_data(self, name: str, version: str) -> DataAssetVersion | None:
        if (name, version) not in self.seen:
            self.seen.add((name, version))
            return None
        return self.inner.get_data(name, version)

    def create_mltable(self, asset, table):
        return self.inner.create_mltable(asset, table)

    def create_uri_folder(self, asset):
        return self.inner.create_uri_folder(asset)


def two_tables_in_one_second(delta_table, make_delta_table):
    delta_table.write(3)
    delta_table.set_commit_info(0, timestamp=JAN_1_8AM_MS)
    other = make_delta_table("other_table")
    other.write(4)
    other.set_commit_info(0, timestamp=JAN_1_8AM_MS + 500)
    return other


def test_same_commit_registered_concurrently_is_harmless(
    delta_table, store, registry, params
) -> None:
    delta_table.write(3)
    first = registered(store, registry, params, delta_table, 0)

    again = registered(store, RacingRegistry(registry), params, delta_table, 0)

    assert (again.mltable, again.uri_folder) == (first.mltable, first.uri_folder)
    assert len(mltable.load(first.mltable.path).to_pandas_dataframe()) == 3
    assert rows_per_asset(registry) == {ASSET: 1, FOLDER: 1}


def test_creating_an_existing_mltable_version_keeps_the_first_definition(
    delta_table, make_delta_table, store, registry, params
) -> None:
    other = two_tables_in_one_second(delta_table, make_delta_table)
    first = registered(store, registry, params, delta_table, 0)

    kept = registry.create_mltable(
        DataAssetVersion(ASSET, first.asset_version, "mltable", str(other.path), {}),
        mltable.from_delta_lake(str(other.path.resolve()), version_as_of=0),
    )

    assert kept == first.mltable
    assert len(mltable.load(first.mltable.path).to_pandas_dataframe()) == 3


def test_a_lost_create_race_with_another_table_is_a_conflict(
    delta_table, make_delta_table, store, registry, params
) -> None:
    other = two_tables_in_one_second(delta_table, make_delta_table)
    registered(store, registry, params, delta_table, 0)

    with pytest.raises(RegistrationConflict):
        registered(store, RacingRegistry(registry), params, other, 0)


def test_a_crash_between_folder_and_row_is_repaired_by_the_next_attempt(
    tmp_path: Path,
) -> None:
    import pandas as pd
    from deltalake import write_deltalake

    registry = LocalRegistry(tmp_path / "state")
    leftover = registry.assets_dir / "features" / "20260101000000-v1"
    leftover.mkdir(parents=True)
    (leftover / "MLTable").write_text("paths: [{folder: /somewhere/else}]\n")  # crashed write
    table = tmp_path / "t"
    write_deltalake(table, pd.DataFrame({"x": [1, 2, 3]}))
    asset = DataAssetVersion("features", "20260101000000-v1", "mltable", str(table), {"k": "v"})
    stored = registry.create_mltable(asset, mltable.from_delta_lake(str(table), version_as_of=0))
    assert len(mltable.load(stored.path).to_pandas_dataframe()) == 3
    assert "/somewhere/else" not in (leftover / "MLTable").read_text()


def test_a_staging_folder_left_by_a_killed_writer_is_removed(tmp_path: Path) -> None:
    import pandas as pd
    from deltalake import write_deltalake

    registry = LocalRegistry(tmp_path / "state")
    version = "20260101000000-v1"
    stale = registry.assets_dir / "features" / f".{version}.0123456789abcdef"
    stale.mkdir(parents=True)
    (stale / "MLTable").write_text("paths: []\n")  # what a kill during `save` leaves
    table = tmp_path / "t"
    write_deltalake(table, pd.DataFrame({"x": [1, 2, 3]}))
    asset = DataAssetVersion("features", version, "mltable", str(table), {})

    stored = registry.create_mltable(asset, mltable.from_delta_lake(str(table), version_as_of=0))

    assert sorted(p.name for p in (registry.assets_dir / "features").iterdir()) == [version]
    assert stored.created is True
    assert len(mltable.load(stored.path).to_pandas_dataframe()) == 3


def test_only_the_run_that_wrote_the_version_says_newly_registered(
    delta_table, store, registry, params
) -> None:
    delta_table.write(3)
    first = registered(store, registry, params, delta_table, 0)

    # Another run checked before the first one wrote, then found the rows written.
    again = registered(store, RacingRegistry(registry), params, delta_table, 0)

    assert first.created is True and again.created is False


def test_concurrent_registrations_of_one_version_create_it_once(
    delta_table, store, params, tmp_path: Path
) -> None:
    import threading

    delta_table.write(3)
    table = str(delta_table.path)
    summary = read_summary(store, table, 0)
    start = threading.Barrier(4)
    created: list[bool] = []

    def run() -> None:
        registry = LocalRegistry(tmp_path / "state")  # one per "process"
        start.wait()
        created.append(register(store, registry, params, table, summary).created)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(created) == [False, False, False, True]
    assert rows_per_asset(LocalRegistry(tmp_path / "state")) == {ASSET: 1, FOLDER: 1}
    assert not list((tmp_path / "state" / "assets" / ASSET).glob(".*"))
