"""The retraining policy's settings: when a model group retrains, and which data blocks it.

```yaml
policy:                      # defaults for every group
  trigger: on_drift          # always (default) | on_drift | never (register only)
  driftThreshold: 0.1
  sampleRows: 10000
  validate: {minRows: 100, maxNullFraction: 0.05, columns: {price: {max: 1000}}}
groups:                      # per-group overrides, deep-merged over `policy`
  upsell: {driftThreshold: 0.25, validate: {minRows: 500}}
```

A group override replaces only the keys it names; `null` removes a default (e.g.
`validate: {maxNullFraction: null}`, or `validate: null` for no validation at all).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Trigger = Literal["always", "on_drift", "never"]
SchemaMode = Literal["compatible", "strict", "off"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class ColumnRules(_Strict):
    """Rules for one column of the new version, checked on its sample."""

    max_null_fraction: float | None = Field(None, alias="maxNullFraction", ge=0, le=1)
    min_value: float | None = Field(None, alias="min")
    max_value: float | None = Field(None, alias="max")

    @model_validator(mode="after")
    def _range_in_order(self) -> ColumnRules:
        if (
            self.min_value is not None
            and self.max_value is not None
            and self.min_value > self.max_value
        ):
            raise ValueError(f"@max: {self.max_value:g} is below min {self.min_value:g}")
        return self


class ValidationRules(_Strict):
    """Rules the new version must pass before any group retrains on it; any failure blocks."""

    min_rows: int | None = Field(None, alias="minRows", ge=0)
    max_rows: int | None = Field(None, alias="maxRows", ge=0)
    min_row_change: int | None = Field(None, alias="minRowChange", ge=0)
    max_null_fraction: float | None = Field(None, alias="maxNullFraction", ge=0, le=1)
    schema_mode: SchemaMode = Field("compatible", alias="schema")
    columns: dict[str, ColumnRules] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _rows_in_order(self) -> ValidationRules:
        low, high = self.min_rows, self.max_rows
        if low is not None and high is not None and low > high:
            raise ValueError(f"@maxRows: {high} is below minRows {low}")
        return self

    def null_limit(self, column: str) -> float | None:
        """The column's own maxNullFraction when it sets one, else the table-wide one."""
        rules = self.columns.get(column)
        if rules is not None and "max_null_fraction" in rules.model_fields_set:
            return rules.max_null_fraction
        return self.max_null_fraction


class PolicySettings(_Strict):
    """One model group's effective policy (the `policy:` block, or it merged with a group's)."""

    trigger: Trigger = "always"
    drift_threshold: float = Field(0.1, alias="driftThreshold", ge=0)
    sample_rows: int = Field(10_000, alias="sampleRows", ge=1, le=10_000_000)
    validation: ValidationRules | None = Field(None, alias="validate")
    # Columns whose change is expected (ids, timestamps): not measured for drift.
    drift_ignore: tuple[str, ...] = Field((), alias="driftIgnore")

    @property
    def needs_baseline(self) -> bool:
        """Whether the decision uses the version the group last trained on."""
        if self.trigger == "on_drift":
            return True
        rules = self.validation
        return rules is not None and (
            rules.min_row_change is not None or rules.schema_mode != "off"
        )

    @property
    def reads_data(self) -> bool:
        """Whether the decision looks at the data at all (else a row count is enough)."""
        return self.trigger == "on_drift" or self.validation is not None


class Policies(_Strict):
    """The whole policy section: defaults plus per-group overrides."""

    policy: PolicySettings = Field(default_factory=PolicySettings)
    # Every override is checked like a full policy when loaded; only the keys it sets count.
    groups: dict[str, PolicySettings] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _every_merge_is_valid(self) -> Policies:
        """A group's override can be fine alone and clash with the defaults (minRows above
        the default maxRows): catch that at load, not when the group first runs."""
        for name in self.groups:
            try:
                self.for_group(name)
            except ValidationError as exc:
                err = exc.errors()[0]
                where = ".".join(str(part) for part in err["loc"])
                msg = err["msg"].removeprefix("Value error, ")
                if msg.startswith("@"):
                    relative, _, msg = msg[1:].partition(": ")
                    where = f"{where}.{relative}" if where else relative
                raise ValueError(f"@groups.{name}.{where}: {msg} (merged with policy)") from None
        return self

    def for_group(self, name: str) -> PolicySettings:
        """The defaults with the group's override deep-merged over them.

        Both sides keep only the keys written in the YAML, so a column's own `maxNullFraction`
        (even `null`: no limit) still wins over the table-wide one after the merge.
        """
        override = self.groups.get(name)
        if override is None:
            return self.policy
        merged = _deep_merge(
            self.policy.model_dump(by_alias=True, exclude_unset=True),
            override.model_dump(by_alias=True, exclude_unset=True),
        )
        return PolicySettings.model_validate(merged)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out
