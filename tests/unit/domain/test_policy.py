"""The retraining policy: its YAML settings, the deep merge per group, and the decision rules."""

from __future__ import annotations

import json
import math
import textwrap

import numpy as np
import pyarrow as pa
import pytest
import yaml
from pydantic import ValidationError

from drift.domain.config import _format_error
from drift.domain.policy import Decision, evaluate, schema_problems, widens
from drift.domain.policy_config import Policies, PolicySettings
from drift.domain.table_sample import TableSnapshot

EXAMPLE = """\
policy:
  trigger: on_drift
  driftThreshold: 0.1
  sampleRows: 10000
  validate:
    minRows: 100
    maxRows: 10000000
    minRowChange: 1
    maxNullFraction: 0.05
    schema: compatible
    columns:
      price: {maxNullFraction: 0.2, min: 0, max: 1000}
groups:
  churn: {trigger: always}
  upsell: {driftThreshold: 0.25, validate: {minRows: 500}}
  pricing: {validate: {columns: {price: {max: 2000}}}}
  sloppy: {validate: {maxNullFraction: null, columns: {qty: {maxNullFraction: 0.5}}}}
  trusting: {validate: null}
"""


def policies(text: str = EXAMPLE) -> Policies:
    return Policies.model_validate(yaml.safe_load(textwrap.dedent(text)))


def settings(**values: object) -> PolicySettings:
    return PolicySettings.model_validate(values)


def errors(data: object) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        Policies.model_validate(data)
    return _format_error("drift.yaml", caught.value).splitlines()


# --- settings ---------------------------------------------------------------------------------


def test_defaults_are_the_reference_behaviour() -> None:
    empty = Policies.model_validate({})
    assert empty.for_group("anything") == PolicySettings()
    assert PolicySettings().trigger == "always"
    assert PolicySettings().drift_threshold == 0.1
    assert PolicySettings().sample_rows == 10_000
    assert PolicySettings().validation is None
    assert not PolicySettings().reads_data


def test_the_documented_example_loads() -> None:
    base = policies().policy
    assert base.trigger == "on_drift"
    rules = base.validation
    assert rules is not None
    assert (rules.min_rows, rules.max_rows, rules.min_row_change) == (100, 10_000_000, 1)
    assert rules.schema_mode == "compatible"
    assert rules.columns["price"].max_value == 1000
    assert rules.null_limit("price") == 0.2
    assert rules.null_limit("qty") == 0.05
    assert base.needs_baseline and base.reads_data


def test_a_group_override_replaces_only_what_it_names() -> None:
    p = policies()
    churn = p.for_group("churn")
    assert churn.trigger == "always"
    assert churn.drift_threshold == 0.1
    assert churn.validation == p.policy.validation

    upsell = p.for_group("upsell")
    assert upsell.trigger == "on_drift"
    assert upsell.drift_threshold == 0.25
    assert upsell.validation is not None
    assert upsell.validation.min_rows == 500
    assert upsell.validation.max_rows == 10_000_000
    assert upsell.validation.max_null_fraction == 0.05
    assert upsell.validation.columns["price"].max_value == 1000


def test_a_nested_column_override_keeps_the_columns_other_rules() -> None:
    price = policies().for_group("pricing").validation.columns["price"]
    assert (price.max_value, price.min_value, price.max_null_fraction) == (2000, 0, 0.2)
    assert policies().for_group("pricing").validation.null_limit("price") == 0.2


def test_null_removes_a_default() -> None:
    p = policies()
    sloppy = p.for_group("sloppy").validation
    assert sloppy.max_null_fraction is None
    assert sloppy.null_limit("other") is None
    assert sloppy.null_limit("qty") == 0.5
    assert sloppy.null_limit("price") == 0.2
    assert p.for_group("trusting").validation is None
    assert p.for_group("trusting").trigger == "on_drift"


def test_a_column_that_sets_no_null_limit_inherits_the_table_wide_one_after_a_merge() -> None:
    p = policies(
        """\
        policy: {validate: {maxNullFraction: 0.05, columns: {price: {max: 10}}}}
        groups: {g: {validate: {columns: {price: {min: 1}}}}}
        """
    )
    assert p.for_group("g").validation.null_limit("price") == 0.05


