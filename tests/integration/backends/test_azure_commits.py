"""AzureCommits against a real Azurite blob service, and its error handling against fakes.

What the Azurite run exercises: every call AzureCommits makes. Commit and `_last_checkpoint`
reads (`DataLakeFileClient.download_file`, which the SDK sends to the blob endpoint) and
`latest_version`'s listings (`ContainerClient.list_blob_names(name_starts_with=...)`) all go
to the blob endpoint, on Azure as on Azurite; real 403s (AuthorizationPermissionMismatch from a
SAS without read or without list) and a missing container.
What it cannot exercise: anything on the dfs endpoint (Azurite has none; AzureCommits makes no
dfs call, see `test_reads_and_listings_go_to_the_blob_endpoint`), Entra ID tokens, RBAC role
assignments and ACLs, and service paging at 5,000 names (covered by the fake-service tests).

How tables get into Azurite: delta-rs writes them to a local folder and each step's new files
are uploaded byte for byte, then delta-rs reads the table back from Azurite
(`DeltaTable("az://...")`) to give the expected version. Writing with
`write_deltalake("az://...")` directly breaks at the third commit ("Invalid table version: 1")
on Azurite 3.35: delta-rs (object_store 0.13) lists the log with List Blobs `startFrom`, which
Azurite only honours from 3.36, and 3.36+ needs Node >= 21 (npm picks 3.35.0 for `azurite@3`
on Node 20).

Azurite must be installed (`scripts/azurite.sh`); without it these tests fail, saying how to
install it, unless DRIFT_SKIP_AZURITE=1 skips them. One Azurite serves the whole session.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.paging import ItemPaged
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import (
    BlobServiceClient,
    ContainerClient,
    ContainerSasPermissions,
    generate_container_sas,
)
from deltalake import DeltaTable, write_deltalake

from drift.backends.azure_commits import AzureCommits
from drift.backends.azure_errors import AzureServiceError, AzureTransientError, RetryPolicy, Where
from drift.domain.delta_log import decide, summarize_commit
from drift.domain.registration import CommitNotFound, latest_data_version, read_summary
from tests import azurite as az

CONTAINER = "lake"


# -- Azurite -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def azurite() -> Iterator[az.Azurite]:
    if os.environ.get("DRIFT_SKIP_AZURITE") == "1":
        pytest.skip("DRIFT_SKIP_AZURITE=1")
    missing = None
    try:
        az.find_executable()
    except az.AzuriteNotInstalled as exc:
        missing = str(exc)
    if missing:
        pytest.fail(missing, pytrace=False)
    with az.running() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def lake(azurite: az.Azurite) -> ContainerClient:
    service = BlobServiceClient(
        azurite.blob_url, credential=AzureNamedKeyCredential(az.ACCOUNT, az.KEY)
    )
    return service.create_container(CONTAINER)


class AzuriteDeltaTable:
    """A Delta table written by delta-rs locally and uploaded to Azurite after each step."""

    def __init__(self, local: Path, lake: ContainerClient, blob_url: str, path: str) -> None:
        self.local = local
        self.lake = lake
        self.path = path  # inside the container: what AzureCommits calls `table`
        self.uri = f"az://{CONTAINER}/{path}"
        self.storage_options = {
            "account_name": az.ACCOUNT,
            "account_key": az.KEY,
            "endpoint": blob_url,
            "allow_http": "true",
        }
        self._uploaded: dict[Path, tuple[int, int]] = {}
        self._next_id = 0

    def write(self, n: int = 3, *, sync: bool = True) -> int:
        ids = list(range(self._next_id, self._next_id + n))
        self._next_id += n
        write_deltalake(
            self.local, pd.DataFrame({"id": ids, "value": [float(i) for i in ids]}), mode="append"
        )
        return self.sync() if sync else DeltaTable(self.local).version()

    def optimize(self) -> int:
        DeltaTable(self.local).optimize.compact()
        return self.sync()

    def checkpoint(self) -> int:
        DeltaTable(self.local).create_checkpoint()
        return self.sync()

    def sync(self) -> int:
        """Upload new or changed files: data first, then commits in order, like a writer."""

        def order(file: Path) -> tuple[int, str]:
            rel = file.relative_to(self.local).as_posix()
            rank = 2 if rel.endswith("_last_checkpoint") else int(rel.startswith("_delta_log/"))
            return rank, rel

        for file in sorted((f for f in self.local.rglob("*") if f.is_file()), key=order):
            stat = file.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if self._uploaded.get(file) != stamp:
                name = f"{self.path}/{file.relative_to(self.local).as_posix()}"
                self.lake.upload_blob(name, file.read_bytes(), overwrite=True)
                self._uploaded[file] = stamp
        return DeltaTable(self.local).version()

    def remote_version(self) -> int:
        """The version delta-rs sees when it reads the table from Azurite."""
        return DeltaTable(self.uri, storage_options=self.storage_options).version()


@pytest.fixture
def table(tmp_path: Path, lake: ContainerClient, azurite: az.Azurite) -> AzuriteDeltaTable:
    path = f"features/seat_{uuid.uuid4().hex[:8]}"
    return AzuriteDeltaTable(tmp_path / "seat", lake, azurite.blob_url, path)


class Requests:
    """Counts the HTTP requests the SDK clients send (a `raw_request_hook`)."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, request: Any) -> None:
        self.urls.append(request.http_request.url)

    @property
    def lists(self) -> int:
        return sum("comp=list" in url for url in self.urls)

    @property
    def reads(self) -> int:
        return sum("comp=" not in url for url in self.urls)


