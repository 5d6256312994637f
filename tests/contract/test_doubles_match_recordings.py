"""The operation-level doubles (tests/azureml_doubles.py) answer with the shapes the service
answers with: what drift reads from a double is what it reads from the recorded responses,
served to the real MLClient by the HTTP-level fake."""

from __future__ import annotations

from typing import Any

from azure.ai.ml import load_job
from azure.ai.ml.entities import Job

from drift.backends.azure_jobs import job_state, training_job
from drift.backends.azure_registry import AzureRegistry, forget_checked_datastores
from drift.domain.types import DataAssetVersion
from tests.azureml_doubles import workspace
from tests.contract.azureml_service import AzureService, recorded_response
from tests.contract.conftest import WHERE, clients

SPEC = "tests/data/azureml/command_job.yml"


def features(job: Job) -> dict[str, Any]:
    """What drift and a clone depend on in a fetched job entity."""
    outputs = getattr(job, "outputs", None) or {}
    default = outputs.get("default")
    return {
        "services": sorted(job.services or {}),
        "created_at_set": job.creation_context.created_at is not None,
        "last_modified_at": job.creation_context.last_modified_at,
        "default_output_on_artifact_store": str(getattr(default, "path", "")).startswith(
            "azureml://datastores/workspaceartifactstore/ExperimentRun/dcid."
        ),
        "compute_target_property": "_azureml.ComputeTargetType" in (job.properties or {}),
        "status": job.status,
    }


def test_a_command_job_from_the_double_has_the_recorded_shape(service: AzureService) -> None:
    ml, _ = clients(service)
    service.seed_job(recorded_response("job_command.json"), "churn_20260101080000_seed0001")
    from_service = ml.jobs.get("churn_20260101080000_seed0001")
    ws = workspace()
    ws.jobs.seed(load_job(SPEC))
    ws.jobs.set_status("churn_20260101080000_seed0001", "Starting")
    from_double = ws.client.jobs.get("churn_20260101080000_seed0001")

    assert features(from_double) == features(from_service)
    assert features(from_service) == {
        "services": ["Studio", "Tracking"],
        "created_at_set": True,
        "last_modified_at": None,  # jobs' systemData has createdAt only
        "default_output_on_artifact_store": True,
        "compute_target_property": True,
        "status": "Starting",
    }
    assert training_job(from_double).created_at is not None


def test_run_times_read_the_same_from_double_and_service(service: AzureService) -> None:
    ml, _ = clients(service)
    service.seed_job(recorded_response("job_command.json"), "churn_20260101080000_seed0001")
    ws = workspace()
    ws.jobs.seed(load_job(SPEC))
    for status in ("Running", "Completed"):
        service.set_status("churn_20260101080000_seed0001", status)
        ws.jobs.set_status("churn_20260101080000_seed0001", status)

    states = [
        job_state(client.jobs.get("churn_20260101080000_seed0001")) for client in (ml, ws.client)
    ]

    for state in states:
        assert state.status == "Completed"
        assert state.started_at is not None and state.ended_at is not None
        assert state.duration_s == 60.0  # one tick of either clock between Running and end


def test_registered_versions_read_the_same_from_double_and_service(
    service: AzureService,
) -> None:
    ml, container = clients(service)
    ws = workspace()
    asset = DataAssetVersion("churn_data_folder", "v1", "uri_folder", "tables/churn", {"a": "b"})

    def registry(client: Any, mltables: Any) -> AzureRegistry:
        return AzureRegistry(
            client,
            datastore_name="drift_lake",
            account="driftlake",
            container="data",
            where=WHERE,
            mltables=mltables,
        )

    real = registry(ml, container).create_uri_folder(asset)
    forget_checked_datastores()  # the same workspace name: check the double's datastore too
    doubled = registry(ws.client, ws.mltables).create_uri_folder(asset)

    assert real.path.endswith("/datastores/drift_lake/paths/tables/churn/")  # trailing slash
    assert doubled.path.split("/datastores/")[1] == real.path.split("/datastores/")[1]
    assert (doubled.type, doubled.tags) == (real.type, real.tags)
    # Both datastores come back identity-based, as the recorded ADLS Gen2 store does.
    from_service = ml.datastores.get("drift_lake")
    from_double = ws.client.datastores.get("drift_lake")
    assert type(from_double.credentials) is type(from_service.credentials)
    assert type(from_service.credentials).__name__ == "NoneCredentialConfiguration"
