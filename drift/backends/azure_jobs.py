"""Azure ML training jobs: find each group's newest, clone-submit, poll, cancel.

Finding the newest job of each group
    The jobs list (`JobOperations.list`, REST `Jobs_List`) cannot filter by name, experiment or
    creation time and takes no ordering or page size: unfiltered, it pages through every active
    job of the workspace. Its server-side filters are `tag` (jobs that carry a tag *key*),
    `properties` (`key` or `key=value`), `job_type`, `list_view_type` and schedule. Every job
    drift submits carries the tag `drift.group=<group>` (with `drift.source_job` and
    `drift.data_version`), so one listing with `tag="drift.group"` returns drift's own jobs and
    nothing else, however long the workspace's history. A wanted group with no drift job yet
    (its only jobs are the seeds users submitted) costs one bounded scan of the unfiltered list:
    the first `seed_scan_limit` jobs it returns. `Jobs_List` promises no order, so the scan
    reads the whole bound (it never stops at "every group seen") and orders what it found by
    creation time. Once drift has submitted a job for a group, the scan is not needed again.

    Limits of this: a job a user submits by hand for a group drift already manages is seen only
    if it carries the `drift.group` tag (copying a drift job in the studio keeps the tags), and a
    seed that is not among the first `seed_scan_limit` jobs the list returns is not found.

Service calls per run (P = the service's page size, D = drift's active jobs in the workspace)
    plan:    ceil(D / P) list pages, 1 while D <= P; plus ceil(seed_scan_limit / P) pages (fewer
             when the workspace has fewer jobs) only while some wanted group has never been
             submitted (or when no groups are given); + 1 workspace GET per process, which
             azure-ai-ml makes for the studio URL of the first job it reads.
    submit:  3 per group: get the new name (404), get the source, create (without azure-ai-ml's
             client-side validation, which reads the compute); +1 get when the create is
             refused or retried (to find a job an earlier attempt created).
    poll:    1 get per poll.
    cancel:  1 (no poller: the LRO is not followed); +1 get when the service refuses the cancel
             (to see whether the job has ended).
    Each retry of a transient fault (408/429/5xx) by `azure_errors.call` is one more call.

Cloning
    The clone is built from the fetched source by an allow-list: the fields the REST model of
    its job type lets a client send on create (`prepare_clone`), without what the service wrote
    into them about the source's run (its artifact folder as `outputs.default`, run times and
    sources in `properties`, the Studio/Tracking endpoints, AutoML/HyperDrive result tags). It
    gets drift's name and tags, is never archived, and its `dataAssets` inputs are rebound
    where azure-ai-ml reads them when it submits: for command jobs (`Command` nodes) that is
    `_job_inputs`, not `inputs`, so both are set; for pipeline jobs the top-level
    `PipelineInput`; for AutoML jobs `training_data`/`validation_data`/`test_data`. Steps,
    literal inputs, outputs, compute, environment and settings are the source's.

Run times
    The job resource has no start/end fields, and its `systemData` has `createdAt` only:
    `run_times` reads the job's own times from its properties (`StartTimeUtc`/`EndTimeUtc`,
    or a pipeline's `azureml.pipelines.stages`), and leaves them None when absent.

Longer than 500 lines on purpose: about 50 of them are this call budget and cloning contract,
and the rest is one service's find/clone/poll/cancel, which change together.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Any, TypeVar

from azure.ai.ml import Input
from azure.ai.ml.entities import Job
from azure.ai.ml.entities._job.to_rest_functions import to_rest_job_object
from azure.core.exceptions import ResourceNotFoundError

from drift.backends.azure_errors import DEFAULT_POLICY, RetryPolicy, Where, call, is_transient
from drift.domain.plan import TAG_GROUP, job_group, split_job_name
from drift.domain.types import TERMINAL_STATES, JobInput, JobState, PermanentError, TrainingJob

T = TypeVar("T")

DATA_INPUT_TYPES = frozenset({"uri_file", "uri_folder", "mltable"})
KNOWN_STATUSES = (
    "NotStarted",
    "Starting",
    "Provisioning",
    "Preparing",
    "Queued",
    "Running",
    "Finalizing",
    "CancelRequested",
    "Completed",
    "Failed",
    "Canceled",
    "NotResponding",
    "Paused",
    "Unknown",
)
_STATUS = {s.lower(): s for s in KNOWN_STATUSES} | {"cancelled": "Canceled"}
_FAILED = frozenset({"Failed", "NotResponding"})
# Endpoints the service adds to every run; user-defined services (jupyter, ssh...) are kept.
_SYSTEM_SERVICES = frozenset({"studio", "tracking"})
# What the service (or the submitting SDK) records about one run in the job's properties and
# tags, as the recordings in tests/data/azureml_recordings show: run source and type, times,
# pipeline stages, snapshot and log files, git of the submitter, AutoML/HyperDrive results.
_RUN_PROPERTY_PREFIXES = ("_azureml.", "azureml.", "mlflow.source.", "_aml_system")
_RUN_PROPERTIES = frozenset(
    {
        "ContentSnapshotId",
        "ProcessInfoFile",
        "ProcessStatusFile",
        "StartTimeUtc",
        "EndTimeUtc",
        "runSource",
        "runType",
        "runTemplate",
        "ClientType",
        "ClientSdkVersion",
        "snapshotId",
        "SetupRunId",
        "SetupRunContainerId",
        "Orchestrator",
        "attribution",
        "root_attribution",
        "platform",
        "user_agent",
        "resume_from",
        "primary_metric_config",
    }
)
_RUN_TAGS = frozenset(
    {
        "automl_best_child_run_id",
        "model_explain_run",
        "model_explain_best_run_child_id",
        "pipeline_id",
        "score",
        "predicted_cost",
        "fit_time",
        "training_percent",
        "iteration",
        "run_preprocessor",
        "run_algorithm",
    }
)
_RUN_ARTIFACTS = "azureml://datastores/workspaceartifactstore/ExperimentRun/"
# AutoML jobs keep their data here, not in `inputs`.
_AUTOML_DATA = ("training_data", "validation_data", "test_data")
_SHORT_ASSET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(:[A-Za-z0-9_.-]+|@[A-Za-z0-9_.-]+)$")
_FRACTION = re.compile(r"^(?P<head>.+?\.)(?P<frac>\d+)(?P<tail>.*)$")
_SCAN_PAGE = 100  # page size used when a list result cannot be read page by page
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class JobNotFound(PermanentError, LookupError):
    """The job to clone or poll does not exist in the workspace."""


class UnboundInput(PermanentError, KeyError):
    """The source job has no input of the name drift was asked to rebind."""

    def __str__(self) -> str:
        return str(self.args[0])


class AzureJobs:
    """`JobService` over an Azure ML workspace's jobs."""

    def __init__(
        self,
        ml_client: Any,
        *,
        where: Where,
        policy: RetryPolicy = DEFAULT_POLICY,
        sleep: Callable[[float], None] = time.sleep,
        seed_scan_limit: int = 500,
    ) -> None:
        self._ml = ml_client
        self._where = where
        self._policy = policy
        self._sleep = sleep
        self.seed_scan_limit = seed_scan_limit

    # Finding ---------------------------------------------------------------------------------

    def list_jobs(self, groups: Sequence[str] | None = None) -> list[TrainingJob]:
        """The jobs of `groups` (all groups if None) that may be a group's newest: drift's own
        jobs, plus seeds for groups drift has not submitted yet. Oldest first."""
        wanted = None if groups is None else set(groups)
        found: dict[str, TrainingJob] = {}
        for job in self._call(
            f"list drift's jobs (tag {TAG_GROUP})", lambda: self._drift_jobs(wanted)
        ):
            found[job.name] = job
        missing = None if wanted is None else wanted - {job_group(n) for n in found}
        if missing is None or missing:
            scan = ", ".join(sorted(missing)) if missing else "all groups"
            for job in self._call(
                f"scan the newest {self.seed_scan_limit} jobs for seeds of {scan}",
                lambda: self._scan_seeds(wanted),
            ):
                found.setdefault(job.name, job)
        return sorted(found.values(), key=lambda j: (j.created_at or _EPOCH, j.name))

    def _drift_jobs(self, wanted: set[str] | None) -> list[TrainingJob]:
        jobs = self._ml.jobs.list(tag=TAG_GROUP)
        return [tj for job in jobs if (tj := _kept(job, wanted)) is not None]

    def _scan_seeds(self, wanted: set[str] | None) -> list[TrainingJob]:
        """The jobs of `wanted` groups among the first `seed_scan_limit` jobs the list returns.

        `jobs.list` promises no order (REST `Jobs_List` takes no `$orderby`), so the scan never
        stops early on "every group seen": it reads up to the bound, and `list_jobs` orders
        what it keeps by creation time (then name).
        """
        kept: list[TrainingJob] = []
        seen = 0
        for page in _pages(self._ml.jobs.list()):
            for job in page:
                if job is None:  # azure-ai-ml yields None for jobs it cannot parse
                    continue
                seen += 1
                tj = _kept(job, wanted)
                if tj is not None:
                    kept.append(tj)
            if seen >= self.seed_scan_limit:
                break
        return kept

    def get_job(self, name: str) -> TrainingJob | None:
        job = self._get(name)
        return None if job is None else training_job(job)

    # Submitting ------------------------------------------------------------------------------

    def submit_clone(
        self, source: str, name: str, inputs: dict[str, JobInput], tags: dict[str, str]
    ) -> TrainingJob:
        """Clone `source` as `name` with `inputs` rebound and `tags` merged. An existing
        `name` is returned as it is, including one an earlier, failed-looking attempt created."""
        existing = self._get(name)
        if existing is not None:
            return training_job(existing)
        src = self._get(source)
        if src is None:
            raise JobNotFound(
                f"cannot clone job {source!r} as {name!r}: no such job in "
                f"{self._where.resource} (as {self._where.identity})"
            )
        clone = prepare_clone(src, name, inputs, tags)
        attempts = 0

        def create() -> Any:
            nonlocal attempts
            attempts += 1
            if attempts > 1:  # the attempt that failed may have created it server-side
                done = self._find(name)
                if done is not None:
                    return done
            try:
                # The clone is a job the service already accepted once; azure-ai-ml's own
                # validation would only GET its compute again (2 requests, computes/read), and a
                # 503 there comes back as a ValidationException, indistinguishable from a bad job.
                return self._ml.jobs.create_or_update(clone, skip_validation=True)
            except Exception as exc:
                if is_transient(exc):
                    raise
                taken = self._find_quietly(name)  # refused because the name is taken?
                if taken is not None:
                    return taken
                raise

        created = self._call(f"submit job {name!r} (clone of {source!r})", create)
        return training_job(created)

    # Polling and cancelling ------------------------------------------------------------------

    def get_state(self, name: str) -> JobState:
        """Status as Azure ML reports it, with the job's own run times (`run_times`)."""
        job = self._get(name)
        if job is None:
            raise JobNotFound(
                f"no job {name!r} in {self._where.resource} (as {self._where.identity})"
            )
        return job_state(job)

    def cancel(self, name: str) -> None:
        """Request cancellation without waiting on the poller; a job already ended or gone is
        not an error."""

        def attempt() -> None:
            try:
                # No poller: drift does not wait here (the next poll sees the state), and a
                # polling LRO would GET the operation in a background thread.
                self._ml.jobs.begin_cancel(name, polling=False)
            except ResourceNotFoundError:
                return
            except Exception as exc:
                if is_transient(exc):
                    raise
                job = self._find(name)  # refused: fine if the job has ended meanwhile
                if job is None or job_state(job).terminal:
                    return
                raise

        self._call(f"cancel job {name!r}", attempt)

    # Calls -----------------------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        return call(what, fn, self._where, self._policy, self._sleep)

    def _get(self, name: str) -> Any | None:
        return self._call(f"get job {name!r}", lambda: self._find(name))

    def _find(self, name: str) -> Any | None:
        try:
            return self._ml.jobs.get(name)
        except ResourceNotFoundError:
            return None

    def _find_quietly(self, name: str) -> Any | None:
        try:
            return self._find(name)
        except Exception:  # the caller re-raises its own, more telling error
            return None