@pytest.fixture
def requests() -> Requests:
    return Requests()


@pytest.fixture
def store(azurite: az.Azurite, requests: Requests) -> AzureCommits:
    return AzureCommits.for_emulator(
        CONTAINER, blob_url=azurite.blob_url, raw_request_hook=requests
    )


def test_append_optimize_append_read_through_azurite(table, store: AzureCommits) -> None:
    assert store.latest_version(table.path) is None

    assert table.write() == 0
    assert table.write() == 1
    assert store.latest_version(table.path) == table.remote_version() == 1

    assert table.optimize() == 2
    assert store.latest_version(table.path) == table.remote_version() == 2
    actions = {
        v: decide(summarize_commit(store.read_commit(table.path, v), v)).action for v in range(3)
    }
    assert actions == {0: "register", 1: "register", 2: "skip"}
    optimize = summarize_commit(store.read_commit(table.path, 2), 2)
    assert optimize.operation == "OPTIMIZE"
    assert not optimize.data_change and optimize.files_without_data_change == 3
    assert (
        store.read_commit(table.path, 1)
        == (table.local / "_delta_log" / f"{1:020d}.json").read_bytes()
    )

    newest_data = latest_data_version(store, table.path)
    assert newest_data is not None and newest_data.version == 1  # walked back past OPTIMIZE

    assert table.write() == 3
    assert store.latest_version(table.path) == table.remote_version() == 3
    newest_data = latest_data_version(store, table.path)
    assert newest_data is not None and newest_data.version == 3
    assert newest_data.operation == "WRITE"


def test_missing_commit_is_file_not_found(table, store: AzureCommits) -> None:
    table.write()
    with pytest.raises(FileNotFoundError) as caught:
        store.read_commit(table.path, 42)
    assert not isinstance(caught.value, AzureServiceError)
    assert f"{table.path}/_delta_log/{42:020d}.json" in str(caught.value)
    with pytest.raises(CommitNotFound):
        read_summary(store, table.path, 42)


def test_table_path_slashes_and_container_root(lake, store: AzureCommits) -> None:
    lake.upload_blob(f"_delta_log/{0:020d}.json", b'{"commitInfo":{}}\n', overwrite=True)
    try:
        assert store.latest_version("") == store.latest_version("/") == 0
        assert store.read_commit("/", 0) == b'{"commitInfo":{}}\n'
    finally:
        lake.delete_blob(f"_delta_log/{0:020d}.json")


