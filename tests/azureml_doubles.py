"""Doubles of MLClient's operations (`jobs`, `data`, `datastores`) for tests at the SDK boundary.

They keep the real operations' signatures, take and return real azure-ai-ml entities and raise
what azure-ai-ml raises (`ResourceNotFoundError` for 404, `ResourceExistsError` for 409,
`HttpResponseError` carrying a response with `status_code` and headers, `AssetPathException`).
Jobs go through azure-ai-ml's own REST conversion both ways: what `create_or_update` receives is
serialized as the SDK would send it, and every `get`/`list` builds a fresh entity from a REST
object, as the service's responses do. Every service call is logged (a listing logs one call
per page, when the page is fetched), and faults can be injected per operation: raised before
the operation, or after it took effect server-side (`Fault(error, after=True)`).

`wire_client` goes one level lower for what only the real operations can show (the query and
body they send, how they map a 404): a real MLClient whose HTTP transport answers from a script.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from azure.ai.ml import MLClient
from azure.ai.ml._restclient.arm_ml_service import models as rest_models
from azure.ai.ml.constants import ListViewType
from azure.ai.ml.entities import Data, Datastore, Job
from azure.ai.ml.entities._job.to_rest_functions import to_rest_job_object
from azure.ai.ml.exceptions import AssetPathException, ErrorTarget
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.core.paging import ItemPaged
from azure.core.polling import LROPoller, NoPolling
from azure.core.rest._requests_basic import RestRequestsTransportResponse
from azure.identity import ClientSecretCredential

from tests.transport import InMemoryTransport

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
RESOURCE_GROUP = "rg-drift"
WORKSPACE = "ws-drift"
TERMINAL = frozenset({"Completed", "Failed", "Canceled", "NotResponding", "Paused"})
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


# Errors --------------------------------------------------------------------------------------


class ResponseDouble:
    """Enough of an HTTP response for azure-core's HttpResponseError."""

    def __init__(self, status_code: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        self.status_code = status_code
        self.reason = _REASONS.get(status_code, "Error")
        self.headers = headers
        self._body = json.dumps(body)

    def text(self, encoding: str | None = None) -> str:
        return self._body


def http_error(
    status: int,
    message: str = "",
    *,
    code: str | None = None,
    retry_after: float | str | None = None,
) -> HttpResponseError:
    """The exception azure-ai-ml's REST client raises for `status` (error_map classes)."""
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    code = code or _REASONS.get(status, "Error").replace(" ", "")
    response = ResponseDouble(status, {"error": {"code": code, "message": message}}, headers)
    cls = {401: ClientAuthenticationError, 404: ResourceNotFoundError, 409: ResourceExistsError}
    return cls.get(status, HttpResponseError)(response=response)  # type: ignore[abstract]


@dataclass
class Fault:
    """An error an operation raises; `after`: only once the operation took effect;
    `skip`: only after that many calls of the operation went through."""

    error: BaseException
    after: bool = False
    skip: int = 0


class Service:
    """The call log and fault plan shared by one workspace's operation doubles."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self._queued: dict[str, deque[Fault]] = {}
        self._always: dict[str, BaseException] = {}

    def fail(self, op: str, *faults: BaseException | Fault) -> None:
        """The next calls of `op` raise these, one per call, in order."""
        queue = self._queued.setdefault(op, deque())
        queue.extend(f if isinstance(f, Fault) else Fault(f) for f in faults)

    def fail_always(self, op: str, error: BaseException) -> None:
        self._always[op] = error

    def count(self, op: str | None = None) -> int:
        return len(self.calls) if op is None else sum(1 for o, _ in self.calls if o == op)

    def counts(self) -> Counter[str]:
        return Counter(op for op, _ in self.calls)

    def enter(self, op: str, detail: str = "") -> Fault | None:
        """Log one call; raise a fault due before it; return one due after it."""
        self.calls.append((op, detail))
        if op in self._always:
            raise self._always[op]
        queue = self._queued.get(op)
        if queue and queue[0].skip > 0:
            queue[0].skip -= 1
        elif queue:
            fault = queue.popleft()
            if not fault.after:
                raise fault.error
            return fault
        return None

    @staticmethod
    def leave(fault: Fault | None) -> None:
        if fault is not None:
            raise fault.error


def _arm(kind: str, name: str) -> str:
    return (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/"
        f"Microsoft.MachineLearningServices/workspaces/{WORKSPACE}/{kind}/{name}"
    )


# Jobs ----------------------------------------------------------------------------------------


@dataclass
class StoredJob:
    name: str
    entity: Job  # as submitted or seeded; bulk history shares one template entity
    created_at: datetime
    tags: dict[str, str]
    status: str
    modified_at: datetime
    started_at: datetime | None = None  # when it first ran (the service's StartTimeUtc)
    ended_at: datetime | None = None  # when it reached a terminal state (EndTimeUtc)


_RUNNING = frozenset({"Running", "Finalizing", "CancelRequested"})


class JobsDouble:
    """`JobOperations`: get, list (paged, newest first), create_or_update, begin_cancel."""

    def __init__(self, service: Service, page_size: int = 50) -> None:
        self.service = service
        self.page_size = page_size
        self._jobs: dict[str, StoredJob] = {}
        self.submitted: list[Job] = []  # entities create_or_update received
        self.bodies: list[Any] = []  # the REST bodies the SDK would send for them
        self.on_existing: Callable[[str], BaseException] = lambda name: http_error(
            409, f"A job with name {name} already exists", code="UserError"
        )
        self._clock = datetime(2026, 1, 1, tzinfo=UTC)

    # Arranging (not service calls) -----------------------------------------------------------

    def seed(
        self,
        job: Job,
        *,
        name: str | None = None,
        created_at: datetime | None = None,
        status: str = "Completed",
        tags: dict[str, str] | None = None,
    ) -> None:
        name = name or job.name
        created = created_at or self._tick()
        tags = dict(job.tags or {}) if tags is None else tags
        self._jobs[name] = StoredJob(name, job, created, tags, status, created)

    def set_status(self, name: str, status: str) -> None:
        stored = self._jobs[name]
        stored.status = status
        stored.modified_at = self._tick()
        if status in _RUNNING | TERMINAL and stored.started_at is None:
            stored.started_at = stored.modified_at
        if status in TERMINAL:
            stored.ended_at = stored.modified_at

    def names(self) -> list[str]:
        return list(self._jobs)

    def _tick(self) -> datetime:
        self._clock += timedelta(minutes=1)
        return self._clock

    # JobOperations ---------------------------------------------------------------------------

    def get(self, name: str) -> Job:
        fault = self.service.enter("jobs.get", name)
        stored = self._jobs.get(name)
        if stored is None:
            raise http_error(404, f"Job {name} not found", code="UserError")
        job = self._materialize(stored)
        self.service.leave(fault)
        return job

    def list(
        self,
        *,
        parent_job_name: str | None = None,
        list_view_type: ListViewType = ListViewType.ACTIVE_ONLY,
        **kwargs: Any,
    ) -> Iterable[Job]:
        if parent_job_name is not None:
            raise NotImplementedError("child job listing is not modelled")
        tag = kwargs.pop("tag", None)
        properties = kwargs.pop("properties", None)
        job_type = kwargs.pop("job_type", None)
        kwargs.pop("max_results", None)
        if kwargs:
            raise TypeError(f"unexpected list() arguments: {sorted(kwargs)}")
        matches = [
            s
            for s in sorted(self._jobs.values(), key=lambda s: s.created_at, reverse=True)
            if (tag is None or tag in s.tags)
            and _has_properties(s.entity, properties)
            and (job_type is None or str(s.entity.type).lower() == job_type.lower())
        ]
        page = self.page_size

        def get_next(token: str | None) -> int:
            start = int(token or 0)
            self.service.leave(self.service.enter("jobs.list", f"tag={tag} page={start // page}"))
            return start

        def extract(start: int) -> tuple[str | None, list[Job]]:
            end = start + page
            return (
                str(end) if end < len(matches) else None,
                [self._materialize(s) for s in matches[start:end]],
            )

        return ItemPaged(get_next, extract)

    def create_or_update(
        self,
        job: Job,
        *,
        description: str | None = None,
        compute: str | None = None,
        tags: dict | None = None,
        experiment_name: str | None = None,
        skip_validation: bool = False,
        **kwargs: Any,
    ) -> Job:
        fault = self.service.enter("jobs.create_or_update", str(job.name))
        if job.name is None:
            raise ValueError("drift always names its jobs")
        if job.name in self._jobs:
            raise self.on_existing(job.name)
        for attr, value in (
            ("description", description),
            ("compute", compute),
            ("tags", tags),
            ("experiment_name", experiment_name),
        ):
            if value is not None:
                setattr(job, attr, value)
        self.submitted.append(job)
        self.bodies.append(to_rest_job_object(job))  # fails if the SDK could not send it
        created = self._tick()
        self._jobs[job.name] = StoredJob(
            job.name, job, created, dict(job.tags or {}), "NotStarted", created
        )
        self.service.leave(fault)
        return self._materialize(self._jobs[job.name])

    def begin_cancel(self, name: str, **kwargs: Any) -> LROPoller[None]:
        fault = self.service.enter("jobs.begin_cancel", name)
        stored = self._jobs.get(name)
        if stored is None:
            raise http_error(404, f"Job {name} not found", code="UserError")
        if stored.status in TERMINAL:
            raise http_error(
                400, f"Job {name} is already in a terminal state: {stored.status}", code="UserError"
            )
        stored.status = "CancelRequested"
        stored.modified_at = self._tick()
        self.service.leave(fault)
        return LROPoller(None, None, lambda _: None, NoPolling())

    def _materialize(self, stored: StoredJob) -> Job:
        """A fresh entity built from a REST object, as `jobs.get` builds it from a response."""
        rest = to_rest_job_object(stored.entity)
        rest.name = stored.name
        rest.id = _arm("jobs", stored.name)
        rest.properties.tags = dict(stored.tags)
        rest.properties.status = stored.status
        rest.properties.services = {
            **(rest.properties.services or {}),
            "Studio": rest_models.JobService(
                job_service_type="Studio",
                endpoint=f"https://ml.azure.com/runs/{stored.name}?wsid={_arm('', '').rstrip('/')}",
            ),
            "Tracking": rest_models.JobService(
                job_service_type="Tracking", endpoint=f"azureml://tracking/{stored.name}"
            ),
        }
        # As recorded (tests/data/azureml_recordings): a job's systemData has createdAt only,
        # and its run times are properties the service writes once it runs and ends.
        rest.system_data = rest_models.SystemData(
            created_at=stored.created_at, created_by="someone@example.com"
        )
        run = dict(rest.properties.properties or {})
        if str(rest.properties.job_type) in ("Command", "JobType.COMMAND"):
            # What the service adds to a command job (recorded: job_command.json).
            run["_azureml.ComputeTargetType"] = "amlctrain"
            rest.properties.outputs = {
                **(rest.properties.outputs or {}),
                "default": rest_models.UriFolderJobOutput(
                    uri=f"azureml://datastores/workspaceartifactstore/ExperimentRun/dcid.{stored.name}",
                    mode="ReadWriteMount",
                ),
            }
        for key, when in (("StartTimeUtc", stored.started_at), ("EndTimeUtc", stored.ended_at)):
            if when is not None:
                run[key] = when.isoformat()
        rest.properties.properties = run
        return Job._from_rest_object(rest)


def _has_properties(job: Job, wanted: str | None) -> bool:
    if not wanted:
        return True
    props = getattr(job, "properties", None) or {}
    for item in wanted.split(","):
        key, _, value = item.partition("=")
        if key not in props or (value and str(props[key]) != value):
            return False
    return True


# Data assets ---------------------------------------------------------------------------------


class DataDouble:
    """`DataOperations`: get and create_or_update of immutable-path, mutable-tag versions."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self._versions: dict[tuple[str, str], Data] = {}
        self.received: list[Data] = []  # entities create_or_update received
        self.uploads: dict[str, dict[str, str]] = {}  # uploaded path -> {file: text}
        # What an existing version with another path raises: azure-ai-ml turns the service's
        # "(UserError) Asset paths cannot be updated." into AssetPathException.
        self.on_changed_path: Callable[[str, str], BaseException] = lambda name, version: (
            AssetPathException(
                message=f"The data asset {name}:{version} is already linked to another path",
                no_personal_data_message="The data asset is already linked to another path.",
                target=ErrorTarget.DATA,
            )
        )

    def add(self, data: Data) -> None:
        """Arrange an existing version (not a service call)."""
        self._versions[(data.name, str(data.version))] = _copy_data(data)

    def get(self, name: str, version: str | None = None, label: str | None = None) -> Data:
        fault = self.service.enter("data.get", f"{name}:{version}")
        stored = self._versions.get((name, str(version)))
        if stored is None:
            raise http_error(404, f"Data asset {name}:{version} not found", code="UserError")
        self.service.leave(fault)
        return _copy_data(stored)

    def create_or_update(self, data: Data) -> Data:
        fault = self.service.enter("data.create_or_update", f"{data.name}:{data.version}")
        self.received.append(data)
        path = str(data.path)
        if "://" not in path:  # a local folder: upload it, as azure-ai-ml does
            folder = Path(path)
            files = {
                str(f.relative_to(folder)): f.read_text(encoding="utf-8")
                for f in sorted(folder.rglob("*"))
                if f.is_file()
            }
            digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:32]
            path = (
                f"azureml://subscriptions/{SUBSCRIPTION}/resourcegroups/{RESOURCE_GROUP}/"
                f"workspaces/{WORKSPACE}/datastores/workspaceblobstore/paths/"
                f"LocalUpload/{digest}/{folder.name}/"
            )
            self.uploads[path] = files
            data.path = path
        path = _as_stored(path)
        key = (data.name, str(data.version))
        existing = self._versions.get(key)
        if existing is not None and existing.path != path:
            raise self.on_changed_path(*key)
        if existing is not None:
            existing.tags = dict(data.tags or {})  # tags of a version are mutable
        else:
            self._versions[key] = _copy_data(data)
            self._versions[key].path = path
        self.service.leave(fault)
        return _copy_data(self._versions[key])