def test_python_names_are_accepted_too() -> None:
    s = PolicySettings(trigger="on_drift", drift_threshold=0.3)
    assert s.drift_threshold == 0.3
    with pytest.raises(ValidationError):
        s.__setattr__("trigger", "never")  # frozen


def test_errors_name_the_key() -> None:
    lines = errors(
        {
            "policy": {"trigger": "sometimes", "validate": {"maxNull": 0.1}},
            "groups": {"upsell": {"validate": {"minRows": -1, "maxNullFraction": 1.5}}},
        }
    )
    assert lines == [
        "drift.yaml: policy.trigger: Input should be 'always', 'on_drift' or 'never'",
        "drift.yaml: policy.validate.maxNull: unknown key",
        "drift.yaml: groups.upsell.validate.minRows: Input should be greater than or equal to 0",
        "drift.yaml: groups.upsell.validate.maxNullFraction: "
        "Input should be less than or equal to 1",
    ]


def test_crossed_limits_name_the_key() -> None:
    assert errors({"policy": {"validate": {"minRows": 10, "maxRows": 5}}}) == [
        "drift.yaml: policy.validate.maxRows: 5 is below minRows 10"
    ]
    assert errors({"groups": {"g": {"validate": {"columns": {"p": {"min": 3, "max": 1}}}}}}) == [
        "drift.yaml: groups.g.validate.columns.p.max: 1 is below min 3"
    ]


def test_unknown_keys_are_errors_at_every_level() -> None:
    assert errors({"policy": {"treshold": 1}}) == ["drift.yaml: policy.treshold: unknown key"]
    assert errors({"groups": {"g": {"validate": {"schema": "loose"}}}}) == [
        "drift.yaml: groups.g.validate.schema: Input should be 'compatible', 'strict' or 'off'"
    ]
    assert errors({"polcy": {}}) == ["drift.yaml: polcy: unknown key"]


# --- decisions --------------------------------------------------------------------------------


def snapshot(table: pa.Table, rows: int | None = None) -> TableSnapshot:
    return TableSnapshot(
        rows=table.num_rows if rows is None else rows, schema=table.schema, sample=table
    )


def prices(mean: float = 100.0, n: int = 4_000, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "price": rng.normal(mean, 10, n),
            "qty": rng.integers(1, 20, n),
            "segment": rng.choice(["a", "b", "c"], n),
        }
    )


ON_DRIFT = settings(trigger="on_drift", driftThreshold=0.1)


def test_on_drift_skips_when_nothing_moved() -> None:
    d = evaluate(snapshot(prices(seed=2)), snapshot(prices(seed=1)), ON_DRIFT)
    assert d.action == "skip"
    assert d.reason.startswith("skip: no drift above 0.1 (largest ")
    largest = d.drift[0]
    assert d.reason.endswith(f" in {largest.column})")
    assert largest.score < 0.1
    assert (d.new_rows, d.baseline_rows, d.threshold) == (4_000, 4_000, 0.1)


def test_on_drift_retrains_on_a_shift_and_names_the_column() -> None:
    d = evaluate(snapshot(prices(110, seed=2)), snapshot(prices(seed=1)), ON_DRIFT)
    assert d.action == "retrain" and d.retrain
    score = d.drift[0].score
    assert d.drift[0].column == "price"
    assert d.reason == f"retrain: drift {score:.2f} in price (>= 0.1)"


def test_on_drift_without_a_baseline_retrains() -> None:
    d = evaluate(snapshot(prices()), None, ON_DRIFT)
    assert d.reason == "retrain: no baseline version to compare with"
    assert d.drift == [] and d.baseline_rows is None


def test_always_and_never_ignore_drift() -> None:
    new, old = snapshot(prices(130, seed=2)), snapshot(prices(seed=1))
    always = evaluate(new, old, settings(trigger="always"))
    assert (always.action, always.reason) == ("retrain", "retrain: trigger is always")
    never = evaluate(new, old, settings(trigger="never"))
    assert (never.action, never.reason) == ("skip", "skip: trigger is never (register only)")
    assert never.drift and never.drift[0].column == "price"  # still measured, for the report
    assert always.threshold is None


