"""Which Azure identity drift acts as: managed identity first, a Key Vault service principal
only for compatibility with the reference Databricks job (`--tenant` + `--vault_name`).

The reference job kept the principal's id and password base64-encoded in the Key Vault secrets
`ApplicationID` and `ApplicationPassword`. Nothing here ever puts a secret value, or any part
of one, in a log line, an exception message, an exception chain or a repr: errors name the
secret and the vault instead.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from azure.core.credentials import TokenCredential
from azure.identity import ClientSecretCredential, DefaultAzureCredential
from azure.keyvault.secrets import SecretClient

from drift.backends.azure_errors import Where, call
from drift.domain.types import PermanentError

log = logging.getLogger("drift.azure")

APP_ID_SECRET = "ApplicationID"
PASSWORD_SECRET = "ApplicationPassword"
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_TENANT = re.compile(r"[A-Za-z0-9.-]+")  # a GUID or a domain, as azure-identity accepts
# A bare vault name, so the managed identity's token only ever goes to *.vault.azure.net.
_VAULT = re.compile(r"[A-Za-z0-9-]{3,24}")


class CredentialError(PermanentError):
    """Bad flags or a malformed secret: retrying cannot fix it. Never carries a secret value."""


class SecretClientLike(Protocol):
    def get_secret(self, name: str) -> Any: ...


@dataclass(frozen=True)
class Identity:
    """Who drift acts as, for error messages and logs (an app id is public, a password not)."""

    description: str

    def __str__(self) -> str:
        return self.description


@dataclass(frozen=True)
class Credential:
    """A token credential for the Azure SDK clients, and the identity it stands for."""

    token_credential: TokenCredential = field(repr=False)
    identity: Identity


def _default(client_id: str | None) -> tuple[TokenCredential, Identity]:
    # Pass the client id only when given: an explicit None would hide AZURE_CLIENT_ID.
    kwargs = {"managed_identity_client_id": client_id} if client_id else {}
    shown = client_id or os.environ.get("AZURE_CLIENT_ID")
    who = f"managed identity {shown}" if shown else "system-assigned managed identity"
    cred = DefaultAzureCredential(exclude_interactive_browser_credential=True, **kwargs)
    return cred, Identity(f"{who} (DefaultAzureCredential)")


def _decode(name: str, value: object, vault: str) -> str:
    """Strict base64 → UTF-8 → stripped text; the error is raised outside `except` so that
    neither `__cause__` nor `__context__` holds the value (UnicodeDecodeError carries it)."""
    text: str | None = None
    if isinstance(value, str):
        try:
            text = base64.b64decode(value.strip(), validate=True).decode("utf-8").strip()
        except ValueError:  # binascii.Error, UnicodeDecodeError, non-ASCII input
            text = None
    if not text:
        raise CredentialError(
            f"Key Vault secret {name!r} in vault {vault!r} is empty or not base64-encoded "
            "UTF-8 text; store the value base64-encoded, as the reference job expects"
        )
    return text


def _service_principal(
    tenant: str,
    vault: str,
    client_id: str | None,
    secret_client_factory: Callable[..., SecretClientLike],
    sleep: Callable[[float], None],
) -> tuple[TokenCredential, Identity]:
    if not _TENANT.fullmatch(tenant):
        raise CredentialError(f"--tenant {tenant!r} is not a tenant id or domain name")
    if not _VAULT.fullmatch(vault):
        raise CredentialError(
            f"--vault_name {vault!r} is not a Key Vault name (3-24 letters, digits, -)"
        )
    reader, reader_identity = _default(client_id)
    where = Where(resource=f"Key Vault {vault}", identity=reader_identity.description)
    client = secret_client_factory(vault_url=f"https://{vault}.vault.azure.net", credential=reader)

    def read(name: str) -> str:
        secret = call(f"read secret {name}", lambda: client.get_secret(name), where, sleep=sleep)
        return _decode(name, getattr(secret, "value", None), vault)

    try:
        app_id = read(APP_ID_SECRET)
        if not _GUID.fullmatch(app_id):
            raise CredentialError(
                f"Key Vault secret {APP_ID_SECRET!r} in vault {vault!r} does not decode to an "
                "application (client) id GUID"
            )
        password = read(PASSWORD_SECRET)
    finally:
        getattr(client, "close", lambda: None)()
    identity = Identity(f"service principal {app_id} from Key Vault {vault}")
    return ClientSecretCredential(tenant, app_id, password), identity


def credential_for(
    tenant: str | None,
    vault_name: str | None,
    *,
    managed_identity_client_id: str | None = None,
    secret_client_factory: Callable[..., SecretClientLike] = SecretClient,
    sleep: Callable[[float], None] = time.sleep,
) -> Credential:
    """Managed identity by default; `tenant` + `vault_name` select the reference job's
    Key Vault service principal. `secret_client_factory(vault_url=, credential=)` and
    `sleep` are seams for tests."""
    tenant, vault_name = tenant or None, vault_name or None
    if (tenant is None) != (vault_name is None):
        missing = "--vault_name" if vault_name is None else "--tenant"
        given = "--tenant" if vault_name is None else "--vault_name"
        raise CredentialError(
            f"{given} was given without {missing}: the Key Vault service principal needs both; "
            "give neither to use the managed identity"
        )
    if tenant is not None and vault_name is not None:
        cred, identity = _service_principal(
            tenant, vault_name, managed_identity_client_id, secret_client_factory, sleep
        )
    else:
        cred, identity = _default(managed_identity_client_id)
    log.info("Azure identity: %s", identity)
    return Credential(cred, identity)