def _as_stored(path: str) -> str:
    """The service keeps a data URI in long form with a trailing slash (recorded:
    sdk_local_upload_mltable.json)."""
    short = "azureml://datastores/"
    if path.startswith(short):
        path = (
            f"azureml://subscriptions/{SUBSCRIPTION}/resourcegroups/{RESOURCE_GROUP}/"
            f"workspaces/{WORKSPACE}/datastores/" + path[len(short) :]
        )
    return path if path.endswith("/") else path + "/"


def _copy_data(data: Data) -> Data:
    return Data(
        id=_arm(f"data/{data.name}/versions", str(data.version)),
        name=data.name,
        version=str(data.version),
        type=data.type,
        path=str(data.path),
        description=data.description,
        tags=dict(data.tags or {}),
    )


# Datastores ----------------------------------------------------------------------------------


@dataclass
class DatastoresDouble:
    """`DatastoreOperations`: get and create_or_update."""

    service: Service
    stores: dict[str, Datastore] = field(default_factory=dict)
    created: list[Datastore] = field(default_factory=list)  # entities create_or_update received

    def get(self, name: str, *, include_secrets: bool = False) -> Datastore:
        fault = self.service.enter("datastores.get", name)
        if name not in self.stores:
            raise http_error(404, f"Datastore {name} not found", code="UserError")
        self.service.leave(fault)
        return self.stores[name]

    def create_or_update(self, datastore: Datastore) -> Datastore:
        fault = self.service.enter("datastores.create_or_update", datastore.name)
        datastore._to_rest_object()  # fails if the SDK could not send it
        self.created.append(datastore)
        self.stores[datastore.name] = datastore
        self.service.leave(fault)
        return datastore


