"""Job status notifications: wake the monitors that watch the job, so its end is seen at once.

Two sources say that a training job changed state:

- Azure ML publishes `Microsoft.MachineLearningServices.RunStatusChanged` and
  `...RunCompleted` to its workspace's Event Grid system topic; `data.runId` is the job's
  name (see `MachineLearningServicesRunStatusChangedEventData`: experimentId,
  experimentName, runId, runType, runTags, runProperties, runStatus).
- Databricks posts to a webhook notification destination when a job run starts, succeeds or
  fails: `{"event_type": "jobs.on_success", "workspace_id", "run": {"run_id"}, "job":
  {"job_id", "name"}}` (a task-level notification adds `"task": {"task_key"}` and
  `run.parent_run_id`; docs.databricks.com/aws/en/jobs/notifications). It names the job and
  the run, not drift's job name: it wakes the monitor of that run (the monitor keeps the run
  id `run_now` returned), and any monitor of the job's groups whose run id is not known yet.

Monitors register with their group's `drift_job_watch` entity, so a job's name (its group is
its prefix) or a Databricks job id (its groups are in the configs) finds them. A notification
is only a hint: the monitor reads the status itself, so a lost, late, duplicated or
out-of-order one changes only how soon the end is seen, and waking a monitor of another job
of the same group costs it one status read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import azure.durable_functions as df

from drift.domain.plan import job_group
from drift.durable.orchestration import JOB_EVENT, WATCH_ENTITY, watch_key

log = logging.getLogger("drift.job_events")

AML_STATUS_CHANGED = "Microsoft.MachineLearningServices.RunStatusChanged"
AML_RUN_COMPLETED = "Microsoft.MachineLearningServices.RunCompleted"
AML_EVENT_TYPES = (AML_STATUS_CHANGED, AML_RUN_COMPLETED)
# Databricks run notifications that mean the run ended.
DATABRICKS_ENDED = ("jobs.on_success", "jobs.on_failure")
# The ones a destination may also receive; acknowledged, nothing to wake.
DATABRICKS_OTHER = (
    "jobs.on_start",
    "jobs.on_duration_warning_threshold_exceeded",
    "jobs.on_streaming_backlog_exceeded",
)

Json = dict[str, Any]


class BadNotification(ValueError):
    """The body is not a notification drift understands; the message names the field."""


class DurableClient(Protocol):
    async def read_entity_state(self, entityId: Any) -> Any: ...
    async def raise_event(
        self, instance_id: str, event_name: str, event_data: Any = None
    ) -> Any: ...
    async def signal_entity(
        self, entityId: Any, operation_name: str, operation_input: Any = None
    ) -> Any: ...


@dataclass(frozen=True)
class JobNotice:
    """A job's state changed: which group, which job (None: any job of the group), and how."""

    source: str  # "azureml" | "databricks"
    groups: tuple[str, ...]
    job: str | None
    status: str | None
    id: str
    run_id: str | None = None  # Databricks: the run that ended (None: any run)

    def data(self) -> Json:
        """What the monitor receives (it logs it; the status activity decides)."""
        return {"source": self.source, "job": self.job, "status": self.status, "id": self.id}


def from_azureml(event: Mapping[str, Any]) -> tuple[JobNotice | None, str]:
    """An Azure ML job event (Event Grid or CloudEvents schema) -> a notice, or why not."""
    kind = event.get("eventType") or event.get("type")
    if kind not in AML_EVENT_TYPES:
        return None, f"event type {kind!r} is not an Azure ML run status event"
    data = event.get("data")
    run_id = data.get("runId") if isinstance(data, Mapping) else None
    if not isinstance(run_id, str) or not run_id:
        return None, f"{kind} event {event.get('id')!r} has no data.runId"
    group = job_group(run_id)
    if group is None:
        return None, f"job {run_id!r} does not follow {{prefix}}_{{YYYYMMDDHHMMSS}}_{{random}}"
    status = data.get("runStatus") if kind == AML_STATUS_CHANGED else "Completed"
    return JobNotice("azureml", (group,), run_id, status, str(event.get("id") or "")), ""


