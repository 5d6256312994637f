"""LocalDurableClient: the SDK's real client, answering from a LocalDurableRuntime."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from azure.durable_functions.models.EntityStateResponse import EntityStateResponse

from drift.runtime.client import LocalDurableClient
from drift.runtime.runtime import LocalDurableRuntime, VirtualClock

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
Status = df.OrchestrationRuntimeStatus

pytestmark = pytest.mark.filterwarnings("ignore:azure.functions df_loads:DeprecationWarning")


def double_later(ctx: df.DurableOrchestrationContext):
    yield ctx.create_timer(ctx.current_utc_datetime + timedelta(minutes=1))
    return (yield ctx.call_activity("double", ctx.get_input()["x"]))


def waits(ctx: df.DurableOrchestrationContext):
    return (yield ctx.wait_for_external_event("go"))


def log(ctx: df.DurableEntityContext) -> None:
    ctx.set_state([*ctx.get_state(list), ctx.get_input()])


def make() -> tuple[LocalDurableRuntime, LocalDurableClient]:
    rt = LocalDurableRuntime(
        {"double_later": double_later, "waits": waits},
        {"double": lambda n: 2 * n},
        clock=VirtualClock(T0),
        entities={"Log": log},
    )
    return rt, LocalDurableClient(rt)


def test_http_starter_gets_real_check_status_response() -> None:
    rt, client = make()

    async def http_start(req: func.HttpRequest) -> func.HttpResponse:
        if await client.get_status("job-1"):
            return func.HttpResponse("already running", status_code=409)
        iid = await client.start_new("double_later", "job-1", {"x": 21})
        return client.create_check_status_response(req, iid)

    req = func.HttpRequest("POST", "https://drift.example.net/api/start", body=b"")
    resp = asyncio.run(http_start(req))

    assert resp.status_code == 202
    body = json.loads(resp.get_body())
    assert body["id"] == "job-1"
    assert resp.headers["Location"] == body["statusQueryGetUri"]
    assert body["statusQueryGetUri"] == (
        "https://drift.example.net/runtime/webhooks/durabletask/instances/job-1"
        "?taskHub=drift&connection=Storage&code=REDACTED"
    )
    assert "/instances/job-1/raiseEvent/{eventName}?" in body["sendEventPostUri"]
    payload = client.create_http_management_payload("job-1")
    assert payload["terminatePostUri"].startswith(
        "http://localhost:7071/runtime/webhooks/durabletask/instances/job-1/terminate?reason="
    )
    assert client.calls == [
        ("get_status", ("job-1",)),
        ("start_new", ("double_later", "job-1", {"x": 21})),
    ]
    assert rt.starts == [("job-1", "double_later")]

    assert asyncio.run(http_start(req)).status_code == 409  # pending counts as existing
    assert rt.starts == [("job-1", "double_later")]


def test_get_status_is_a_real_status_object() -> None:
    rt, client = make()

    missing = asyncio.run(client.get_status("nope"))
    assert not missing  # what the SDK builds from the extension's empty 404 body
    assert (missing.runtime_status, missing.instance_id, missing.created_time) == (None,) * 3

    iid = asyncio.run(client.start_new("double_later", client_input={"x": 4}))
    pending = asyncio.run(client.get_status(iid))
    assert pending.runtime_status is Status.Pending
    rt.run_until_idle(max_time=T0)
    assert asyncio.run(client.get_status(iid)).runtime_status is Status.Running
    rt.run_until_idle()
    done = asyncio.run(client.get_status(iid))
    assert isinstance(done, DurableOrchestrationStatus)
    assert (done.runtime_status, done.output, done.input_, done.name, done.instance_id) == (
        Status.Completed,
        8,
        {"x": 4},
        "double_later",
        iid,
    )
    assert (done.created_time, done.last_updated_time) == (T0, T0 + timedelta(minutes=1))
    assert done.to_json()["runtimeStatus"] == "Completed"


def test_signal_entity_and_read_entity_state() -> None:
    rt, client = make()
    entity = df.EntityId("Log", "a")

    async def signal_then_read(value: Any) -> EntityStateResponse:
        await client.signal_entity(entity, "append", value)
        return await client.read_entity_state(entity)

    before = asyncio.run(signal_then_read(5))
    assert (before.entity_exists, before.entity_state) == (False, None)
    rt.run_until_idle()
    assert asyncio.run(client.read_entity_state(entity)).entity_state == [5]

    asyncio.run(signal_then_read(0))  # SDK quirk: a falsy input is sent as no input at all
    rt.run_until_idle()
    after = asyncio.run(client.read_entity_state(entity))
    assert (after.entity_exists, after.entity_state) == (True, [5, None])
    assert [name for name, _ in client.calls] == [
        "signal_entity",
        "read_entity_state",
        "read_entity_state",
        "signal_entity",
        "read_entity_state",
        "read_entity_state",
    ]


def test_raise_event_and_terminate_follow_extension_status_codes() -> None:
    rt, client = make()

    with pytest.raises(Exception, match="No instance with ID w found"):
        asyncio.run(client.raise_event("w", "go", 1))
    asyncio.run(client.start_new("waits", "w"))
    asyncio.run(client.raise_event("w", "go", {"n": 1}))
    rt.run_until_idle()
    assert rt.get_status("w").output == {"n": 1}  # type: ignore[union-attr]
    with pytest.raises(Exception, match="is gone"):
        asyncio.run(client.raise_event("w", "go", 2))

    asyncio.run(client.start_new("waits", "w2"))
    asyncio.run(client.terminate("w2", "stop"))
    status = asyncio.run(client.get_status("w2"))
    assert (status.runtime_status, status.output) == (Status.Terminated, "stop")
    asyncio.run(client.terminate("w2", "again"))  # 410 is not an error for the SDK
    with pytest.raises(Exception, match="No instance with ID 'zz' found"):
        asyncio.run(client.terminate("zz", "x"))
    with pytest.raises(Exception, match="'nope' doesn't exist"):
        asyncio.run(client.start_new("nope"))


def test_methods_not_emulated_fail_clearly() -> None:
    _, client = make()
    with pytest.raises(NotImplementedError, match="does not emulate"):
        asyncio.run(client.purge_instance_history("x"))