def test_checkpoint_bounds_the_listing(table, azurite, requests: Requests) -> None:
    """Versions 0-20 with a checkpoint at 11, windows of 10 versions: list 10-19, then 20-29."""
    for _ in range(12):
        table.write(1, sync=False)
    table.checkpoint()
    for _ in range(9):
        table.write(1, sync=False)
    table.sync()
    windowed = AzureCommits.for_emulator(
        CONTAINER, blob_url=azurite.blob_url, list_window=10, raw_request_hook=requests
    )
    requests.urls.clear()
    assert windowed.latest_version(table.path) == table.remote_version() == 20
    assert (requests.reads, requests.lists) == (1, 2)  # _last_checkpoint, then two windows
    assert windowed.requests == Counter(read=1, list=2)
    prefixes = [
        url.split("prefix=")[1].split("&")[0] for url in requests.urls if "comp=list" in url
    ]
    log = table.path.replace("/", "%2F") + "%2F_delta_log%2F"
    assert prefixes == [f"{log}{1:019d}", f"{log}{2:019d}"]

    # Without `_last_checkpoint` the whole log is listed (here 21 commits + 1 checkpoint).
    table.lake.delete_blob(f"{table.path}/_delta_log/_last_checkpoint")
    requests.urls.clear()
    assert windowed.latest_version(table.path) == 20
    assert (requests.reads, requests.lists) == (1, 1)


def test_stale_checkpoint_pointer_falls_back_to_the_whole_log(table, store, lake) -> None:
    table.write()
    table.write()
    lake.upload_blob(
        f"{table.path}/_delta_log/_last_checkpoint", json.dumps({"version": 7, "size": 3})
    )
    assert store.latest_version(table.path) == 1


