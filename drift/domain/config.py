"""The drift configuration: PyDataIO-shaped YAML; every error names its file and key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from drift.domain.coalescing import Timing
from drift.domain.policy_config import Policies

# Azure ML names: a letter or digit first, then letters, digits, '-', '_' or '.'.
ASSET_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
# Job-group prefixes become the first part of job names: letters, digits, '_' and '-'.
GROUP_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,200}$")
# Pipeline and command job input names are identifiers.
INPUT_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")


class ConfigError(ValueError):
    """A configuration problem, always naming the file and the key."""


def _seconds(value: Any) -> Any:
    """The reference stores durations as strings ("2700"); accept those and ints alike."""
    if isinstance(value, bool):
        raise ValueError("must be a number of seconds, not a boolean")
    if isinstance(value, str):
        text = value.strip()
        if not text.isdigit():
            raise ValueError(f"must be a whole number of seconds, got {value!r}")
        return int(text)
    return value


def _prefixes(value: Any) -> Any:
    """`model_name_prefix` is a comma-separated string in the reference; a list is accepted too."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError("must be a comma-separated string or a list of names")
    names = tuple(str(item).strip() for item in items if str(item).strip())
    for name in names:
        if not GROUP_NAME_RE.match(name):
            raise ValueError(f"{name!r} is not a valid job-group name (letters, digits, '_', '-')")
    return names


