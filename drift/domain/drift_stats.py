"""Per-column drift between two samples of a table: how far the new data moved from the old.

Numeric columns: population stability index over the baseline's deciles, and the two-sample
Kolmogorov-Smirnov test. Categorical columns (strings, booleans, dictionaries): PSI over the
categories and a chi-squared test. Nulls (and NaN) are left out: a null explosion is the
validation rules' business, not drift's. `score` is the PSI, the number compared with the
policy's driftThreshold.

PSI reading guide (the usual rule of thumb): < 0.1 no real change, 0.1-0.25 moderate,
> 0.25 large. On small samples PSI has a noise floor of about (bins - 1) * (1/n_old + 1/n_new).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

Kind = Literal["numeric", "categorical", "added", "dropped", "type_changed", "unsupported"]

BINS = 10
EPSILON = 1e-4  # the share an empty bin (or a category one side never saw) counts with
TOP_CATEGORIES = 20  # more distinct values than this: the rarest share one "(other)" bucket
OTHER = "(other)"


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    kind: Kind
    psi: float | None
    ks: float | None  # KS statistic (numeric columns only)
    p_value: float | None  # KS (numeric) or chi-squared (categorical) p-value
    score: float  # the PSI, or 0.0 when the column could not be compared
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "kind": self.kind,
            "psi": _json_float(self.psi),
            "ks": _json_float(self.ks),
            "p_value": _json_float(self.p_value),
            "score": _json_float(self.score),
            "note": self.note,
        }


def _json_float(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 6)


def compare(baseline: pa.Table, new: pa.Table) -> list[ColumnDrift]:
    """Drift of every column, largest score first (then by column name)."""
    old_names = set(baseline.column_names)
    new_names = set(new.column_names)
    out: list[ColumnDrift] = []
    for name in baseline.column_names:
        if name not in new_names:
            kind = _describe(baseline.schema.field(name).type)
            out.append(ColumnDrift(name, "dropped", None, None, None, 0.0, f"was {kind}"))
    for name in new.column_names:
        if name not in old_names:
            kind = _describe(new.schema.field(name).type)
            out.append(ColumnDrift(name, "added", None, None, None, 0.0, f"new {kind}"))
            continue
        out.append(column_drift(name, baseline.column(name), new.column(name)))
    return sorted(out, key=lambda d: (-d.score, d.column))


def column_drift(name: str, old: pa.ChunkedArray, new: pa.ChunkedArray) -> ColumnDrift:
    old_kind, new_kind = _kind(old.type), _kind(new.type)
    if old_kind != new_kind:
        note = f"type changed {_describe(old.type)} -> {_describe(new.type)}; not compared"
        return ColumnDrift(name, "type_changed", None, None, None, 0.0, note)
    if new_kind is None:
        note = f"{_describe(new.type)} is not compared"
        return ColumnDrift(name, "unsupported", None, None, None, 0.0, note)
    if new_kind == "numeric":
        return numeric_drift(name, _numbers(old), _numbers(new))
    return categorical_drift(name, _category_counts(old), _category_counts(new))


def numeric_drift(name: str, old: np.ndarray, new: np.ndarray) -> ColumnDrift:
    """PSI over the baseline's decile bins, and the KS test."""
    empty = _empty_note(len(old), len(new))
    if empty:
        return ColumnDrift(name, "numeric", None, None, None, 0.0, empty)
    edges = np.unique(np.quantile(old, np.linspace(0, 1, BINS + 1)[1:-1]))
    # Right-closed bins: (-inf, e1], (e1, e2], ..., (e_last, inf).
    old_counts = np.bincount(np.searchsorted(edges, old, side="left"), minlength=len(edges) + 1)
    new_counts = np.bincount(np.searchsorted(edges, new, side="left"), minlength=len(edges) + 1)
    value = psi(old_counts, new_counts)
    # The exact p-value is slow for large samples and can fail to converge; the asymptotic one
    # is accurate there.
    method = "auto" if max(len(old), len(new)) <= 1_000 else "asymp"
    test = stats.ks_2samp(old, new, method=method)
    note = ""
    if np.isfinite(old).all() and np.isfinite(new).all():
        shift = float(np.mean(new) - np.mean(old))
        spread = float(np.std(old))
        if spread > 0 and abs(shift) >= 0.1 * spread:
            note = f"mean {np.mean(old):.4g} -> {np.mean(new):.4g} ({shift / spread:+.2f} sd)"
    return ColumnDrift(
        name, "numeric", value, float(test.statistic), float(test.pvalue), value, note
    )