# Entities -> drift ---------------------------------------------------------------------------


def training_job(job: Any) -> TrainingJob:
    created = getattr(job.creation_context, "created_at", None) if job.creation_context else None
    return TrainingJob(
        name=str(job.name),
        inputs=data_inputs(job),
        display_name=job.display_name,
        experiment_name=job.experiment_name,
        created_at=_utc(created),
        tags={str(k): str(v) for k, v in (job.tags or {}).items()},
    )


def data_inputs(job: Any) -> dict[str, JobInput]:
    """The job's top-level inputs bound to data (uri_file, uri_folder, mltable); for AutoML
    jobs, which keep their data apart, `training_data`, `validation_data` and `test_data`."""
    out: dict[str, JobInput] = {}
    found = dict(getattr(job, "inputs", None) or {})
    if str(getattr(job, "type", "")).lower() == "automl":
        found = {k: v for k in _AUTOML_DATA if (v := getattr(job, k, None)) is not None}
    for key, value in found.items():
        data = getattr(value, "_data", value)  # pipeline/node inputs wrap the Input
        if not isinstance(data, Input) or not isinstance(data.path, str):
            continue
        kind = data.type or getattr(value, "type", None)
        if kind not in DATA_INPUT_TYPES:
            continue
        mode = data.mode or getattr(value, "mode", None)
        out[str(key)] = JobInput(str(kind), _asset_uri(data.path), str(mode) if mode else None)
    return out


