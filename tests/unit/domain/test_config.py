"""Config loading: the reference's YAML loads, and every error names the file and the key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from drift.domain.config import ConfigError, load_config

ISSUE_EXAMPLE = """\
parameters:
  azml: {subscriptionId: sub, resourceGroup: rg, mlWorkspaceName: ws}
  storageAccountName: acct
  containerName: data
  containerDataPath: features/seat_spinning
  dataAssets:
    - {name: training_data, value: seat_spinning_features}
  refreshTimeout: "2700"
  refreshDelay: "10"
  model_name_prefix: "churn,upsell"
"""

LOCAL_SECTION = """\
local:
  workdir: state
  tablePath: tables/seat_spinning_features
  jobsDir: ../jobs
"""


def write(tmp_path: Path, text: str, name: str = "drift.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def document(**parameter_changes: object) -> dict:
    """The issue's example as a dict, with backend azure, and some parameters changed."""
    data = {"backend": "azure", **yaml.safe_load(ISSUE_EXAMPLE)}
    data["parameters"].update(parameter_changes)
    return data


def error_for(tmp_path: Path, data: object) -> str:
    path = tmp_path / "drift.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    message = str(excinfo.value)
    assert str(path) in message
    return message


# -- loading ---------------------------------------------------------------------------------


def test_issue_example_loads_with_the_reference_value_shapes(tmp_path: Path) -> None:
    path = write(tmp_path, "backend: azure\n" + ISSUE_EXAMPLE)

    config = load_config(path)

    p = config.parameters
    assert config.backend == "azure"
    assert (p.azml.subscription_id, p.azml.resource_group, p.azml.workspace_name) == (
        "sub",
        "rg",
        "ws",
    )
    assert (p.storage_account_name, p.container_name, p.container_data_path) == (
        "acct",
        "data",
        "features/seat_spinning",
    )
    assert [(b.name, b.value) for b in p.data_assets] == [
        ("training_data", "seat_spinning_features")
    ]
    assert p.refresh_timeout == 2700 and type(p.refresh_timeout) is int
    assert p.refresh_delay == 10 and type(p.refresh_delay) is int
    assert p.model_name_prefix == ("churn", "upsell")
    assert p.mltable_name == "seat_spinning_features"
    assert p.uri_folder_name == "seat_spinning_features_folder"
    assert config.source == path.resolve()


def test_durations_accept_ints_as_well_as_strings(tmp_path: Path) -> None:
    text = ISSUE_EXAMPLE.replace('"2700"', "2700").replace('"10"', "10")
    config = load_config(write(tmp_path, "backend: azure\n" + text))

    assert config.parameters.refresh_timeout == 2700
    assert config.parameters.refresh_delay == 10


def test_model_name_prefix_accepts_a_list_and_trims_blanks(tmp_path: Path) -> None:
    text = ISSUE_EXAMPLE.replace('"churn,upsell"', '" churn , upsell ,"')
    assert load_config(write(tmp_path, "backend: azure\n" + text)).parameters.model_name_prefix == (
        "churn",
        "upsell",
    )
    text = ISSUE_EXAMPLE.replace('"churn,upsell"', "[churn, upsell]")
    assert load_config(write(tmp_path, "backend: azure\n" + text)).parameters.model_name_prefix == (
        "churn",
        "upsell",
    )


def test_local_backend_resolves_relative_paths_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "project" / "conf"
    config_dir.mkdir(parents=True)
    path = write(config_dir, "backend: local\n" + ISSUE_EXAMPLE + LOCAL_SECTION)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the working directory must not matter

    config = load_config(path)

    assert config.backend == "local"
    assert config.local is not None
    assert config.local.workdir == (config_dir / "state").resolve()
    assert config.local.table_path == (config_dir / "tables/seat_spinning_features").resolve()
    assert config.local.jobs_dir == (tmp_path / "project" / "jobs").resolve()


def test_local_backend_keeps_absolute_paths_and_defaults_the_workdir(tmp_path: Path) -> None:
    table = tmp_path / "abs" / "table"
    local = f"local:\n  tablePath: {table}\n  jobsDir: jobs\n"
    path = write(tmp_path, "backend: local\n" + ISSUE_EXAMPLE + local)

    config = load_config(path)

    assert config.local is not None
    assert config.local.table_path == table
    assert config.local.workdir == (tmp_path / ".drift").resolve()


def test_local_backend_does_not_need_the_azure_storage_fields(tmp_path: Path) -> None:
    text = """\
    backend: local
    parameters:
      dataAssets:
        - {name: training_data, value: seat_spinning_features}
    local: {tablePath: t, jobsDir: j}
    """
    config = load_config(write(tmp_path, text))

    assert config.parameters.azml is None
    assert config.parameters.refresh_timeout == 2700  # the reference default
    assert config.parameters.refresh_delay == 10
    assert config.parameters.model_name_prefix == ()