Seconds = Annotated[int, BeforeValidator(_seconds), Field(ge=0)]
Prefixes = Annotated[tuple[str, ...], BeforeValidator(_prefixes)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class AzureMLWorkspace(_Strict):
    subscription_id: str = Field(alias="subscriptionId", min_length=1)
    resource_group: str = Field(alias="resourceGroup", min_length=1)
    workspace_name: str = Field(alias="mlWorkspaceName", min_length=1)


class DataAssetBinding(_Strict):
    """A job input name (`name`) bound to a registered data asset (`value`)."""

    name: str
    value: str

    @field_validator("name")
    @classmethod
    def _input_name(cls, v: str) -> str:
        if not INPUT_NAME_RE.match(v):
            raise ValueError(f"{v!r} is not a valid job input name")
        return v

    @field_validator("value")
    @classmethod
    def _asset_name(cls, v: str) -> str:
        if not ASSET_NAME_RE.match(v):
            raise ValueError(f"{v!r} is not a valid Azure ML data asset name")
        return v


class DatabricksJobGroup(_Strict):
    """A model group that is a Databricks job: retrained with `run_now`, the new version as a
    job parameter."""

    group: str
    job_id: int = Field(alias="jobId", gt=0)
    input: str | None = None  # the dataAssets input it stands for; default: the first one
    version_parameter: str = Field("data_asset_version", alias="versionParameter")

    @field_validator("group")
    @classmethod
    def _group_name(cls, v: str) -> str:
        if not GROUP_NAME_RE.match(v):
            raise ValueError(f"{v!r} is not a valid job-group name (letters, digits, '_', '-')")
        return v


class Parameters(_Strict):
    azml: AzureMLWorkspace | None = None
    storage_account_name: str | None = Field(None, alias="storageAccountName")
    container_name: str | None = Field(None, alias="containerName")
    container_data_path: str | None = Field(None, alias="containerDataPath")
    data_assets: tuple[DataAssetBinding, ...] = Field(alias="dataAssets")
    refresh_timeout: Seconds = Field(2700, alias="refreshTimeout")
    refresh_delay: Seconds = Field(10, alias="refreshDelay")
    model_name_prefix: Prefixes = Field((), alias="model_name_prefix")
    # drift additions: which asset names registration writes, and how wide the fan-out goes.
    mltable_asset_name: str | None = Field(None, alias="mltableAssetName")
    uri_folder_asset_name: str | None = Field(None, alias="uriFolderAssetName")
    max_parallel_jobs: int = Field(10, alias="maxParallelJobs", ge=1, le=1000)
    # Coalescing of commit events per table (Databricks' table-update trigger knobs, floor 0).
    wait_after_last_change: Seconds = Field(60, alias="waitAfterLastChangeSeconds")
    min_time_between_triggers: Seconds = Field(0, alias="minTimeBetweenTriggersSeconds")
    max_delay: Seconds = Field(3600, alias="maxDelaySeconds")
    databricks_jobs: tuple[DatabricksJobGroup, ...] = Field((), alias="databricksJobs")
    # Azure: the ADLS Gen2 datastore drift registers through; identity-based unless asked.
    datastore_name: str = Field("drift_lake", alias="datastoreName", pattern=r"^[A-Za-z0-9_]+$")
    # Deprecated: stores the service principal's secret in the workspace (see the README).
    store_datastore_credentials: bool = Field(False, alias="storeDatastoreCredentials")
    # Where drift writes MLTable files as its own identity, and the identity-based datastore
    # over that container through which the MLTable assets are registered.
    mltable_container: str = Field(
        "drift-mltables",
        alias="mltableContainer",
        pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$",
    )
    mltable_datastore_name: str = Field(
        "drift_mltables", alias="mltableDatastoreName", pattern=r"^[A-Za-z0-9_]+$"
    )
    # Azure: the Event Grid topic drift publishes its own events to (else the app setting
    # DRIFT_EVENTS_TOPIC_ENDPOINT; neither: none are published). Local: events.jsonl.
    events_topic_endpoint: str | None = Field(
        None, alias="eventsTopicEndpoint", pattern=r"^https://[^\s/]+/\S*$"
    )

    @field_validator("data_assets")
    @classmethod
    def _at_least_one_binding(cls, v: tuple[DataAssetBinding, ...]) -> tuple:
        if not v:
            raise ValueError("list at least one {name: <job input>, value: <data asset>}")
        return v

    @field_validator("refresh_delay", "refresh_timeout")
    @classmethod
    def _at_least_a_second(cls, v: int) -> int:
        if v < 1:
            raise ValueError("must be at least 1 second")
        return v

    @field_validator("mltable_asset_name", "uri_folder_asset_name")
    @classmethod
    def _asset_names(cls, v: str | None) -> str | None:
        if v is not None and not ASSET_NAME_RE.match(v):
            raise ValueError(f"{v!r} is not a valid Azure ML data asset name")
        return v

    @model_validator(mode="after")
    def _bindings_point_at_registered_assets(self) -> Parameters:
        if self.refresh_timeout < self.refresh_delay:
            raise ValueError(
                f"@refreshTimeout: {self.refresh_timeout} s is shorter than refreshDelay "
                f"{self.refresh_delay} s: jobs would be cancelled before their first poll"
            )
        if self.max_delay < self.wait_after_last_change:
            raise ValueError(
                f"@maxDelaySeconds: {self.max_delay} is below waitAfterLastChangeSeconds "
                f"{self.wait_after_last_change}"
            )
        names = [b.name for b in self.data_assets]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"@dataAssets: input name(s) listed twice: {', '.join(dupes)}")
        inputs = set(names)
        for i, group in enumerate(self.databricks_jobs):
            if group.input is not None and group.input not in inputs:
                raise ValueError(
                    f"@databricksJobs.{i}.input: {group.input!r} is not a dataAssets input name"
                )
        registered = {self.mltable_name, self.uri_folder_name}
        for binding in self.data_assets:
            if binding.value not in registered:
                raise ValueError(
                    f"@dataAssets: {binding.name} -> {binding.value} is not an asset drift "
                    f"registers ({self.mltable_name} or {self.uri_folder_name}); set "
                    "mltableAssetName/uriFolderAssetName or fix the value"
                )
        return self

    @property
    def mltable_name(self) -> str:
        """The MLTable asset: `mltableAssetName`, else the first `dataAssets` value."""
        return self.mltable_asset_name or self.data_assets[0].value

    @property
    def uri_folder_name(self) -> str:
        return self.uri_folder_asset_name or f"{self.mltable_name}_folder"

    @property
    def timing(self) -> Timing:
        """The lease outlasts a wait plus a retrain whose jobs all run to their timeout."""
        rounds = 4  # job batches of maxParallelJobs assumed per retrain, with margin
        lease = self.max_delay + self.min_time_between_triggers + rounds * self.refresh_timeout
        return Timing(
            self.wait_after_last_change,
            self.min_time_between_triggers,
            self.max_delay,
            lease + 3600,
        )


