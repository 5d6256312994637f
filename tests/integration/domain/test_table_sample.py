"""The policy against real Delta tables: versions written by delta-rs that differ in known ways,
read back with the bounded sampler and decided on."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from deltalake import DeltaTable, WriterProperties, write_deltalake

from drift.domain.policy import Decision, evaluate
from drift.domain.policy_config import PolicySettings
from drift.domain.table_sample import MIN_ROWS_PER_FILE, TableSnapshot, read_snapshot

N = 5_000
ON_DRIFT = {"trigger": "on_drift", "driftThreshold": 0.1}


def frame(
    n: int = N,
    seed: int = 1,
    mean: float = 100.0,
    segments: tuple[str, ...] = ("a", "b", "c"),
    null_prices: int = 0,
) -> pa.Table:
    rng = np.random.default_rng(seed)
    price = rng.normal(mean, 10, n).tolist()
    for i in range(null_prices):
        price[i] = None
    return pa.table(
        {
            "price": pa.array(price, pa.float64()),
            "qty": pa.array(rng.integers(1, 20, n), pa.int64()),
            "segment": pa.array(rng.choice(segments, n), pa.string()),
        }
    )


class Table:
    """A Delta table under tmp_path; `write` returns the version it committed."""

    def __init__(self, path: Path) -> None:
        self.uri = str(path)

    def write(self, data: pa.Table, mode: str = "append", **kwargs: object) -> int:
        write_deltalake(self.uri, data, mode=mode, **kwargs)
        return DeltaTable(self.uri).version()

    def snapshot(self, version: int, max_rows: int = 20_000, seed: int = 0) -> TableSnapshot:
        return read_snapshot(self.uri, version, max_rows, seed=seed)

    def decide(self, new: int, baseline: int | None, **policy: object) -> Decision:
        settings = PolicySettings.model_validate(policy)
        old = self.snapshot(baseline) if baseline is not None else None
        return evaluate(self.snapshot(new), old, settings)


@pytest.fixture
def table(tmp_path: Path) -> Table:
    return Table(tmp_path / "features")


# --- decisions on real versions ---------------------------------------------------------------


def test_an_append_of_the_same_distribution_is_skipped(table: Table) -> None:
    v0 = table.write(frame(seed=1))
    v1 = table.write(frame(seed=2))
    d = table.decide(v1, v0, **ON_DRIFT)
    assert d.action == "skip"
    assert d.reason.startswith("skip: no drift above 0.1 (largest ")
    assert d.drift[0].score < 0.01
    assert (d.new_rows, d.baseline_rows) == (2 * N, N)


def test_always_and_never(table: Table) -> None:
    v0 = table.write(frame(seed=1))
    v1 = table.write(frame(seed=2, mean=130))
    always = table.decide(v1, v0, trigger="always")
    assert (always.action, always.reason) == ("retrain", "retrain: trigger is always")
    never = table.decide(v1, v0, trigger="never")
    assert (never.action, never.reason) == ("skip", "skip: trigger is never (register only)")
    # The reference's behaviour when nothing is configured: retrain.
    assert table.decide(v1, v0).reason == "retrain: trigger is always"


def test_a_shifted_mean_retrains(table: Table) -> None:
    v0 = table.write(frame(seed=1))
    v1 = table.write(frame(seed=2, mean=110))  # half the new version moved by one sd
    d = table.decide(v1, v0, **ON_DRIFT)
    assert d.action == "retrain"
    top = d.drift[0]
    assert top.column == "price" and top.kind == "numeric"
    assert top.p_value < 0.01
    assert d.reason == f"retrain: drift {top.score:.2f} in price (>= 0.1)"


def test_a_new_category_retrains(table: Table) -> None:
    v0 = table.write(frame(seed=1))
    v1 = table.write(frame(seed=2, segments=("a", "b", "c", "d")))
    d = table.decide(v1, v0, **ON_DRIFT)
    assert d.action == "retrain"
    assert d.drift[0].column == "segment"
    assert "new categories: 'd'" in d.drift[0].note
    assert d.reason.startswith("retrain: drift ") and d.reason.endswith(" in segment (>= 0.1)")


def test_no_baseline_retrains(table: Table) -> None:
    v0 = table.write(frame())
    d = table.decide(v0, None, **ON_DRIFT)
    assert d.reason == "retrain: no baseline version to compare with"


def test_a_dropped_column_blocks(table: Table) -> None:
    v0 = table.write(frame(seed=1))
    v1 = table.write(frame(seed=2).drop_columns(["qty"]), mode="overwrite", schema_mode="overwrite")
    d = table.decide(v1, v0, **ON_DRIFT, validate={})
    assert d.action == "blocked"
    assert d.reason == "blocked: column qty dropped (was int64)"
    assert {x.column: x.kind for x in d.drift}["qty"] == "dropped"
    # Without validation the drift report still says so, and the other columns decide.
    d = table.decide(v1, v0, **ON_DRIFT)
    assert d.action == "skip"
    assert any(x.column == "qty" and x.kind == "dropped" for x in d.drift)


def test_a_type_change_blocks(table: Table) -> None:
    v0 = table.write(frame(seed=1))
    changed = frame(seed=2).set_column(1, "qty", pa.array(["1"] * N))
    v1 = table.write(changed, mode="overwrite", schema_mode="overwrite")
    d = table.decide(v1, v0, trigger="always", validate={"schema": "compatible"})
    assert d.failed_rules == ["column qty type changed int64 -> string"]


def test_a_null_explosion_blocks(table: Table) -> None:
    v0 = table.write(frame(seed=1))
    v1 = table.write(frame(seed=2, null_prices=2_000))
    policy = {**ON_DRIFT, "validate": {"maxNullFraction": 0.05}}
    d = table.decide(v1, v0, **policy)
    assert d.action == "blocked"
    assert d.reason == "blocked: null fraction of price 0.2 > 0.05"
    # `always` does not retrain on broken data either.
    assert table.decide(v1, v0, trigger="always", validate={"maxNullFraction": 0.05}).action == (
        "blocked"
    )
    # A looser limit for that column lets it through; drift itself ignores the nulls.
    loose = {
        **ON_DRIFT,
        "validate": {"maxNullFraction": 0.05, "columns": {"price": {"maxNullFraction": 0.25}}},
    }
    d = table.decide(v1, v0, **loose)
    assert d.action == "skip"


def test_row_count_rules(table: Table) -> None:
    v0 = table.write(frame(n=80))
    d = table.decide(v0, None, trigger="always", validate={"minRows": 100})
    assert d.reason == "blocked: rows 80 < minRows 100"
    v1 = table.write(frame(n=80, seed=2), mode="overwrite")  # same row count, new data
    d = table.decide(v1, v0, trigger="always", validate={"minRowChange": 1})
    assert d.reason == "blocked: row change 0 < minRowChange 1"
    v2 = table.write(frame(n=40, seed=3))
    d = table.decide(v2, v1, trigger="always", validate={"minRowChange": 1, "maxRows": 100})
    assert d.reason == "blocked: rows 120 > maxRows 100"
    d = table.decide(v2, v1, trigger="always", validate={"minRowChange": 40, "minRows": 100})
    assert d.action == "retrain"


def test_a_value_range_rule_blocks(table: Table) -> None:
    v0 = table.write(frame(seed=1))
    bad = frame(n=10, seed=2).set_column(0, "price", pa.array([1500.0] * 10))
    v1 = table.write(bad)
    policy = {**ON_DRIFT, "validate": {"columns": {"price": {"min": 0, "max": 1000}}}}
    d = table.decide(v1, v0, **policy)
    assert d.reason == "blocked: price max 1500 > 1000"


def test_the_threshold_is_inclusive_at_its_edge(table: Table) -> None:
    v0 = table.write(frame(seed=1))
    v1 = table.write(frame(seed=2, mean=104))
    score = table.decide(v1, v0, **ON_DRIFT).drift[0].score
    at = table.decide(v1, v0, trigger="on_drift", driftThreshold=score)
    assert at.action == "retrain"
    below = table.decide(v1, v0, trigger="on_drift", driftThreshold=math.nextafter(score, 1))
    assert below.action == "skip"
    assert below.reason.startswith(f"skip: no drift above {math.nextafter(score, 1):.6g}")


def test_a_group_that_already_trained_on_this_version_is_skipped(table: Table) -> None:
    v0 = table.write(frame())
    d = table.decide(v0, v0, **ON_DRIFT)
    assert d.action == "skip"
    assert d.drift[0].score == 0.0


# --- the sample -------------------------------------------------------------------------------


def test_the_row_count_comes_from_the_log(table: Table) -> None:
    table.write(frame(n=300, seed=1))
    v1 = table.write(frame(n=200, seed=2))
    snap = table.snapshot(v1, max_rows=0)
    assert (snap.rows, snap.rows_read, snap.files, snap.files_read) == (500, 0, 2, 0)
    assert snap.sample.schema == snap.schema
    assert snap.schema.names == ["price", "qty", "segment"]
    assert table.snapshot(0, max_rows=0).rows == 300
    assert snap.version == v1


def test_missing_statistics_fall_back_to_counting(table: Table, tmp_path: Path) -> None:
    v0 = table.write(frame(n=123))
    log = tmp_path / "features" / "_delta_log" / f"{v0:020d}.json"
    actions = [json.loads(line) for line in log.read_text().splitlines() if line]
    for action in actions:
        action.get("add", {}).pop("stats", None)
    log.write_text("\n".join(json.dumps(a) for a in actions) + "\n")
    assert table.snapshot(v0, max_rows=10).rows == 123


def test_a_small_table_is_read_whole(table: Table) -> None:
    v0 = table.write(frame(n=300))
    snap = table.snapshot(v0, max_rows=1_000)
    assert snap.rows_read == 300
    assert snap.sample.sort_by("price").equals(frame(n=300).sort_by("price"))


@pytest.fixture(scope="module")
def many_files(tmp_path_factory: pytest.TempPathFactory) -> Table:
    """50 files of 2,000 rows; only the newest holds a new category and out-of-range prices."""
    t = Table(tmp_path_factory.mktemp("many") / "features")
    for i in range(49):
        t.write(frame(n=2_000, seed=i))
    newest = frame(n=2_000, seed=99, segments=("NEW",))
    newest = newest.set_column(0, "price", pa.array([5_000.0] * 2_000))
    t.write(newest)
    return t


def test_the_sample_is_bounded_and_spread_over_every_file(many_files: Table) -> None:
    snap = many_files.snapshot(49, max_rows=5_000)
    assert snap.rows == 100_000
    assert snap.rows_read <= 5_000
    assert snap.rows_read == 5_000
    assert (snap.files, snap.files_read) == (50, 50)
    segments = snap.sample.column("segment").to_pylist()
    assert segments.count("NEW") == 100  # its proportional share: 2,000 of 100,000 rows
    d = evaluate(
        snap,
        many_files.snapshot(48, max_rows=5_000),
        PolicySettings.model_validate(
            {**ON_DRIFT, "validate": {"columns": {"price": {"max": 1000}}}}
        ),
    )
    assert d.reason == "blocked: price max 5000 > 1000"
    assert "new categories: 'NEW' (2.0%)" in {x.column: x for x in d.drift}["segment"].note


def test_a_tight_budget_still_reads_the_newest_file(many_files: Table) -> None:
    for seed in range(5):
        snap = many_files.snapshot(49, max_rows=500, seed=seed)
        assert snap.rows_read == 500
        assert snap.files_read == 500 // MIN_ROWS_PER_FILE
        assert "NEW" in snap.sample.column("segment").to_pylist()


def test_the_sample_is_deterministic_for_a_seed(many_files: Table) -> None:
    first = many_files.snapshot(49, max_rows=500, seed=7)
    again = many_files.snapshot(49, max_rows=500, seed=7)
    other = many_files.snapshot(49, max_rows=500, seed=8)
    assert first.sample.equals(again.sample)
    assert not first.sample.equals(other.sample)
    assert other.rows_read == 500


def test_a_budget_below_the_per_file_minimum_reads_one_file(many_files: Table) -> None:
    snap = many_files.snapshot(49, max_rows=7)
    assert (snap.rows_read, snap.files_read) == (7, 1)
    assert set(snap.sample.column("segment").to_pylist()) == {"NEW"}


def test_row_groups_share_a_files_quota(table: Table) -> None:
    big = frame(n=20_000)
    v0 = table.write(big, writer_properties=WriterProperties(max_row_group_size=4_000))
    snap = table.snapshot(v0, max_rows=1_000)
    assert snap.rows_read == 1_000
    # 200 rows from the start of each of the five row groups.
    prices = big.column("price").to_pylist()
    expected = [p for g in range(5) for p in prices[g * 4_000 : g * 4_000 + 200]]
    assert snap.sample.column("price").to_pylist() == expected


def test_partition_columns_are_in_the_sample(table: Table) -> None:
    v0 = table.write(frame(n=3_000), partition_by=["segment"])
    snap = table.snapshot(v0, max_rows=300)
    assert snap.rows == 3_000 and snap.rows_read == 300 and snap.files == 3
    assert set(snap.sample.column("segment").to_pylist()) == {"a", "b", "c"}
    assert snap.sample.column("segment").null_count == 0


def test_columns_added_later_read_as_null_in_old_files(table: Table) -> None:
    table.write(frame(n=100, seed=1))
    more = frame(n=100, seed=2).append_column("extra", pa.array([1.5] * 100))
    v1 = table.write(more, schema_mode="merge")
    snap = table.snapshot(v1, max_rows=1_000)
    assert snap.schema.names == ["price", "qty", "segment", "extra"]
    assert snap.sample.column("extra").null_count == 100
    d = evaluate(snap, table.snapshot(0), PolicySettings.model_validate({"validate": {}}))
    assert d.action == "retrain"  # an added column is a compatible change
