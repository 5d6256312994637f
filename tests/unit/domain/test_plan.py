"""The retraining plan: newest job per group, cloned onto a new data version."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from drift.domain.config import DataAssetBinding
from drift.domain.plan import (
    TAG_BASELINE,
    TAG_DATA_VERSION,
    TAG_GROUP,
    TAG_MANAGED,
    TAG_SOURCE_JOB,
    build_plan,
    newest_per_group,
    retrain_job_name,
    split_job_name,
)
from drift.domain.types import JobInput, TrainingJob

VERSION = "20260301120000-v7"
BINDINGS = (
    DataAssetBinding(name="training_data", value="seat_spinning_features"),
    DataAssetBinding(name="raw_folder", value="seat_spinning_features_folder"),
)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def job(
    name: str, created_at: datetime | None = None, tags: dict | None = None, **inputs: JobInput
) -> TrainingJob:
    if not inputs:
        inputs = {"training_data": JobInput("mltable", "azureml:seat_spinning_features:1")}
    return TrainingJob(name=name, inputs=inputs, created_at=created_at, tags=tags or {})


# -- split_job_name ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("churn_20260101080000_abc123", ("churn", "20260101080000", "abc123")),
        ("ChurnModel_20260101080000_AbC123", ("ChurnModel", "20260101080000", "AbC123")),
        ("churn_model_v2_20260101080000_x9", ("churn_model_v2", "20260101080000", "x9")),
        ("up-sell_20251231235959_Z", ("up-sell", "20251231235959", "Z")),
        ("a_20240101000000_20260101080000_b", ("a_20240101000000", "20260101080000", "b")),
    ],
)
def test_split_job_name(name: str, parts: tuple[str, str, str]) -> None:
    assert split_job_name(name) == parts


@pytest.mark.parametrize(
    "name",
    [
        "churn",
        "churn_2026010108000_abc",  # 13 digits
        "churn_202601010800000_abc",  # 15 digits
        "_20260101080000_abc",  # no prefix
        "churn_20260101080000_",  # no suffix
        "churn_20260101080000_ab-c",  # suffix not alphanumeric
        "churn-20260101080000-abc",
        "brave_lemon_k2x9v7q1",  # an Azure ML generated name
    ],
)
def test_split_job_name_rejects_other_names(name: str) -> None:
    assert split_job_name(name) is None


# -- newest_per_group -------------------------------------------------------------------------


def test_newest_per_group_picks_the_latest_stamp_per_prefix() -> None:
    jobs = [
        job("churn_20260101080000_a", created_at=datetime(2026, 5, 1, tzinfo=UTC)),
        job("churn_20260201080000_b", created_at=T0),
        job("churn_model_20250101080000_c"),
        job("churn_model_20260301080000_d"),
        job("Upsell_20260115000000_e"),
        job("not_a_drift_job"),
    ]

    newest = newest_per_group(jobs)

    assert {group: j.name for group, j in newest.items()} == {
        "churn": "churn_20260201080000_b",
        "churn_model": "churn_model_20260301080000_d",
        "Upsell": "Upsell_20260115000000_e",
    }


def test_newest_per_group_breaks_stamp_ties_by_creation_time_then_name() -> None:
    later = job("churn_20260101080000_a", created_at=datetime(2026, 1, 2, tzinfo=UTC))
    earlier = job("churn_20260101080000_z", created_at=T0)
    assert newest_per_group([later, earlier])["churn"] is later
    assert newest_per_group([earlier, later])["churn"] is later

    no_time_a = job("churn_20260101080000_a")
    no_time_b = job("churn_20260101080000_b")
    assert newest_per_group([no_time_b, no_time_a])["churn"] is no_time_b
    assert newest_per_group([no_time_a, no_time_b])["churn"] is no_time_b


def test_newest_per_group_of_nothing() -> None:
    assert newest_per_group([]) == {}
    assert newest_per_group([job("adhoc-run")]) == {}


# -- retrain_job_name -------------------------------------------------------------------------


def test_retrain_job_name_is_deterministic_and_follows_the_pattern() -> None:
    name = retrain_job_name("ChurnModel_v2", VERSION)

    assert name == retrain_job_name("ChurnModel_v2", VERSION)
    group, stamp, suffix = split_job_name(name)
    assert (group, stamp) == ("ChurnModel_v2", "20260301120000")
    assert len(suffix) == 10 and suffix.isalnum()


def test_retrain_job_name_differs_per_group_and_version() -> None:
    names = {
        retrain_job_name(group, version)
        for group in ("churn", "upsell", "churn_v2")
        for version in (VERSION, "20260301120000-v8", "20260301120001-v7")
    }
    assert len(names) == 9


def test_retrain_job_is_the_newest_of_its_group_afterwards() -> None:
    old = job("churn_20260101080000_a")
    retrained = job(retrain_job_name("churn", VERSION))
    assert newest_per_group([retrained, old])["churn"] is retrained


@pytest.mark.parametrize("bad", ["", "latest", "2026030112000-v1", "v7"])
def test_retrain_job_name_needs_a_stamped_version(bad: str) -> None:
    with pytest.raises(ValueError, match="does not start with YYYYMMDDHHMMSS"):
        retrain_job_name("churn", bad)


# -- build_plan -------------------------------------------------------------------------------


def test_build_plan_rebinds_only_the_configured_inputs() -> None:
    source = job(
        "ChurnModel_20260101080000_AbC123",
        training_data=JobInput(
            "mltable", "azureml:seat_spinning_features:20251201000000-v3", "eval_mount"
        ),
        raw_folder=JobInput("uri_folder", "azureml:seat_spinning_features_folder:old", "ro_mount"),
        labels=JobInput("uri_file", "azureml:labels:4", "download"),
    )

    plan = build_plan([source], BINDINGS, VERSION)

    assert plan.data_version == VERSION
    assert plan.left_alone == {}
    [planned] = plan.jobs
    assert planned.group == "ChurnModel"
    assert planned.source_job == "ChurnModel_20260101080000_AbC123"
    assert planned.job_name == retrain_job_name("ChurnModel", VERSION)
    assert planned.inputs == {
        "training_data": JobInput(
            "mltable", "azureml:seat_spinning_features:20260301120000-v7", "eval_mount"
        ),
        "raw_folder": JobInput(
            "uri_folder", "azureml:seat_spinning_features_folder:20260301120000-v7", "ro_mount"
        ),
    }
    assert planned.tags == {
        TAG_GROUP: "ChurnModel",
        TAG_SOURCE_JOB: "ChurnModel_20260101080000_AbC123",
        TAG_DATA_VERSION: VERSION,
        TAG_BASELINE: "20251201000000-v3",  # what the group last trained on
        TAG_MANAGED: "true",  # the job status event subscription's filter
    }
    assert planned.baseline_version == "20251201000000-v3"
    assert source.inputs["training_data"].path.endswith(":20251201000000-v3")  # not mutated


def test_build_plan_clones_the_newest_job_of_each_group() -> None:
    jobs = [
        job("churn_20260101080000_old"),
        job("churn_20260201080000_new"),
        job("upsell_20260101080000_only"),
    ]

    plan = build_plan(jobs, BINDINGS, VERSION)

    assert [(p.group, p.source_job) for p in plan.jobs] == [
        ("churn", "churn_20260201080000_new"),
        ("upsell", "upsell_20260101080000_only"),
    ]
    assert len({p.job_name for p in plan.jobs}) == 2


def test_a_job_without_the_bound_inputs_is_left_alone() -> None:
    jobs = [
        job("churn_20260101080000_a"),
        job("forecast_20260101080000_b", sales=JobInput("uri_folder", "azureml:sales:1")),
    ]

    plan = build_plan(jobs, BINDINGS, VERSION)

    assert [p.group for p in plan.jobs] == ["churn"]
    assert plan.left_alone == {
        "forecast": "newest job forecast_20260101080000_b has none of the inputs "
        "['raw_folder', 'training_data']",
    }


def test_only_the_newest_job_decides_whether_a_group_is_left_alone() -> None:
    jobs = [
        job("churn_20260101080000_a"),
        job("churn_20260201080000_b", other=JobInput("uri_folder", "azureml:x:1")),
    ]

    plan = build_plan(jobs, BINDINGS, VERSION)

    assert plan.jobs == []
    assert "churn_20260201080000_b" in plan.left_alone["churn"]


def test_groups_filter_selects_groups_and_reports_unknown_ones() -> None:
    jobs = [
        job("churn_20260101080000_a"),
        job("upsell_20260101080000_b"),
        job("forecast_20260101080000_c"),
    ]

    plan = build_plan(jobs, BINDINGS, VERSION, groups=("churn", "upsell", "missing"))

    assert [p.group for p in plan.jobs] == ["churn", "upsell"]
    assert set(plan.left_alone) == {"missing"}
    assert "no job follows" in plan.left_alone["missing"]


def test_groups_filter_is_case_sensitive() -> None:
    plan = build_plan(
        [job("ChurnModel_20260101080000_AbC123")], BINDINGS, VERSION, groups=("churnmodel",)
    )
    assert plan.jobs == []
    assert set(plan.left_alone) == {"churnmodel"}


def test_no_jobs_at_all() -> None:
    assert build_plan([], BINDINGS, VERSION).to_dict() == {
        "data_version": VERSION,
        "jobs": [],
        "left_alone": {},
    }
    plan = build_plan([], BINDINGS, VERSION, groups=("churn",))
    assert plan.jobs == [] and set(plan.left_alone) == {"churn"}


def test_rerun_targets_the_same_job_with_its_original_source() -> None:
    original = job("churn_20260101080000_a")
    first = build_plan([original], BINDINGS, VERSION).jobs[0]
    submitted = TrainingJob(
        name=first.job_name,
        inputs={**original.inputs, **first.inputs},
        created_at=datetime(2026, 3, 1, 12, 5, tzinfo=UTC),
        tags=first.tags,
    )

    rerun = build_plan([original, submitted], BINDINGS, VERSION)

    assert rerun.jobs == [first]
    assert rerun.jobs[0].source_job == "churn_20260101080000_a"
    assert rerun.jobs[0].tags[TAG_SOURCE_JOB] == "churn_20260101080000_a"


def test_rerun_of_a_target_without_source_tag_uses_its_own_name() -> None:
    target = retrain_job_name("churn", VERSION)
    plan = build_plan([job(target)], BINDINGS, VERSION)
    assert [(p.job_name, p.source_job) for p in plan.jobs] == [(target, target)]


def test_a_new_version_after_a_retrain_clones_the_retrained_job() -> None:
    original = job("churn_20260101080000_a")
    retrained = job(retrain_job_name("churn", VERSION), tags={TAG_SOURCE_JOB: original.name})
    next_version = "20260401000000-v9"

    [planned] = build_plan([original, retrained], BINDINGS, next_version).jobs

    assert planned.source_job == retrained.name
    assert planned.job_name == retrain_job_name("churn", next_version)
    assert planned.job_name != retrained.name


def test_plan_to_dict() -> None:
    plan = build_plan(
        [
            job(
                "churn_20260101080000_a",
                training_data=JobInput("mltable", "azureml:seat_spinning_features:1", "ro_mount"),
            ),
            job("forecast_20260101080000_b", sales=JobInput("uri_folder", "azureml:sales:1")),
        ],
        BINDINGS,
        VERSION,
    )

    out = plan.to_dict()

    assert out["data_version"] == VERSION
    assert out["jobs"] == [
        {
            "group": "churn",
            "source_job": "churn_20260101080000_a",
            "job_name": retrain_job_name("churn", VERSION),
            "inputs": {
                "training_data": {
                    "type": "mltable",
                    "path": "azureml:seat_spinning_features:20260301120000-v7",
                    "mode": "ro_mount",
                }
            },
            "tags": {
                TAG_GROUP: "churn",
                TAG_SOURCE_JOB: "churn_20260101080000_a",
                TAG_DATA_VERSION: VERSION,
                TAG_BASELINE: "1",
                TAG_MANAGED: "true",
            },
            "baseline_version": "1",
        }
    ]
    assert set(out["left_alone"]) == {"forecast"}


def test_baseline_is_what_the_group_last_trained_on() -> None:
    drift_job = job(
        "churn_20260201000000_x",
        training_data=JobInput("mltable", "azureml:seat_spinning_features:20260201000000-v5"),
    )
    tagged = TrainingJob(drift_job.name, drift_job.inputs, tags={TAG_DATA_VERSION: "tagged-v"})
    latest = job(
        "churn_20260101000000_y",
        training_data=JobInput("mltable", "azureml:seat_spinning_features@latest"),
    )
    assert build_plan([drift_job], BINDINGS, VERSION).jobs[0].baseline_version == (
        "20260201000000-v5"
    )
    assert build_plan([tagged], BINDINGS, VERSION).jobs[0].baseline_version == "tagged-v"
    assert build_plan([latest], BINDINGS, VERSION).jobs[0].baseline_version is None
    # A rerun that finds its own job keeps the baseline that job was planned with.
    first = build_plan([drift_job], BINDINGS, VERSION).jobs[0]
    rerun = TrainingJob(first.job_name, first.inputs, tags=first.tags)
    assert build_plan([drift_job, rerun], BINDINGS, VERSION).jobs[0].baseline_version == (
        "20260201000000-v5"
    )


def test_a_group_on_another_tables_asset_is_left_alone() -> None:
    other = job("forecast_20260101000000_z", training_data=JobInput("mltable", "azureml:sales:3"))
    raw = job("raw_20260101000000_z", training_data=JobInput("uri_folder", "abfss://c@a/p"))
    plan = build_plan([other, raw], BINDINGS, VERSION)
    assert plan.left_alone["forecast"] == (
        "newest job forecast_20260101000000_z binds training_data to asset sales, "
        "not seat_spinning_features"
    )
    assert [j.group for j in plan.jobs] == ["raw"]  # a path that names no asset is rebound


# -- binding each input to the asset of its type ------------------------------------------------

ASSETS = {"mltable": "seat_spinning_features", "uri_folder": "seat_spinning_features_folder"}


def test_each_input_is_bound_to_the_registered_asset_of_its_type() -> None:
    """A binding names the dataset; the input's type picks which of its two assets."""
    bindings = (
        DataAssetBinding(name="training_data", value="seat_spinning_features"),
        DataAssetBinding(name="raw_folder", value="seat_spinning_features"),  # the MLTable name
    )
    source = job(
        "churn_20260101080000_a",
        training_data=JobInput("mltable", "azureml:seat_spinning_features:1", "eval_mount"),
        raw_folder=JobInput("uri_folder", "azureml:seat_spinning_features_folder:1", "ro_mount"),
    )

    [planned] = build_plan([source], bindings, VERSION, assets=ASSETS).jobs

    assert planned.inputs == {
        "training_data": JobInput(
            "mltable", f"azureml:seat_spinning_features:{VERSION}", "eval_mount"
        ),
        "raw_folder": JobInput(
            "uri_folder", f"azureml:seat_spinning_features_folder:{VERSION}", "ro_mount"
        ),
    }


