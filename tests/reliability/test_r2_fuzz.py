"""R2: generated Event Grid / CloudEvents payloads, blob paths, commit files and HTTP bodies.

Every input is either accepted or rejected with a reason; nothing raises. Events go to
`intake.handle_event` with a cheap client double and a real Watchlist (and a sample through
the deployed Event Grid function): it must return normally (for Event Grid, a delivery that
returned is acknowledged, never retried), start the intake only for a finished commit of the
watched table, and log every outcome once, a rejection at WARNING with its reason. Blob paths
go to `parse_commit_path` and `drift inspect`'s classification, commit files to the same
classification, HTTP bodies to `manual.parse_request` / `parse_violation`: a valid request or
a `BadRequest` naming the field, never another exception.

Known crashes are kept out of the generators and pinned as strict xfails in
`test_known_crashes` (each turns into a failure once drift is fixed, so the exclusion can go):
generated text has no '[' or ']' (nor NUL, which no argv or URL path holds), commit actions
are JSON objects, commit timestamps lie in 1970-2039, event times in ordinary years, and
generated JSON bodies nest a few levels only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import pytest
import typer
from azure.durable_functions import OrchestrationRuntimeStatus as Status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drift.domain.config import parse_config
from drift.domain.delta_log import CommitRef, NotACommit, parse_commit_path, summarize_commit
from drift.domain.events import BLOB_CREATED, BLOB_RENAMED, FINISHED_APIS, CommitEvent, parse_event
from drift.domain.registration import asset_version
from drift.domain.types import PermanentError
from drift.durable.intake import handle_event
from drift.durable.orchestration import INTAKE, intake_instance_id
from drift.entrypoints import manual
from drift.entrypoints.cli import classify_file
from drift.wiring.watchlist import Watchlist
from tests.reliability.support import add, record

pytestmark = pytest.mark.reliability

FUZZ = settings(
    derandomize=True,  # the same examples on every run and machine
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
KEY = "acct/data/features/seat"
COMMIT_NAME = re.compile(r"^\d{20}\.json$")

# --- generated text --------------------------------------------------------------------------

CHARS = st.characters(exclude_characters="[]\x00/", exclude_categories=("Cs",))
WORD = st.text(CHARS, max_size=12)
ESCAPES = st.sampled_from(["%2F", "%2f", "%20", "%3A", "%25", "%", "%zz", "%3F", "%23", "?", "#"])
SEGMENT = st.lists(st.one_of(WORD, ESCAPES), max_size=4).map("".join)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)


def version_names() -> st.SearchStrategy[str]:
    v = st.integers(0, 10**12)
    return st.one_of(
        v.map(lambda n: f"{n:019d}.json"),
        v.map(lambda n: f"{n:021d}.json"),
        v.map(lambda n: f"{n:020d}.JSON"),
        v.map(lambda n: f"{n:020d}.json.tmp"),
        v.map(lambda n: f".{n:020d}.json.crc"),
        v.map(lambda n: f"{n:020d}.crc"),
        v.map(lambda n: f"{n:020d}.checkpoint.parquet"),
        v.map(lambda n: f"{n:020d}.checkpoint.{n:010d}.{n + 1:010d}.parquet"),
        v.map(lambda n: f"{n:020d}.{n + 3:020d}.compacted.json"),
        v.map(lambda n: f"{n:020d}.checkpoint.0f6c3a.json"),
        st.just("_last_checkpoint"),
    )


@st.composite
def blob_urls(draw: st.DrawFn, noise: int) -> tuple[str, str | None, int | None]:
    """(url, truth, version): truth "commit" (a finished commit of the watched table), "not"
    (certainly not one) or None (random parts: anything but a crash is fine). `noise` 0: only
    right parts; 1: some may be wrong; 2: some may also be random."""
    truth: str | None = "commit"
    kinds = ["ok"] * 5 + ["wrong"] * min(noise, 1) + ["random"] * (noise // 2)

    def pick(canonical: list[str], wrong: list[str], random_ok: bool = True) -> str:
        nonlocal truth
        kind = draw(st.sampled_from(kinds if random_ok else kinds[: 5 + min(noise, 1)]))
        if kind == "ok":
            return draw(st.sampled_from(canonical))
        if kind == "wrong":
            if truth == "commit":
                truth = "not"
            return draw(st.sampled_from(wrong))
        truth = None
        return draw(SEGMENT)

    scheme = pick(["https", "http"], ["ftp", "abfss", "wasbs", "file", ""], random_ok=False)
    host = pick(
        [
            "acct.blob.core.windows.net",
            "acct.dfs.core.windows.net",
            "ACCT.blob.core.windows.net",
            "acct.blob.core.windows.net:443",
            "127.0.0.1:10000/acct",
            "localhost:10000/acct",
        ],
        ["other.blob.core.windows.net", "127.0.0.1:10000/other", ""],
    )
    container = pick(["data"], ["other", "Data", "data2"])
    table = pick(
        ["features/seat", "features%2Fseat", "%66eatures/seat"],
        ["features", "features/seat/sub", "Features/seat", "features/seat2"],
    )
    log = pick(
        ["_delta_log"], ["_delta_log/_commits", "_delta_log/.tmp", "delta_log", "_Delta_Log"]
    )
    version = draw(st.integers(0, 10**15))
    name = f"{version:020d}.json"
    if noise and draw(st.integers(0, 3)) == 0:
        if truth == "commit":
            truth = "not"
        name = draw(version_names())
    elif noise == 2 and draw(st.integers(0, 5)) == 0:
        truth, name = None, draw(SEGMENT)
    query = draw(st.sampled_from(["", "", "?sv=2024-05-04&sig=c2VjcmV0", "#part", "?"]))
    url = f"{scheme}://{host}/{container}/{table}/{log}/{name}{query}"
    return url, truth, version if truth == "commit" else None


TIMES = st.sampled_from(
    [
        None,
        "2026-11-23T08:00:00Z",
        "2026-11-23T08:00:00.1234567Z",
        "2026-11-23T08:00:00+02:00",
        "2026-11-23T08:00:00",
        "not a time",
        "",
        42,
    ]
)


@st.composite
def events(draw: st.DrawFn) -> tuple[Any, str | None, int | None]:
    """(payload, truth, version) in either schema, with each field right, wrong or random."""
    noise = draw(st.sampled_from([0, 1, 1, 2, 2]))
    url, truth, version = draw(blob_urls(noise))

    def spoil(wrong: list[Any]) -> Any:
        nonlocal truth
        if truth == "commit":
            truth = "not"
        return draw(st.sampled_from(wrong))

    kind = draw(st.sampled_from(["created"] * 3 + ["renamed", "wrong", "random"][: noise + 1]))
    if kind == "created":
        event_type = BLOB_CREATED
        api_kind = draw(st.integers(0, 4))
        if api_kind == 0:
            api: Any = spoil(["CreateFile", "AppendFile", "PutBlock", "", None, 3, "putblob"])
        else:
            api = draw(st.sampled_from(sorted(FINISHED_APIS)))
        data: Any = {"api": api, "url": url, "contentLength": draw(st.integers(0, 9999))}
    elif kind == "renamed":
        event_type = BLOB_RENAMED
        data = {"api": "RenameFile", "destinationUrl": url, "sourceUrl": url + ".tmp"}
    elif kind == "wrong":
        event_type = spoil(
            [
                "Microsoft.Storage.BlobDeleted",
                "Microsoft.Storage.DirectoryCreated",
                "Microsoft.Storage.BlobTierChanged",
                "microsoft.storage.blobcreated",
                None,
                7,
            ]
        )
        data = {"api": "PutBlob", "url": url}
    else:
        truth = None
        event_type = draw(st.one_of(st.text(max_size=30), JSON))
        data = {"api": draw(st.text(max_size=12)), "url": url}
    if noise and draw(st.integers(0, 9)) == 0:
        data = spoil([None, "oops", [url], 5])
    elif noise and draw(st.integers(0, 9)) == 0:  # the URL field missing or of the wrong type
        for field in ("url", "destinationUrl"):
            if field in data:
                data[field] = spoil([None, "", 7, ["x"]])
    event_id: Any = draw(st.sampled_from(["evt-1", "3f1c-9a", "x" * 64]))
    if noise and draw(st.integers(0, 9)) == 0:
        event_id = spoil([None, "", 12, ["id"]])
    cloud = draw(st.booleans())
    payload: dict[str, Any] = {"id": event_id, "data": data}
    if cloud:
        payload.update(
            specversion="1.0", type=event_type, source="/subscriptions/s/acct", time=draw(TIMES)
        )
    else:
        payload.update(eventType=event_type, subject="/blobServices/default", topic="t")
        payload.update(eventTime=draw(TIMES), dataVersion="")
    if noise == 2 and draw(st.integers(0, 3)) == 0:
        payload.update(draw(st.dictionaries(st.text(max_size=10), JSON, max_size=3)))
        truth = None  # an extra key may overwrite a real one
    return payload, truth, version


# --- the intake, with a client double ----------------------------------------------------------


class ClientDouble:
    """get_status finds what start_new started; nothing runs."""

    def __init__(self) -> None:
        self.started: dict[str, Any] = {}
        self.calls: list[str] = []

    async def get_status(self, instance_id: str) -> Any:
        self.calls.append("get_status")
        if instance_id not in self.started:
            return None
        return SimpleNamespace(instance_id=instance_id, runtime_status=Status.Pending)

    async def start_new(
        self, name: str, instance_id: str | None = None, client_input: Any = None
    ) -> str:
        self.calls.append("start_new")
        assert name == INTAKE and instance_id
        assert instance_id not in self.started, "an intake was started twice"
        self.started[instance_id] = client_input
        return instance_id


def run_now(coroutine: Any) -> Any:
    """Drive a coroutine that never really waits (the doubles answer at once)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise AssertionError("the coroutine waited on something")


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def watchlist(tmp_path_factory: pytest.TempPathFactory) -> Watchlist:
    base = tmp_path_factory.mktemp("r2")
    config = parse_config(
        {
            "backend": "local",
            "parameters": {
                "storageAccountName": "acct",
                "containerName": "data",
                "containerDataPath": "features/seat",
                "dataAssets": [{"name": "training_data", "value": "features"}],
            },
            "local": {
                "workdir": str(base / "state"),
                "tablePath": str(base / "table"),
                "jobsDir": str(base / "jobs"),
            },
        }
    )
    return Watchlist({KEY: config})


