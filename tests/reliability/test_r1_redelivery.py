"""R1: every Event Grid event delivered 5 times, in shuffled order, through the Functions app.

The app runs as deployed (tests/functions/conftest.py): the real Event Grid function, the
intake orchestrator, the coalescing table entity and the retrain orchestrator, with a quiet
period of 0. Commits that arrive while a retrain runs are coalesced into one follow-up, so the
promise is: exactly one registration per coalesced window, no version registered twice, no
commit left behind, and the newest version registered.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from azure.durable_functions import EntityId

from drift.backends.local_registry import LocalRegistry
from drift.durable.orchestration import INTAKE, RETRAIN, TABLE_ENTITY, entity_key, run_instance_id
from drift.functions import settings
from tests.functions.conftest import KEY, App
from tests.reliability.support import add, record

pytestmark = pytest.mark.reliability

COPIES = 5
APIS = ["FlushWithClose", "PutBlob", "PutBlockList", "CopyBlob"]


def registered(app: App) -> list[int]:
    registry = settings.watchlist().services(KEY).registry
    assert isinstance(registry, LocalRegistry)
    return [int(a.tags["drift.delta_version"]) for a in registry.list_versions("features")]


def deliveries(app: App, version: int, rng: random.Random) -> list[dict[str, Any]]:
    """Five deliveries of one commit: Event Grid retries (same id) and the other ways a
    finished commit is announced (another API, CloudEvents schema, a rename)."""
    first = app.event(version, api=rng.choice(APIS), event_id=f"e{version}")
    return [
        first,
        first,  # a retry of the same event
        app.event(version, cloud=True, api=rng.choice(APIS), event_id=f"e{version}"),
        app.event(version, api=rng.choice(APIS), event_id=f"e{version}-b"),
        app.event(version, renamed=True, event_id=f"e{version}-r"),
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_each_event_five_times_shuffled_registers_once_per_window(
    make_app: Callable[..., App], caplog: pytest.LogCaptureFixture, seed: int
) -> None:
    rng = random.Random(seed)
    app = make_app()
    # Jobs take a few polls, so commits keep arriving while retrains run and get coalesced.
    app.jobs.script = {"churn": ["Running"] * 3 + ["Completed"], "upsell": ["Running", "Completed"]}
    data_versions = [app.commit(rows=rng.randint(1, 4)) for _ in range(6)]
    quiet = app.optimize()  # a commit that changes no data: never registered
    payloads = [p for v in [*data_versions, quiet] for p in deliveries(app, v, rng)]
    rng.shuffle(payloads)

    with caplog.at_level(logging.INFO, logger="drift.intake"):
        for payload in payloads:
            app.deliver(payload)  # returns normally: Event Grid counts it as delivered
            app.advance(rng.choice([0, 0, 1, 5, 12, 30]))
        app.settle()

    outcomes = Counter(
        r.drift["action"]
        for r in caplog.records
        if r.name == "drift.intake" and hasattr(r, "drift")
    )
    assert sum(outcomes.values()) == len(payloads) == COPIES * 7
    intakes = [iid for iid, name in app.runtime.starts if name == INTAKE]
    assert len(intakes) == len(set(intakes)) == 7  # one intake per commit, never restarted
    assert outcomes["started"] == 7 and outcomes["duplicate"] == len(payloads) - 7

    versions = registered(app)
    assert versions == sorted(set(versions))  # none twice, never an older one after a newer
    assert versions[-1] == data_versions[-1]  # the newest version is registered
    assert quiet not in versions
    assert set(versions) <= set(data_versions)

    # One retrain per coalesced window, each on the version it registered.
    runs = sorted(i for i, r in app.runtime.instances.items() if r.name == RETRAIN)
    assert runs == sorted(run_instance_id(KEY, v) for v in versions)
    for iid in runs:
        report = app.runtime.instances[iid].output
        assert [r["status"] for r in report["retrained"]] == ["Completed", "Completed"]
    exists, state = app.runtime.read_entity_state(EntityId(TABLE_ENTITY, entity_key(KEY)))
    assert exists and state["handled"] == state["newest"] == data_versions[-1]
    assert state["watcher"] is None  # nothing pending, no watcher left behind
    assert all(r.status == "Completed" for r in app.runtime.instances.values())

    jobs = [j.name for j in app.jobs.submitted]
    assert len(jobs) == len(set(jobs)) == 2 * len(versions)  # one per group per window

    add(
        "R1",
        runs=1,
        commits=7,
        data_changing_commits=len(data_versions),
        events_delivered=len(payloads),
        intakes_started=outcomes["started"],
        duplicates_dropped=outcomes["duplicate"],
        registrations=len(versions),
        retrains=len(runs),
        coalesced_commits=len(data_versions) - len(versions),
        jobs_submitted=len(jobs),
        registered_twice=len(versions) - len(set(versions)),
        duplicate_jobs=len(jobs) - len(set(jobs)),
        failed_deliveries=0,
    )
    record("R1", newest_always_registered=True)
