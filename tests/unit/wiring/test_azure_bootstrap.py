"""The Azure services bootstrap builds: offline (no client reaches Azure when built)."""

from __future__ import annotations

import contextlib
import logging

import pytest

from drift.domain.config import ConfigError, parse_config
from drift.wiring.bootstrap import STORE_CREDENTIALS_DEPRECATED, build_services


def azure_config(**extra: object) -> object:
    return parse_config(
        {
            "backend": "azure",
            "parameters": {
                "azml": {"subscriptionId": "sub", "resourceGroup": "rg", "mlWorkspaceName": "ws"},
                "storageAccountName": "lake",
                "containerName": "data",
                "containerDataPath": "tables/churn",
                "dataAssets": [{"name": "training_data", "value": "churn_data"}],
                **extra,
            },
        }
    )


def test_the_registry_writes_mltables_to_drifts_container_through_its_datastore() -> None:
    services = build_services(azure_config())
    registry = services.registry

    assert registry.mltable_container == "drift-mltables"
    assert registry.mltable_datastore == "drift_mltables"
    assert registry._mltables.container_name == "drift-mltables"
    assert registry._mltables.account_name == "lake"
    assert registry._principal is None

    custom = build_services(
        azure_config(mltableContainer="ml-defs", mltableDatastoreName="my_defs")
    ).registry
    assert (custom.mltable_container, custom.mltable_datastore) == ("ml-defs", "my_defs")


def test_the_sdk_clients_do_not_retry() -> None:
    services = build_services(azure_config())
    ml = services.jobs._ml

    policies = [
        client._config.retry_policy
        for name, client in vars(ml).items()
        if name.startswith("_service_client") and hasattr(client, "_config")
    ]
    assert policies and all(p.total_retries == 0 for p in policies)
    assert services.registry._mltables._config.retry_policy.total_retries == 0


def test_store_datastore_credentials_is_deprecated_with_a_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        pytest.warns(DeprecationWarning, match="storeDatastoreCredentials is deprecated"),
        caplog.at_level(logging.WARNING, logger="drift.azure"),
        # the default credential is no client secret: refused, after the warning
        contextlib.suppress(TypeError),
    ):
        build_services(azure_config(storeDatastoreCredentials=True))
    assert STORE_CREDENTIALS_DEPRECATED in caplog.text
    assert "list datastore secrets" in STORE_CREDENTIALS_DEPRECATED


def test_a_bad_mltable_container_name_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"parameters\.mltableContainer"):
        azure_config(mltableContainer="Not_A_Container")
