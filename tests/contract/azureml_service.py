"""An in-memory Azure (ARM Azure ML workspace + one storage account) behind an azure-core transport.

drift's real clients talk to it: `MLClient(..., transport=ServiceTransport(service))` reaches
every generated REST client and the SDK's general-purpose pipeline (azure-ai-ml passes its
kwargs to all of them), drift's own blob client takes the same transport, and the storage
clients azure-ai-ml builds by itself (it reads a remote MLTable back while registering it) are
caught by `service.intercept_default_transport()`, which routes azure-core's default
`RequestsTransport` here too. Nothing reaches a network.

Answers have the shapes of real Azure ML traffic: every resource body is built from the
recorded responses in `tests/data/azureml_recordings/` (sanitized recordings of
Azure/azure-sdk-for-python, each file naming its source and commit): envelope (`id`, `name`,
`type`, `systemData` with only `createdAt` for jobs), the fields the service adds to a job
(`status`, `services.Studio/Tracking`, `outputs.default` on the artifact store, `_azureml.*`
properties, `azureml.pipelines.stages` for pipelines), long-form `dataUri` with a trailing
slash, and `listSecrets` answering the account key shape.

Every request is kept (`requests`), and faults can be injected per request (`fault`).
"""

from __future__ import annotations

import base64
import copy
import io
import json
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import requests
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest._requests_basic import RestRequestsTransportResponse

from tests.transport import InMemoryTransport

RECORDINGS = Path(__file__).resolve().parents[1] / "data" / "azureml_recordings"
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
RESOURCE_GROUP = "rg-drift"
WORKSPACE = "ws-drift"
ACCOUNT = "driftlake"
WS_PATH = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/"
    f"Microsoft.MachineLearningServices/workspaces/{WORKSPACE}"
)
RECORDED_WS = (
    "/subscriptions/00000000-0000-0000-0000-000000000/resourceGroups/00000/providers/"
    "Microsoft.MachineLearningServices/workspaces/00000"
)
TERMINAL = frozenset({"Completed", "Failed", "Canceled", "NotResponding", "Paused"})
_START = datetime(2026, 1, 1, tzinfo=UTC)


def recording(name: str) -> dict[str, Any]:
    """A recorded fixture: `source` (repo, path, commit) and its `entries`."""
    return json.loads((RECORDINGS / name).read_text(encoding="utf-8"))


def recorded_response(name: str, method: str = "GET", path_end: str = "") -> dict[str, Any]:
    """The first recorded response body of `method` in fixture `name` (whose path ends with
    `path_end`), moved to our workspace."""
    for entry in recording(name)["entries"]:
        if entry["method"] == method and "response" in entry and entry["path"].endswith(path_end):
            text = json.dumps(entry["response"]).replace(RECORDED_WS, WS_PATH)
            return json.loads(text)
    raise KeyError(f"{name} has no recorded {method} response")


TENANT = "72f988bf-0000-0000-0000-000000000000"


def static_token(*scopes: str) -> str:
    """An unsigned JWT naming the scope's resource and a tenant: azure-ai-ml decodes tokens
    (the tenant for studio URLs; the audience of the token it sends with pipeline jobs).
    Nothing in it is secret and nobody checks it."""

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    audience = (scopes[0] if scopes else "").removesuffix("/.default")
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part({'aud': audience, 'tid': TENANT})}."