@pytest.mark.parametrize(
    ("allowed", "refused"),
    [
        (ContainerSasPermissions(list=True), "read"),  # may list, may not read the commit
        (ContainerSasPermissions(read=True), "list"),  # may read, may not list the log
    ],
)
def test_missing_permission_is_a_403_naming_account_and_container(
    azurite, table, allowed: ContainerSasPermissions, refused: str
) -> None:
    """A real 403 AuthorizationPermissionMismatch, from a SAS that lacks one permission."""
    table.write()
    sas = generate_container_sas(
        az.ACCOUNT,
        CONTAINER,
        account_key=az.KEY,
        permission=allowed,
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    sleeps: list[float] = []
    store = AzureCommits(az.ACCOUNT, CONTAINER, sas, blob_url=azurite.blob_url, sleep=sleeps.append)
    with pytest.raises(AzureServiceError) as caught:
        if refused == "read":
            store.read_commit(table.path, 0)
        else:
            store.latest_version(table.path)
    message = str(caught.value)
    assert message.startswith(f"{refused} {table.path}/_delta_log/")
    assert f"storage account {az.ACCOUNT} as SAS token: refused: 403" in message
    assert f"read access to container {CONTAINER}" in message
    assert "Storage Blob Data Reader" in message
    assert "sig=" not in message and sas not in message
    assert sleeps == []  # permanent: not retried


def test_missing_container_is_a_permanent_error(azurite) -> None:
    store = AzureCommits.for_emulator("no-such-container", blob_url=azurite.blob_url)
    with pytest.raises(AzureServiceError, match="container no-such-container does not exist"):
        store.read_commit("features/seat", 0)
    with pytest.raises(AzureServiceError, match="container no-such-container does not exist"):
        store.latest_version("features/seat")


# -- without Azurite ---------------------------------------------------------------------------


class NoToken:
    """A token credential that is never asked: these tests send no request."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise AssertionError("no request expected")


def test_reads_and_listings_go_to_the_blob_endpoint() -> None:
    """The Data Lake SDK reads through a BlobClient on the `.blob.` host; nothing uses `.dfs.`."""
    store = AzureCommits("acct", "lake", NoToken())
    file = store._file_system.get_file_client("t/_delta_log/00000000000000000000.json")
    assert file._blob_client.url.startswith("https://acct.blob.core.windows.net/lake/t/")
    assert store._blobs.url == "https://acct.blob.core.windows.net/lake"
    assert store.table_uri("/features/seat/") == (
        "abfss://lake@acct.dfs.core.windows.net/features/seat"
    )
    emulator = AzureCommits.for_emulator("lake", blob_url="http://127.0.0.1:1234/devstoreaccount1")
    file = emulator._file_system.get_file_client("t/x.json")
    assert file._blob_client.url == "http://127.0.0.1:1234/devstoreaccount1/lake/t/x.json"


def test_sdk_retries_are_off_so_they_do_not_multiply_ours() -> None:
    """A refused connection is transient: `call` retries it, the SDK does not retry inside."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]  # nothing listens once the socket is closed
    requests, sleeps = Requests(), []
    store = AzureCommits.for_emulator(
        "lake",
        blob_url=f"http://127.0.0.1:{closed}/devstoreaccount1",
        policy=RetryPolicy(attempts=3),
        sleep=sleeps.append,
        raw_request_hook=requests,
    )
    with store, pytest.raises(AzureTransientError, match="still failing after retries"):
        store.read_commit("t", 0)
    assert len(requests.urls) == 3 and len(sleeps) == 2


def test_drift_credential_gives_the_sdk_its_token_and_errors_its_identity() -> None:
    class Credential:  # the shape of drift.backends.azure_credentials.Credential
        token_credential = NoToken()
        identity = "managed identity 1234 (DefaultAzureCredential)"

    store = AzureCommits("acct", "lake", Credential())
    assert store.where == Where("storage account acct", Credential.identity)
    assert store._blobs.credential is Credential.token_credential


def http_error(status: int, code: str = "", cls: type = HttpResponseError) -> HttpResponseError:
    exc = cls(message=f"{code or 'error'} from the fake service\nRequestId:fake")
    exc.status_code = status
    exc.reason = {403: "Forbidden", 404: "Not Found", 503: "Service Unavailable"}.get(status)
    exc.error_code = code
    return exc


class FakeLog:
    """A container's blob names and contents, served like the service: sorted, 5,000 a page."""

    PAGE = 5000

    def __init__(self, blobs: dict[str, bytes] | None = None) -> None:
        self.blobs = dict(blobs or {})
        self.faults: list[BaseException] = []  # raised by the next requests, in order
        self.fault_at: dict[int, BaseException] = {}  # raised by request number n (from 1)
        self.list_requests = 0
        self.read_requests = 0

    def _fault(self) -> None:
        number = self.list_requests + self.read_requests
        if number in self.fault_at:
            raise self.fault_at.pop(number)
        if self.faults:
            raise self.faults.pop(0)

    # FileSystemClient
    def get_file_client(self, path: str) -> Any:
        log = self

        class Download:
            def readall(self) -> bytes:
                return log.blobs[path]

        class File:
            def download_file(self, **_options: Any) -> Download:
                log.read_requests += 1
                log._fault()
                if path not in log.blobs:
                    raise http_error(404, "BlobNotFound", ResourceNotFoundError)
                return Download()

        return File()

    # ContainerClient
    def list_blob_names(self, name_starts_with: str, results_per_page: int | None = None):
        names = sorted(n for n in self.blobs if n.startswith(name_starts_with))
        size = min(results_per_page or self.PAGE, self.PAGE)

        def get_next(token: int | None) -> tuple[int, list[str]]:
            self.list_requests += 1
            self._fault()
            start = token or 0
            return start, names[start : start + size]

        def extract(response: tuple[int, list[str]]) -> tuple[int | None, Iterator[str]]:
            start, page = response
            more = start + size < len(names)
            return (start + size if more else None), iter(page)

        return ItemPaged(get_next, extract)


def delta_log(
    table: str,
    versions: range,
    checkpoint_every: int | None = None,
    last_checkpoint: int | None = None,
) -> dict[str, bytes]:
    """A log as Spark leaves it: commits, .crc files, checkpoints and a staged commit."""
    log = f"{table}/_delta_log/"
    blobs: dict[str, bytes] = {}
    for v in versions:
        blobs[f"{log}{v:020d}.json"] = b'{"commitInfo":{"operation":"WRITE"}}\n'
        blobs[f"{log}{v:020d}.crc"] = b"{}"
        if checkpoint_every and v and v % checkpoint_every == 0:
            blobs[f"{log}{v:020d}.checkpoint.parquet"] = b"PAR1"
    blobs[f"{log}_commits/{versions.stop:020d}.{uuid.uuid4()}.json"] = b"{}"  # not published
    if last_checkpoint is not None:
        blobs[f"{log}_last_checkpoint"] = json.dumps({"version": last_checkpoint}).encode()
    return blobs


def fake_store(log: FakeLog, **kwargs: Any) -> tuple[AzureCommits, list[float]]:
    sleeps: list[float] = []
    store = AzureCommits.from_clients(
        "acct", "lake", log, log, sleep=sleeps.append, policy=RetryPolicy(attempts=4), **kwargs
    )
    return store, sleeps


def test_transient_503_twice_then_success() -> None:
    log = FakeLog(delta_log("t", range(3)))
    log.faults = [http_error(503, "ServerBusy"), http_error(503, "ServerBusy")]
    store, sleeps = fake_store(log)
    assert store.read_commit("t", 1).startswith(b'{"commitInfo"')
    assert log.read_requests == 3 and len(sleeps) == 2


def test_transient_fault_mid_listing_retries_that_page_only() -> None:
    log = FakeLog(delta_log("t", range(12)))  # 12 commits + 12 .crc: 3 pages of 10
    # Request 1 reads _last_checkpoint (404), 2 lists page 1, 3 fails page 2 once.
    log.fault_at = {3: http_error(503, "ServerBusy")}
    store, sleeps = fake_store(log, page_size=10)
    assert store.latest_version("t") == 11
    assert log.list_requests == 4 and len(sleeps) == 1  # page 2 asked twice, no restart
    assert store.requests == Counter(read=1, list=3)


def test_403_is_permanent_and_names_account_container_identity() -> None:
    log = FakeLog(delta_log("t", range(3)))
    log.faults = [http_error(403, "AuthorizationPermissionMismatch")]
    store, sleeps = fake_store(log)
    with pytest.raises(AzureServiceError) as caught:
        store.read_commit("t", 1)
    message = str(caught.value)
    assert "storage account acct" in message and "container lake" in message
    assert "403" in message and "the clients' credential" in message
    assert log.read_requests == 1 and sleeps == []


def test_404_is_file_not_found_and_not_retried() -> None:
    store, sleeps = fake_store(FakeLog(delta_log("t", range(3))))
    with pytest.raises(FileNotFoundError) as caught:
        store.read_commit("t", 9)
    assert not isinstance(caught.value, AzureServiceError) and sleeps == []


def test_transient_faults_past_the_budget_become_a_service_error() -> None:
    log = FakeLog(delta_log("t", range(3)))
    log.faults = [http_error(503, "ServerBusy")] * 4
    store, sleeps = fake_store(log)
    with pytest.raises(AzureTransientError, match="still failing after retries"):
        store.read_commit("t", 1)
    assert log.read_requests == 4 and len(sleeps) == 3


@pytest.mark.parametrize(
    ("last_checkpoint", "lists"),
    [
        (None, 5),  # 10,004 commits + 10,004 .crc + 1,000 checkpoints: 5 pages of 5,000
        (10000, 1),  # window 10000-10999 only
        (9990, 2),  # window 9000-9999 is full, so 10000-10999 too
    ],
)
def test_listing_cost_of_a_10000_commit_log(last_checkpoint: int | None, lists: int) -> None:
    log = FakeLog(
        delta_log("t", range(10004), checkpoint_every=10, last_checkpoint=last_checkpoint)
    )
    store, _ = fake_store(log)
    started = time.monotonic()
    assert store.latest_version("t") == 10003
    assert log.list_requests == lists == store.requests["list"]
    assert log.read_requests == 1  # _last_checkpoint (or its 404)
    assert time.monotonic() - started < 5


def test_window_that_ends_full_with_nothing_after_it() -> None:
    store, _ = fake_store(FakeLog(delta_log("t", range(2000), last_checkpoint=1500)))
    assert store.latest_version("t") == 1999
    assert store.requests["list"] == 2  # 1000-1999 is full; 2000-2999 is empty


def test_unreadable_last_checkpoint_lists_the_whole_log() -> None:
    blobs = delta_log("t", range(5))
    blobs["t/_delta_log/_last_checkpoint"] = b"not json"
    store, _ = fake_store(FakeLog(blobs))
    assert store.latest_version("t") == 4


def test_list_window_must_be_a_power_of_ten() -> None:
    with pytest.raises(ValueError, match="power of 10"):
        fake_store(FakeLog(), list_window=500)


# -- Copy Blob ---------------------------------------------------------------------------------
# On a hierarchical-namespace account, BlobCreated by CopyBlob fires when the copy starts
# (learn.microsoft.com/azure/event-grid/event-schema-blob-storage), so the commit can be read
# while the service is still copying it. A read carries the copy's state in x-ms-copy-status.


class CopyStatusOverride(RequestsTransport):
    """Real HTTP to Azurite, but reads of `name` report `status` as their x-ms-copy-status.

    Azurite finishes a same-account copy before it answers (x-ms-copy-status: success), so a
    copy still running is staged here: the test writes part of the commit and this transport
    reports the copy pending, as the service does until the copy ends.
    """

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.status: str | None = "pending"
        self.reads = 0

    def send(self, request: Any, **kwargs: Any) -> Any:
        response = super().send(request, **kwargs)
        if request.method == "GET" and request.url.split("?")[0].endswith("/" + self.name):
            self.reads += 1
            if self.status is not None:
                response.headers["x-ms-copy-status"] = self.status
        return response


def commit_bytes() -> bytes:
    actions = [
        {"commitInfo": {"operation": "WRITE", "operationParameters": {"mode": "Append"}}},
        {"add": {"path": "part-0.parquet", "size": 10, "dataChange": True, "modificationTime": 1}},
        {"add": {"path": "part-1.parquet", "size": 10, "dataChange": True, "modificationTime": 1}},
    ]
    return b"".join(json.dumps(a).encode() + b"\n" for a in actions)


def test_a_commit_written_by_copy_blob_is_read_after_the_copy(
    lake: ContainerClient, azurite: az.Azurite
) -> None:
    """A real Copy Blob on Azurite: the read sees x-ms-copy-status success and takes it."""
    table = f"copied/{uuid.uuid4().hex[:8]}"
    source = lake.get_blob_client(f"staging/{uuid.uuid4().hex[:8]}.json")
    source.upload_blob(commit_bytes())
    target = lake.get_blob_client(f"{table}/_delta_log/{0:020d}.json")
    assert target.start_copy_from_url(source.url)["copy_status"] == "success"
    sleeps: list[float] = []
    store = AzureCommits.for_emulator(CONTAINER, blob_url=azurite.blob_url, sleep=sleeps.append)
    assert store.read_commit(table, 0) == commit_bytes()
    assert sleeps == []


def test_a_commit_still_being_copied_is_not_read_half_copied(
    lake: ContainerClient, azurite: az.Azurite
) -> None:
    table = f"copied/{uuid.uuid4().hex[:8]}"
    name = f"{table}/_delta_log/{0:020d}.json"
    whole = commit_bytes()
    lake.upload_blob(name, whole[: len(whole) // 2])  # what a pending copy has so far
    transport = CopyStatusOverride(name)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:  # the copy ends: the whole commit, status success
            source = lake.get_blob_client(f"staging/{uuid.uuid4().hex[:8]}.json")
            source.upload_blob(whole)
            lake.get_blob_client(name).start_copy_from_url(source.url)
            transport.status = None  # Azurite's own header from here on

    store = AzureCommits.for_emulator(
        CONTAINER, blob_url=azurite.blob_url, sleep=sleep, transport=transport
    )
    raw = store.read_commit(table, 0)
    assert raw == whole
    summary = summarize_commit(raw, 0)
    assert summary.operation == "WRITE"
    assert sleeps == [2.0, 2.0] and transport.reads == 3


def test_a_copy_pending_past_the_wait_is_transient(
    lake: ContainerClient, azurite: az.Azurite
) -> None:
    table = f"copied/{uuid.uuid4().hex[:8]}"
    name = f"{table}/_delta_log/{0:020d}.json"
    lake.upload_blob(name, commit_bytes()[:10])
    sleeps: list[float] = []
    store = AzureCommits.for_emulator(
        CONTAINER,
        blob_url=azurite.blob_url,
        sleep=sleeps.append,
        transport=CopyStatusOverride(name),
        copy_wait_s=6.0,
        copy_poll_s=2.0,
    )
    with pytest.raises(AzureTransientError, match="still being copied after 6 s"):
        store.read_commit(table, 0)
    assert sleeps == [2.0, 2.0, 2.0]


@pytest.mark.parametrize("status", ["failed", "aborted"])
def test_a_failed_copy_is_a_permanent_error(
    lake: ContainerClient, azurite: az.Azurite, status: str
) -> None:
    table = f"copied/{uuid.uuid4().hex[:8]}"
    name = f"{table}/_delta_log/{0:020d}.json"
    lake.upload_blob(name, commit_bytes()[:10])
    transport = CopyStatusOverride(name)
    transport.status = status
    store = AzureCommits.for_emulator(CONTAINER, blob_url=azurite.blob_url, transport=transport)
    with pytest.raises(AzureServiceError, match=f"the copy that wrote it is {status}"):
        store.read_commit(table, 0)