def test_the_threshold_edge_is_inclusive() -> None:
    new, old = snapshot(prices(103, seed=2)), snapshot(prices(seed=1))
    score = evaluate(new, old, ON_DRIFT).drift[0].score
    at = evaluate(new, old, settings(trigger="on_drift", driftThreshold=score))
    assert at.action == "retrain"
    above = math.nextafter(score, math.inf)
    below = evaluate(new, old, settings(trigger="on_drift", driftThreshold=above))
    assert below.action == "skip"
    # The shown score never looks like it crossed the threshold when it did not.
    shown = below.reason.split("largest ")[1].split(" in ")[0]
    assert float(shown) < above


def test_nothing_comparable_skips_with_that_reason() -> None:
    old = snapshot(pa.table({"x": pa.array([None] * 5, pa.float64())}))
    d = evaluate(old, old, ON_DRIFT)
    assert d.reason == "skip: no drift above 0.1 (no column could be compared)"


def test_an_empty_baseline_retrains() -> None:
    empty = prices(n=0)
    d = evaluate(snapshot(prices()), snapshot(empty), ON_DRIFT)
    assert d.reason == "retrain: the baseline version had no rows"


def rules(**values: object) -> PolicySettings:
    return settings(trigger="always", validate=values)


def test_row_rules() -> None:
    small = snapshot(prices(n=80))
    d = evaluate(small, None, rules(minRows=100))
    assert (d.action, d.reason) == ("blocked", "blocked: rows 80 < minRows 100")
    assert d.failed_rules == ["rows 80 < minRows 100"]
    assert evaluate(small, None, rules(maxRows=50)).reason == "blocked: rows 80 > maxRows 50"
    assert evaluate(small, None, rules(minRows=80, maxRows=80)).action == "retrain"
    d = evaluate(small, small, rules(minRowChange=1))
    assert d.reason == "blocked: row change 0 < minRowChange 1"
    # Without a baseline there is no change to measure.
    assert evaluate(small, None, rules(minRowChange=1)).action == "retrain"
    # The change counts either way: a table that shrank changed too.
    assert evaluate(small, snapshot(prices(n=81)), rules(minRowChange=1)).action == "retrain"


def test_every_failed_rule_is_collected_and_the_first_leads() -> None:
    table = prices(n=80).set_column(0, "price", pa.array([None] * 40 + [5000.0] * 40))
    d = evaluate(
        snapshot(table),
        None,
        rules(minRows=100, maxNullFraction=0.05, columns={"price": {"max": 1000}}),
    )
    assert d.failed_rules == [
        "rows 80 < minRows 100",
        "null fraction of price 0.5 > 0.05",
        "price max 5000 > 1000",
    ]
    assert d.reason == "blocked: rows 80 < minRows 100; 2 more"


def test_blocked_wins_over_every_trigger() -> None:
    table = snapshot(prices(n=80))
    for trigger in ("always", "on_drift", "never"):
        d = evaluate(table, table, settings(trigger=trigger, validate={"minRows": 100}))
        assert d.action == "blocked", trigger


def test_null_fraction_rules_per_column() -> None:
    price = [None] * 42 + [1.0] * 58
    qty = [None] * 10 + [1] * 90
    table = snapshot(pa.table({"price": price, "qty": qty}))
    d = evaluate(table, None, rules(maxNullFraction=0.05))
    assert d.failed_rules == [
        "null fraction of price 0.42 > 0.05",
        "null fraction of qty 0.1 > 0.05",
    ]
    d = evaluate(
        table, None, rules(maxNullFraction=0.05, columns={"qty": {"maxNullFraction": 0.1}})
    )
    assert d.failed_rules == ["null fraction of price 0.42 > 0.05"]
    d = evaluate(
        table,
        None,
        rules(
            maxNullFraction=0.05,
            columns={"price": {"maxNullFraction": None}, "qty": {"maxNullFraction": 0.2}},
        ),
    )
    assert d.action == "retrain"


def test_a_null_fraction_just_over_the_limit_does_not_read_as_equal() -> None:
    table = snapshot(pa.table({"x": [None] * 1001 + [1.0] * 8999}))
    d = evaluate(table, None, rules(maxNullFraction=0.1))
    assert d.failed_rules == ["null fraction of x 0.1001 > 0.1"]