def test_a_uri_folder_input_named_for_the_mltable_is_no_longer_bound_to_it() -> None:
    """The defect: the uri_folder input was bound to the MLTable asset and stayed uri_folder."""
    bindings = (DataAssetBinding(name="training_data", value="seat_spinning_features"),)
    source = job(
        "churn_20260101080000_a",
        training_data=JobInput("uri_folder", "azureml:seat_spinning_features_folder:1"),
    )

    [planned] = build_plan([source], bindings, VERSION, assets=ASSETS).jobs

    assert planned.inputs["training_data"] == JobInput(
        "uri_folder", f"azureml:seat_spinning_features_folder:{VERSION}"
    )


def test_an_input_of_a_type_drift_registers_no_asset_for_leaves_the_group_alone() -> None:
    source = job(
        "churn_20260101080000_a",
        training_data=JobInput("uri_file", "azureml:seat_spinning_features:1"),
    )

    plan = build_plan([source], BINDINGS, VERSION, assets=ASSETS)

    assert plan.jobs == []
    assert plan.left_alone == {
        "churn": "newest job churn_20260101080000_a: input training_data is uri_file, and drift "
        "registers no asset of that type for seat_spinning_features (it registers "
        "seat_spinning_features (mltable), seat_spinning_features_folder (uri_folder))"
    }