def job_state(job: Any) -> JobState:
    status = normalize_status(job.status)
    terminal = status in TERMINAL_STATES
    studio = getattr(job, "studio_url", None)
    error = None
    if status in _FAILED:
        error = f"Azure ML reports job {job.name} {status}" + (f"; see {studio}" if studio else "")
    started, ended = run_times(job)
    return JobState(
        name=str(job.name),
        status=status,
        started_at=started,
        ended_at=ended if terminal else None,
        error=error,
        log_path=studio,
    )


def run_times(job: Any) -> tuple[datetime | None, datetime | None]:
    """When the job itself started and ended, as the job resource records them.

    The job resource has no start/end fields and its `systemData` carries `createdAt` only
    (no last-modified time: see the recordings in tests/data/azureml_recordings). The times
    are in its properties: `StartTimeUtc`/`EndTimeUtc` for jobs run on compute, and for
    pipeline jobs `azureml.pipelines.stages`, whose `Execution` stage has `StartTime` and
    `EndTime` (recorded: test_pipeline_job_get_child_run). Whatever is missing stays None:
    a duration is never made up from creation or modification times.
    """
    props = getattr(job, "properties", None) or {}
    start, end = _parse_time(props.get("StartTimeUtc")), _parse_time(props.get("EndTimeUtc"))
    stages = props.get("azureml.pipelines.stages")
    if (start is None or end is None) and stages:
        try:
            execution = (json.loads(stages) or {}).get("Execution") or {}
        except (ValueError, AttributeError):
            execution = {}
        start = start or _parse_time(execution.get("StartTime"))
        end = end or _parse_time(execution.get("EndTime"))
    return start, end


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return _utc(value)
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    match = _FRACTION.match(text)  # .NET writes 7 fractional digits; Python takes 6
    if match:
        text = match["head"] + match["frac"][:6] + match["tail"]
    try:
        return _utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def normalize_status(raw: Any) -> str:
    """Azure ML's status as one of `KNOWN_STATUSES` (enum or string, any case)."""
    if raw is None:
        return "Unknown"
    text = str(getattr(raw, "value", raw))
    return _STATUS.get(text.lower(), text)


