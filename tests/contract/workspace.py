"""A workspace seeded with recorded jobs, and drift's Azure services over it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from drift.domain.config import parse_config
from drift.wiring.bootstrap import Services
from tests.contract.azureml_service import (
    ACCOUNT,
    RESOURCE_GROUP,
    SUBSCRIPTION,
    WORKSPACE,
    AzureService,
    recorded_response,
)
from tests.contract.conftest import make_jobs, make_registry

COMMAND = "churn_20260101080000_seed0001"
PIPELINE = "churnpipe_20260101080000_seed0002"
AUTOML = "churnauto_20260101080000_seed0003"
TABLE = "tables/churn"
DELTA_VERSION = 3
COMMITTED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DATA_VERSION = f"{COMMITTED:%Y%m%d%H%M%S}-v{DELTA_VERSION}"


def seed(service: AzureService) -> None:
    """Three groups' newest jobs, each a recorded response body: a command job (uri_folder
    input `testdataset`), a pipeline job and an AutoML job (MLTable `trainingData`).

    The recorded pipeline has no top-level input; one (`training_data`, mltable) is added and
    fed to its step, the only change to a recorded shape here."""
    service.seed_job(recorded_response("job_command.json"), COMMAND)
    pipeline = recorded_response("job_pipeline_completed.json")
    props = pipeline["properties"]
    props["inputs"] = {
        "training_data": {
            "description": None,
            "uri": "azureml:churn_data:1",
            "mode": "ReadOnlyMount",
            "jobInputType": "mltable",
        }
    }
    step = props["jobs"]["hello_world_inline_commandjob_1"]
    step["inputs"] = {
        "table": {"job_input_type": "literal", "value": "${{parent.inputs.training_data}}"}
    }
    service.seed_job(pipeline, PIPELINE)
    service.seed_job(recorded_response("job_automl_completed.json"), AUTOML)


def submit_args(job: dict[str, Any]) -> dict[str, Any]:
    """The `submit_job` activity's arguments for one job of a plan."""
    return {k: job[k] for k in ("source_job", "job_name", "inputs", "tags")}


class LakeCommits:
    """The commit store of one Delta table in the lake: one data-changing commit."""

    def __init__(self, uri: str) -> None:
        self.uri = uri

    def read_commit(self, table: str, version: int) -> bytes:
        if version != DELTA_VERSION:
            raise FileNotFoundError(version)
        lines = [
            {
                "commitInfo": {
                    "timestamp": int(COMMITTED.timestamp() * 1000),
                    "operation": "WRITE",
                    "operationParameters": {"mode": "Append"},
                }
            },
            {"add": {"path": "part-0.parquet", "size": 10, "dataChange": True}},
        ]
        return "\n".join(json.dumps(line) for line in lines).encode()

    def latest_version(self, table: str) -> int | None:
        return DELTA_VERSION

    def table_uri(self, table: str) -> str:
        return self.uri

    def storage_options(self) -> dict[str, str] | None:
        return None


def services(service: AzureService, stacked: bool = False, **job_kwargs: Any) -> Services:
    config = parse_config(
        {
            "backend": "azure",
            "parameters": {
                "azml": {
                    "subscriptionId": SUBSCRIPTION,
                    "resourceGroup": RESOURCE_GROUP,
                    "mlWorkspaceName": WORKSPACE,
                },
                "storageAccountName": ACCOUNT,
                "containerName": "data",
                "containerDataPath": TABLE,
                "dataAssets": [
                    {"name": "training_data", "value": "churn_data"},
                    {"name": "testdataset", "value": "churn_data"},
                ],
                "model_name_prefix": "churn,churnpipe,churnauto",
                "refreshDelay": "10",
            },
        }
    )
    registry = make_registry(service, stacked=stacked)
    commits = LakeCommits(registry.datastore_uri(TABLE))
    jobs = make_jobs(service, stacked=stacked, **job_kwargs)
    return Services(config, commits, registry, jobs, TABLE)