def from_databricks(
    body: Any, groups_by_job_id: Mapping[str, Iterable[str]]
) -> tuple[JobNotice | None, str]:
    """A Databricks webhook body -> a notice, or why there is nothing to wake.

    Raises `BadNotification` for a body that is not a Databricks job notification.
    """
    if not isinstance(body, Mapping):
        raise BadNotification("body: expected a JSON object")
    kind = body.get("event_type")
    if not isinstance(kind, str) or not kind:
        raise BadNotification("event_type: missing")
    job_id = _identifier(body, "job", "job_id")
    run_id = _identifier(body, "run", "run_id")
    if kind not in DATABRICKS_ENDED:
        if kind in DATABRICKS_OTHER:
            return None, f"{kind}: the run has not ended"
        raise BadNotification(f"event_type: {kind!r} is not a Databricks job notification")
    if body.get("task") is not None:
        return None, f"{kind} for task of run {run_id}: the job run's own notification decides"
    groups = tuple(sorted(groups_by_job_id.get(str(job_id), ())))
    if not groups:
        return None, f"Databricks job {job_id} is not a model group drift watches"
    status = "Completed" if kind == "jobs.on_success" else "Failed"
    notice_id = f"databricks-{job_id}-{run_id}-{kind}"
    return JobNotice("databricks", groups, None, status, notice_id, run_id), ""


def _identifier(body: Mapping[str, Any], parent: str, key: str) -> str:
    """`body[parent][key]` as text: Databricks sends ids as strings (numbers are accepted)."""
    holder = body.get(parent)
    value = holder.get(key) if isinstance(holder, Mapping) else None
    if value is None or value == "":
        raise BadNotification(f"{parent}.{key}: missing")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadNotification(f"{parent}.{key}: expected a string or an integer")
    return str(value)


async def wake(client: DurableClient, notice: JobNotice) -> list[str]:
    """Raise the job event on every monitor watching the notice's job; returns their ids.

    A monitor that has finished meanwhile (404/410) is dropped from the watch list. Any other
    failure propagates, so Event Grid (or Databricks) delivers the notification again.
    """
    woken: list[str] = []
    for group in notice.groups:
        entity = df.EntityId(WATCH_ENTITY, watch_key(group))
        response = await client.read_entity_state(entity)
        watchers: Mapping[str, str | Mapping[str, str]] = (
            (response.entity_state or {}) if response.entity_exists else {}
        )
        for instance, watched in sorted(watchers.items()):
            job, run_id = _watched(watched)
            if notice.job is not None and job.lower() != notice.job.lower():
                continue
            if notice.run_id is not None and run_id is not None and run_id != notice.run_id:
                continue
            try:
                await client.raise_event(instance, JOB_EVENT, notice.data())
            except Exception as exc:
                if "is gone" not in str(exc) and "No instance" not in str(exc):
                    raise
                log.info("monitor %s of job %s has ended: unwatched", instance, job)
                await client.signal_entity(entity, "unwatch", instance)
                continue
            woken.append(instance)
    return woken


def _watched(value: str | Mapping[str, str]) -> tuple[str, str | None]:
    """A watch entry: the job name, or {"job", "run_id"} once a run id is known."""
    if isinstance(value, Mapping):
        return str(value.get("job") or ""), value.get("run_id") or None
    return value, None


def databricks_groups(configs: Iterable[Any]) -> dict[str, list[str]]:
    """Databricks job id -> the model groups standing for it, across the watched configs."""
    groups: dict[str, list[str]] = {}
    for config in configs:
        for entry in config.parameters.databricks_jobs:
            groups.setdefault(str(entry.job_id), []).append(entry.group)
    return groups
