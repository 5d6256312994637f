"""The orchestrators' activities: every I/O step of a run, as plain JSON-in, JSON-out functions.

The Functions app and the local driver both bind these to `Services`; the orchestrators only
ever see their names and JSON results.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from drift.domain.delta_log import CommitSummary, decide
from drift.domain.plan import TAG_SUBMITTED_BY, build_plan, newest_per_group
from drift.domain.types import JobInput, PermanentError
from drift.wiring.bootstrap import Services

# Activities import what they need when they run (drift.domain.policy: numpy, pyarrow, scipy;
# drift.domain.registration: mltable; drift.domain.table_sample: deltalake), never when the
# app is indexed.
if TYPE_CHECKING:
    from drift.domain.table_sample import TableSnapshot

REGISTER = "drift_register_version"
RESOLVE = "drift_resolve_version"
PLAN = "drift_plan_retraining"
SUBMIT = "drift_submit_job"
STATE = "drift_job_state"
CANCEL = "drift_cancel_job"
CLASSIFY = "drift_classify_commit"
DECIDE = "drift_decide_retraining"
RECORD = "drift_record_run"
PUBLISH = "drift_publish_events"

PERMANENT_ERROR = "drift_permanent_error"

Json = dict[str, Any]


class DataFileMissing(PermanentError, FileNotFoundError):
    """A Delta version whose log names a data file that is not there (deleted or vacuumed):
    waiting does not bring it back."""


class UnknownDataVersion(PermanentError, LookupError):
    """`--data-asset-version` names a version that was never registered."""


def register_version(services: Services, args: Json) -> Json:
    """Register the given Delta version, or the newest data-changing one when none is given."""
    from drift.domain.registration import latest_data_version, read_summary, register

    table = services.table
    version = args.get("delta_version")
    if version is None:
        summary = latest_data_version(services.commits, table)
        if summary is None:
            return {
                "table": table,
                "delta_version": None,
                "operation": None,
                "registered": None,
                "asset_version": None,
                "skipped": "the table has no commits yet",
            }
    else:
        summary = read_summary(services.commits, table, int(version))
    result: Json = {
        "table": table,
        "delta_version": summary.version,
        "operation": summary.operation,
        "registered": None,
        "asset_version": None,
        "skipped": None,
    }
    decision = decide(summary)
    if decision.action != "register":
        result["skipped"] = decision.reason
        return result
    if args.get("dry_run"):
        return {**result, **_preview(services, summary)}
    reg = register(services.commits, services.registry, services.config.parameters, table, summary)
    result.update(
        asset_version=reg.asset_version,
        created=reg.created,
        registered={"mltable": reg.mltable.ref, "uri_folder": reg.uri_folder.ref},
    )
    return result


def _preview(services: Services, summary: CommitSummary) -> Json:
    """What registration would produce, without writing anything (dry runs)."""
    from drift.domain.registration import asset_version

    params = services.config.parameters
    version = asset_version(summary)
    exists = services.registry.get_data(params.mltable_name, version) is not None
    return {
        "asset_version": version,
        "created": False,
        "would_register": not exists,
        "registered": {
            "mltable": f"{params.mltable_name}:{version}",
            "uri_folder": f"{params.uri_folder_name}:{version}",
        },
    }


def classify_commit(services: Services, args: Json) -> Json:
    """Whether one commit changed data: the intake of a commit event asks before queueing it."""
    from drift.domain.registration import read_summary

    summary = read_summary(services.commits, services.table, int(args["delta_version"]))
    decision = decide(summary)
    committed = summary.committed_at
    return {
        "delta_version": summary.version,
        "operation": summary.operation,
        "data_change": summary.data_change,
        "action": decision.action,
        "reason": decision.reason,
        "committed_at": committed.isoformat() if committed else None,
    }


def resolve_version(services: Services, args: Json) -> Json:
    """Check an explicit data version exists for both assets; never bind `name:None`."""
    version = args.get("data_asset_version")
    params = services.config.parameters
    if not version:
        raise UnknownDataVersion("data_asset_version is empty")
    found = {}
    for kind, name in (("mltable", params.mltable_name), ("uri_folder", params.uri_folder_name)):
        asset = services.registry.get_data(name, version)
        if asset is None:
            raise UnknownDataVersion(f"data asset {name}:{version} is not registered")
        found[kind] = asset
    tags = found["mltable"].tags
    delta = tags.get("drift.delta_version")
    return {
        "table": tags.get("drift.table"),
        "delta_version": int(delta) if delta else None,
        "operation": tags.get("drift.operation"),
        "asset_version": version,
        "registered": {k: v.ref for k, v in found.items()},
        "skipped": None,
        "created": False,
    }


class UnknownGroup(PermanentError, LookupError):
    """A retrain asked for by group names a group that has no job: a typo, not "nothing to do"."""


def plan_retraining(services: Services, args: Json) -> Json:
    params = services.config.parameters
    asked = list(args.get("groups") or [])
    groups = asked or list(params.model_name_prefix)
    jobs = list(services.jobs.list_jobs(groups or None))
    missing = sorted(set(asked) - newest_per_group(jobs).keys())
    if missing:  # only groups asked for by name; configured ones without jobs are left alone
        known = sorted(newest_per_group(services.jobs.list_jobs(None)))
        raise UnknownGroup(
            f"no model group {', '.join(missing)}: no job is named "
            f"{missing[0]}_<YYYYMMDDHHMMSS>_<suffix>; "
            f"groups with jobs: {', '.join(known) or 'none'}"
        )
    plan = build_plan(
        jobs,
        params.data_assets,
        args["data_version"],
        groups,
        salt=args.get("salt") or "",
        assets={"mltable": params.mltable_name, "uri_folder": params.uri_folder_name},
    )
    return {
        **plan.to_dict(),
        "timeout_s": params.refresh_timeout,
        "delay_s": params.refresh_delay,
        "max_parallel": params.max_parallel_jobs,
    }


def decide_retraining(services: Services, args: Json) -> Json:
    """Each group's policy decision on the new version against what it last trained on.

    Snapshots are read once per (version, sample size) and shared by the groups; a group
    whose policy needs no data (trigger always or never, no rules) reads nothing.
    """
    from drift.domain.policy import evaluate
    from drift.domain.table_sample import read_snapshot

    policies = services.config.retraining
    uri = services.commits.table_uri(services.table)
    new_version = int(args["delta_version"])
    cache: dict[tuple[int, int], TableSnapshot | None] = {}
    options: list[dict[str, str] | None] = []  # fetched once, and only if something is read

    def snapshot(version: int, rows: int, required: bool) -> TableSnapshot | None:
        if (version, rows) not in cache:
            if not options:
                options.append(services.commits.storage_options())
            try:
                cache[version, rows] = read_snapshot(uri, version, rows, options[0])
            except FileNotFoundError as exc:  # a data file the log names is gone: no retry
                if required:
                    raise DataFileMissing(
                        f"{uri} version {version}: a data file its log names is missing: "
                        + _first_line(exc)
                    ) from None
                cache[version, rows] = None
            except Exception:  # vacuumed or expired versions: no baseline, not a failure
                if required:
                    raise
                cache[version, rows] = None
        return cache[version, rows]

    decisions: Json = {}
    force = bool(args.get("force"))
    for item in args["groups"]:
        settings = policies.for_group(item["group"])
        if force:  # a monitoring violation: retrain unless the data is broken
            settings = settings.model_copy(update={"trigger": "always"})
        new = baseline = None
        base_version = _delta_version_of(services, item.get("baseline_version"))
        if settings.reads_data or settings.needs_baseline:  # else decided without reading
            new = snapshot(new_version, settings.sample_rows, required=True)
            if settings.needs_baseline and base_version is not None:
                baseline = snapshot(base_version, settings.sample_rows, required=False)
        decision = evaluate(new, baseline, settings).to_dict()
        decision["baseline_delta_version"] = base_version
        if force:
            decision["reason"] += " (monitoring violation)"
        decisions[item["group"]] = decision
    return {"decisions": decisions}


def _delta_version_of(services: Services, asset_version: str | None) -> int | None:
    """The Delta version a registered data version pins (None when drift did not register it)."""
    if not asset_version:
        return None
    asset = services.registry.get_data(services.config.parameters.mltable_name, asset_version)
    delta = asset.tags.get("drift.delta_version") if asset else None
    return int(delta) if delta and delta.isdigit() else None


def record_run(services: Services, args: Json) -> Json:
    """Keep the run report for `drift report` (locally; Azure keeps it as the run's output)."""
    services.history.record(args["report"])
    return {"recorded": args["report"]["instance_id"]}


def submit_job(services: Services, args: Json) -> Json:
    """Submit the clone. `existing` says another run submitted it (a redelivered event, a rerun
    on the same version): the job carries its submitter's `drift.submitted_by` tag, so this
    run's own retried or replayed submit is not mistaken for one."""
    inputs = {k: JobInput(v["type"], v["path"], v.get("mode")) for k, v in args["inputs"].items()}
    job = services.jobs.submit_clone(args["source_job"], args["job_name"], inputs, args["tags"])
    mine = args["tags"].get(TAG_SUBMITTED_BY)
    theirs = job.tags.get(TAG_SUBMITTED_BY)
    return {
        "job": job.name,
        "existing": bool(mine and theirs and theirs != mine),
        "run_id": job.run_id,
    }


def _run_id(args: Json) -> dict[str, str]:
    """`run_id=` for the backends that return one from a submit (Databricks), else nothing:
    the others find a job by its name and take no such argument."""
    return {"run_id": args["run_id"]} if args.get("run_id") else {}


def job_state(services: Services, args: Json) -> Json:
    state = services.jobs.get_state(args["job"], **_run_id(args))
    return {
        "job": state.name,
        "status": state.status,
        "started_at": state.started_at.isoformat() if state.started_at else None,
        "ended_at": state.ended_at.isoformat() if state.ended_at else None,
        "duration_s": state.duration_s,
        "error": state.error,
        "log_path": state.log_path,
    }


def cancel_job(services: Services, args: Json) -> Json:
    services.jobs.cancel(args["job"], **_run_id(args))
    return {"job": args["job"], "cancel_requested": True}


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().split("\n", 1)[0].strip() or type(exc).__name__


def publish_events(services: Services, args: Json) -> Json:
    """drift's own CloudEvents (built by the orchestrator, ids deterministic): at least once."""
    services.events.publish(args["events"])
    return {"published": len(args["events"])}


Resolver = Callable[[str | None], Services]


def run_activity(fn: Callable[[Services, Json], Json], resolve: Resolver, args: Json) -> Json:
    """Run one activity for the table its input names; a PermanentError comes back as a
    result so nobody retries it."""
    args = args or {}
    try:
        return fn(resolve(args.get("table_key")), args)
    except PermanentError as exc:
        return {PERMANENT_ERROR: str(exc), "type": type(exc).__name__}


ACTIVITIES: dict[str, Callable[[Services, Json], Json]] = {
    REGISTER: register_version,
    RESOLVE: resolve_version,
    PLAN: plan_retraining,
    SUBMIT: submit_job,
    STATE: job_state,
    CANCEL: cancel_job,
    CLASSIFY: classify_commit,
    DECIDE: decide_retraining,
    RECORD: record_run,
    PUBLISH: publish_events,
}


def bind(services: Services | Resolver) -> dict[str, Callable[[Any], Any]]:
    """Activity name -> callable taking the JSON input, with the table's services injected.

    One `Services` serves every table key (the CLI's single config); a resolver maps each
    `table_key` to its own (the Functions app watching several tables).
    """
    resolve: Resolver = (lambda _key: services) if isinstance(services, Services) else services
    return {name: partial(run_activity, fn, resolve) for name, fn in ACTIVITIES.items()}