@pytest.fixture(scope="module")
def intake_log() -> Iterator[Captured]:
    handler = Captured()
    logger = logging.getLogger("drift.intake")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def deliver_once(payload: Any, watchlist: Watchlist, client: ClientDouble, log: Captured) -> Any:
    """One delivery; it must return (= acknowledged) and log exactly one outcome line."""
    log.records.clear()
    outcome = run_now(handle_event(client, payload, watchlist))
    assert outcome.action in ("started", "duplicate", "ignored")
    assert isinstance(outcome.reason, str) and outcome.reason.strip()
    [line] = [r for r in log.records if r.name == "drift.intake"]
    assert line.getMessage() == f"drift event {outcome.action}: {outcome.reason}"
    assert line.drift["action"] == outcome.action and line.drift["reason"] == outcome.reason
    if outcome.action == "ignored":
        assert line.levelno == logging.WARNING
    return outcome


def check_event(payload: Any, truth: str | None, version: int | None, watchlist, log) -> str:
    client = ClientDouble()
    outcome = deliver_once(payload, watchlist, client, log)
    if outcome.action == "started":
        event = parse_event(payload)
        assert isinstance(event, CommitEvent) and watchlist.match(event) == KEY
        [(iid, args)] = client.started.items()
        assert iid == intake_instance_id(KEY, event.version) == outcome.instance_id
        assert args["table_key"] == KEY and args["delta_version"] == event.version
        assert truth != "not", f"started the intake for a non-commit: {payload!r}"
        again = deliver_once(payload, watchlist, client, log)  # Event Grid redelivers
        assert again.action == "duplicate" and len(client.started) == 1
    else:
        assert client.started == {} and "start_new" not in client.calls
    if truth == "commit":
        assert outcome.action == "started", (payload, outcome)
        assert client.started[intake_instance_id(KEY, version)]["delta_version"] == version
    add("R2", examples=1, events=1, events_started=int(outcome.action == "started"))
    return outcome.action


