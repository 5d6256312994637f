"""drift's own events: built by the orchestrator, published by an activity, at least once.

The Event Grid sink is tested with the real `EventGridPublisherClient` against a local HTTPS
endpoint (a self-signed certificate made here with `cryptography`, trusted through the
standard `REQUESTS_CA_BUNDLE` setting that azure-core's requests transport honours), which
captures exactly what the client puts on the wire.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from drift.backends import publish as pub
from drift.durable.activities import bind
from drift.durable.orchestration import ENTITIES, ORCHESTRATORS, RETRAIN
from drift.runtime.runtime import LocalDurableRuntime, VirtualClock
from tests.fakes import FakeJobs
from tests.integration.durable.test_orchestration import START, make_services, seed_jobs

TOKEN = "token-for-the-test-topic"


class StaticToken:
    """A TokenCredential standing for the app's managed identity."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(TOKEN, int(dt.datetime.now(dt.UTC).timestamp()) + 3600)


def self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "topic.pem", tmp / "topic.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Topic:
    """Captures every POST: path, headers, body. Answers 200, or `fail` more times 503."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail = 0

    def handler(self) -> type[BaseHTTPRequestHandler]:
        topic = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                topic.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                )
                status = 503 if topic.fail > 0 else 200
                topic.fail -= 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        return Handler


@pytest.fixture
def topic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Topic, str]]:
    cert, key = self_signed(tmp_path)
    capture = Topic()
    server = ThreadingHTTPServer(("127.0.0.1", 0), capture.handler())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    try:
        yield capture, f"https://localhost:{server.server_address[1]}/api/events"
    finally:
        server.shutdown()
        server.server_close()


def sample_events() -> list[dict[str, Any]]:
    at = dt.datetime(2026, 11, 23, 8, 0, 5, tzinfo=dt.UTC)
    data = {"table": "features", "data_asset_version": "20261123080000-v3", "delta_version": 3}
    return [
        pub.cloud_event(pub.REGISTERED, "features@20261123080000-v3", at, data, "features", "v3"),
        pub.cloud_event(pub.FINISHED, "churn/churn_x", at, {**data, "status": "Completed"}, 1),
    ]


def test_event_grid_sink_posts_cloud_events_with_the_managed_identity(
    topic: tuple[Topic, str],
) -> None:
    capture, endpoint = topic
    credential = StaticToken()
    sink = pub.EventGridEvents(endpoint, credential)
    events = sample_events()
    sink.publish(events)

    (request,) = capture.requests
    assert request["path"] == "/api/events?api-version=2018-01-01"
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["content-type"] == "application/cloudevents-batch+json; charset=utf-8"
    assert credential.scopes == [("https://eventgrid.azure.net/.default",)]
    sent = request["body"]
    assert [e["id"] for e in sent] == [e["id"] for e in events]
    for wire, ours in zip(sent, events, strict=True):
        assert wire["specversion"] == "1.0"
        for key in ("source", "type", "subject", "datacontenttype", "data"):
            assert wire[key] == ours[key], key
        assert dt.datetime.fromisoformat(wire["time"].replace("Z", "+00:00")) == (
            dt.datetime.fromisoformat(ours["time"])
        )


def test_event_grid_sink_failure_raises_so_the_activity_retries(
    topic: tuple[Topic, str],
) -> None:
    from azure.core.exceptions import HttpResponseError

    capture, endpoint = topic
    capture.fail = 10  # more than azure-core's own retries
    sink = pub.EventGridEvents(endpoint, StaticToken())
    with pytest.raises(HttpResponseError):
        sink.publish(sample_events())
    capture.fail = 0
    sink.publish(sample_events())  # the retry sends the same ids: consumers drop duplicates
    ids = [[e["id"] for e in r["body"]] for r in capture.requests]
    assert len(set(map(tuple, ids))) == 1


def run(tmp_path: Path, jobs: FakeJobs, instance: str = "run1") -> dict[str, Any]:
    services = make_services(tmp_path, jobs)
    services.events = pub.JsonLinesEvents(tmp_path / "state" / pub.LOCAL_FILE)
    runtime = LocalDurableRuntime(
        ORCHESTRATORS, bind(services), clock=VirtualClock(START), entities=ENTITIES
    )
    result = runtime.run(RETRAIN, {"delta_version": 0}, instance)
    assert result.status == "Completed", result.error
    return result.output


def test_a_run_publishes_registered_started_and_finished(tmp_path: Path) -> None:
    jobs = FakeJobs(seed_jobs(), script={"churn": ["Running", "Completed"], "Upsell": ["Failed"]})
    report = run(tmp_path, jobs)
    sink = pub.JsonLinesEvents(tmp_path / "state" / pub.LOCAL_FILE)
    events = sink.read()
    assert [(e["type"], e["data"].get("group")) for e in events] == [
        (pub.REGISTERED, None),
        (pub.STARTED, "Upsell"),
        (pub.STARTED, "churn"),
        (pub.FINISHED, "Upsell"),
        (pub.FINISHED, "churn"),
    ]
    registered = events[0]["data"]
    assert registered["delta_version"] == 0
    assert registered["data_asset_version"] == report["data_asset_version"]
    assert registered["registered"] == report["registered"]
    rows = {r["model_group"]: r for r in report["retrained"]}
    for event in events[3:]:
        row = rows[event["data"]["group"]]
        assert event["data"]["job"] == row["job"]
        assert event["data"]["status"] == row["status"]
        assert event["data"]["duration_s"] == row["duration_s"]
        assert event["data"]["decision"] == row["decision"]
    assert len({e["id"] for e in events}) == len(events)

    # The same run replayed from scratch (a crashed host) sends the same ids again.
    (tmp_path / "state" / pub.LOCAL_FILE).unlink()
    run(tmp_path, FakeJobs(seed_jobs()))
    assert [e["id"] for e in sink.read()] == [e["id"] for e in events]


def test_a_second_run_on_the_same_version_says_its_jobs_are_reused(tmp_path: Path) -> None:
    """Two runs on one version (a redelivered event, a weekly run) find one job per group; the
    second run's finished events say so, as its report does, so a consumer counts each training
    once."""
    jobs = FakeJobs(seed_jobs())
    run(tmp_path, jobs, "run1")
    report = run(tmp_path, jobs, "run2")
    assert len(jobs.submitted) == 2
    events = pub.JsonLinesEvents(tmp_path / "state" / pub.LOCAL_FILE).read()
    finished = [e for e in events if e["type"] == pub.FINISHED]
    by_run = {(e["data"]["run"], e["data"]["group"]): e["data"]["reused"] for e in finished}
    assert by_run == {
        ("run1", "Upsell"): False,
        ("run1", "churn"): False,
        ("run2", "Upsell"): True,
        ("run2", "churn"): True,
    }
    assert all(r["reused"] for r in report["retrained"])


def test_a_failing_sink_never_fails_the_run(tmp_path: Path) -> None:
    class Broken:
        def publish(self, events: Any) -> None:
            raise ConnectionError("topic unreachable")

    services = make_services(tmp_path, FakeJobs(seed_jobs()))
    services.events = Broken()
    runtime = LocalDurableRuntime(
        ORCHESTRATORS, bind(services), clock=VirtualClock(START), entities=ENTITIES
    )
    result = runtime.run(RETRAIN, {"delta_version": 0}, "r")
    assert result.status == "Completed"
    assert {r["status"] for r in result.output["retrained"]} == {"Completed"}


def test_sink_comes_from_the_backend_and_the_endpoint_is_checked(tmp_path: Path) -> None:
    from drift.domain.config import ConfigError, parse_config
    from drift.wiring.bootstrap import build_services

    raw = {
        "backend": "local",
        "parameters": {"dataAssets": [{"name": "training_data", "value": "features"}]},
        "local": {"workdir": str(tmp_path / "w"), "tablePath": "t", "jobsDir": "j"},
    }
    services = build_services(parse_config(raw))
    assert isinstance(services.events, pub.JsonLinesEvents)
    assert services.events.path == tmp_path / "w" / pub.LOCAL_FILE
    raw["parameters"]["eventsTopicEndpoint"] = "http://topic.example/api/events"
    with pytest.raises(ConfigError, match="eventsTopicEndpoint"):
        parse_config(raw)


def test_azure_backend_publishes_to_the_configured_topic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from drift.domain.config import parse_config
    from drift.wiring.bootstrap import build_services

    raw = {
        "backend": "azure",
        "parameters": {
            "azml": {"subscriptionId": "s", "resourceGroup": "rg", "mlWorkspaceName": "ws"},
            "storageAccountName": "lake",
            "containerName": "data",
            "containerDataPath": "features/seat",
            "dataAssets": [{"name": "training_data", "value": "features"}],
        },
    }
    monkeypatch.delenv(pub.ENDPOINT_SETTING, raising=False)
    assert isinstance(build_services(parse_config(raw)).events, pub.NoEvents)
    setting = "https://from-the-app-setting.westeurope-1.eventgrid.azure.net/api/events"
    monkeypatch.setenv(pub.ENDPOINT_SETTING, setting)
    events = build_services(parse_config(raw)).events
    assert isinstance(events, pub.EventGridEvents) and events.endpoint == setting
    own = "https://from-the-config.westeurope-1.eventgrid.azure.net/api/events"
    raw["parameters"]["eventsTopicEndpoint"] = own
    assert build_services(parse_config(raw)).events.endpoint == own  # type: ignore[attr-defined]