def test_bindings_may_point_at_either_registered_asset(tmp_path: Path) -> None:
    data = document(
        dataAssets=[
            {"name": "training_data", "value": "features"},
            {"name": "raw_folder", "value": "features_folder"},
        ],
        mltableAssetName="features",
    )
    path = tmp_path / "drift.yaml"
    path.write_text(yaml.safe_dump(data))

    params = load_config(path).parameters

    assert (params.mltable_name, params.uri_folder_name) == ("features", "features_folder")
    assert [b.value for b in params.data_assets] == ["features", "features_folder"]


# -- errors: each names the file and the dotted key --------------------------------------------


def test_unknown_top_level_key(tmp_path: Path) -> None:
    data = document()
    data["parameterz"] = {}
    message = error_for(tmp_path, data)
    assert "parameterz: unknown key" in message


def test_unknown_nested_key(tmp_path: Path) -> None:
    data = document()
    data["parameters"]["azml"]["foo"] = "bar"
    message = error_for(tmp_path, data)
    assert "parameters.azml.foo: unknown key" in message


def test_unknown_key_in_a_data_asset_binding(tmp_path: Path) -> None:
    data = document(dataAssets=[{"name": "training_data", "value": "x", "typo": 1}])
    assert "parameters.dataAssets.0.typo: unknown key" in error_for(tmp_path, data)


def test_missing_data_assets(tmp_path: Path) -> None:
    data = document()
    del data["parameters"]["dataAssets"]
    message = error_for(tmp_path, data)
    assert "parameters.dataAssets: Field required" in message


def test_empty_data_assets(tmp_path: Path) -> None:
    message = error_for(tmp_path, document(dataAssets=[]))
    assert "parameters.dataAssets:" in message
    assert "at least one" in message


@pytest.mark.parametrize("key", ["refreshTimeout", "refreshDelay"])
@pytest.mark.parametrize("bad", ["abc", "-5", "1.5", True])
def test_durations_must_be_whole_seconds(tmp_path: Path, key: str, bad: object) -> None:
    message = error_for(tmp_path, document(**{key: bad}))
    assert f"parameters.{key}:" in message


def test_refresh_timeout_abc_says_what_was_given(tmp_path: Path) -> None:
    message = error_for(tmp_path, document(refreshTimeout="abc"))
    assert "parameters.refreshTimeout: must be a whole number of seconds, got 'abc'" in message


@pytest.mark.parametrize("zero", [0, "0"])
def test_refresh_delay_zero(tmp_path: Path, zero: object) -> None:
    message = error_for(tmp_path, document(refreshDelay=zero))
    assert "parameters.refreshDelay: must be at least 1 second" in message


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"refreshTimeout": "0"}, "parameters.refreshTimeout: must be at least 1 second"),
        (
            {"refreshTimeout": "5", "refreshDelay": "10"},
            "parameters.refreshTimeout: 5 s is shorter than refreshDelay 10 s",
        ),
        (
            {"waitAfterLastChangeSeconds": 120, "maxDelaySeconds": 60},
            "parameters.maxDelaySeconds: 60 is below waitAfterLastChangeSeconds 120",
        ),
    ],
)
def test_timeouts_that_cannot_work_are_refused(tmp_path: Path, changes: dict, message: str) -> None:
    assert message in error_for(tmp_path, document(**changes))


@pytest.mark.parametrize("bad_name", ["-leading-dash", "has space", "", "a/b"])
def test_bad_asset_name(tmp_path: Path, bad_name: str) -> None:
    data = document(dataAssets=[{"name": "training_data", "value": bad_name}])
    message = error_for(tmp_path, data)
    assert "parameters.dataAssets.0.value:" in message
    assert "not a valid Azure ML data asset name" in message


def test_bad_asset_name_is_reported_once(tmp_path: Path) -> None:
    data = document(dataAssets=[{"name": "training_data", "value": "-bad"}])
    message = error_for(tmp_path, data)
    assert len(message.splitlines()) == 1, message


def test_bad_input_name(tmp_path: Path) -> None:
    data = document(dataAssets=[{"name": "training-data", "value": "seat_spinning_features"}])
    message = error_for(tmp_path, data)
    assert "parameters.dataAssets.0.name: 'training-data' is not a valid job input name" in message


def test_bad_model_name_prefix(tmp_path: Path) -> None:
    message = error_for(tmp_path, document(model_name_prefix="churn,up sell"))
    assert "parameters.model_name_prefix: 'up sell' is not a valid job-group name" in message


def test_data_asset_value_must_be_a_registered_asset(tmp_path: Path) -> None:
    data = document(
        dataAssets=[
            {"name": "training_data", "value": "seat_spinning_features"},
            {"name": "scoring_data", "value": "someone_elses_asset"},
        ]
    )
    message = error_for(tmp_path, data)
    assert "scoring_data -> someone_elses_asset is not an asset drift registers" in message
    assert "seat_spinning_features or seat_spinning_features_folder" in message