@settings(FUZZ, max_examples=350)
@given(case=events())
def test_generated_events_never_raise_and_start_only_commits(
    case: tuple[Any, str | None, int | None], watchlist: Watchlist, intake_log: Captured
) -> None:
    payload, truth, version = case
    check_event(payload, truth, version, watchlist, intake_log)
    add("R2", **{f"events_truth_{truth or 'random'}": 1})


@settings(FUZZ, max_examples=80)
@given(
    payload=st.one_of(
        JSON,
        st.dictionaries(
            st.sampled_from(
                ["id", "data", "eventType", "type", "specversion", "time", "eventTime", "subject"]
            ),
            JSON,
        ),
    )
)
def test_arbitrary_json_events_are_rejected_with_a_reason(
    payload: Any, watchlist: Watchlist, intake_log: Captured
) -> None:
    assert check_event(payload, None, None, watchlist, intake_log) == "ignored"


# --- a sample through the deployed Event Grid function ------------------------------------------


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The real `drift_on_storage_event`, its watchlist from DRIFT_CONFIG, a local runtime."""
    from datetime import UTC, datetime

    import yaml

    from drift.functions import settings as app_settings
    from drift.runtime.client import LocalDurableClient
    from drift.runtime.runtime import VirtualClock
    from tests.functions.conftest import app_runtime, user_function

    base = tmp_path_factory.mktemp("r2-app")
    config = base / "drift.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "backend": "local",
                "parameters": {
                    "storageAccountName": "acct",
                    "containerName": "data",
                    "containerDataPath": "features/seat",
                    "dataAssets": [{"name": "training_data", "value": "features"}],
                },
                "local": {
                    "workdir": str(base / "state"),
                    "tablePath": str(base / "table"),
                    "jobsDir": str(base / "jobs"),
                },
            }
        )
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(app_settings.CONFIG_SETTING, str(config))
        app_settings.watchlist.cache_clear()
        runtime = app_runtime(VirtualClock(datetime(2026, 11, 23, tzinfo=UTC)))
        client = LocalDurableClient(runtime)
        yield user_function("drift_on_storage_event").client_function, client, runtime
    app_settings.watchlist.cache_clear()


@settings(FUZZ, max_examples=80)
@given(case=events())
def test_the_deployed_function_acknowledges_every_event(
    case: tuple[Any, str | None, int | None], deployed: Any, intake_log: Captured
) -> None:
    from tests.functions.conftest import _event_object

    payload, truth, version = case
    for key in ("time", "eventTime"):  # the worker's converter parses these before drift runs
        if key in payload and payload[key] not in (None, "2026-11-23T08:00:00Z"):
            payload[key] = "2026-11-23T08:00:00Z"
    fn, client, runtime = deployed
    before = len(runtime.starts)
    event = _event_object(json.loads(json.dumps(payload)))
    intake_log.records.clear()
    assert asyncio.run(fn(event=event, client=client)) is None  # returned: acknowledged
    lines = [r for r in intake_log.records if r.name == "drift.intake"]
    assert len(lines) == 1 and lines[0].drift["reason"]
    started = runtime.starts[before:]
    if truth == "not":
        assert started == []
    if started:
        [(iid, name)] = started
        event_seen = parse_event(payload)
        assert name == INTAKE and isinstance(event_seen, CommitEvent)
        assert iid == intake_instance_id(KEY, event_seen.version)
    if truth == "commit":
        expected = intake_instance_id(KEY, version)
        assert started == [(expected, INTAKE)] or lines[0].drift["action"] == "duplicate"
    add("R2", examples=1, function_deliveries=1, function_starts=len(started))
    # Reaching here for every example is the count: a crash or a raise would fail the test.
    record("R2", generated_inputs_crashed=0, deliveries_not_acknowledged=0)


# --- blob paths and commit files: `drift inspect` ---------------------------------------------


@st.composite
def blob_paths(draw: st.DrawFn) -> tuple[str, bool | None]:
    """(path, is_commit): local, Windows, abfss:// and https:// forms, right or wrong."""
    name_is_commit = draw(st.booleans())
    version = draw(st.integers(0, 10**18))
    name = f"{version:020d}.json" if name_is_commit else draw(version_names() | SEGMENT)
    table = draw(st.sampled_from(["t", "lake/sales", "a b/c%20d", "C:\\data\\t", "./t", "../t"]))
    log = draw(
        st.sampled_from(
            ["_delta_log"] * 4
            + [
                "_delta_log/_commits",
                "_delta_log/.tmp",
                "delta_log",
                "_delta_log/x/_delta_log",
                "_delta_logs",
            ]
        )
    )
    truth: bool | None = name_is_commit and log == "_delta_log"
    form = draw(st.sampled_from(["posix", "windows", "abfss", "https", "relative", "random"]))
    if form == "posix":
        path = f"/{table}/{log}/{name}"
    elif form == "windows":
        path = f"{table}\\{log}\\{name}".replace("/", "\\")
    elif form == "abfss":
        path = f"abfss://c@acct.dfs.core.windows.net/{table}/{log}/{name}"
    elif form == "https":
        query = draw(st.sampled_from(["", "?sv=1&sig=x"]))
        path = f"https://acct.blob.core.windows.net/c/{quote(table)}/{log}/{name}{query}"
    elif form == "relative":
        path, truth = f"{log}/{name}", False  # no table folder before _delta_log
    else:
        path, truth = "/".join(draw(st.lists(SEGMENT, min_size=1, max_size=5))), None
    if not name_is_commit and any(c in name for c in "%?#\\"):
        truth = None  # an escape or separator in the name: no longer known
    return path, truth