# Blob container (drift's MLTable files) -------------------------------------------------------


class _Download:
    def __init__(self, content: bytes) -> None:
        self._content = content

    def readall(self) -> bytes:
        return self._content


@dataclass
class BlobDouble:
    container: ContainerDouble
    name: str

    def upload_blob(self, data: bytes, *, overwrite: bool = False, **kwargs: Any) -> dict:
        fault = self.container.service.enter("blobs.upload", self.name)
        if self.name in self.container.blobs and not overwrite:
            raise ResourceExistsError(message="The specified blob already exists.")
        self.container.blobs[self.name] = bytes(data)
        self.container.service.leave(fault)
        return {}

    def download_blob(self, **kwargs: Any) -> _Download:
        fault = self.container.service.enter("blobs.download", self.name)
        if self.name not in self.container.blobs:
            raise ResourceNotFoundError(message="The specified blob does not exist.")
        self.container.service.leave(fault)
        return _Download(self.container.blobs[self.name])


@dataclass
class ContainerDouble:
    """azure-storage-blob's `ContainerClient`, as far as drift writes MLTable files with it."""

    service: Service
    name: str = "drift-mltables"
    blobs: dict[str, bytes] = field(default_factory=dict)

    def get_blob_client(self, blob: str) -> BlobDouble:
        return BlobDouble(self, blob)

    def text(self, blob: str) -> str:
        return self.blobs[blob].decode("utf-8")


