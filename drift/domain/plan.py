"""The retraining plan: each model group's newest job, cloned onto the new data version."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from drift.domain.types import JobInput, TrainingJob

if TYPE_CHECKING:  # pydantic models: not needed to index the Functions app
    from drift.domain.config import DataAssetBinding

JOB_NAME_RE = re.compile(r"^(?P<prefix>.+)_(?P<stamp>\d{14})_(?P<suffix>[A-Za-z0-9]+)$")
TAG_SOURCE_JOB = "drift.source_job"
TAG_DATA_VERSION = "drift.data_version"
TAG_GROUP = "drift.group"
TAG_BASELINE = "drift.baseline_version"
# The monitor (run and group) that submitted a job: another run finding it reports it reused.
TAG_SUBMITTED_BY = "drift.submitted_by"
# What Azure ML's job status event subscription filters on (infra/ml-job-events.bicep): Event
# Grid filter keys are dot paths, so a tag whose name has a dot could not be one.
TAG_MANAGED = "drift_managed"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PlannedJob:
    group: str
    source_job: str
    job_name: str
    inputs: dict[str, JobInput]
    tags: dict[str, str]
    baseline_version: str | None = None  # the data version the group last trained on

    def to_dict(self) -> dict[str, object]:
        return {
            "group": self.group,
            "source_job": self.source_job,
            "job_name": self.job_name,
            "inputs": {k: v.to_dict() for k, v in self.inputs.items()},
            "tags": self.tags,
            "baseline_version": self.baseline_version,
        }


@dataclass(frozen=True)
class Plan:
    data_version: str
    jobs: list[PlannedJob] = field(default_factory=list)
    left_alone: dict[str, str] = field(default_factory=dict)  # group -> reason

    def to_dict(self) -> dict[str, object]:
        return {
            "data_version": self.data_version,
            "jobs": [j.to_dict() for j in self.jobs],
            "left_alone": self.left_alone,
        }


def split_job_name(name: str) -> tuple[str, str, str] | None:
    """(group, stamp, suffix) for names following `{prefix}_{YYYYMMDDHHMMSS}_{random}`."""
    match = JOB_NAME_RE.match(name)
    return (match["prefix"], match["stamp"], match["suffix"]) if match else None


def job_group(name: str) -> str | None:
    """The model group (`prefix`) of a job name, or None for names outside the convention."""
    parts = split_job_name(name)
    return parts[0] if parts else None


def retrain_job_name(group: str, data_version: str, salt: str = "") -> str:
    """Deterministic per (group, data version): a retried or repeated run finds its own job.

    The stamp is the data version's commit time, so the newest job of a group is the one
    trained on the newest data, and the name itself says which data it saw.
    """
    stamp = data_version[:14]
    if not (len(stamp) == 14 and stamp.isdigit()):
        raise ValueError(f"data version {data_version!r} does not start with YYYYMMDDHHMMSS")
    key = f"{group}\x00{data_version}" + (f"\x00{salt}" if salt else "")
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    return f"{group}_{stamp}_{digest}"


def newest_per_group(jobs: Iterable[TrainingJob]) -> dict[str, TrainingJob]:
    """Newest by the stamp in the name, then creation time, then name: total and stable."""
    best: dict[str, tuple[tuple[str, datetime, str], TrainingJob]] = {}
    for job in jobs:
        parts = split_job_name(job.name)
        if parts is None:
            continue
        group, stamp, _ = parts
        key = (stamp, job.created_at or _EPOCH, job.name)
        if group not in best or key > best[group][0]:
            best[group] = (key, job)
    return {group: job for group, (_, job) in best.items()}


def build_plan(
    jobs: Iterable[TrainingJob],
    bindings: Sequence[DataAssetBinding],
    data_version: str,
    groups: Sequence[str] = (),
    salt: str = "",
    assets: Mapping[str, str] | None = None,
) -> Plan:
    """Clone each selected group's newest job with the bound inputs on `data_version`.

    `assets` maps an input type to the asset registered for it at every version (`mltable`
    -> the MLTable asset, `uri_folder` -> the uri_folder asset): each bound input is bound to
    the asset of its own type, whichever of the pair its `dataAssets` entry names, and a group
    with a bound input of a type drift registers no asset for is left alone with a reason
    naming the input, its type and the assets. Without `assets` the input keeps its type and
    is bound to the asset its entry names.

    `salt` makes new names for a deliberate retrain on data a group already trained on (a
    monitoring violation); it is deterministic per trigger, so retries still find their job.
    """
    plan = Plan(data_version)
    newest = newest_per_group(jobs)
    wanted = set(groups)
    for group in sorted(wanted - newest.keys()):
        plan.left_alone[group] = "no job follows {group}_{YYYYMMDDHHMMSS}_{random} for this prefix"
    by_input = {b.name: b.value for b in bindings}
    ours = set(assets.values()) if assets else set()  # the table's own assets, never foreign
    for group, job in sorted(newest.items()):
        if wanted and group not in wanted:
            continue
        target = retrain_job_name(group, data_version, salt)
        # A job already submitted for this version is planned again (submit is idempotent),
        # keeping the source it was cloned from.
        source_name = job.tags.get(TAG_SOURCE_JOB, job.name) if job.name == target else job.name
        bound = {name: inp for name, inp in job.inputs.items() if name in by_input}
        foreign = {
            n: a
            for n, inp in bound.items()
            if (a := _asset_of(inp)) not in (None, by_input[n], *ours)
        }
        if foreign:  # another table's asset under the same input name: not this table's group
            name, asset = sorted(foreign.items())[0]
            plan.left_alone[group] = (
                f"newest job {job.name} binds {name} to asset {asset}, not {by_input[name]}"
            )
            continue
        if not bound:
            plan.left_alone[group] = (
                f"newest job {job.name} has none of the inputs {sorted(by_input)}"
            )
            continue
        bind_to = {name: by_input[name] for name in bound}
        if assets is not None:
            untyped = sorted(n for n, inp in bound.items() if inp.type not in assets)
            if untyped:
                name = untyped[0]
                registered = ", ".join(f"{a} ({t})" for t, a in sorted(assets.items()))
                plan.left_alone[group] = (
                    f"newest job {job.name}: input {name} is {bound[name].type}, and drift "
                    f"registers no asset of that type for {by_input[name]} "
                    f"(it registers {registered})"
                )
                continue
            bind_to = {name: assets[inp.type] for name, inp in bound.items()}
        inputs = {
            name: JobInput(inp.type, f"azureml:{bind_to[name]}:{data_version}", inp.mode)
            for name, inp in bound.items()
        }
        baseline = job.tags.get(TAG_BASELINE) if job.name == target else trained_on(job, by_input)
        tags = {
            TAG_GROUP: group,
            TAG_SOURCE_JOB: source_name,
            TAG_DATA_VERSION: data_version,
            TAG_MANAGED: "true",
        }
        if baseline:
            tags[TAG_BASELINE] = baseline
        plan.jobs.append(PlannedJob(group, source_name, target, inputs, tags, baseline))
    return plan


def _asset_of(inp: JobInput) -> str | None:
    """The data asset an input names (`azureml:<asset>:<v>` or `azureml:<asset>@<label>`)."""
    if not inp.path.startswith("azureml:") or inp.path.startswith("azureml://"):
        return None
    return inp.path.removeprefix("azureml:").split("@", 1)[0].split(":", 1)[0]


def trained_on(job: TrainingJob, by_input: dict[str, str]) -> str | None:
    """The data version a job trained on: drift's tag, else its pinned `azureml:a:v` input."""
    if job.tags.get(TAG_DATA_VERSION):
        return job.tags[TAG_DATA_VERSION]
    for name in by_input:  # in dataAssets order: the first binding is the main data
        inp = job.inputs.get(name)
        parts = inp.path.split(":") if inp else []
        if len(parts) == 3 and parts[0] == "azureml" and "@" not in parts[2]:
            return parts[2]
    return None