@settings(FUZZ, max_examples=200)
@given(case=blob_paths())
def test_blob_paths_are_classified_never_crash(case: tuple[str, bool | None]) -> None:
    path, truth = case
    ref = parse_commit_path(path)
    assert isinstance(ref, CommitRef | NotACommit)
    if isinstance(ref, NotACommit):
        assert ref.reason.strip() and truth is not True, (path, ref)
        assert classify_file(path) == {
            "table": None,
            "delta_version": None,
            "operation": None,
            "data_change": None,
            "action": "ignore",
            "reason": ref.reason,
        }
    else:
        assert truth is not False, (path, ref)
        basename = re.split(r"[/\\]", path.split("?", 1)[0])[-1]
        assert ref.version == int(basename.removesuffix(".json"))
        with pytest.raises(typer.Exit) as exit_info:  # nothing at that path on this machine
            classify_file(path)
        assert exit_info.value.exit_code == 2
    add("R2", examples=1, blob_paths=1, blob_paths_commits=int(isinstance(ref, CommitRef)))


ACTION = st.one_of(
    st.fixed_dictionaries(
        {
            "commitInfo": st.fixed_dictionaries(
                {},
                optional={
                    "operation": st.sampled_from(["WRITE", "OPTIMIZE", "MERGE", "VACUUM END"]),
                    "timestamp": st.integers(0, 2**41),
                    "inCommitTimestamp": st.integers(0, 2**41),
                },
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "add": st.fixed_dictionaries(
                {"path": st.text(max_size=8)},
                optional={"dataChange": st.booleans(), "modificationTime": st.integers(0, 2**41)},
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "remove": st.fixed_dictionaries(
                {"path": st.text(max_size=8)},
                optional={"dataChange": st.booleans(), "deletionTimestamp": st.integers(0, 2**41)},
            )
        }
    ),
    st.sampled_from([{"protocol": {"minReaderVersion": 1}}, {"metaData": {"id": "x"}}, {}]),
)
LINE = st.one_of(
    ACTION.map(json.dumps),
    ACTION.map(json.dumps),
    st.sampled_from(["", "   ", "[1, 2]", "42", "not json", '{"add": ', "\ufeff{}"]),
)


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("r2-commits") / "t" / "_delta_log"
    folder.mkdir(parents=True)
    return folder


@settings(FUZZ, max_examples=100)
@given(lines=st.lists(LINE, max_size=6), raw=st.binary(max_size=40), use_raw=st.booleans())
def test_commit_files_are_classified_or_refused_with_the_line(
    lines: list[str], raw: bytes, use_raw: bool, log_dir: Path
) -> None:
    add("R2", examples=1)
    content = raw if use_raw else "\n".join(lines).encode()
    path = log_dir / "00000000000000000007.json"
    path.write_bytes(content)
    try:
        result = classify_file(str(path))
    except typer.Exit as exc:  # drift inspect's clean exit: "error: <file>: line N: ..."
        assert exc.exit_code == 2
        add("R2", commit_files=1, commit_files_refused=1)
        return
    actions = [json.loads(x) for x in lines if x.strip() and not use_raw]
    changes = [a[k] for a in actions if isinstance(a, dict) for k in ("add", "remove") if k in a]
    assert result["delta_version"] == 7
    if not use_raw:
        assert result["data_change"] == any(c.get("dataChange", True) for c in changes)
        assert result["action"] == ("register" if result["data_change"] else "skip")
    assert result["reason"]
    add("R2", commit_files=1)


# --- HTTP bodies --------------------------------------------------------------------------------

RETRAIN_FIELDS = set(manual.RetrainRequest.model_fields)
VIOLATION_FIELDS = set(manual.ViolationRequest.model_fields)
GROUPS = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,12}\Z")
VERSIONS = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,20}\Z")
VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    GROUPS,
    VERSIONS,
    st.lists(st.one_of(GROUPS, st.text(max_size=6), st.integers()), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.lists(GROUPS, min_size=1, max_size=3).map(",".join),
)
FIELD = st.sampled_from(sorted(RETRAIN_FIELDS | VIOLATION_FIELDS)) | st.text(max_size=10)


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, Any]:
    """(raw body, the decoded JSON or None): objects of known and unknown fields, other JSON,
    raw bytes, other encodings and whitespace."""
    kind = draw(st.sampled_from(["object"] * 4 + ["json", "bytes", "empty"]))
    if kind == "bytes":
        return draw(st.binary(max_size=60)), None
    if kind == "empty":
        return draw(st.sampled_from([b"", b" ", b"\n\t", b"\r\n"])), None
    data = draw(st.dictionaries(FIELD, VALUE, max_size=5)) if kind == "object" else draw(JSON)
    text = json.dumps(data, ensure_ascii=draw(st.booleans()), allow_nan=True)
    encoding = draw(st.sampled_from(["utf-8"] * 4 + ["utf-16", "utf-32", "utf-8-sig", "latin-1"]))
    try:
        raw = text.encode(encoding)
    except UnicodeEncodeError:
        raw = text.encode()
    return raw, data