# The client ----------------------------------------------------------------------------------


@dataclass
class Workspace:
    service: Service
    client: MLClient
    jobs: JobsDouble
    data: DataDouble
    datastores: DatastoresDouble
    mltables: ContainerDouble


def workspace(page_size: int = 50) -> Workspace:
    """A real MLClient (built offline, never authenticating) whose operations are doubles."""
    service = Service()
    client = MLClient(
        ClientSecretCredential("tenant-never-used", "client-never-used", "secret-never-used"),
        SUBSCRIPTION,
        RESOURCE_GROUP,
        WORKSPACE,
    )
    jobs = JobsDouble(service, page_size)
    data = DataDouble(service)
    datastores = DatastoresDouble(service)
    client._jobs = jobs  # type: ignore[assignment]
    client._data = data  # type: ignore[assignment]
    client._datastores = datastores  # type: ignore[assignment]
    return Workspace(service, client, jobs, data, datastores, ContainerDouble(service))


# The wire: a real MLClient whose HTTP transport answers from a script -------------------------


class _Token:
    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken("token-never-checked", 4102444800)

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo("token-never-checked", 4102444800)


@dataclass
class WireRequest:
    method: str
    path: str  # after .../workspaces/<ws>
    query: dict[str, str]
    body: dict[str, Any] | None