def test_range_rules() -> None:
    table = snapshot(pa.table({"price": [-3.0, 10.0, 1500.5], "label": ["a", "b", "c"]}))
    d = evaluate(table, None, rules(columns={"price": {"min": 0, "max": 1000}}))
    assert d.failed_rules == ["price min -3 < 0", "price max 1500.5 > 1000"]
    d = evaluate(table, None, rules(columns={"label": {"max": 1}}))
    assert d.failed_rules == ["label has min/max rules but is string, not a number"]
    d = evaluate(table, None, rules(columns={"missing": {"max": 1}}))
    assert d.failed_rules == ["column missing has rules but is not in the table"]


def test_schema_rules() -> None:
    old = snapshot(pa.table({"price": [1.0], "qty": pa.array([1], pa.int32()), "s": ["a"]}))
    dropped = snapshot(pa.table({"qty": pa.array([1], pa.int32()), "s": ["a"]}))
    d = evaluate(dropped, old, rules())
    assert d.reason == "blocked: column price dropped (was double)"
    retyped = snapshot(pa.table({"price": [1.0], "qty": ["1"], "s": ["a"]}))
    assert evaluate(retyped, old, rules()).failed_rules == [
        "column qty type changed int32 -> string"
    ]
    widened = snapshot(
        pa.table(
            {
                "price": [1.0],
                "qty": pa.array([1], pa.int64()),
                "s": pa.array(["a"], pa.large_string()),
                "new": [1],
            }
        )
    )
    assert evaluate(widened, old, rules()).action == "retrain"
    assert evaluate(widened, old, rules(schema="strict")).failed_rules == [
        "column qty type changed int32 -> int64",
        "column s type changed string -> large_string",
        "column new added (int64)",
    ]
    assert evaluate(dropped, old, rules(schema="off")).action == "retrain"


@pytest.mark.parametrize(
    ("old", "new", "ok"),
    [
        (pa.int32(), pa.int64(), True),
        (pa.int64(), pa.int32(), False),
        (pa.int64(), pa.float64(), True),
        (pa.float32(), pa.float64(), True),
        (pa.float64(), pa.float32(), False),
        (pa.float64(), pa.int64(), False),
        (pa.uint8(), pa.int16(), True),
        (pa.uint8(), pa.int8(), False),
        (pa.int8(), pa.uint64(), False),
        (pa.string(), pa.large_string(), True),
        (pa.large_string(), pa.string(), True),
        (pa.dictionary(pa.int32(), pa.string()), pa.string(), True),
        (pa.binary(), pa.large_binary(), True),
        (pa.decimal128(10, 2), pa.decimal128(12, 2), True),
        (pa.decimal128(10, 2), pa.decimal128(10, 3), False),
        (pa.string(), pa.int64(), False),
        (pa.timestamp("us"), pa.timestamp("us", tz="UTC"), False),
    ],
)
def test_widening(old: pa.DataType, new: pa.DataType, ok: bool) -> None:
    assert widens(old, new) is ok
    problems = schema_problems(pa.schema([("c", old)]), pa.schema([("c", new)]), strict=False)
    assert (problems == []) is ok


def test_decision_to_dict_is_json_and_keeps_the_top_ten() -> None:
    wide = pa.table({f"c{i}": np.random.default_rng(i).normal(0, 1, 500) for i in range(15)})
    shifted = pa.table(
        {f"c{i}": np.random.default_rng(100 + i).normal(i / 10, 1, 500) for i in range(15)}
    )
    d = evaluate(snapshot(shifted), snapshot(wide), ON_DRIFT)
    data = json.loads(json.dumps(d.to_dict()))
    assert len(data["drift"]) == 10 and data["drift_columns"] == 15
    assert data["action"] == d.action and data["reason"] == d.reason
    assert data["drift"][0]["score"] >= data["drift"][-1]["score"]
    assert set(data) >= {"action", "reason", "failed_rules", "drift", "new_rows", "baseline_rows"}
    assert isinstance(Decision("skip", "skip: x").to_dict()["drift"], list)


def test_an_override_that_clashes_with_the_defaults_fails_at_load() -> None:
    assert errors(
        {"policy": {"validate": {"maxRows": 50}}, "groups": {"g": {"validate": {"minRows": 100}}}}
    ) == ["drift.yaml: groups.g.validate.maxRows: 50 is below minRows 100 (merged with policy)"]