def names_a_field(message: str, data: Any, fields: set[str]) -> bool:
    names = {"body", *fields} | ({str(k) for k in data} if isinstance(data, dict) else set())
    return any(message.startswith(f"{name}:") or message.startswith(f"{name}.") for name in names)


@settings(FUZZ, max_examples=220)
@given(case=bodies())
def test_http_bodies_parse_or_name_the_bad_field(case: tuple[bytes, Any]) -> None:
    raw, data = case
    add("R2", examples=1)
    for parse, model, fields in (
        (manual.parse_request, manual.RetrainRequest, RETRAIN_FIELDS),
        (manual.parse_violation, manual.ViolationRequest, VIOLATION_FIELDS),
    ):
        try:
            request = parse(raw)
        except manual.BadRequest as exc:
            message = str(exc)
            assert message and names_a_field(message, data, fields), (raw, message)
            add("R2", http_bodies=1, http_bad_requests=1)
            continue
        assert isinstance(request, model)
        if isinstance(data, dict):
            assert set(map(str, data)) <= fields  # an unknown field is never accepted
        add("R2", http_bodies=1, http_valid=1)


@settings(FUZZ, max_examples=80)
@given(
    version=st.none() | VERSIONS,
    groups=st.none() | st.lists(GROUPS, max_size=3),
    dry_run=st.booleans(),
    group=GROUPS,
    violated=st.booleans(),
)
def test_valid_http_bodies_are_accepted_as_sent(
    version: str | None, groups: list[str] | None, dry_run: bool, group: str, violated: bool
) -> None:
    body = {"data_asset_version": version, "model_name_prefix": groups, "dry_run": dry_run}
    request = manual.parse_request(json.dumps(body).encode())
    assert (request.data_asset_version, request.dry_run) == (version, dry_run)
    assert request.groups == (groups or [])
    violation = {"model_group": group, "is_metric_violated": violated, "violation_id": version}
    parsed = manual.parse_violation(json.dumps(violation).encode())
    assert (parsed.model_group, parsed.is_metric_violated) == (group, violated)
    add("R2", examples=1, http_bodies=2, http_valid=2)