class LocalSettings(_Strict):
    """What the embedded local backend needs; relative paths are relative to the config file."""

    workdir: Path = Path(".drift")
    table_path: Path = Field(alias="tablePath")
    jobs_dir: Path = Field(alias="jobsDir")


class DriftConfig(_Strict):
    backend: Literal["local", "azure", "databricks"] = "local"
    parameters: Parameters
    retraining: Policies = Field(default_factory=Policies)
    local: LocalSettings | None = None
    source: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _backend_settings_present(self) -> DriftConfig:
        p = self.parameters
        if self.backend == "local" and self.local is None:
            raise ValueError("backend 'local' needs a 'local:' section (tablePath, jobsDir)")
        if self.backend in ("azure", "databricks"):
            missing = [
                key
                for key, value in (
                    ("parameters.azml", p.azml),
                    ("parameters.storageAccountName", p.storage_account_name),
                    ("parameters.containerName", p.container_name),
                    ("parameters.containerDataPath", p.container_data_path),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"backend {self.backend!r} needs {', '.join(missing)}")
        return self


def _format_error(source: str, error: ValidationError) -> str:
    """One line per problem: `file: dotted.key: message`.

    A model-level check names its key by starting its message with `@key: `, since pydantic
    locates it at the model, not at the field it is about.
    """
    lines = []
    for err in error.errors():
        parts = [str(part) for part in err["loc"]]
        msg = err["msg"].removeprefix("Value error, ")
        if msg.startswith("@"):
            relative, _, msg = msg[1:].partition(": ")
            parts.append(relative)
        key = ".".join(parts) or "(top level)"
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"{source}: {key}: {msg}")
    return "\n".join(lines)


def parse_config(data: Any, source: str = "<config>", base_dir: Path | None = None) -> DriftConfig:
    """Validate an already-parsed document; `source` names it in every error."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: (top level): expected a mapping with a 'parameters' key")
    try:
        config = DriftConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(source, exc)) from None
    if config.local is not None and base_dir is not None:
        local = config.local
        config = config.model_copy(
            update={
                "local": local.model_copy(
                    update={
                        "workdir": _resolve(source, "local.workdir", base_dir / local.workdir),
                        "table_path": _resolve(
                            source, "local.tablePath", base_dir / local.table_path
                        ),
                        "jobs_dir": _resolve(source, "local.jobsDir", base_dir / local.jobs_dir),
                    }
                )
            }
        )
    return config


def _resolve(source: str, key: str, path: Path) -> Path:
    """An absolute path without symlinks; a symlink loop is the config's error, not a crash."""
    try:
        return path.resolve()
    except (RuntimeError, OSError) as exc:  # RuntimeError: Python < 3.13's "Symlink loop"
        raise ConfigError(f"{source}: {key}: cannot resolve {path}: {exc}") from None


def load_config(path: str | Path) -> DriftConfig:
    """Read and validate a YAML config file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read config: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: {yaml_problem(exc)}") from None
    config = parse_config(data, str(file), file.parent.resolve())
    return config.model_copy(update={"source": file.resolve()})


def yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's multi-line message as one line: where, what it expected, and in what.

    `not valid YAML (line 5, column 17): expected ',' or '}', but got ':' (in a flow mapping
    opened at line 4, column 7)`
    """
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is None or not problem:
        return "not valid YAML: " + " ".join(str(exc).split())
    text = f"not valid YAML (line {mark.line + 1}, column {mark.column + 1}): {problem}"
    context = getattr(exc, "context", None)
    opened = getattr(exc, "context_mark", None)
    if context and "next token" not in context:  # "while scanning for the next token"
        what = context.removeprefix("while parsing ").removeprefix("while scanning ")
        at = f" opened at line {opened.line + 1}, column {opened.column + 1}" if opened else ""
        if opened is not None and (opened.line, opened.column) == (mark.line, mark.column):
            at = ""
        text += f" (in {what}{at})"
    return text