class RecordingTransport(InMemoryTransport):
    """Records each request azure-ai-ml sends; `respond(request)` gives (status, JSON body)."""

    def __init__(self, respond: Callable[[WireRequest], tuple[int, dict[str, Any]]]) -> None:
        self.respond = respond
        self.requests: list[WireRequest] = []

    def send(self, request: Any, **kwargs: Any) -> Any:
        url = urlsplit(request.url)
        content = getattr(request, "content", None)
        seen = WireRequest(
            request.method,
            url.path.split(f"/workspaces/{WORKSPACE}", 1)[-1],
            dict(parse_qsl(url.query)),
            json.loads(content) if content else None,
        )
        self.requests.append(seen)
        status, payload = self.respond(seen)
        raw = requests.Response()
        raw.status_code = status
        raw.raw = io.BytesIO(json.dumps(payload).encode())
        raw.headers["Content-Type"] = "application/json"
        return RestRequestsTransportResponse(request=request, internal_response=raw)


def wire_client(
    respond: Callable[[WireRequest], tuple[int, dict[str, Any]]],
) -> tuple[MLClient, RecordingTransport]:
    """A real MLClient, real operations, real REST client; only the HTTP transport is scripted."""
    transport = RecordingTransport(respond)
    client = MLClient(_Token(), SUBSCRIPTION, RESOURCE_GROUP, WORKSPACE, transport=transport)
    return client, transport


NOT_FOUND = (404, {"error": {"code": "UserError", "message": "Not found"}})