# drift -> entities ---------------------------------------------------------------------------


def prepare_clone(job: Any, name: str, inputs: dict[str, JobInput], tags: dict[str, str]) -> Any:
    """The clone drift submits: the user's definition of `job` only, renamed, re-tagged and
    with `inputs` rebound.

    What is copied is an allow-list derived from the REST model of the job's type: the fields
    a client may send when creating a job (visibility "create" in azure-ai-ml's
    `arm_ml_service` models; `status`, `parameters`, the ARM id, `systemData` are read-only and
    never copied). Three of those fields are bags the service also writes into, and there
    drift keeps only what is not the service's: `outputs` without the run's artifact folder
    (`default` on `workspaceartifactstore/ExperimentRun/dcid.<source>`), `services` without
    Studio/Tracking, `properties` and `tags` without the run's records (`_run_property`,
    `_system_tag`; seen in the recordings under tests/data/azureml_recordings). A clone is
    never archived, whatever its source.
    """
    source = job.name
    rest = to_rest_job_object(job)
    body = rest.properties
    kept = {f: getattr(body, f) for f in creatable_fields(type(body))}
    kept["properties"] = {k: v for k, v in (body.properties or {}).items() if not _run_property(k)}
    kept["tags"] = {
        **{k: v for k, v in (body.tags or {}).items() if not _system_tag(k)},
        **tags,
    }
    kept["services"] = {
        k: v for k, v in (body.services or {}).items() if not _system_service(k, v)
    } or None
    if body.outputs:
        kept["outputs"] = {k: v for k, v in body.outputs.items() if not _run_output(v)}
    kept["is_archived"] = False
    clean = type(rest)(properties=type(body)(**{k: v for k, v in kept.items() if v is not None}))
    clean.name = name
    clone = Job._from_rest_object(clean)
    clone.name = name
    for key, binding in inputs.items():
        _bind(clone, source, key, binding)
    return clone


