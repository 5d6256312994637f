"""Azure ML data assets: pinned MLTable and uri_folder versions of the watched Delta table.

Paths. An MLTable registered here is read by jobs on Azure ML compute, so it must name the table
by a remote URI, and for an identity-based datastore that URI is the datastore's. `mltable`
(1.7) accepts only the long form `azureml://subscriptions/<s>/resourcegroups/<rg>/workspaces/
<ws>/datastores/<ds>/paths/<path>`: the short `azureml://datastores/<ds>/paths/<path>` is
taken for a relative local path (it becomes `file:///<cwd>/azureml:/datastores/...`).
`from_delta_lake` on the long form only writes the definition; it does not reach Azure. Hence
`datastore_uri`; and `create_mltable` writes every path of the MLTable that lies in the
datastore's container (abfss://, https://, short or long azureml://) in that long form, so an
MLTable built from the commit store's `abfss://` table URI, or from the short form (which
`MLTable.save` would write as `../../azureml:/datastores/...`), reads through the datastore.

Writes. `data.create_or_update` of an MLTable folder uploads it to the workspace's default
datastore under `LocalUpload/<content hash>/<folder name>` and registers the version there.
The folder name here is fixed per asset, so the same definition always lands on the same path:
a retried create (after a 5xx that went through) is a PUT of identical content and succeeds.
A version that exists with another path is refused ("Asset paths cannot be updated", which
azure-ai-ml raises as `AssetPathException`, or a 409 `ResourceExistsError`); the stored
version is then fetched and returned, and registration compares its tags (a different pin
is a `RegistrationConflict`). Data asset tags are mutable in Azure ML, so registration's
`get_data` before each create is what keeps a version's pin from being rewritten.

The datastore is looked up once per process, on the first write, and created only when missing:
identity-based (no credentials stored in the workspace) unless `store_credentials` is given.
"""

from __future__ import annotations

import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from azure.ai.ml.constants import AssetTypes
from azure.ai.ml.entities import AzureDataLakeGen2Datastore, Data, ServicePrincipalConfiguration
from azure.ai.ml.exceptions import AssetPathException
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from mltable import MLTable

from drift.backends.azure_errors import (
    DEFAULT_POLICY,
    RetryPolicy,
    Where,
    call,
    is_transient,
    status_of,
)
from drift.domain import DataAssetVersion, PermanentError

T = TypeVar("T")

_REMOTE_SCHEMES = ("azureml://", "abfss://", "abfs://", "https://", "wasbs://", "adl://")
_LONG_FORM = re.compile(
    r"^azureml://subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)/"
    r"(?:providers/Microsoft\.MachineLearningServices/)?workspaces/(?P<ws>[^/]+)/"
    r"datastores/(?P<ds>[^/]+)/paths/(?P<path>.*)$",
    re.IGNORECASE,
)
_SHORT_FORM = re.compile(r"^azureml://datastores/(?P<ds>[^/]+)/paths/(?P<path>.*)$", re.IGNORECASE)
_ABFS = re.compile(r"^abfss?://(?P<container>[^@/]+)@(?P<account>[^./]+)\.[^/]+/?(?P<path>.*)$")
_HTTPS = re.compile(
    r"^https://(?P<account>[^./]+)\.(?:dfs|blob)\.[^/]+/(?P<container>[^/]+)/?(?P<path>.*)$"
)
_EXISTS_HINTS = ("already exists", "cannot be updated", "conflict")

# Datastores checked by this process: (subscription, resource group, workspace, datastore).
_ENSURED: set[tuple[str, str, str, str]] = set()
_ENSURED_LOCK = threading.Lock()


class DatastoreMismatch(PermanentError):
    """The named datastore exists but points at another account or container."""


class NotRemote(PermanentError, ValueError):
    """An MLTable that reads a local path would be useless to jobs in the workspace."""


@dataclass(frozen=True)
class ServicePrincipal:
    """A service principal whose secret a datastore may store; the secret never shows in repr."""

    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)

    @classmethod
    def of(cls, credential: Any) -> ServicePrincipal:
        """From a `ServicePrincipal`, an object with `tenant_id`/`client_id`/`client_secret`,
        or an `azure.identity.ClientSecretCredential` (which keeps them in private fields)."""
        if isinstance(credential, ServicePrincipal):
            return credential
        for tenant, client, secret in (
            ("tenant_id", "client_id", "client_secret"),
            ("_tenant_id", "_client_id", "_client_credential"),
        ):
            values = [getattr(credential, a, None) for a in (tenant, client, secret)]
            if all(isinstance(v, str) and v for v in values):
                return cls(*values)
        raise TypeError(
            "store_credentials must be a ServicePrincipal or a ClientSecretCredential "
            f"(client secret), not {type(credential).__name__}"
        )


