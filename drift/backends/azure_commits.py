"""Delta logs in ADLS Gen2 (or any blob container): the Azure backend's CommitStore.

`table` is the table's folder inside the container (`containerDataPath`, e.g.
`features/seat_spinning`); its log is `<table>/_delta_log/`.

Which endpoint each call uses, and why:

- `read_commit` and the `_last_checkpoint` read: `DataLakeFileClient.download_file()` (which
  waits out a pending Copy Blob into the file, see `_read`). The
  Data Lake SDK sends this to the **blob** endpoint: azure-storage-file-datalake 12.26
  (`_path_client.py`) builds a `BlobClient` on `convert_dfs_url_to_blob_url(account_url)`
  (`.dfs.` → `.blob.`) and `download_file` is `self._blob_client.download_blob(...)`. On an
  emulator URL (`http://127.0.0.1:10000/devstoreaccount1`) there is no `.dfs.` to replace, so
  the same code reads from Azurite's blob service; the SDK's own dev-storage table maps "dfs"
  to the blob port for the same reason.
- `latest_version`: `ContainerClient.list_blob_names(name_starts_with=...)`, blob endpoint.
  The Data Lake `get_paths(path=...)` (dfs endpoint) filters by directory only, not by name
  prefix, so it cannot skip the old part of a long log unless its `start_from` (beginFrom) is
  used, and Azurite has no dfs endpoint to test that against. Blob listing works on
  hierarchical-namespace accounts too, with the same RBAC roles and ACLs.
- `table_uri`: no call; the `abfss://` URI mltable reads a Delta table on ADLS Gen2 from.

So no call goes to the dfs endpoint: the same code runs against Azure and Azurite, and the
Azurite tests exercise every call this module makes.

Listing cost. A log holds commits (`N.json`), `N.crc` files, checkpoints and compacted files;
a list call returns at most 5,000 names. Listing the whole `_delta_log/` of a table with
10,000 commits (plus as many `.crc` and ~1,000 checkpoints) takes 5 list calls, growing with
the table. Instead, when `_last_checkpoint` names version C, only names starting with C's
first 17 digits are listed: the window of 1,000 versions holding C, about 2,100 names with
Spark's checkpoint interval, one call. Commit versions are contiguous (the protocol's
put-if-absent commits), so the latest version is in that window unless the window is full to
its last version; only then is the next window listed. So: a read of `_last_checkpoint` and
one list call (two across a window boundary), whatever the table's age.
Without `_last_checkpoint`, the whole log is listed (prefix `_delta_log/0`: 20-digit versions
below 10^19 all start with 0, which also skips `_commits/`, `.tmp/` and `_last_checkpoint`).
`list_blobs(start_from=...)` (REST `startFrom`, newest service versions; delta-rs relies on
it) would also do, but it needs azure-storage-blob 12.31-era SDKs and Azurite >= 3.36, which
needs Node >= 21; Azurite 3.35 ignores it. The name-prefix window works on every service and
SDK version, so Azurite tests the exact requests Azure gets.

Every service call goes through `azure_errors.call` (bounded retries for transient faults);
the SDK's own retries are off by default (`retry_total=0`) so the two do not multiply.
A missing commit file is `FileNotFoundError`; 401/403 and a missing container are
`AzureServiceError`s naming the account, the container and the identity.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerClient
from azure.storage.filedatalake import DataLakeServiceClient, FileSystemClient

from drift.backends.azure_errors import (
    DEFAULT_POLICY,
    AzureServiceError,
    AzureTransientError,
    RetryPolicy,
    Where,
    call,
    describe,
)
from drift.domain.delta_log import COMMIT_FILE_RE, commit_file_name

T = TypeVar("T")
log = logging.getLogger("drift.azure")

EMULATOR_ACCOUNT = "devstoreaccount1"
# Azurite's documented development key (also in the Azure SDKs): public, opens only emulators.
EMULATOR_ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
EMULATOR_BLOB_URL = f"http://127.0.0.1:10000/{EMULATOR_ACCOUNT}"

LIST_WINDOW = 1000  # versions per listed name-prefix window; a power of 10
# How long a read waits for a pending Copy Blob into the file, and how often it looks again.
COPY_WAIT_S = 60.0
COPY_POLL_S = 2.0
_MISSING_CONTAINER = {"ContainerNotFound", "FilesystemNotFound", "ContainerBeingDeleted"}


class _Missing:
    """A blob that is not there: returned through `call`, so it is neither retried nor wrapped."""


_MISSING = _Missing()


def _error_code(exc: BaseException) -> str:
    """The storage error code (`BlobNotFound`, ...); the SDK gives an enum or a string."""
    code = getattr(exc, "error_code", None)
    return str(getattr(code, "value", code) or "")


def _identity_of(credential: Any) -> str:
    """Who the calls run as, for error messages; never any part of a key or token."""
    identity = getattr(credential, "identity", None)
    if identity is not None:  # drift.backends.azure_credentials.Credential
        return str(identity)
    if credential is None:
        return "anonymous"
    if isinstance(credential, dict) and "account_name" in credential:
        return f"shared key of account {credential['account_name']}"
    if isinstance(credential, AzureNamedKeyCredential):
        return f"shared key of account {credential.named_key.name}"
    if isinstance(credential, str):
        return "SAS token"
    return type(credential).__name__


def _sdk_credential(credential: Any) -> Any:
    """The SDK credential inside drift's `Credential` wrapper, or the credential itself."""
    return getattr(credential, "token_credential", credential)