def test_data_asset_value_checked_against_mltable_asset_name(tmp_path: Path) -> None:
    message = error_for(tmp_path, document(mltableAssetName="features"))
    assert "training_data -> seat_spinning_features is not an asset drift registers" in message
    assert "features or features_folder" in message


def test_duplicate_input_names(tmp_path: Path) -> None:
    binding = {"name": "training_data", "value": "seat_spinning_features"}
    message = error_for(tmp_path, document(dataAssets=[binding, binding]))
    assert "input name(s) listed twice: training_data" in message


@pytest.mark.parametrize(
    "assets",
    [
        [{"name": "a", "value": "seat_spinning_features"}, {"name": "a", "value": "x"}],
        [{"name": "a", "value": "seat_spinning_features"}, {"name": "b", "value": "x"}],
    ],
    ids=["duplicate", "unregistered"],
)
def test_data_assets_model_errors_name_the_dotted_key(tmp_path: Path, assets: list) -> None:
    assert "parameters.dataAssets" in error_for(tmp_path, document(dataAssets=assets))


@pytest.mark.parametrize(
    "missing",
    ["azml", "storageAccountName", "containerName", "containerDataPath"],
)
@pytest.mark.parametrize("backend", ["azure", "databricks"])
def test_cloud_backend_needs_storage_fields(tmp_path: Path, backend: str, missing: str) -> None:
    data = document()
    data["backend"] = backend
    del data["parameters"][missing]
    message = error_for(tmp_path, data)
    assert f"backend {backend!r} needs parameters.{missing}" in message


def test_cloud_backend_lists_every_missing_storage_field(tmp_path: Path) -> None:
    assets = document()["parameters"]["dataAssets"]
    data = {"backend": "azure", "parameters": {"dataAssets": assets}}
    message = error_for(tmp_path, data)
    assert (
        "needs parameters.azml, parameters.storageAccountName, parameters.containerName, "
        "parameters.containerDataPath"
    ) in message


def test_local_backend_needs_a_local_section(tmp_path: Path) -> None:
    data = document()
    data["backend"] = "local"
    message = error_for(tmp_path, data)
    assert "backend 'local' needs a 'local:' section" in message


def test_local_section_needs_table_and_jobs(tmp_path: Path) -> None:
    data = document()
    data.update(backend="local", local={"workdir": "w"})
    message = error_for(tmp_path, data)
    assert "local.tablePath: Field required" in message
    assert "local.jobsDir: Field required" in message


def test_unknown_backend(tmp_path: Path) -> None:
    data = document()
    data["backend"] = "gcp"
    assert "backend:" in error_for(tmp_path, data)


def test_backend_defaults_to_local(tmp_path: Path) -> None:
    data = document()
    del data["backend"]
    assert "backend 'local' needs a 'local:' section" in error_for(tmp_path, data)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "parameters:\n  refreshTimeout: 1\n  dataAssets: [a, b\n  x: 2\n")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    message = str(excinfo.value)
    assert message.startswith(f"{path}: not valid YAML (line 4, column ")


def test_invalid_yaml_is_one_line_saying_what_was_expected(tmp_path: Path) -> None:
    """PyYAML's own text spans several lines with a caret picture (issue 14, item 7)."""
    path = write(tmp_path, "backend: local\nparameters:\n  dataAssets: [a, b\n  x: 2\n")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert str(excinfo.value) == (
        f"{path}: not valid YAML (line 4, column 4): expected ',' or ']', but got ':' "
        "(in a flow sequence opened at line 3, column 15)"
    )


def test_invalid_yaml_tab_indentation(tmp_path: Path) -> None:
    path = tmp_path / "drift.yaml"
    path.write_text("parameters:\n\tdataAssets: []\n")
    with pytest.raises(ConfigError, match=r"not valid YAML \(line 2, column 1\)") as excinfo:
        load_config(path)
    assert str(path) in str(excinfo.value)


def test_file_not_found(tmp_path: Path) -> None:
    path = tmp_path / "nope" / "drift.yaml"
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert str(excinfo.value).startswith(f"{path}: cannot read config")


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "", "42\n"])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert str(excinfo.value) == (
        f"{path}: (top level): expected a mapping with a 'parameters' key"
    )


def test_parameters_must_be_a_mapping(tmp_path: Path) -> None:
    message = error_for(tmp_path, {"backend": "azure", "parameters": ["x"]})
    assert "parameters:" in message


def test_every_problem_is_reported_on_its_own_line(tmp_path: Path) -> None:
    data = document(refreshTimeout="abc", refreshDelay=0)
    data["extra"] = 1
    path = tmp_path / "drift.yaml"
    lines = error_for(tmp_path, data).splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"{path}: ") for line in lines)
    assert {line.split(": ")[1] for line in lines} == {
        "parameters.refreshTimeout",
        "parameters.refreshDelay",
        "extra",
    }
