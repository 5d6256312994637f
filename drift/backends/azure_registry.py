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

Writes. An MLTable is registered without any step that can fetch a storage key. azure-ai-ml's
own way, `data.create_or_update` of a local folder, uploads it to the workspace's default
datastore, and to do that it POSTs `datastores/<default>/listSecrets` (the account key or a
SAS comes back; recorded in tests/data/azureml_recordings/sdk_local_upload_mltable.json).
Instead drift writes the MLTable file itself, as its own identity (a token, never a key), to
`<mltable container>/<asset>/<version>/MLTable` in the data lake (default container
`drift-mltables`, the one container drift may write), and registers the asset by the long-form
URI of that folder on an identity-based datastore over that container (default
`drift_mltables`, created when missing). For a remote `azureml://` path azure-ai-ml uploads
nothing (`_check_and_upload_path` skips URLs); it reads the MLTable back to validate it, with
the datastore's credentials, and for an identity-based datastore those are the caller's token:
`get_datastore_info` skips `listSecrets` for `NoneCredentialConfiguration`. A datastore of that
name that stores credentials is refused, so that no call can take the key path.

The file is written only if absent: a retried registration finds its own file (same content)
and goes on; another definition at that path is a conflict, never overwritten. A version that
exists with another path is refused by the service ("Asset paths cannot be updated", which
azure-ai-ml raises as `AssetPathException`, or a 409 `ResourceExistsError`); the stored
version is then fetched and returned, and registration compares its tags (a different pin
is a `RegistrationConflict`). Data asset tags are mutable in Azure ML, so registration's
`get_data` before each create is what keeps a version's pin from being rewritten.

Datastores are looked up once per process, on the first write, and created only when
missing: identity-based (no credentials stored in the workspace) unless `store_credentials`
is given for the lake's datastore (deprecated: whoever may list datastore secrets in the
workspace can read it).
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
from azure.ai.ml.entities import (
    AzureDataLakeGen2Datastore,
    Data,
    NoneCredentialConfiguration,
    ServicePrincipalConfiguration,
)
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
from drift.domain.types import DataAssetVersion, PermanentError

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


class MLTableFileConflict(PermanentError):
    """The MLTable file of an asset version already holds another definition."""


