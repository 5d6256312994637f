"""The retraining decision for one model group: retrain, skip or blocked, with a reason.

Validation comes first: any failed rule blocks, whatever the trigger, because retraining on
broken data is worse than not retraining. Then the trigger decides: `always` retrains,
`never` only registers, `on_drift` retrains when the largest per-column drift score (PSI)
between the version the group last trained on and the new one reaches the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from drift.domain.drift_stats import ColumnDrift, compare
from drift.domain.policy_config import PolicySettings, ValidationRules
from drift.domain.table_sample import TableSnapshot

Action = Literal["retrain", "skip", "blocked"]
TOP_DRIFTS = 10


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str  # the whole sentence, action first: "skip: no drift above 0.1 (...)"
    failed_rules: list[str] = field(default_factory=list)
    drift: list[ColumnDrift] = field(default_factory=list)  # largest score first
    new_rows: int | None = None
    baseline_rows: int | None = None
    threshold: float | None = None  # set when the trigger is on_drift
    trigger: str | None = None

    @property
    def retrain(self) -> bool:
        return self.action == "retrain"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe; only the largest TOP_DRIFTS drifts."""
        return {
            "action": self.action,
            "reason": self.reason,
            "failed_rules": list(self.failed_rules),
            "drift": [d.to_dict() for d in self.drift[:TOP_DRIFTS]],
            "drift_columns": len(self.drift),
            "new_rows": self.new_rows,
            "baseline_rows": self.baseline_rows,
            "threshold": self.threshold,
            "trigger": self.trigger,
        }


def evaluate(
    new: TableSnapshot | None, baseline: TableSnapshot | None, settings: PolicySettings
) -> Decision:
    """Decide for one group: `new` is the pinned version, `baseline` the one it last trained
    on (None when unknown). `new` may be None only for a policy that reads no data."""
    if new is None and (settings.reads_data or settings.needs_baseline):
        raise ValueError("this policy reads the new version: pass its snapshot")
    drift = compare(baseline.sample, new.sample) if baseline is not None else []
    drift = [d for d in drift if d.column not in settings.drift_ignore]
    threshold = settings.drift_threshold if settings.trigger == "on_drift" else None

    def decision(action: Action, reason: str, failed: list[str] | None = None) -> Decision:
        return Decision(
            action=action,
            reason=f"{action}: {reason}",
            failed_rules=failed or [],
            drift=drift,
            new_rows=new.rows if new is not None else None,
            baseline_rows=baseline.rows if baseline is not None else None,
            threshold=threshold,
            trigger=settings.trigger,
        )

    rules = settings.validation
    failed = validate(new, baseline, rules) if rules is not None and new is not None else []
    if failed:
        more = f"; {len(failed) - 1} more" if len(failed) > 1 else ""
        return decision("blocked", f"{failed[0]}{more}", failed)
    if settings.trigger == "never":
        return decision("skip", "trigger is never (register only)")
    if settings.trigger == "always":
        return decision("retrain", "trigger is always")
    if baseline is None:
        return decision("retrain", "no baseline version to compare with")
    if baseline.rows == 0:
        return decision("retrain", "the baseline version had no rows")
    limit = settings.drift_threshold
    compared = [d for d in drift if d.psi is not None]
    if not compared:
        return decision("skip", f"no drift above {_num(limit)} (no column could be compared)")
    top = compared[0]
    if top.score >= limit:
        score = _shown(top.score, limit, lambda a, b: a >= b)
        return decision("retrain", f"drift {score} in {top.column} (>= {_num(limit)})")
    score = _shown(top.score, limit, lambda a, b: a >= b)
    return decision("skip", f"no drift above {_num(limit)} (largest {score} in {top.column})")


def validate(
    new: TableSnapshot, baseline: TableSnapshot | None, rules: ValidationRules
) -> list[str]:
    """Every failed rule, in a stable order: row counts, schema, then each column's rules."""
    failed: list[str] = []
    if rules.min_rows is not None and new.rows < rules.min_rows:
        failed.append(f"rows {new.rows} < minRows {rules.min_rows}")
    if rules.max_rows is not None and new.rows > rules.max_rows:
        failed.append(f"rows {new.rows} > maxRows {rules.max_rows}")
    if baseline is not None and rules.min_row_change is not None:
        change = abs(new.rows - baseline.rows)
        if change < rules.min_row_change:
            failed.append(f"row change {change} < minRowChange {rules.min_row_change}")
    if baseline is not None and rules.schema_mode != "off":
        failed += schema_problems(baseline.schema, new.schema, strict=rules.schema_mode == "strict")
    failed += _column_problems(new, rules)
    return failed