def categorical_drift(name: str, old_freq: dict[str, int], new_freq: dict[str, int]) -> ColumnDrift:
    """PSI over the categories (a category only the new data has counts with its full share)
    and the chi-squared test of the two samples' category counts (category -> count)."""
    n_old, n_new = sum(old_freq.values()), sum(new_freq.values())
    empty = _empty_note(n_old, n_new)
    if empty:
        return ColumnDrift(name, "categorical", None, None, None, 0.0, empty)
    share = {
        c: max(old_freq.get(c, 0) / n_old, new_freq.get(c, 0) / n_new)
        for c in old_freq.keys() | new_freq.keys()
    }
    ranked = sorted(share, key=lambda c: (-share[c], c))
    kept = ranked[:TOP_CATEGORIES]
    rest = ranked[TOP_CATEGORIES:]
    old_counts = [old_freq.get(c, 0) for c in kept]
    new_counts = [new_freq.get(c, 0) for c in kept]
    if rest:
        old_counts.append(sum(old_freq.get(c, 0) for c in rest))
        new_counts.append(sum(new_freq.get(c, 0) for c in rest))
    value = psi(np.array(old_counts), np.array(new_counts))
    p_value = _chi2_p(old_counts, new_counts)
    notes = []
    appeared = [c for c in kept if c not in old_freq]
    if appeared:
        shown = ", ".join(f"{c!r} ({new_freq[c] / n_new:.1%})" for c in appeared[:3])
        more = f" and {len(appeared) - 3} more" if len(appeared) > 3 else ""
        notes.append(f"new categories: {shown}{more}")
    gone = [c for c in kept if c not in new_freq]
    if gone:
        shown = ", ".join(repr(c) for c in gone[:3])
        more = f" and {len(gone) - 3} more" if len(gone) > 3 else ""
        notes.append(f"categories gone: {shown}{more}")
    if rest:
        notes.append(f"{len(ranked)} distinct values; the rarest {len(rest)} compared as {OTHER}")
    return ColumnDrift(name, "categorical", value, None, p_value, value, "; ".join(notes))


def psi(old_counts: np.ndarray, new_counts: np.ndarray) -> float:
    """Population stability index of two histograms over the same bins."""
    old_share = np.maximum(old_counts / max(old_counts.sum(), 1), EPSILON)
    new_share = np.maximum(new_counts / max(new_counts.sum(), 1), EPSILON)
    return float(np.sum((new_share - old_share) * np.log(new_share / old_share)))


def _chi2_p(old_counts: list[int], new_counts: list[int]) -> float:
    table = np.array([old_counts, new_counts], dtype=float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0  # one category on both sides: nothing to test
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def _empty_note(n_old: int, n_new: int) -> str:
    if n_old == 0 and n_new == 0:
        return "no values on either side; not compared"
    if n_old == 0:
        return "no values in the baseline sample; not compared"
    if n_new == 0:
        return "no values in the new sample; not compared"
    return ""


def _value_type(t: pa.DataType) -> pa.DataType:
    return t.value_type if pa.types.is_dictionary(t) else t


def _kind(t: pa.DataType) -> Literal["numeric", "categorical"] | None:
    t = _value_type(t)
    if pa.types.is_boolean(t) or pa.types.is_string(t) or pa.types.is_large_string(t):
        return "categorical"
    if pa.types.is_string_view(t):
        return "categorical"
    if (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_decimal(t)
        or pa.types.is_temporal(t)
    ):
        return "numeric"
    return None


def _describe(t: pa.DataType) -> str:
    return str(t)


def _numbers(values: pa.ChunkedArray) -> np.ndarray:
    """The non-null values as float64 (times as their integer ticks), NaN left out."""
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    values = pc.drop_null(values)
    t = values.type
    if pa.types.is_temporal(t):
        narrow = pa.types.is_date32(t) or pa.types.is_time32(t)
        values = values.cast(pa.int32() if narrow else pa.int64())
    out = np.asarray(values.cast(pa.float64()).to_numpy(), dtype=np.float64)
    return out[~np.isnan(out)]


def _category_counts(values: pa.ChunkedArray) -> dict[str, int]:
    """Non-null value -> how often it occurs; booleans as "true"/"false"."""
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    values = pc.drop_null(values)
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    counts = pc.value_counts(values)
    return dict(
        zip(
            counts.field("values").to_pylist(),
            counts.field("counts").to_pylist(),
            strict=True,
        )
    )
