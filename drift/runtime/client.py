"""The SDK's real ``DurableOrchestrationClient``, wired to a ``LocalDurableRuntime``.

Core Tools can't run here, so HTTP/Event Grid/timer starters are tested by handing their user
functions this client. It subclasses the real client, built from a binding JSON shaped like the
one the extension injects, so ``create_check_status_response`` and
``create_http_management_payload`` run unchanged; only the methods that would call the
extension's HTTP API are overridden, and they answer the way the SDK does for that API's status
codes (e.g. a falsy status for an unknown instance). Every call is recorded in ``calls`` so tests
can check ordering such as get_status before start_new.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, NoReturn

from azure.durable_functions import DurableOrchestrationClient, EntityId
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from azure.durable_functions.models.EntityStateResponse import EntityStateResponse
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus

from drift.runtime.runtime import LocalDurableRuntime

BASE_URL = "http://localhost:7071/runtime/webhooks/durabletask"
# The extension's instance query answers one page, 100 instances unless `top` says otherwise
# (OrchestrationStatusQueryCondition.PageSize); the Python SDK sends no `top` and ignores the
# continuation token, so a caller sees the first page only.
QUERY_PAGE = 100
_FINISHED = (
    OrchestrationRuntimeStatus.Completed,
    OrchestrationRuntimeStatus.Failed,
    OrchestrationRuntimeStatus.Terminated,
)


def client_binding(task_hub: str = "drift", base_url: str = BASE_URL) -> str:
    """The durableClient binding JSON, in the shape the extension sends (key redacted)."""
    query = f"taskHub={task_hub}&connection=Storage&code=REDACTED"
    instance = f"{base_url}/instances/INSTANCEID"
    orchestrators = f"{base_url}/orchestrators/{{functionName}}[/{{instanceId}}]"
    return json.dumps(
        {
            "taskHubName": task_hub,
            "creationUrls": {
                "createNewInstancePostUri": f"{orchestrators}?code=REDACTED",
                "createAndWaitOnNewInstancePostUri": f"{orchestrators}?timeout="
                "{timeoutInSeconds}&pollingInterval={intervalInSeconds}&code=REDACTED",
            },
            "managementUrls": {
                "id": "INSTANCEID",
                "statusQueryGetUri": f"{instance}?{query}",
                "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{query}",
                "terminatePostUri": f"{instance}/terminate?reason={{text}}&{query}",
                "rewindPostUri": f"{instance}/rewind?reason={{text}}&{query}",
                "purgeHistoryDeleteUri": f"{instance}?{query}",
                "restartPostUri": f"{instance}/restart?{query}",
                "suspendPostUri": f"{instance}/suspend?reason={{text}}&{query}",
                "resumePostUri": f"{instance}/resume?reason={{text}}&{query}",
            },
            "baseUrl": base_url,
            "requiredQueryStringParameters": "code=REDACTED",
            "rpcBaseUrl": "http://127.0.0.1:17071/durabletask/",
        }
    )


def _status_json(status: Any) -> dict[str, Any]:
    """An instance as the extension's status payload carries it (times to the second)."""
    return {
        "name": status.name,
        "instanceId": status.instance_id,
        "runtimeStatus": status.runtime_status.value,
        "input": status.input,
        "output": status.output,
        "customStatus": status.custom_status,
        "createdTime": status.created_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lastUpdatedTime": status.last_updated_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


async def _no_http(url: str, *args: Any, **kwargs: Any) -> NoReturn:
    """Methods not overridden here must not silently try to reach a host that isn't there."""
    raise NotImplementedError(f"LocalDurableClient does not emulate {url}")


class LocalDurableClient(DurableOrchestrationClient):
    """Durable client double: real URL/response helpers, state in a ``LocalDurableRuntime``."""

    def __init__(self, runtime: LocalDurableRuntime, task_hub: str = "drift") -> None:
        super().__init__(client_binding(task_hub))
        self.runtime = runtime
        self.calls: list[tuple[str, tuple]] = []
        self._post_async_request = self._get_async_request = _no_http
        self._delete_async_request = _no_http

    async def start_new(
        self,
        orchestration_function_name: str,
        instance_id: str | None = None,
        client_input: Any | None = None,
        version: str | None = None,
    ) -> str:
        self.calls.append(("start_new", (orchestration_function_name, instance_id, client_input)))
        if orchestration_function_name not in self.runtime.orchestrators:
            # The extension answers 400 and the SDK raises its message as a bare Exception.
            raise Exception(
                f"The function '{orchestration_function_name}' doesn't exist, is disabled, "
                "or is not an orchestrator function."
            )
        return self.runtime.start_new(
            orchestration_function_name, client_input, instance_id, version
        )

    async def get_status(
        self,
        instance_id: str,
        show_history: bool = False,
        show_history_output: bool = False,
        show_input: bool = False,
    ) -> DurableOrchestrationStatus:
        self.calls.append(("get_status", (instance_id,)))
        status = self.runtime.get_status(instance_id)
        if status is None:
            # 404 has an empty body, which the SDK turns into a falsy, all-None status.
            return DurableOrchestrationStatus.from_json("")
        return DurableOrchestrationStatus.from_json(_status_json(status))

    async def get_status_by(
        self,
        created_time_from: datetime | None = None,
        created_time_to: datetime | None = None,
        runtime_status: list[OrchestrationRuntimeStatus] | None = None,
        instance_id_prefix: str | None = None,
    ) -> list[DurableOrchestrationStatus]:
        """The first page of the instance query, in instance-id order (Azure Storage's table
        order), as the SDK returns it: the caller never learns whether more matched."""
        self.calls.append(("get_status_by", (created_time_from, created_time_to, runtime_status)))
        wanted = {s.value for s in runtime_status or []}
        matched = []
        for instance_id in sorted(self.runtime.instance_ids()):
            status = self.runtime.get_status(instance_id)
            if status is None or status.name not in self.runtime.orchestrators:
                continue  # entities are not orchestration instances
            if created_time_from and status.created_time < created_time_from:
                continue
            if created_time_to and status.created_time > created_time_to:
                continue
            if wanted and status.runtime_status.value not in wanted:
                continue
            if instance_id_prefix and not instance_id.startswith(instance_id_prefix):
                continue
            matched.append(DurableOrchestrationStatus.from_json(_status_json(status)))
        return matched[:QUERY_PAGE]

    async def get_status_all(self) -> list[DurableOrchestrationStatus]:
        return await self.get_status_by()

    async def raise_event(
        self,
        instance_id: str,
        event_name: str,
        event_data: Any = None,
        task_hub_name: str | None = None,
        connection_name: str | None = None,
    ) -> None:
        self.calls.append(("raise_event", (instance_id, event_name, event_data)))
        if event_name == "":
            raise ValueError("event_name must be a non-empty string.")
        status = self.runtime.get_status(instance_id)
        if status is None:
            raise Exception(f"No instance with ID {instance_id} found.")
        if status.runtime_status in _FINISHED:
            raise Exception(f"Instance with ID {instance_id} is gone: either completed or failed")
        self.runtime.raise_event(instance_id, event_name, event_data)

    async def signal_entity(
        self,
        entityId: EntityId,
        operation_name: str,
        operation_input: Any | None = None,
        task_hub_name: str | None = None,
        connection_name: str | None = None,
    ) -> None:
        self.calls.append(("signal_entity", (entityId, operation_name, operation_input)))
        # SDK quirk kept on purpose: it posts no body for any falsy input (0, "", [], False).
        self.runtime.signal_entity(entityId, operation_name, operation_input or None)

    async def read_entity_state(
        self,
        entityId: EntityId,
        task_hub_name: str | None = None,
        connection_name: str | None = None,
    ) -> EntityStateResponse:
        self.calls.append(("read_entity_state", (entityId,)))
        exists, state = self.runtime.read_entity_state(entityId)
        return EntityStateResponse(True, state) if exists else EntityStateResponse(False)

    async def terminate(self, instance_id: str, reason: str) -> None:
        self.calls.append(("terminate", (instance_id, reason)))
        if self.runtime.get_status(instance_id) is None:
            raise Exception(f"No instance with ID '{instance_id}' found.")
        self.runtime.terminate(instance_id, reason)
