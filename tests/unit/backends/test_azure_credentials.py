"""Azure identity selection: managed identity by default, the reference job's Key Vault service
principal on request, and no secret value in any message, chain, repr or log line."""

from __future__ import annotations

import base64
import json
import logging
import time
import traceback
from types import SimpleNamespace
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.rest._http_response_impl import HttpResponseImpl
from azure.identity import ClientSecretCredential, DefaultAzureCredential
from azure.keyvault.secrets import KeyVaultSecret, SecretClient, SecretProperties

from drift.backends.azure_credentials import CredentialError, credential_for
from drift.backends.azure_errors import AzureServiceError
from drift.domain.types import PermanentError
from tests.transport import InMemoryTransport

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
VAULT = "kv-drift"
APP_ID = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
PASSWORD = "Pw~7xQ.s3cret-VALUE_do-not-leak"
MI_CLIENT_ID = "99999999-8888-7777-6666-555555555555"


def b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode()


def secret(name: str, value: str | None) -> KeyVaultSecret:
    props = SecretProperties(vault_id=f"https://{VAULT}.vault.azure.net/secrets/{name}/1")
    return KeyVaultSecret(props, value)


class FakeSecretClient:
    """Answers get_secret from a script per name: values, or exceptions raised in turn."""

    def __init__(self, script: dict[str, list[Any]], vault_url: str, credential: Any) -> None:
        self.script = script
        self.vault_url = vault_url
        self.credential = credential
        self.calls: list[str] = []
        self.closed = False

    def get_secret(self, name: str) -> KeyVaultSecret:
        self.calls.append(name)
        outcomes = self.script[name]
        outcome = outcomes.pop(0) if len(outcomes) > 1 else outcomes[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return secret(name, outcome)

    def close(self) -> None:
        self.closed = True


class Factory:
    def __init__(self, **script: Any) -> None:
        self.script = {
            "ApplicationID": [b64(APP_ID)],
            "ApplicationPassword": [b64(PASSWORD)],
        }
        self.script.update({k: v if isinstance(v, list) else [v] for k, v in script.items()})
        self.clients: list[FakeSecretClient] = []

    def __call__(self, *, vault_url: str, credential: Any) -> FakeSecretClient:
        client = FakeSecretClient(self.script, vault_url, credential)
        self.clients.append(client)
        return client


def http_error(status: int, message: str) -> HttpResponseError:
    response = SimpleNamespace(status_code=status, reason=message, headers={}, text=lambda: "")
    return HttpResponseError(message=message, response=response)


def sp(factory: Factory, sleeps: list[float] | None = None) -> Any:
    record = sleeps if sleeps is not None else []
    return credential_for(TENANT, VAULT, secret_client_factory=factory, sleep=record.append)


def everything(exc: BaseException, caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join([str(exc), repr(exc), "".join(traceback.format_exception(exc)), caplog.text])


# --- default: managed identity ---------------------------------------------------------------


def _holds(obj: Any, value: str, depth: int = 8) -> bool:
    """Whether `value` appears among obj's attributes, searched a few levels deep: the
    managed identity client id sits in internals that move between azure-identity versions."""
    if obj == value:
        return True
    if depth == 0 or isinstance(obj, str | bytes | int | float | bool | type(None)):
        return False
    if isinstance(obj, dict):
        children = list(obj.values())
    elif isinstance(obj, list | tuple):
        children = list(obj)
    else:
        children = list(getattr(obj, "__dict__", {}).values())
    return any(_holds(child, value, depth - 1) for child in children)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_TENANT_ID",
        "MSI_ENDPOINT",
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "AZURE_FEDERATED_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_default_is_managed_identity_through_default_azure_credential(clean_env) -> None:
    cred = credential_for(None, None, secret_client_factory=Factory())
    assert isinstance(cred.token_credential, DefaultAzureCredential)
    assert "managed identity" in cred.identity.description
    assert not _holds(cred.token_credential, MI_CLIENT_ID)
    names = {type(c).__name__ for c in cred.token_credential.credentials}
    assert "InteractiveBrowserCredential" not in names


def test_empty_flags_count_as_absent(clean_env) -> None:
    assert isinstance(credential_for("", "").token_credential, DefaultAzureCredential)


def test_azure_client_id_from_environment_is_honoured(clean_env) -> None:
    clean_env.setenv("AZURE_CLIENT_ID", MI_CLIENT_ID)
    cred = credential_for(None, None)
    assert _holds(cred.token_credential, MI_CLIENT_ID)
    assert MI_CLIENT_ID in cred.identity.description


def test_explicit_managed_identity_client_id_wins(clean_env) -> None:
    clean_env.setenv("AZURE_CLIENT_ID", "11111111-1111-1111-1111-111111111111")
    cred = credential_for(None, None, managed_identity_client_id=MI_CLIENT_ID)
    assert _holds(cred.token_credential, MI_CLIENT_ID)
    assert MI_CLIENT_ID in cred.identity.description


# --- compatibility: Key Vault service principal ----------------------------------------------


def test_service_principal_from_key_vault(clean_env) -> None:
    factory = Factory()
    cred = credential_for(
        TENANT, VAULT, managed_identity_client_id=MI_CLIENT_ID, secret_client_factory=factory
    )
    token = cred.token_credential
    assert isinstance(token, ClientSecretCredential)
    assert token._client_id == APP_ID
    assert token._tenant_id == TENANT
    assert token._client_credential == PASSWORD
    assert cred.identity.description == f"service principal {APP_ID} from Key Vault {VAULT}"
    (client,) = factory.clients
    assert client.vault_url == f"https://{VAULT}.vault.azure.net"
    assert isinstance(client.credential, DefaultAzureCredential)  # the reader: managed identity
    assert _holds(client.credential, MI_CLIENT_ID)
    assert client.calls == ["ApplicationID", "ApplicationPassword"]
    assert client.closed
    assert PASSWORD not in repr(cred) and PASSWORD not in str(cred.identity)


def test_whitespace_around_encoded_and_decoded_values_is_stripped() -> None:
    factory = Factory(
        ApplicationID=b64(f" {APP_ID}\n") + "\n", ApplicationPassword=b64(PASSWORD + "\r\n")
    )
    token = sp(factory).token_credential
    assert (token._client_id, token._client_credential) == (APP_ID, PASSWORD)


NOT_GUID = "my-app-registration-name"
BAD_UTF8 = b"\xff\xfeleaky-bytes-payload"


@pytest.mark.parametrize(
    ("name", "raw", "fragments"),
    [
        ("ApplicationID", "not*base64!leakyraw", ["leakyraw", "not*base64"]),
        ("ApplicationID", b64(BAD_UTF8), [b64(BAD_UTF8), "leaky-bytes-payload"]),
        ("ApplicationID", "", []),
        ("ApplicationID", b64("   \n"), [b64("   \n")]),
        ("ApplicationID", None, []),
        ("ApplicationID", b64(NOT_GUID), [b64(NOT_GUID), NOT_GUID, "registration"]),
        ("ApplicationPassword", PASSWORD, [PASSWORD, "s3cret"]),  # stored without base64
        ("ApplicationPassword", b64(BAD_UTF8), [b64(BAD_UTF8), "leaky-bytes-payload"]),
        ("ApplicationPassword", "", []),
        ("ApplicationPassword", b64(PASSWORD) + "ü", [b64(PASSWORD), PASSWORD]),
    ],
)
def test_malformed_secret_names_secret_and_vault_never_its_value(
    name: str, raw: str | None, fragments: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(CredentialError) as info:
        sp(Factory(**{name: raw}))
    exc = info.value
    assert isinstance(exc, PermanentError)
    assert name in str(exc) and VAULT in str(exc)
    assert exc.__cause__ is None and exc.__context__ is None  # no decode error to leak through
    text = everything(exc, caplog)
    for fragment in fragments:
        assert fragment not in text
    assert PASSWORD not in text and b64(PASSWORD) not in text


def test_missing_secret_names_secret_vault_and_identity(clean_env) -> None:
    factory = Factory(ApplicationPassword=ResourceNotFoundError("SecretNotFound"))
    with pytest.raises(AzureServiceError) as info:
        sp(factory)
    message = str(info.value)
    assert "ApplicationPassword" in message and VAULT in message
    assert "managed identity" in message
    assert factory.clients[0].calls == ["ApplicationID", "ApplicationPassword"]  # not retried
    assert factory.clients[0].closed


def test_forbidden_fails_fast_naming_secret_vault_and_identity(clean_env) -> None:
    clean_env.setenv("AZURE_CLIENT_ID", MI_CLIENT_ID)
    factory = Factory(ApplicationID=http_error(403, "Forbidden"))
    sleeps: list[float] = []
    with pytest.raises(AzureServiceError) as info:
        sp(factory, sleeps)
    message = str(info.value)
    assert "ApplicationID" in message and VAULT in message and MI_CLIENT_ID in message
    assert "403" in message
    assert factory.clients[0].calls == ["ApplicationID"] and sleeps == []


def test_transient_503_is_retried_then_succeeds() -> None:
    busy = http_error(503, "Service Unavailable")
    factory = Factory(ApplicationID=[busy, busy, b64(APP_ID)])
    sleeps: list[float] = []
    token = sp(factory, sleeps).token_credential
    assert token._client_id == APP_ID
    assert factory.clients[0].calls == ["ApplicationID"] * 3 + ["ApplicationPassword"]
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    ("tenant", "vault", "missing"), [(TENANT, None, "--vault_name"), (None, VAULT, "--tenant")]
)
def test_half_the_service_principal_flags_names_the_missing_one(
    tenant: str | None, vault: str | None, missing: str
) -> None:
    factory = Factory()
    with pytest.raises(CredentialError, match=missing):
        credential_for(tenant, vault, secret_client_factory=factory)
    assert factory.clients == []


@pytest.mark.parametrize(
    ("tenant", "vault", "flag"),
    [("contoso.com/../x", VAULT, "--tenant"), (TENANT, "evil.example/#", "--vault_name")],
)
def test_bad_tenant_or_vault_name_is_refused_before_any_request(
    tenant: str, vault: str, flag: str
) -> None:
    factory = Factory()
    with pytest.raises(CredentialError, match=flag):
        credential_for(tenant, vault, secret_client_factory=factory)
    assert factory.clients == []


# --- the whole happy path through the real SecretClient pipeline, logged at DEBUG -------------


class _Response(HttpResponseImpl):
    def __init__(self, request: Any, status: int, headers: dict[str, str], body: bytes) -> None:
        super().__init__(
            request=request,
            internal_response=None,
            status_code=status,
            reason="OK" if status == 200 else "Unauthorized",
            headers=headers,
            content_type=headers.get("Content-Type"),
            stream_download_generator=None,
        )
        self._content = body
        self._is_closed = True


class KeyVaultTransport(InMemoryTransport):
    """Key Vault on the wire: a 401 challenge, then each secret as JSON, as the service sends."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.requests: list[Any] = []

    def send(self, request: Any, **kwargs: Any) -> _Response:
        self.requests.append(request)
        if "authorization" not in {k.lower() for k in request.headers}:
            challenge = (
                f'Bearer authorization="https://login.microsoftonline.com/{TENANT}", '
                'resource="https://vault.azure.net"'
            )
            return _Response(request, 401, {"WWW-Authenticate": challenge}, b"")
        name = request.url.split("/secrets/")[1].split("/")[0].split("?")[0]
        body = {
            "value": self.values[name],
            "id": f"https://{VAULT}.vault.azure.net/secrets/{name}/1",
            "attributes": {"enabled": True},
        }
        return _Response(
            request, 200, {"Content-Type": "application/json"}, json.dumps(body).encode()
        )


class StaticToken:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("reader-token", int(time.time()) + 3600)


def test_happy_path_logs_no_secret_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # root: azure.*, drift.* and everything else
    for name in ("azure", "azure.core", "azure.identity", "azure.keyvault", "msal", "drift"):
        caplog.set_level(logging.DEBUG, logger=name)  # restored by caplog after the test
    values = {"ApplicationID": b64(APP_ID), "ApplicationPassword": b64(PASSWORD)}
    transport = KeyVaultTransport(values)

    def real_client(*, vault_url: str, credential: Any) -> SecretClient:
        assert isinstance(credential, DefaultAzureCredential)
        return SecretClient(vault_url, StaticToken(), transport=transport)

    cred = credential_for(TENANT, VAULT, secret_client_factory=real_client)
    assert cred.token_credential._client_credential == PASSWORD
    assert len(transport.requests) == 3  # challenge, ApplicationID, ApplicationPassword
    assert "azure.core" in caplog.text  # the SDK's own logging was captured
    assert f"service principal {APP_ID}" in caplog.text
    for value in (PASSWORD, b64(PASSWORD), values["ApplicationID"], "reader-token"):
        assert value not in caplog.text
        assert value not in repr(cred)