def schema_problems(old: pa.Schema, new: pa.Schema, strict: bool) -> list[str]:
    """Dropped columns and changed types; `strict` also rejects added columns and widening."""
    problems = []
    for old_field in old:
        if old_field.name not in new.names:
            problems.append(f"column {old_field.name} dropped (was {old_field.type})")
            continue
        new_type = new.field(old_field.name).type
        same = old_field.type == new_type
        if not same and (strict or not widens(old_field.type, new_type)):
            problems.append(f"column {old_field.name} type changed {old_field.type} -> {new_type}")
    if strict:
        problems += [f"column {f.name} added ({f.type})" for f in new if f.name not in old.names]
    return problems


def widens(old: pa.DataType, new: pa.DataType) -> bool:
    """Whether every `old` value reads back unchanged as `new` (or near enough, for
    integers becoming floats): same type, wider integer, integer or narrower float to float,
    string <-> large_string, binary <-> large_binary, a dictionary of a compatible type."""
    t = pa.types
    if t.is_dictionary(old):
        old = old.value_type
    if t.is_dictionary(new):
        new = new.value_type
    if old == new:
        return True
    strings = (t.is_string, t.is_large_string, t.is_string_view)
    binaries = (t.is_binary, t.is_large_binary, t.is_binary_view)
    for family in (strings, binaries):
        if any(f(old) for f in family) and any(f(new) for f in family):
            return True
    if t.is_integer(old):
        if t.is_floating(new):
            return True
        if t.is_integer(new):
            if t.is_signed_integer(old) == t.is_signed_integer(new):
                return new.bit_width >= old.bit_width
            return t.is_signed_integer(new) and new.bit_width > old.bit_width
        return False
    if t.is_floating(old) and t.is_floating(new):
        return new.bit_width >= old.bit_width
    if t.is_decimal(old) and t.is_decimal(new):
        return new.scale >= old.scale and new.precision - new.scale >= old.precision - old.scale
    return False


def _column_problems(new: TableSnapshot, rules: ValidationRules) -> list[str]:
    problems: list[str] = []
    sample = new.sample
    for name in rules.columns:
        if name not in sample.column_names:
            problems.append(f"column {name} has rules but is not in the table")
    if sample.num_rows == 0:
        return problems  # nothing to measure; minRows speaks for empty tables
    for name in sample.column_names:
        column = sample.column(name)
        limit = rules.null_limit(name)
        if limit is not None:
            fraction = column.null_count / sample.num_rows
            if fraction > limit:
                shown = _shown(fraction, limit, lambda a, b: a > b)
                problems.append(f"null fraction of {name} {shown} > {_num(limit)}")
        col_rules = rules.columns.get(name)
        if col_rules is None or (col_rules.min_value is None and col_rules.max_value is None):
            continue
        if not _is_number(column.type):
            problems.append(f"{name} has min/max rules but is {column.type}, not a number")
            continue
        low, high = _min_max(column)
        if low is None or high is None:
            continue  # all null: the null rule covers it
        if col_rules.min_value is not None and low < col_rules.min_value:
            problems.append(f"{name} min {_num(low)} < {_num(col_rules.min_value)}")
        if col_rules.max_value is not None and high > col_rules.max_value:
            problems.append(f"{name} max {_num(high)} > {_num(col_rules.max_value)}")
    return problems


def _is_number(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def _min_max(column: pa.ChunkedArray) -> tuple[float | None, float | None]:
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    result = pc.min_max(column)
    low, high = result["min"].as_py(), result["max"].as_py()
    return (None if low is None else float(low), None if high is None else float(high))


def _num(value: float) -> str:
    """A setting or measurement as a person writes it: 1000 not 1000.0 or 1e+03."""
    if math.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return f"{value:.6g}"


def _shown(value: float, limit: float, holds: Callable[[float, float], bool]) -> str:
    """`value` to two significant digits (0.34, 0.0014), or as many more as it takes for the
    shown number to compare with `limit` the way the real one does (0.0999 is not 0.1)."""
    if not math.isfinite(value):
        return str(value)
    truth = holds(value, limit)
    first = 2 if value == 0 else max(2, 1 - math.floor(math.log10(abs(value))))
    for digits in range(first, 17):
        if holds(round(value, digits), limit) == truth:
            text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
            return text or "0"
    return repr(value)


def score_text(score: float, threshold: float | None = None) -> str:
    """A drift score as the decision's reason shows it (0.0049, not 0.00): two significant
    digits, more when needed to compare with `threshold` the way the real score does."""
    limit = threshold if threshold is not None and math.isfinite(threshold) else math.inf
    return _shown(float(score), limit, lambda a, b: a >= b)
