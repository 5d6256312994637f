"""drift's own events: CloudEvents saying what drift did, for whatever reacts downstream.

Three types, built by the orchestrator (so from replay-safe data only) and published by an
activity, at least once:

- `drift.dataset_version.registered`: a pinned data asset version exists for a Delta version;
- `drift.retraining.started`: a group's job is being submitted, with the policy decision;
- `drift.retraining.finished`: its row in the report: status, duration, error, decision.

Event ids are deterministic (a hash of the type and what the event is about: table and data
version; run, group and job), so an activity retried after a crash sends the same ids and a
consumer drops the duplicates. Sinks: an Event Grid topic (`EventGridPublisherClient`, the
app's managed identity; Event Grid Data Sender on the topic), a JSON-lines file in the local
backend's workdir, or nothing.

Light at import time: azure-eventgrid is imported when the first event is sent.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

REGISTERED = "drift.dataset_version.registered"
STARTED = "drift.retraining.started"
FINISHED = "drift.retraining.finished"
TYPES = (REGISTERED, STARTED, FINISHED)
SOURCE = "/drift"
# The app setting naming the topic endpoint, e.g. https://<topic>.<region>-1.eventgrid.azure.net/api/events
ENDPOINT_SETTING = "DRIFT_EVENTS_TOPIC_ENDPOINT"
LOCAL_FILE = "events.jsonl"

Json = dict[str, Any]


def event_id(kind: str, *about: Any) -> str:
    """The same fact always gets the same id: consumers deduplicate on it."""
    text = "\x00".join([kind, *(str(part) for part in about)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cloud_event(kind: str, subject: str, time: datetime, data: Json, *about: Any) -> Json:
    """A CloudEvents 1.0 event in its JSON form (what the sinks send and write)."""
    if kind not in TYPES:
        raise ValueError(f"unknown drift event type {kind!r}")
    return {
        "specversion": "1.0",
        "id": event_id(kind, *about),
        "source": SOURCE,
        "type": kind,
        "subject": subject,
        "time": time.isoformat(),
        "datacontenttype": "application/json",
        "data": data,
    }


class EventSink(Protocol):
    def publish(self, events: Sequence[Json]) -> None: ...


class NoEvents:
    """No topic configured: events are built and dropped."""

    def publish(self, events: Sequence[Json]) -> None:
        return None


class JsonLinesEvents:
    """The local backend's sink: one event per line in `<workdir>/events.jsonl`.

    Each batch is appended with one write and flushed to disk before the activity returns, so
    an event is either on disk or the activity is retried (and may then appear twice, with the
    same id, as on Event Grid).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def publish(self, events: Sequence[Json]) -> None:
        if not events:
            return
        text = "".join(json.dumps(e, sort_keys=True) + "\n" for e in events)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())

    def read(self) -> list[Json]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]


class EventGridEvents:
    """An Event Grid topic (CloudEvents 1.0 input schema), authenticated with a token
    credential (the app's managed identity needs EventGrid Data Sender on the topic)."""

    def __init__(self, endpoint: str, credential: Any) -> None:
        self.endpoint = endpoint
        self._credential = credential
        self._client: Any = None
        self._lock = threading.Lock()

    def _publisher(self) -> Any:
        with self._lock:
            if self._client is None:
                from azure.eventgrid import EventGridPublisherClient

                self._client = EventGridPublisherClient(self.endpoint, self._credential)
            return self._client

    def publish(self, events: Sequence[Json]) -> None:
        if not events:
            return
        from azure.core.messaging import CloudEvent

        batch = [
            CloudEvent(
                source=e["source"],
                type=e["type"],
                data=e["data"],
                subject=e["subject"],
                id=e["id"],
                time=datetime.fromisoformat(e["time"]),
                datacontenttype=e["datacontenttype"],
            )
            for e in events
        ]
        self._publisher().send(batch)