# --- what still crashes (drift's findings; strict: each turns into a failure once fixed) -----

COMMIT_URL = "https://acct.blob.core.windows.net/data/features/seat/_delta_log/" + f"{1:020d}.json"


def _event_with_bracket(watchlist: Watchlist) -> Any:
    """A percent-encoded '://' and '[' in the container: parse_commit_path's urlsplit raises
    ValueError('Invalid IPv6 URL'), so the Event Grid function raises and Event Grid retries."""
    url = "https://acct.blob.core.windows.net/https:%2F%2F[x/_delta_log/" + f"{1:020d}.json"
    payload = {"id": "1", "eventType": BLOB_CREATED, "data": {"api": "PutBlob", "url": url}}
    return run_now(handle_event(ClientDouble(), payload, watchlist))


def _event_time_out_of_range(watchlist: Watchlist) -> Any:
    """`at = event_time.astimezone(UTC)` overflows (OverflowError) near datetime's range ends."""
    payload = {
        "id": "1",
        "eventType": BLOB_CREATED,
        "eventTime": "0001-01-01T00:00:00+01:00",
        "data": {"api": "PutBlob", "url": COMMIT_URL},
    }
    return run_now(handle_event(ClientDouble(), payload, watchlist))


def _inspect_url_with_bracket(watchlist: Watchlist) -> Any:
    """`drift inspect 'https://[x/t/_delta_log/<N>.json'` ends in a ValueError traceback."""
    return parse_commit_path("https://[x/t/_delta_log/" + f"{1:020d}.json")


