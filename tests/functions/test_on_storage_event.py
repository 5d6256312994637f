"""drift_on_storage_event: Delta commits in, exactly one registration per table and version."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

import pytest

from drift.backends.local_registry import LocalRegistry
from drift.durable.orchestration import INTAKE, RETRAIN, intake_instance_id, run_instance_id
from drift.functions import settings
from tests.functions.conftest import KEY, App


def retrains(app: App) -> list[str]:
    """The retrain runs the app started, by instance id (sub-orchestrations of watchers)."""
    return sorted(i for i, r in app.runtime.instances.items() if r.name == RETRAIN)


def registered_versions(app: App) -> list[str]:
    """Delta versions registered as the MLTable asset, oldest first."""
    registry = settings.watchlist().services(KEY).registry
    assert isinstance(registry, LocalRegistry)
    return [a.tags["drift.delta_version"] for a in registry.list_versions("features")]


@pytest.mark.parametrize("cloud", [False, True], ids=["eventgrid-schema", "cloudevents-schema"])
def test_a_commit_registers_and_retrains_once(make_app: Callable[..., App], cloud: bool) -> None:
    app = make_app()
    version = app.commit(rows=5)
    app.deliver(app.event(version, cloud=cloud))
    app.settle()

    assert registered_versions(app) == [str(version)]
    assert retrains(app) == [run_instance_id(KEY, version)]
    report = app.runtime.instances[run_instance_id(KEY, version)].output
    assert [r["status"] for r in report["retrained"]] == ["Completed", "Completed"]
    assert sorted(j.name.split("_")[0] for j in app.jobs.submitted) == ["churn", "upsell"]
    intake = app.runtime.get_status(intake_instance_id(KEY, version))
    assert intake is not None and intake.output["role"] == "watcher"


def test_renamed_commit_counts_too(make_app: Callable[..., App]) -> None:
    app = make_app()
    version = app.commit()
    app.deliver(app.event(version, renamed=True))
    app.settle()
    assert registered_versions(app) == [str(version)]


def test_duplicates_out_of_order_register_each_version_once(make_app: Callable[..., App]) -> None:
    app = make_app()
    versions = [app.commit() for _ in range(3)]
    deliveries = [app.event(v, event_id=f"e{v}") for v in versions] * 5
    random.Random(7).shuffle(deliveries)
    for payload in deliveries:
        app.deliver(payload)
    app.settle()

    started = [iid for iid, name in app.runtime.starts if name == INTAKE]
    assert len(started) == len(set(started))  # no instance id started twice
    registered = registered_versions(app)
    assert len(registered) == len(set(registered))  # no version registered twice
    # Each status check came before the start it guarded.
    calls = [name for name, _ in app.client.calls if name in ("get_status", "start_new")]
    assert calls.count("get_status") == len(deliveries)
    assert str(versions[-1]) in registered_versions(app)
    jobs = [j.name for j in app.jobs.submitted]
    assert len(jobs) == len(set(jobs))


def test_a_burst_of_100_commits_is_one_retrain_on_the_newest(make_app: Callable[..., App]) -> None:
    app = make_app(waitAfterLastChangeSeconds=30)
    versions = [app.commit() for _ in range(100)]
    order = versions[:]
    random.Random(3).shuffle(order)
    for version in order:  # one event every 0.5 s, newest not last
        app.deliver(app.event(version))
        app.advance(0.5)
    app.settle()

    assert registered_versions(app) == [str(versions[-1])]
    assert retrains(app) == [run_instance_id(KEY, versions[-1])]
    assert len(app.jobs.submitted) == 2  # one per model group


def test_commits_during_a_retrain_queue_one_follow_up(make_app: Callable[..., App]) -> None:
    app = make_app()
    app.jobs.script = {"churn": ["Running"] * 5 + ["Completed"]}
    first = app.commit()
    app.deliver(app.event(first))
    app.advance(15)  # the first retrain is polling its jobs
    later = [app.commit() for _ in range(3)]
    for version in later:
        app.deliver(app.event(version))
    app.settle()

    assert retrains(app) == sorted([run_instance_id(KEY, first), run_instance_id(KEY, later[-1])])
    assert registered_versions(app) == [str(first), str(later[-1])]


def test_min_time_between_retrains_is_kept(make_app: Callable[..., App]) -> None:
    app = make_app(minTimeBetweenTriggersSeconds=300)
    first = app.commit()
    app.deliver(app.event(first))
    app.advance(1)
    second = app.commit()
    app.deliver(app.event(second))
    app.advance(200)
    assert registered_versions(app) == [str(first)]  # not yet: 300 s since the first trigger
    app.settle()
    assert registered_versions(app) == [str(first), str(second)]


def test_a_commit_that_changes_no_data_is_skipped(make_app: Callable[..., App]) -> None:
    app = make_app()
    app.commit()
    version = app.optimize()
    app.deliver(app.event(version))
    app.settle()
    status = app.runtime.get_status(intake_instance_id(KEY, version))
    assert status is not None and status.output["role"] == "skipped"
    assert "OPTIMIZE" in status.output["reason"]
    assert registered_versions(app) == [] and app.jobs.submitted == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (
            {
                "id": "1",
                "eventType": "Microsoft.Storage.BlobCreated",
                "data": {
                    "api": "CreateFile",
                    "url": "https://acct.dfs.core.windows.net/data/features/"
                    "seat/_delta_log/00000000000000000001.json",
                },
            },
            "not finished yet",
        ),
        (
            {
                "id": "2",
                "eventType": "Microsoft.Storage.BlobCreated",
                "data": {
                    "api": "PutBlob",
                    "url": "https://acct.blob.core.windows.net/data/features/"
                    "seat/_delta_log/00000000000000000010.checkpoint.parquet",
                },
            },
            "checkpoint",
        ),
        (
            {
                "id": "3",
                "eventType": "Microsoft.Storage.BlobCreated",
                "data": {
                    "api": "PutBlob",
                    "url": "https://acct.blob.core.windows.net/data/other/"
                    "_delta_log/00000000000000000001.json",
                },
            },
            "is not watched",
        ),
        ({"id": "4", "eventType": "Microsoft.Storage.BlobDeleted", "data": {}}, "BlobDeleted"),
        ({"id": "5", "eventType": "Microsoft.Storage.BlobCreated", "data": "oops"}, "no data"),
        ({"eventType": "Microsoft.Storage.BlobCreated", "data": {}}, "no id"),
        (
            {
                "id": "7",
                "eventType": "Microsoft.Storage.BlobCreated",
                "data": {"api": "PutBlob", "url": "not a url"},
            },
            "not a storage account blob URL",
        ),
    ],
    ids=["createfile", "checkpoint", "unwatched-table", "deleted", "bad-data", "no-id", "bad-url"],
)
def test_what_is_not_a_watched_commit_is_logged_and_dropped(
    make_app: Callable[..., App], caplog: pytest.LogCaptureFixture, payload: dict, reason: str
) -> None:
    app = make_app()
    with caplog.at_level(logging.INFO, logger="drift.intake"):
        app.deliver(payload)  # never raises: a retry could not succeed either
    app.settle()
    assert app.runtime.starts == []
    assert any(reason in r.getMessage() for r in caplog.records), caplog.text


def test_intake_ids_are_deterministic_and_safe() -> None:
    iid = intake_instance_id("acct/data/features/seat", 42)
    assert iid == intake_instance_id("acct/data/features/seat", 42)
    assert iid != intake_instance_id("acct/data/features/seat", 43)
    assert set(iid) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
    long_key = "acct/data/" + "x" * 300
    assert len(intake_instance_id(long_key, 1)) <= 100
    assert intake_instance_id(long_key, 1) != intake_instance_id(long_key + "y", 1)


def test_a_terminated_watcher_is_replaced_once_its_lease_runs_out(
    make_app: Callable[..., App],
) -> None:
    app = make_app(waitAfterLastChangeSeconds=30, maxDelaySeconds=60, refreshTimeout=600)
    first = app.commit()
    app.deliver(app.event(first))
    app.advance(5)  # the watcher waits out its quiet period...
    app.runtime.terminate(intake_instance_id(KEY, first), "operator stopped it")
    second = app.commit()
    app.deliver(app.event(second))
    app.settle()
    assert retrains(app) == []  # within the lease the role is still held: queued
    lease = 60 + 0 + 4 * 600 + 3600  # maxDelay + minBetween + 4 x refreshTimeout + 1 h
    app.advance(lease + 1)
    third = app.commit()
    app.deliver(app.event(third))
    app.settle()
    assert retrains(app) == [run_instance_id(KEY, third)]  # a new watcher took over
    assert registered_versions(app) == [str(third)]


def test_a_failed_intake_is_started_again_by_the_redelivery(make_app: Callable[..., App]) -> None:
    app = make_app()
    version = app.commit()
    log = app.table / "_delta_log" / f"{version:020d}.json"
    hidden = log.with_suffix(".hidden")
    log.rename(hidden)  # the event arrives, the commit file cannot be read yet
    app.deliver(app.event(version))
    app.settle()
    failed = app.runtime.get_status(intake_instance_id(KEY, version))
    assert failed is not None and failed.runtime_status.value == "Failed"
    hidden.rename(log)
    app.deliver(app.event(version))  # any later delivery of the same event (e.g. a retry)
    app.settle()
    assert registered_versions(app) == [str(version)]