class StaticToken:
    """A credential with a fixed token per scope: nothing secret, never checked by the fake."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(static_token(*scopes), 4102444800)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        return AccessTokenInfo(static_token(*scopes), 4102444800)


@dataclass
class Seen:
    """One request as the service received it."""

    method: str
    host: str
    path: str  # after .../workspaces/<ws> for ARM; /<container>/<path> for storage
    query: dict[str, str]
    body: Any  # parsed JSON, raw bytes, or None
    headers: dict[str, str]
    via: str  # "injected" (a transport drift passed) or "default" (a client the SDK built)
    status: int = 0

    @property
    def arm(self) -> bool:
        return self.host == "management.azure.com"

    @property
    def api_version(self) -> str | None:
        return self.query.get("api-version")

    def __str__(self) -> str:
        return f"{self.method} {self.host}{self.path} -> {self.status}"


Fault = Callable[[Seen], tuple[int, bool] | None]


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-able, bytes or None
    headers: dict[str, str] = field(default_factory=dict)


class AzureService:
    """One workspace and one ADLS Gen2 account, answering as the recordings show."""

    def __init__(self, page_size: int = 50, list_order: str = "newest") -> None:
        self.requests: list[Seen] = []
        self.datastores: dict[str, dict[str, Any]] = {}
        self.data: dict[tuple[str, str], dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.blobs: dict[tuple[str, str], bytes] = {}  # (container, path) -> content
        self.containers = {"data", "drift-mltables", DEFAULT_CONTAINER}
        self.computes = {"cpu-cluster", "testCompute", "automl-cpu-cluster"}
        # The workspace's default datastore, as recorded: it stores the account key.
        self.datastores["workspaceblobstore"] = _default_datastore()
        self.page_size = page_size
        self.list_order = list_order  # "newest" first, or "shuffled" (no order promised)
        self.fault: Fault | None = None
        self._clock = _START
        self._started: dict[str, str] = {}  # job -> when it started running

    # Arranging ------------------------------------------------------------------------------

    def tick(self) -> datetime:
        self._clock += timedelta(minutes=1)
        return self._clock

    def seed_job(self, body: dict[str, Any], name: str, created_at: datetime | None = None) -> None:
        """A job as `jobs.get` returns it: a recorded response body renamed to `name`."""
        job = copy.deepcopy(body)
        old = job["name"]
        job = json.loads(json.dumps(job).replace(old, name))
        job["systemData"] = {"createdAt": _iso(created_at or self.tick()), "createdByType": "User"}
        self.jobs[name] = job

    def set_status(self, name: str, status: str) -> None:
        """Move a job on, writing the times the service records for its kind."""
        job = self.jobs[name]
        props = job["properties"]
        props["status"] = status
        now = self.tick()
        run = props.setdefault("properties", {})
        kind = props.get("jobType")
        if status == "Running":
            self._started[name] = _iso(now)
            if kind != "Pipeline":
                run["StartTimeUtc"] = self._started[name]
        if status in TERMINAL:
            start = self._started.setdefault(name, _iso(now))
            if kind == "Pipeline":
                run["azureml.pipelines.stages"] = json.dumps(
                    {
                        "Initialization": None,
                        "Execution": {
                            "StartTime": start,
                            "EndTime": _iso(now),
                            "Status": "Finished",
                        },
                    }
                )
            else:
                run.setdefault("StartTimeUtc", start)
                run["EndTimeUtc"] = _iso(now)

    def put_blob(self, container: str, path: str, content: bytes) -> None:
        self.blobs[(container, path)] = content

    # Reading the log ------------------------------------------------------------------------

    def arm_requests(self) -> list[Seen]:
        return [r for r in self.requests if r.arm]

    def key_bearing(self) -> list[Seen]:
        """Requests that fetch or carry a storage key or SAS: what drift must never send."""
        return [r for r in self.requests if _key_bearing(r)]

    def clear(self) -> None:
        self.requests.clear()

    # Transport entry ------------------------------------------------------------------------

    def handle(self, seen: Seen) -> Reply:
        self.requests.append(seen)
        fault = self.fault(seen) if self.fault else None
        if fault is not None and not fault[1]:
            seen.status = fault[0]
            return _fault_reply(fault[0])
        if seen.host == "management.azure.com":
            reply = self._arm(seen)
        elif seen.host.startswith(f"{ACCOUNT}."):
            reply = self._storage(seen)
        else:
            reply = Reply(404, error_body("NotFound", f"no such host in the fake: {seen.host}"))
        if fault is not None:  # after the call took effect
            seen.status = fault[0]
            return _fault_reply(fault[0])
        seen.status = reply.status
        return reply

    # ARM ------------------------------------------------------------------------------------

    def _arm(self, r: Seen) -> Reply:
        parts = [unquote(p) for p in r.path.strip("/").split("/")] if r.path.strip("/") else []
        if not parts and r.method == "GET":  # the workspace itself
            body = recorded_response("workspace_and_compute.json", path_end="/workspaces/00000")
            return Reply(200, _renamed(body, WORKSPACE))
        if parts[:1] == ["computes"] and len(parts) == 2 and r.method == "GET":
            if parts[1] not in self.computes:
                return Reply(404, error_body("UserError", f"compute {parts[1]} not found"))
            return Reply(
                200,
                _renamed(
                    recorded_response("workspace_and_compute.json", path_end="/cpu-cluster"),
                    parts[1],
                ),
            )
        if parts[:1] == ["datastores"]:
            return self._datastores(r, parts[1:])
        if parts[:1] == ["data"] and len(parts) == 4 and parts[2] == "versions":
            return self._data(r, parts[1], parts[3])
        if parts[:1] == ["jobs"]:
            return self._jobs(r, parts[1:])
        return Reply(404, error_body("NotFound", f"the fake has no {r.method} {r.path}"))

    def _datastores(self, r: Seen, rest: list[str]) -> Reply:
        if not rest:  # list; azure-ai-ml's get_default() asks for isDefault=true
            found = [
                d
                for d in self.datastores.values()
                if r.query.get("isDefault") != "true" or d["properties"].get("isDefault")
            ]
            return Reply(200, {"value": found})
        name = rest[0]
        if len(rest) == 2 and rest[1] == "listSecrets" and r.method == "POST":
            if name not in self.datastores:
                return Reply(404, error_body("UserError", f"datastore {name} not found"))
            return Reply(200, recorded_response("sdk_local_upload_mltable.json", "POST"))
        if r.method == "GET":
            found = self.datastores.get(name)
            if found is None:
                return Reply(404, error_body("UserError", f"datastore {name} not found"))
            return Reply(200, found)
        if r.method == "PUT":
            body = recorded_response("datastore_adls_gen2_identity.json", "PUT")
            body["id"] = f"{WS_PATH}/datastores/{name}"
            body["name"] = name
            props = dict(r.body["properties"])
            body["properties"] = {
                "description": props.pop("description", None),
                "tags": props.pop("tags", {}),
                "properties": None,
                "isDefault": False,
                **props,
                "serviceDataAccessAuthIdentity": "None",
            }
            status = 200 if name in self.datastores else 201
            self.datastores[name] = body
            return Reply(status, body)
        return Reply(405, error_body("MethodNotAllowed", r.method))

    def _data(self, r: Seen, name: str, version: str) -> Reply:
        key = (name, version)
        if r.method == "GET":
            found = self.data.get(key)
            if found is None:
                return Reply(404, error_body("UserError", f"data {name}:{version} not found"))
            return Reply(200, found)
        if r.method != "PUT":
            return Reply(405, error_body("MethodNotAllowed", r.method))
        props = dict(r.body["properties"])
        uri = _long_form(props["dataUri"])
        existing = self.data.get(key)
        if existing is not None and existing["properties"]["dataUri"] != uri:
            return Reply(400, error_body("UserError", "Asset paths cannot be updated."))
        body = recorded_response("sdk_local_upload_mltable.json", "PUT")
        body["id"] = f"{WS_PATH}/data/{name}/versions/{version}"
        body["name"] = version
        body["properties"] = {
            "description": props.get("description"),
            "tags": props.get("tags") or {},
            "properties": props.get("properties") or {},
            "isArchived": False,
            "isAnonymous": False,
            "dataUri": uri,
            "dataType": props["dataType"],
            **({"referencedUris": props["referencedUris"]} if "referencedUris" in props else {}),
        }
        self.data[key] = body
        return Reply(200 if existing else 201, body)

    def _jobs(self, r: Seen, rest: list[str]) -> Reply:
        if not rest:
            return self._list_jobs(r) if r.method == "GET" else Reply(405)
        name = rest[0]
        if len(rest) == 2 and rest[1] == "cancel" and r.method == "POST":
            job = self.jobs.get(name)
            if job is None:
                return Reply(404, error_body("UserError", f"job {name} not found"))
            if job["properties"]["status"] in TERMINAL:
                return Reply(
                    400, error_body("UserError", f"job {name} is already in a terminal state")
                )
            job["properties"]["status"] = "CancelRequested"
            return Reply(202, None, {"Location": f"https://management.azure.com{WS_PATH}/x"})
        if r.method == "GET":
            job = self.jobs.get(name)
            if job is None:
                return Reply(404, error_body("UserError", f"job {name} not found"))
            return Reply(200, job)
        if r.method == "PUT":
            if name in self.jobs:
                return Reply(409, error_body("UserError", f"A job with name {name} already exists"))
            self.jobs[name] = self._created(name, r.body)
            return Reply(201, self.jobs[name])
        return Reply(405, error_body("MethodNotAllowed", r.method))

    def _created(self, name: str, request: dict[str, Any]) -> dict[str, Any]:
        """What the service makes of a submitted job (as the recorded PUT responses show)."""
        props = copy.deepcopy(request["properties"])
        kind = props.get("jobType")
        recorded = recorded_response(
            "job_pipeline_completed.json" if kind == "Pipeline" else "job_command.json"
        )["properties"]
        services = json.loads(
            json.dumps(recorded["services"])
            .replace("test_259228612667", name)
            .replace("test_127966154038", name)
        )
        props["services"] = {**services, **(props.get("services") or {})}
        props["status"] = "NotStarted"
        run = props.setdefault("properties", {})
        if kind == "Pipeline":
            for key in ("azureml.runsource", "runSource", "runType", "azureml.pipelineComponent"):
                run[key] = recorded["properties"][key]
        else:
            run["_azureml.ComputeTargetType"] = "amlctrain"
            props.setdefault("outputs", {})["default"] = {
                "description": None,
                "uri": f"azureml://datastores/workspaceartifactstore/ExperimentRun/dcid.{name}",
                "mode": "ReadWriteMount",
                "jobOutputType": "uri_folder",
            }
        return {
            "id": f"{WS_PATH}/jobs/{name}",
            "name": name,
            "type": "Microsoft.MachineLearningServices/workspaces/jobs",
            "properties": props,
            "systemData": {"createdAt": _iso(self.tick()), "createdByType": "Application"},
        }

    def _list_jobs(self, r: Seen) -> Reply:
        """`Jobs_List`: {value, nextLink}; filters tag (key present) and jobType."""
        tag = r.query.get("tag")
        jobs = [
            j
            for j in self.jobs.values()
            if tag is None or tag in (j["properties"].get("tags") or {})
        ]
        if self.list_order == "newest":
            jobs.sort(key=lambda j: j["systemData"]["createdAt"], reverse=True)
        else:
            jobs = sorted(jobs, key=lambda j: j["name"])
            random.Random(len(jobs)).shuffle(jobs)
        start = int(r.query.get("$skipToken", "0"))
        page = jobs[start : start + self.page_size]
        body: dict[str, Any] = {"value": page}
        if start + self.page_size < len(jobs):
            query = {**r.query, "$skipToken": str(start + self.page_size)}
            body["nextLink"] = f"https://management.azure.com{WS_PATH}/jobs?{urlencode(query)}"
        return Reply(200, body)

    # Storage (blob and dfs endpoints of one account) ----------------------------------------

    def _storage(self, r: Seen) -> Reply:
        container, _, path = r.path.lstrip("/").partition("/")
        if container not in self.containers:
            return Reply(404, b"", {"x-ms-error-code": "ContainerNotFound"})
        if r.method == "PUT" and r.query.get("restype") == "container":
            return Reply(409, b"", {"x-ms-error-code": "ContainerAlreadyExists"})
        if r.query.get("resource") == "filesystem" and not path:  # dfs list paths
            prefix = r.query.get("directory", "").strip("/")
            names = sorted(
                p
                for (c, p) in self.blobs
                if c == container and (p == prefix or p.startswith(prefix + "/"))
            )
            if not names:
                return Reply(404, error_body("PathNotFound", "The specified path does not exist."))
            paths = [
                {
                    "name": p,
                    "contentLength": str(len(self.blobs[(container, p)])),
                    "lastModified": format_datetime(_START, usegmt=True),
                    "etag": '"0x1"',
                }
                for p in names
            ]
            return Reply(200, {"paths": paths})
        key = (container, path)
        blob_headers = {
            "ETag": '"0x8DA978C153E177F"',
            "Last-Modified": format_datetime(_START, usegmt=True),
            "x-ms-blob-type": "BlockBlob",
            "x-ms-version": "2021-06-08",
        }
        if r.method == "PUT" and r.query.get("comp") is None:
            if key in self.blobs and r.headers.get("if-none-match") == "*":
                return Reply(
                    409,
                    b"",
                    {"x-ms-error-code": "BlobAlreadyExists", "x-ms-version": "2021-06-08"},
                )
            self.blobs[key] = r.body if isinstance(r.body, bytes) else json.dumps(r.body).encode()
            return Reply(201, b"", {**blob_headers, "x-ms-request-server-encrypted": "true"})
        if key not in self.blobs:
            return Reply(
                404, b"", {"x-ms-error-code": "BlobNotFound", "x-ms-version": "2021-06-08"}
            )
        if r.method == "PUT" and r.query.get("comp") == "metadata":
            return Reply(200, b"", blob_headers)
        content = self.blobs[key]
        size = len(content)
        if r.method == "HEAD":
            return Reply(200, b"", {**blob_headers, "Content-Length": str(size)})
        if r.method == "GET":
            headers = {**blob_headers, "Content-Length": str(size)}
            if "x-ms-range" in r.headers or "range" in r.headers:
                headers["Content-Range"] = f"bytes 0-{max(size - 1, 0)}/{size}"
                return Reply(206, content, headers)
            return Reply(200, content, headers)
        return Reply(405, b"")

    # Interception of clients the SDK builds itself ------------------------------------------

    @contextmanager
    def intercept_default_transport(self) -> Iterator[None]:
        """Route azure-core's default transport here: clients built without our transport
        (azure-ai-ml's storage helpers) reach this service instead of the network."""
        original = RequestsTransport.send
        service = self

        def send(self_: Any, request: Any, **kwargs: Any) -> Any:
            return _respond(service, request, "default")

        RequestsTransport.send = send  # type: ignore[method-assign]
        try:
            yield
        finally:
            RequestsTransport.send = original  # type: ignore[method-assign]


class ServiceTransport(InMemoryTransport):
    """The transport drift passes to its clients in the tests: the service answers."""

    def __init__(self, service: AzureService) -> None:
        self.service = service

    def send(self, request: Any, **kwargs: Any) -> Any:
        return _respond(self.service, request, "injected")


def _respond(service: AzureService, request: Any, via: str) -> Any:
    url = urlsplit(request.url)
    host = url.hostname or ""
    path = unquote(url.path)
    if host == "management.azure.com":
        if WS_PATH.lower() not in path.lower():
            path = "/_outside_workspace" + path
        else:
            path = path[path.lower().index(WS_PATH.lower()) + len(WS_PATH) :]
    raw = getattr(request, "content", None)
    if raw is None:
        raw = getattr(request, "body", None)
    if hasattr(raw, "read"):
        raw = raw.read()
    body: Any = None
    if raw:
        data = raw if isinstance(raw, bytes) else str(raw).encode()
        try:
            body = json.loads(data)
        except ValueError:
            body = data
    headers = {k.lower(): str(v) for k, v in request.headers.items()}
    seen = Seen(request.method, host, path, dict(parse_qsl(url.query)), body, headers, via)
    reply = service.handle(seen)
    raw_response = requests.Response()
    raw_response.status_code = reply.status
    if isinstance(reply.body, bytes):
        payload = reply.body
        content_type = "application/octet-stream"
    elif reply.body is None:
        payload = b""
        content_type = "application/json"
    else:
        payload = json.dumps(reply.body).encode()
        content_type = "application/json; charset=utf-8"
    raw_response.raw = io.BytesIO(payload if request.method != "HEAD" else b"")
    raw_response.headers["Content-Type"] = content_type
    raw_response.headers.setdefault("Content-Length", str(len(payload)))
    for name, value in reply.headers.items():
        raw_response.headers[name] = value
    raw_response.url = request.url
    response = RestRequestsTransportResponse(request=request, internal_response=raw_response)
    return response


DEFAULT_CONTAINER = "azureml-blobstore-a6d5a3b8-8717-4928-b8f7-4c9f36d21085"


def _default_datastore() -> dict[str, Any]:
    body = recorded_response("sdk_local_upload_mltable.json")
    body["properties"]["accountName"] = ACCOUNT  # one storage account in this fake
    return body


def _key_bearing(r: Seen) -> bool:
    lowered = r.path.lower()
    fetches_key = lowered.endswith(("/listsecrets", "/listkeys")) or "getsas" in lowered
    uses_key = "sig" in r.query or r.headers.get("authorization", "").startswith("SharedKey")
    return fetches_key or uses_key


def _renamed(body: dict[str, Any], new: str) -> dict[str, Any]:
    """A copy of a recorded body under another name."""
    out = copy.deepcopy(body)
    out["name"] = new
    return out


def _fault_reply(status: int) -> Reply:
    headers = {"Retry-After": "0"} if status in (429, 503) else {}
    return Reply(status, error_body("ServiceUnavailable", "injected fault"), headers)


def _iso(when: datetime) -> str:
    return when.isoformat()


def _long_form(uri: str) -> str:
    """The service stores data URIs in long form with a trailing slash (recorded)."""
    prefix = "azureml://datastores/"
    if uri.startswith(prefix):
        uri = (
            f"azureml://subscriptions/{SUBSCRIPTION}/resourcegroups/{RESOURCE_GROUP}/"
            f"workspaces/{WORKSPACE}/datastores/" + uri[len(prefix) :]
        )
    return uri if uri.endswith("/") else uri + "/"


def persistent(status: int = 503) -> Fault:
    """Every request fails with `status`."""
    return lambda seen: (status, False)


def flaky(rate: float, seed: int = 1, status: int = 503) -> Fault:
    """Each request fails with probability `rate`; half of those after taking effect."""
    rng = random.Random(seed)

    def fault(seen: Seen) -> tuple[int, bool] | None:
        if rng.random() < rate:
            return status, rng.random() < 0.5
        return None

    return fault