class StoredCredentials(PermanentError):
    """drift's MLTable datastore stores credentials: reading through it would fetch them."""


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
        mltables: Any | None = None,
        mltable_container: str = "drift-mltables",
        mltable_datastore: str = "drift_mltables",
        store_credentials: Any | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`mltables`: a blob container client (azure-storage-blob `ContainerClient`, token
        credential) for `mltable_container` of `account`, where MLTable files are written.
        `store_credentials` (a client-secret credential, deprecated) is stored in the lake's
        datastore only when given, and only if this call creates it; by default every
        datastore is identity-based and jobs read the lake as their own identity."""
        self._ml = ml_client
        self.datastore_name = datastore_name
        self.account = account
        self.container = container
        self._mltables = mltables
        self.mltable_container = mltable_container
        self.mltable_datastore = mltable_datastore
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
        return self._long_uri(self.datastore_name, rel)

    def _long_uri(self, datastore: str, rel: str) -> str:
        sub, rg, ws = self._scope
        return (
            f"azureml://subscriptions/{sub}/resourcegroups/{rg}/workspaces/{ws}"
            f"/datastores/{datastore}/paths/{rel}"
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
        """Write `table`'s definition as drift and register it as `asset.name:asset.version`
        (type mltable) by its datastore URI: nothing is uploaded by the SDK."""
        paths = self._mltable_paths(asset, table)  # before any call: a local table fails here
        if self._mltables is None:
            raise PermanentError(f"asset {asset.ref}: no container for MLTable files is configured")
        self.ensure_datastore()
        self._ensure(self.mltable_datastore, self.mltable_container, principal=None)
        folder = f"{asset.name}/{asset.version}"
        self._write_definition(f"{folder}/MLTable", _definition(table, paths))
        data = Data(
            type=AssetTypes.MLTABLE,
            path=self._long_uri(self.mltable_datastore, folder) + "/",
            name=asset.name,
            version=asset.version,
            tags=dict(asset.tags),
        )
        return self._create(data, asset)

    def _write_definition(self, path: str, text: str) -> None:
        """Create the MLTable file once; the same text there already is success."""
        blob = self._mltables.get_blob_client(path)
        where = f"{self.account}/{self.mltable_container}/{path}"

        def write() -> None:
            try:
                blob.upload_blob(text.encode("utf-8"), overwrite=False)
            except ResourceExistsError:
                existing = blob.download_blob().readall().decode("utf-8")
                if existing != text:
                    raise MLTableFileConflict(
                        f"{where} already holds another MLTable definition; "
                        "asset versions are immutable, so it is not overwritten"
                    ) from None

        self._call(f"write MLTable file {where}", write)

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
        """Check the lake's datastore once per process; create it only when it is missing."""
        self._ensure(self.datastore_name, self.container, self._principal)

    def _ensure(self, name: str, container: str, principal: ServicePrincipal | None) -> None:
        key = (*self._scope, name)
        with _ENSURED_LOCK:
            if key in _ENSURED:
                return
            self._ensure_datastore(name, container, principal)
            _ENSURED.add(key)

    def _ensure_datastore(
        self, name: str, container: str, principal: ServicePrincipal | None
    ) -> None:
        existing = self._call(f"get datastore {name!r}", lambda: self._find_datastore(name))
        if existing is None:
            store = self.new_datastore(name, container, principal)

            def create() -> Any:
                try:
                    return self._ml.datastores.create_or_update(store)
                except Exception as exc:
                    if not is_transient(exc) and _exists(exc):
                        found = self._find_datastore(name)  # a concurrent process created it
                        if found is not None:
                            return found
                    raise

            kind = "service principal" if principal else "identity-based"
            existing = self._call(
                f"create {kind} datastore {name!r} for {self.account}/{container}", create
            )
        self._check_datastore(existing, name, container, identity_only=name != self.datastore_name)

    def new_datastore(
        self, name: str, container: str, principal: ServicePrincipal | None
    ) -> AzureDataLakeGen2Datastore:
        """The datastore drift creates when `name` is missing."""
        credentials = None
        if principal is not None:
            credentials = ServicePrincipalConfiguration(
                tenant_id=principal.tenant_id,
                client_id=principal.client_id,
                client_secret=principal.client_secret,
            )
        purpose = (
            "Delta tables watched by drift"
            if name == self.datastore_name
            else "MLTable definitions drift registers"
        )
        return AzureDataLakeGen2Datastore(
            name=name,
            account_name=self.account,
            filesystem=container,
            description=purpose,
            credentials=credentials,
        )

    def _find_datastore(self, name: str) -> Any | None:
        try:
            return self._ml.datastores.get(name)
        except ResourceNotFoundError:
            return None

    def _check_datastore(self, store: Any, name: str, container: str, identity_only: bool) -> None:
        account = getattr(store, "account_name", None)
        found = getattr(store, "filesystem", None) or getattr(store, "container_name", None)
        if (account, found) != (self.account, container):
            raise DatastoreMismatch(
                f"datastore {name!r} in {self._where.resource} points at "
                f"{account}/{found}, not {self.account}/{container}; "
                "use another datastore name or fix the datastore"
            )
        credentials = getattr(store, "credentials", None)
        if (
            identity_only
            and credentials is not None
            and not isinstance(credentials, NoneCredentialConfiguration)
        ):
            raise StoredCredentials(
                f"datastore {name!r} in {self._where.resource} stores credentials "
                f"({type(credentials).__name__}); drift registers MLTables only through an "
                "identity-based datastore, so that no step fetches a key: recreate it without "
                "credentials or set mltableDatastoreName to another name"
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


def _definition(table: MLTable, paths: list[dict[str, str]]) -> str:
    """The MLTable YAML of `table`, reading `paths` (`save` writes the short azureml:// form
    as a relative path, so the paths are set after it)."""
    with tempfile.TemporaryDirectory(prefix="drift-mltable-") as tmp:
        table.save(tmp, colocated=False, overwrite=True)
        doc = yaml.safe_load((Path(tmp) / "MLTable").read_text(encoding="utf-8"))
    doc["paths"] = paths
    return yaml.safe_dump(doc, sort_keys=False)


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