def forget_checked_datastores() -> None:
    """Forget which datastores this process has checked (tests; a changed workspace)."""
    with _ENSURED_LOCK:
        _ENSURED.clear()


class AzureRegistry:
    """`DataRegistry` over an Azure ML workspace's data assets."""

    def __init__(
        self,
        ml_client: Any,
        *,
        datastore_name: str,
        account: str,
        container: str,
        where: Where,
        store_credentials: Any | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`store_credentials` (a client-secret credential) is stored in the datastore only
        when given, and only if this call creates the datastore; by default the datastore is
        identity-based and jobs read the lake as their own identity."""
        self._ml = ml_client
        self.datastore_name = datastore_name
        self.account = account
        self.container = container
        self._where = where
        self._principal = (
            None if store_credentials is None else ServicePrincipal.of(store_credentials)
        )
        self._policy = policy
        self._sleep = sleep
        self._scope = (
            str(ml_client.subscription_id),
            str(ml_client.resource_group_name),
            str(ml_client.workspace_name),
        )

    # Paths -----------------------------------------------------------------------------------

    def datastore_uri(self, path: str) -> str:
        """The long-form datastore URI of `path` (relative to the container, or an abfss://,
        https:// or azureml:// URI of the same container), the form MLTable accepts."""
        rel = self._relative(path)
        if rel is None:
            raise ValueError(
                f"{path!r} is not in container {self.container!r} of account {self.account!r} "
                f"(datastore {self.datastore_name!r})"
            )
        sub, rg, ws = self._scope
        return (
            f"azureml://subscriptions/{sub}/resourcegroups/{rg}/workspaces/{ws}"
            f"/datastores/{self.datastore_name}/paths/{rel}"
        )

    def _relative(self, path: str) -> str | None:
        """`path` relative to the container, or None if it points somewhere else."""
        for pattern in (_LONG_FORM, _SHORT_FORM):
            match = pattern.match(path)
            if match:
                return match["path"].strip("/") if match["ds"] == self.datastore_name else None
        for pattern in (_ABFS, _HTTPS):
            match = pattern.match(path)
            if match:
                same = (match["account"], match["container"]) == (self.account, self.container)
                return match["path"].strip("/") if same else None
        if "://" in path or path.startswith("azureml:"):
            return None
        parts = [p for p in path.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise ValueError(f"{path!r} escapes the container")
        return "/".join(parts)

    def _remote(self, path: str) -> str:
        """A uri_folder path: ours in datastore form, any other remote URI unchanged."""
        rel = self._relative(path)
        if rel is not None:
            return self.datastore_uri(rel)
        if path.startswith(_REMOTE_SCHEMES):
            return path
        raise NotRemote(f"uri_folder path {path!r} is not a remote URI")

    # DataRegistry ----------------------------------------------------------------------------

    def get_data(self, name: str, version: str) -> DataAssetVersion | None:
        data = self._call(f"get data asset {name}:{version}", lambda: self._find(name, version))
        return None if data is None else _asset(data)

    def create_mltable(self, asset: DataAssetVersion, table: MLTable) -> DataAssetVersion:
        """Save `table` and register it as `asset.name:asset.version` (type mltable)."""
        paths = self._mltable_paths(asset, table)  # before any call: a local table fails here
        self.ensure_datastore()
        with tempfile.TemporaryDirectory(prefix="drift-mltable-") as tmp:
            # A fixed folder name: the upload path is LocalUpload/<content hash>/<folder name>.
            folder = Path(tmp) / asset.name
            table.save(str(folder), colocated=False, overwrite=True)
            definition = folder / "MLTable"
            doc = yaml.safe_load(definition.read_text(encoding="utf-8"))
            doc["paths"] = paths  # `save` writes the short azureml:// form as a relative path
            definition.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
            data = Data(
                type=AssetTypes.MLTABLE,
                path=str(folder),
                name=asset.name,
                version=asset.version,
                tags=dict(asset.tags),
            )
            return self._create(data, asset)

    def _mltable_paths(self, asset: DataAssetVersion, table: MLTable) -> list[dict[str, str]]:
        """The MLTable's paths as jobs must read them: paths in our container (abfss://,
        https://, short or long azureml://) as long-form datastore URIs, other remote URIs as
        they are; a local path is refused."""
        out = []
        for entry in table.paths or []:
            mapped = {}
            for key, value in entry.items():
                text = str(value)
                if "://" not in text or text.startswith("file://"):
                    raise NotRemote(
                        f"asset {asset.ref}: the MLTable reads {text!r}, which jobs in "
                        f"{self._where.resource} cannot reach; build it from datastore_uri(...)"
                    )
                rel = self._relative(text)
                mapped[str(key)] = text if rel is None else self.datastore_uri(rel)
            out.append(mapped)
        return out

    def create_uri_folder(self, asset: DataAssetVersion) -> DataAssetVersion:
        self.ensure_datastore()
        data = Data(
            type=AssetTypes.URI_FOLDER,
            path=self._remote(asset.path),
            name=asset.name,
            version=asset.version,
            tags=dict(asset.tags),
        )
        return self._create(data, asset)

    # Datastore -------------------------------------------------------------------------------

    def ensure_datastore(self) -> None:
        """Check the datastore once per process; create it only when it does not exist."""
        key = (*self._scope, self.datastore_name)
        with _ENSURED_LOCK:
            if key in _ENSURED:
                return
            self._ensure_datastore()
            _ENSURED.add(key)

    def _ensure_datastore(self) -> None:
        name = self.datastore_name
        existing = self._call(f"get datastore {name!r}", self._find_datastore)
        if existing is None:
            store = self.new_datastore()

            def create() -> Any:
                try:
                    return self._ml.datastores.create_or_update(store)
                except Exception as exc:
                    if not is_transient(exc) and _exists(exc):
                        found = self._find_datastore()  # a concurrent process created it
                        if found is not None:
                            return found
                    raise

            kind = "service principal" if self._principal else "identity-based"
            existing = self._call(
                f"create {kind} datastore {name!r} for {self.account}/{self.container}", create
            )
        self._check_datastore(existing)

    def new_datastore(self) -> AzureDataLakeGen2Datastore:
        """The datastore drift creates when it is missing."""
        credentials = None
        if self._principal is not None:
            credentials = ServicePrincipalConfiguration(
                tenant_id=self._principal.tenant_id,
                client_id=self._principal.client_id,
                client_secret=self._principal.client_secret,
            )
        return AzureDataLakeGen2Datastore(
            name=self.datastore_name,
            account_name=self.account,
            filesystem=self.container,
            description="Delta tables watched by drift",
            credentials=credentials,
        )

    def _find_datastore(self) -> Any | None:
        try:
            return self._ml.datastores.get(self.datastore_name)
        except ResourceNotFoundError:
            return None

    def _check_datastore(self, store: Any) -> None:
        account = getattr(store, "account_name", None)
        container = getattr(store, "filesystem", None) or getattr(store, "container_name", None)
        if (account, container) != (self.account, self.container):
            raise DatastoreMismatch(
                f"datastore {self.datastore_name!r} in {self._where.resource} points at "
                f"{account}/{container}, not {self.account}/{self.container}; "
                "use another datastore name or fix the datastore"
            )

    # Calls -----------------------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        return call(what, fn, self._where, self._policy, self._sleep)

    def _find(self, name: str, version: str) -> Any | None:
        try:
            return self._ml.data.get(name=name, version=version)
        except ResourceNotFoundError:
            return None

    def _create(self, data: Data, asset: DataAssetVersion) -> DataAssetVersion:
        def create() -> Any:
            try:
                return self._ml.data.create_or_update(data)
            except Exception as exc:
                if is_transient(exc) or not _exists(exc):
                    raise
                found = self._find(asset.name, asset.version)  # the version is already there
                if found is None:
                    raise
                return found

        created = self._call(f"register {data.type} data asset {asset.ref}", create)
        return _asset(created)


def _exists(exc: BaseException) -> bool:
    """Whether a refused write says the resource (version) is already there."""
    if isinstance(exc, ResourceExistsError | AssetPathException) or status_of(exc) == 409:
        return True
    text = str(getattr(exc, "message", None) or exc).lower()
    return any(hint in text for hint in _EXISTS_HINTS)


def _asset(data: Any) -> DataAssetVersion:
    kind = str(getattr(data.type, "value", data.type))
    tags = {str(k): str(v) for k, v in (data.tags or {}).items()}
    return DataAssetVersion(str(data.name), str(data.version), kind, str(data.path), tags)  # type: ignore[arg-type]