def creatable_fields(model: type) -> list[str]:
    """The fields of a REST job model a client may send on create (visibility "create")."""
    fields: dict[str, tuple[str, ...]] = {}
    for klass in reversed(model.__mro__):
        for attr, value in vars(klass).items():
            visibility = getattr(value, "_visibility", None)
            if visibility is not None:
                fields[attr] = tuple(visibility)
    creatable = sorted(attr for attr, visibility in fields.items() if "create" in visibility)
    if not creatable:  # azure-ai-ml changed how its REST models declare fields
        raise PermanentError(
            f"cannot tell which fields of {model.__name__} a client may send: azure-ai-ml's "
            "REST model declares no field visibility; drift will not guess what to copy"
        )
    return creatable


def _bind(job: Any, source: str, key: str, binding: JobInput) -> None:
    if key in _AUTOML_DATA and str(getattr(job, "type", "")).lower() == "automl":
        current = getattr(job, key, None)
        if current is None and key != "training_data":
            raise UnboundInput(
                f"AutoML job {source!r} has no {key}; drift rebinds only the data it already has"
            )
        old_mode = getattr(current, "mode", None)
        setattr(
            job,
            key,
            Input(type=binding.type, path=binding.path, mode=binding.mode or old_mode),
        )
        return
    current = (getattr(job, "inputs", None) or {}).get(key)
    if current is None:
        raise UnboundInput(
            f"job {source!r} has no input {key!r} to bind to {binding.path}; "
            f"its inputs are {sorted(getattr(job, 'inputs', None) or {})}"
        )
    old = getattr(current, "_data", current)
    mode = binding.mode or getattr(old, "mode", None)
    _rebind(job, key, Input(type=binding.type, path=binding.path, mode=mode))


def _rebind(job: Any, key: str, value: Input) -> None:
    job_inputs = getattr(job, "_job_inputs", None)
    if isinstance(job_inputs, dict):  # Command/Spark nodes submit these, not `inputs`
        job_inputs[key] = value
    current = job.inputs
    if type(current) is dict:  # jobs built on JobIOMixin (sweep, ...)
        current[key] = value
    else:  # InputsAttrDict: setattr rebuilds the wrapped data; item assignment would not
        setattr(current, key, value)


def _system_service(name: str, service: Any) -> bool:
    kind = getattr(service, "type", None) or getattr(service, "job_service_type", None)
    return str(name).lower() in _SYSTEM_SERVICES or str(kind).lower() in _SYSTEM_SERVICES


def _run_property(key: str) -> bool:
    return key.startswith(_RUN_PROPERTY_PREFIXES) or key in _RUN_PROPERTIES


def _system_tag(key: str) -> bool:
    return key.startswith("_aml_system") or key in _RUN_TAGS


def _run_output(output: Any) -> bool:
    """The run's own artifact folder, which the service adds as `outputs.default`."""
    uri = str(getattr(output, "uri", None) or "")
    return uri.startswith(_RUN_ARTIFACTS)


# Helpers -------------------------------------------------------------------------------------


def _kept(job: Any, wanted: set[str] | None) -> TrainingJob | None:
    if job is None or not job.name:
        return None
    parts = split_job_name(str(job.name))
    if parts is None or (wanted is not None and parts[0] not in wanted):
        return None
    return training_job(job)


def _pages(result: Iterable[Any]) -> Iterator[Iterable[Any]]:
    """Pages of a list result: `ItemPaged.by_page()`, or fixed-size chunks of an iterable."""
    by_page = getattr(result, "by_page", None)
    if callable(by_page):
        yield from by_page()
        return
    items = iter(result)
    while chunk := list(islice(items, _SCAN_PAGE)):
        yield chunk


def _asset_uri(path: str) -> str:
    """`azureml:name:version` for the `name:version` / `name@label` form jobs.get returns."""
    return f"azureml:{path}" if _SHORT_ASSET.match(path) else path


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