def _http_body_nested_deeply(watchlist: Watchlist) -> Any:
    """json.loads raises RecursionError (not JSONDecodeError): an HTTP 500, not a 400."""
    return manual.parse_request(b"[" * 100_000)


def _commit_action_not_an_object(watchlist: Watchlist) -> Any:
    """Valid JSON, wrong shape: AttributeError instead of CommitReadError naming the line."""
    return summarize_commit('{"commitInfo": ["WRITE"]}\n{"add": "part-0.parquet"}', 1)


def _commit_timestamp_out_of_range(watchlist: Watchlist) -> Any:
    """A commitInfo.timestamp past year 9999: ValueError from datetime, in inspect and in
    registration (retried as if transient, then the run fails)."""
    raw = '{"commitInfo": {"timestamp": 99999999999999999}}\n{"add": {"path": "a"}}'
    return asset_version(summarize_commit(raw, 1))


KNOWN_CRASHES = [
    _event_with_bracket,
    _event_time_out_of_range,
    _inspect_url_with_bracket,
    _http_body_nested_deeply,
    _commit_action_not_an_object,
    _commit_timestamp_out_of_range,
]


@pytest.mark.parametrize("case", KNOWN_CRASHES, ids=lambda f: f.__name__.strip("_"))
def test_known_crashes(case: Any, watchlist: Watchlist) -> None:
    """Fixed means: a result, or one of drift's own clean errors (each names what is wrong)."""
    record("R2", known_crash_inputs=len(KNOWN_CRASHES))
    with contextlib.suppress(manual.BadRequest, PermanentError):
        case(watchlist)