class AzureCommits:
    """Reads `<table>/_delta_log/` in one container of one storage account."""

    def __init__(
        self,
        account: str,
        container: str,
        credential: Any,
        *,
        dfs_url: str | None = None,
        blob_url: str | None = None,
        where: Where | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        sleep: Callable[[float], None] = time.sleep,
        list_window: int = LIST_WINDOW,
        page_size: int | None = None,
        copy_wait_s: float = COPY_WAIT_S,
        copy_poll_s: float = COPY_POLL_S,
        **client_options: Any,
    ) -> None:
        """`dfs_url`/`blob_url` default to `https://<account>.{dfs,blob}.core.windows.net`.

        Give only `blob_url` for an emulator: the Data Lake client is then built on it, which
        is sound because its reads go to the blob service anyway. `client_options` go to the
        SDK clients (e.g. `transport`, `raw_request_hook`); `retry_total` defaults to 0.
        """
        if blob_url is None:
            blob_url = (
                dfs_url.replace(".dfs.", ".blob.", 1)
                if dfs_url
                else f"https://{account}.blob.core.windows.net"
            )
        if dfs_url is None:
            dfs_url = (
                blob_url.replace(".blob.", ".dfs.", 1)
                if ".blob." in blob_url
                else blob_url  # emulator: no dfs endpoint, the SDK reads via blob_url
            )
        client_options.setdefault("retry_total", 0)
        sdk_credential = _sdk_credential(credential)
        self._credential = sdk_credential
        self._blob_url = blob_url
        file_system = DataLakeServiceClient(
            dfs_url, credential=sdk_credential, **client_options
        ).get_file_system_client(container)
        blobs = BlobServiceClient(
            blob_url, credential=sdk_credential, **client_options
        ).get_container_client(container)
        self._setup(
            account,
            container,
            file_system,
            blobs,
            where or Where(f"storage account {account}", _identity_of(credential)),
            policy,
            sleep,
            list_window,
            page_size,
            copy_wait_s,
            copy_poll_s,
        )

    @classmethod
    def from_clients(
        cls,
        account: str,
        container: str,
        file_system: FileSystemClient | Any,
        blobs: ContainerClient | Any,
        *,
        where: Where | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        sleep: Callable[[float], None] = time.sleep,
        list_window: int = LIST_WINDOW,
        page_size: int | None = None,
        copy_wait_s: float = COPY_WAIT_S,
        copy_poll_s: float = COPY_POLL_S,
    ) -> AzureCommits:
        """Use clients built elsewhere (a proxy, a custom transport, or fakes in tests)."""
        self = cls.__new__(cls)
        self._setup(
            account,
            container,
            file_system,
            blobs,
            where or Where(f"storage account {account}", "the clients' credential"),
            policy,
            sleep,
            list_window,
            page_size,
            copy_wait_s,
            copy_poll_s,
        )
        return self

    @classmethod
    def for_emulator(
        cls, container: str, *, blob_url: str = EMULATOR_BLOB_URL, **kwargs: Any
    ) -> AzureCommits:
        """Azurite (or the legacy emulator) with its public `devstoreaccount1` key."""
        credential = AzureNamedKeyCredential(EMULATOR_ACCOUNT, EMULATOR_ACCOUNT_KEY)
        kwargs.setdefault(
            "where",
            Where(f"storage account {EMULATOR_ACCOUNT} at {blob_url}", "the emulator's key"),
        )
        return cls(EMULATOR_ACCOUNT, container, credential, blob_url=blob_url, **kwargs)

    def _setup(
        self,
        account: str,
        container: str,
        file_system: Any,
        blobs: Any,
        where: Where,
        policy: RetryPolicy,
        sleep: Callable[[float], None],
        list_window: int,
        page_size: int | None,
        copy_wait_s: float,
        copy_poll_s: float,
    ) -> None:
        digits = len(str(list_window)) - 1
        if list_window < 10 or list_window != 10**digits or digits > 19:
            raise ValueError(f"list_window must be a power of 10 from 10 to 10^19: {list_window}")
        self.account = account
        self.container = container
        self.where = where
        self._file_system = file_system
        self._blobs = blobs
        self._policy = policy
        self._sleep = sleep
        self._window = list_window
        self._prefix_digits = 20 - digits
        self._page_size = page_size
        self._copy_wait_s = copy_wait_s
        self._copy_poll_s = copy_poll_s
        # Answered service requests by kind ("read", "list"); retried faults are not counted.
        self.requests: Counter[str] = Counter()

    def close(self) -> None:
        """Close the SDK clients' HTTP sessions."""
        for client in (self._file_system, self._blobs):
            getattr(client, "close", lambda: None)()

    def __enter__(self) -> AzureCommits:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- CommitStore -------------------------------------------------------------------------

    def read_commit(self, table: str, version: int) -> bytes:
        path = self._log(table) + commit_file_name(version)
        raw = self._read(path)
        if raw is None:
            raise FileNotFoundError(
                f"{path}: no such commit in container {self.container} of {self.where.resource}"
            )
        return raw

    def latest_version(self, table: str) -> int | None:
        """Highest `<20 digits>.json` in the log, from names only; None for no commit."""
        log_dir = self._log(table)
        start = self._checkpoint_version(log_dir)
        if start is None:
            return self._max_commit(log_dir, "0")
        best: int | None = None
        window = start // self._window
        while True:
            first = window * self._window
            found = self._max_commit(log_dir, commit_file_name(first)[: self._prefix_digits])
            if found is None:
                break
            best = found
            if found < first + self._window - 1:  # not full to its end: nothing after it
                break
            window += 1
        if best is None or best < start:
            # `_last_checkpoint` points past every listed commit: do not trust it.
            log.warning(
                "%s_last_checkpoint names version %d but no commit at or after it was "
                "found; listing the whole log",
                log_dir,
                start,
            )
            return self._max_commit(log_dir, "0")
        return best

    def table_uri(self, table: str) -> str:
        path = table.strip("/")
        return f"abfss://{self.container}@{self.account}.dfs.core.windows.net/{path}"

    def storage_options(self) -> dict[str, str] | None:
        """delta-rs options for reading `table_uri` with the same identity (policy samples).

        A token is fetched per call; reads are short, so it does not outlive its validity.
        """
        credential = getattr(self, "_credential", None)
        options: dict[str, str] = {"account_name": self.account}
        if ".blob.core." not in getattr(self, "_blob_url", ".blob.core."):
            options.update(endpoint=self._blob_url, allow_http="true")  # an emulator
        if isinstance(credential, AzureNamedKeyCredential):
            return {**options, "account_key": credential.named_key.key}
        if credential is not None and hasattr(credential, "get_token"):
            token = credential.get_token("https://storage.azure.com/.default").token
            return {**options, "bearer_token": token}
        return None

    # -- service calls -----------------------------------------------------------------------

    def _log(self, table: str) -> str:
        path = table.strip("/")
        return f"{path}/_delta_log/" if path else "_delta_log/"

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """`azure_errors.call`, with 401/403 and a missing container explained."""

        def attempt() -> T:
            try:
                return fn()
            except HttpResponseError as exc:
                status = exc.status_code
                code = _error_code(exc)
                if status in (401, 403):
                    raise AzureServiceError(
                        f"{what} on {self.where.resource} as {self.where.identity}: refused: "
                        f"{describe(exc)}. The identity needs read access to container "
                        f"{self.container} ('Storage Blob Data Reader', or read and execute "
                        "ACLs down to the table's _delta_log)"
                    ) from None
                if status == 404 and code in _MISSING_CONTAINER:
                    raise AzureServiceError(
                        f"{what} on {self.where.resource}: container {self.container} does "
                        "not exist (check containerName)"
                    ) from None
                raise

        return call(what, attempt, self.where, self._policy, self._sleep)

    def _read(self, path: str) -> bytes | None:
        """The blob's bytes once whole, or None if it is not there.

        A blob being written by Copy Blob is not whole until its copy status (the
        `x-ms-copy-status` header of the read itself) is `success`: on a hierarchical-namespace
        account the BlobCreated event of a CopyBlob fires when the copy starts. While it is
        `pending` the read is repeated every `copy_poll_s`, for at most `copy_wait_s`; then it
        fails as transient (the activity's retry reads again later). A `failed` or `aborted`
        copy is never whole: a permanent error. A blob no copy wrote has no copy status.
        """
        what = f"read {path} in container {self.container}"
        waited = 0.0
        while True:
            got = self._call(what, lambda: self._download(path))
            if isinstance(got, _Missing):
                return None
            raw, copy_status = got
            if copy_status in (None, "success"):
                return raw
            if copy_status != "pending":
                raise AzureServiceError(
                    f"{what} on {self.where.resource}: the copy that wrote it is "
                    f"{copy_status}, so it is not a whole file (copy it again)"
                )
            if waited >= self._copy_wait_s:
                raise AzureTransientError(
                    f"{what} on {self.where.resource}: still being copied after "
                    f"{waited:g} s (x-ms-copy-status: pending)"
                )
            log.info("%s: still being copied; reading again in %g s", path, self._copy_poll_s)
            self._sleep(self._copy_poll_s)
            waited += self._copy_poll_s

    def _download(self, path: str) -> tuple[bytes, str | None] | _Missing:
        """One read: the bytes and the copy status the service sent with them."""
        copy: dict[str, str] = {}

        def headers(response: Any) -> None:
            status = response.http_response.headers.get("x-ms-copy-status")
            if status:
                copy["status"] = status.lower()

        try:
            file = self._file_system.get_file_client(path)
            raw = file.download_file(raw_response_hook=headers).readall()
        except ResourceNotFoundError as exc:
            if _error_code(exc) in _MISSING_CONTAINER:
                raise
            self.requests["read"] += 1
            return _MISSING
        self.requests["read"] += 1
        return raw, copy.get("status")

    def _checkpoint_version(self, log_dir: str) -> int | None:
        raw = self._read(log_dir + "_last_checkpoint")
        if raw is None:
            return None
        try:
            version = json.loads(raw)["version"]
        except (ValueError, KeyError, TypeError):
            version = None
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            log.warning("%s_last_checkpoint is not readable; listing the whole log", log_dir)
            return None
        return version

    def _max_commit(self, log_dir: str, stem: str) -> int | None:
        """Highest commit version among `log_dir` names starting with `stem`."""
        prefix = log_dir + stem
        pages: Iterator[Iterator[str]] = self._blobs.list_blob_names(
            name_starts_with=prefix, results_per_page=self._page_size
        ).by_page()

        def next_page() -> list[str] | None:
            try:
                page = list(next(pages))
            except StopIteration:  # the page before was the last: no request is made
                return None
            self.requests["list"] += 1
            return page

        best: int | None = None
        what = f"list {prefix}* in container {self.container}"
        while (page := self._call(what, next_page)) is not None:
            for name in page:
                folder, _, file = name.rpartition("/")
                match = COMMIT_FILE_RE.match(file)
                if match and folder + "/" == log_dir:
                    best = max(best or 0, int(match["version"]))
        return best
