"""Per-column drift: PSI and KS for numbers, PSI and chi-squared for categories."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pytest

from drift.domain.drift_stats import TOP_CATEGORIES, ColumnDrift, compare, psi

N = 5_000


def normal(mean: float = 0.0, sd: float = 1.0, n: int = N, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, sd, n)


def pick(values: list[str], n: int = N, seed: int = 1, p: list[float] | None = None) -> list:
    return list(np.random.default_rng(seed).choice(values, n, p=p))


def by_column(drifts: list[ColumnDrift]) -> dict[str, ColumnDrift]:
    return {d.column: d for d in drifts}


def test_identical_samples_do_not_drift() -> None:
    table = pa.table({"x": normal(), "c": pick(["a", "b", "c"])})
    drift = by_column(compare(table, table))
    assert drift["x"].kind == "numeric"
    assert drift["x"].psi == pytest.approx(0.0, abs=1e-12)
    assert drift["x"].ks == pytest.approx(0.0, abs=1e-12)
    assert drift["x"].p_value == pytest.approx(1.0)
    assert drift["c"].kind == "categorical"
    assert drift["c"].psi == pytest.approx(0.0, abs=1e-12)
    assert drift["c"].p_value == pytest.approx(1.0)
    assert all(d.score == d.psi for d in drift.values())


def test_two_samples_of_one_distribution_stay_well_below_the_threshold() -> None:
    old = pa.table({"x": normal(seed=1), "c": pick(["a", "b", "c"], seed=1)})
    new = pa.table({"x": normal(seed=2), "c": pick(["a", "b", "c"], seed=2)})
    drift = by_column(compare(old, new))
    assert drift["x"].psi < 0.02
    assert drift["x"].p_value > 0.01
    assert drift["c"].psi < 0.01


def test_a_one_sd_mean_shift_is_drift() -> None:
    old = pa.table({"x": normal(100, 10, seed=1)})
    new = pa.table({"x": normal(110, 10, seed=2)})
    (x,) = compare(old, new)
    assert x.psi > 0.1
    assert x.ks > 0.3
    assert x.p_value < 0.01
    assert x.score == x.psi
    assert "+1.0" in x.note and "sd" in x.note


def test_psi_uses_baseline_deciles_and_an_epsilon_for_empty_bins() -> None:
    # Half the new values fall above every baseline value: one bin gets 0.5 + 0.05.
    old = np.arange(1000.0)
    new = np.concatenate([np.arange(0.0, 1000.0, 2.0), np.full(500, 5000.0)])
    (x,) = compare(pa.table({"x": old}), pa.table({"x": new}))
    shares_old = np.full(10, 0.1)
    shares_new = np.full(10, 0.05)
    shares_new[-1] = 0.55
    expected = float(np.sum((shares_new - shares_old) * np.log(shares_new / shares_old)))
    assert x.psi == pytest.approx(expected, rel=1e-3)
    # An empty bin counts as 1e-4, not zero: finite, large.
    assert psi(np.array([50, 50]), np.array([100, 0])) == pytest.approx(
        (1 - 0.5) * np.log(1 / 0.5) + (1e-4 - 0.5) * np.log(1e-4 / 0.5)
    )


def test_a_constant_baseline_still_sees_a_move() -> None:
    old = pa.table({"x": [5] * 500})
    new = pa.table({"x": [5] * 250 + [6] * 250})
    (x,) = compare(old, new)
    assert x.psi > 1.0


def test_a_new_category_counts_with_its_full_share() -> None:
    old = pa.table({"c": pick(["a", "b", "c"], seed=1)})
    new = pa.table({"c": pick(["a", "b", "c", "d"], seed=2, p=[0.2, 0.2, 0.2, 0.4])})
    (c,) = compare(old, new)
    assert c.kind == "categorical"
    assert c.psi > 1.0
    assert c.p_value < 0.01
    assert c.ks is None
    assert "new categories: 'd'" in c.note


def test_a_small_new_category_is_named_even_below_the_threshold() -> None:
    old = pa.table({"c": ["a", "b"] * 2_500})
    new = pa.table({"c": ["a", "b"] * 2_495 + ["NEW"] * 10})
    (c,) = compare(old, new)
    assert "'NEW' (0.2%)" in c.note
    assert 0 < c.psi < 0.1


def test_a_vanished_category_is_reported() -> None:
    old = pa.table({"c": ["a", "b", "c"] * 100})
    new = pa.table({"c": ["a", "b"] * 150})
    (c,) = compare(old, new)
    assert "categories gone: 'c'" in c.note
    assert c.psi > 0.1


def test_booleans_and_dictionaries_are_categorical() -> None:
    old = pa.table(
        {"b": [True] * 90 + [False] * 10, "d": pa.array(["x"] * 100).dictionary_encode()}
    )
    new = pa.table(
        {"b": [True] * 50 + [False] * 50, "d": pa.array(["y"] * 100).dictionary_encode()}
    )
    drift = by_column(compare(old, new))
    assert drift["b"].kind == "categorical" and drift["b"].psi > 0.1
    assert drift["d"].kind == "categorical" and "new categories: 'y'" in drift["d"].note


def test_high_cardinality_columns_do_not_drift_just_for_being_unique() -> None:
    old = pa.table({"id": [f"id-{i}" for i in range(2_000)]})
    new = pa.table({"id": [f"id-{i}" for i in range(2_000, 4_000)]})
    (ids,) = compare(old, new)
    assert ids.psi < 0.05
    assert "compared as (other)" in ids.note
    # ... but a value that becomes common still shows up among the top categories.
    new = pa.table({"id": [f"id-{i}" for i in range(2_000, 3_000)] + ["dup"] * 1_000})
    (ids,) = compare(old, new)
    assert ids.psi > 1.0
    assert "'dup'" in ids.note
    assert TOP_CATEGORIES == 20


def test_nulls_and_nan_are_left_out() -> None:
    old = pa.table({"x": [1.0, 2.0, 3.0, 4.0] * 100, "c": ["a", "b"] * 200})
    new = pa.table(
        {
            "x": [1.0, 2.0, 3.0, 4.0] * 100 + [None] * 300 + [float("nan")] * 10,
            "c": ["a", "b"] * 200 + [None] * 310,
        }
    )
    drift = by_column(compare(old, new))
    assert drift["x"].psi == pytest.approx(0.0, abs=1e-12)
    assert drift["c"].psi == pytest.approx(0.0, abs=1e-12)


def test_added_and_dropped_columns_are_reported() -> None:
    old = pa.table({"keep": [1, 2, 3], "gone": [1.0, 2.0, 3.0]})
    new = pa.table({"keep": [1, 2, 3], "fresh": ["a", "b", "c"]})
    drift = by_column(compare(old, new))
    assert drift["gone"].kind == "dropped" and drift["gone"].note == "was double"
    assert drift["fresh"].kind == "added" and drift["fresh"].note == "new string"
    assert drift["gone"].score == 0.0 and drift["gone"].psi is None


def test_a_column_that_changed_kind_is_not_compared() -> None:
    (qty,) = compare(pa.table({"qty": [1, 2, 3]}), pa.table({"qty": ["1", "2", "3"]}))
    assert qty.kind == "type_changed"
    assert qty.note == "type changed int64 -> string; not compared"


def test_widened_numbers_and_dates_compare_as_numbers() -> None:
    old = pa.table(
        {
            "n": pa.array(range(100), pa.int32()),
            "d": [date(2024, 1, 1) + timedelta(i) for i in range(100)],
        }
    )
    new = pa.table(
        {
            "n": pa.array(range(100), pa.float64()),
            "d": [date(2025, 1, 1) + timedelta(i) for i in range(100)],
        }
    )
    drift = by_column(compare(old, new))
    assert drift["n"].kind == "numeric" and drift["n"].psi == pytest.approx(0.0, abs=1e-12)
    assert drift["d"].kind == "numeric" and drift["d"].psi > 1.0


def test_an_empty_side_is_noted_not_scored() -> None:
    (x,) = compare(
        pa.table({"x": [1.0, 2.0]}), pa.table({"x": pa.array([None, None], pa.float64())})
    )
    assert x.score == 0.0 and x.psi is None
    assert x.note == "no values in the new sample; not compared"


def test_results_are_sorted_by_score_and_json_safe() -> None:
    old = pa.table({"a": normal(seed=1), "b": normal(seed=2), "c": pick(["x", "y"], seed=3)})
    new = pa.table({"a": normal(seed=4), "b": normal(3, seed=5), "c": pick(["x", "z"], seed=6)})
    drifts = compare(old, new)
    scores = [d.score for d in drifts]
    assert scores == sorted(scores, reverse=True)
    assert drifts[0].column in ("b", "c")
    data = json.loads(json.dumps([d.to_dict() for d in drifts]))
    assert set(data[0]) == {"column", "kind", "psi", "ks", "p_value", "score", "note"}
