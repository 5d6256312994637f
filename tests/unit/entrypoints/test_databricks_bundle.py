"""The Databricks bundle runs this package: checked against the bundle JSON schema, the
Databricks CLI's own rules, the jobs service's reference syntax, and the code it runs."""

from __future__ import annotations

import json
import posixpath
import re
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import regex
import yaml
from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.exceptions import best_match

from drift.entrypoints import spark_job, task_values

ROOT = Path(__file__).resolve().parents[3]
BUNDLE = ROOT / "infra" / "databricks" / "databricks.yml"
SCHEMA_DIR = ROOT / "tests" / "data" / "databricks"
SCHEMA = SCHEMA_DIR / "bundle_jsonschema.json"
SCHEMA_COMMIT = "7bbe2852131bc5c4a6c7bad5f147bc7772eedf9f"  # databricks/cli, see SOURCE.md
REGISTRATOR = "training-dataset-registrator"
RETRAINER = "model-retrainer"


def bundle() -> dict[str, Any]:
    return yaml.safe_load(BUNDLE.read_text())


def tasks() -> dict[str, dict[str, Any]]:
    job = bundle()["resources"]["jobs"]["retraining_models"]
    return {t["task_key"]: t for t in job["tasks"]}


def strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string value in the bundle with its dotted path."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from strings(value, f"{path}[{i}]")
    elif isinstance(node, str):
        yield path, node


# --- the official JSON schema -------------------------------------------------------------


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    """The schema's patterns use `\\p{L}`/`\\p{N}` (Go RE2), which `re` lacks; `regex` has them."""
    if validator.is_type(instance, "string") and not regex.search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _deprecated(
    validator: Any, flag: bool, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if flag:
        yield ValidationError(schema.get("deprecationMessage", "deprecated"))


Strict = validators.extend(Draft202012Validator, {"pattern": _pattern})
NoDeprecated = validators.extend(Strict, {"deprecated": _deprecated})


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA.read_text())


def _flatten(errors: Any) -> Iterator[ValidationError]:
    for error in errors:
        yield error
        yield from _flatten(error.context)


def schema_errors(document: dict[str, Any]) -> list[str]:
    error = best_match(Strict(schema()).iter_errors(document))
    return [] if error is None else [f"{error.json_path}: {error.message[:300]}"]


def deprecated_fields(document: dict[str, Any]) -> list[str]:
    errors = _flatten(NoDeprecated(schema()).iter_errors(document))
    return sorted({e.json_path for e in errors if e.validator == "deprecated"})


def test_schema_is_the_recorded_copy() -> None:
    assert SCHEMA_COMMIT in (SCHEMA_DIR / "SOURCE.md").read_text()
    assert {"bundle", "variables", "artifacts", "resources", "targets"} <= set(
        schema()["properties"]
    )


def test_bundle_is_valid_against_the_official_schema() -> None:
    assert schema_errors(bundle()) == []


def test_schema_check_catches_unknown_and_mistyped_fields() -> None:
    unknown = bundle()
    unknown["targets"]["prod"]["workspace"]["rootpath"] = "/x"
    assert schema_errors(unknown)
    mistyped = bundle()
    mistyped["resources"]["jobs"]["retraining_models"]["tasks"][0]["libraries"] = "x.whl"
    assert schema_errors(mistyped)


def test_bundle_uses_no_deprecated_field() -> None:
    assert deprecated_fields(bundle()) == []
    old = bundle()
    old["resources"]["jobs"]["retraining_models"]["email_notifications"] = {
        "no_alert_for_skipped_runs": True
    }
    assert deprecated_fields(old) == [
        "$.resources.jobs.retraining_models.email_notifications.no_alert_for_skipped_runs"
    ]


# --- the CLI's rules ----------------------------------------------------------------------


def production_mode_diagnostic(target: dict[str, Any], jobs: dict[str, Any]) -> str | None:
    """databricks/cli bundle/config/mutator/resourcemutator/validate_target_mode.go
    (validateProductionMode, isExplicitRootSet, isRunAsSet): a `mode: production` target
    without its own `workspace.root_path` is an error, only a recommendation when every job
    sets `run_as` (the target's `run_as` applies to every job) or a service principal
    deploys."""
    if target.get("mode") != "production":
        return None
    if (target.get("workspace") or {}).get("root_path"):
        return None
    run_as_everywhere = "run_as" in target or all("run_as" in job for job in jobs.values())
    if run_as_everywhere:
        return "recommendation: set 'workspace.root_path' to make sure only one copy is deployed"
    return "error: target with 'mode: production' must set 'workspace.root_path'"


def test_production_targets_set_their_root_path() -> None:
    doc = bundle()
    jobs = doc["resources"]["jobs"]
    prod = [t for t in doc["targets"].values() if t.get("mode") == "production"]
    assert prod, "the bundle has a production target"
    for target in prod:
        assert production_mode_diagnostic(target, jobs) is None
    assert production_mode_diagnostic({"mode": "production"}, jobs).startswith("error")
    assert doc["targets"]["prod"]["workspace"]["root_path"] == "${var.prod_root_path}"
    assert doc["variables"]["prod_root_path"]["default"].startswith("/Workspace/")


# databricks/cli libs/dyn/dynvar/ref.go: the `${...}` references the CLI interpolates. A
# string that looks like one but does not match is left as literal text.
BASE_VAR_DEF = r"\p{L}+([-_]*[\p{L}\p{N}]+)*"
CLI_REFERENCE = regex.compile(
    rf"\$\{{({BASE_VAR_DEF}(\.{BASE_VAR_DEF}(\[[0-9]+\])*)*(\[[0-9]+\])*)\}}"
)
BUILTIN_ROOTS = {"bundle", "workspace", "resources", "artifacts"}


def test_cli_references_parse_and_name_declared_variables() -> None:
    doc = bundle()
    declared = set(doc["variables"])
    seen: set[str] = set()
    for path, text in strings(doc):
        matched = [m.group(1) for m in CLI_REFERENCE.finditer(text)]
        assert text.count("${") == len(matched), f"{path}: {text!r} is not a CLI reference"
        for ref in matched:
            root, _, rest = ref.partition(".")
            if root == "var":
                assert rest in declared, f"{path}: ${{{ref}}} is not a declared variable"
                seen.add(rest)
            else:
                assert root in BUILTIN_ROOTS, f"{path}: ${{{ref}}}"
    required = {name for name, var in doc["variables"].items() if "default" not in var}
    assert required == {"config"}  # deploy needs only --var config
    assert declared == seen  # no variable left unused


# The jobs service's dynamic value references ("What is a dynamic value reference?",
# docs.databricks.com/jobs/dynamic-value-references and learn.microsoft.com/azure/databricks/
# jobs/dynamic-value-references): `{{` path `}}`, the path dot-separated identifiers; an
# unescaped identifier is letters, digits and underscores, anything else is escaped in
# backticks. "Syntax errors ... are silently ignored and treated as literal strings."
SEGMENT = r"(?:[A-Za-z0-9_]+|`[^`]+`)"
DYNAMIC_REFERENCE = re.compile(rf"\{{\{{\s*({SEGMENT}(?:\.{SEGMENT})*)\s*\}}\}}")


def dynamic_references(text: str) -> list[list[str]]:
    """The parsed references in `text`, each as its unescaped segments; `{{` that does not
    start a reference fails the test (it would reach the task as literal text)."""
    found = list(DYNAMIC_REFERENCE.finditer(text))
    assert text.count("{{") == len(found), f"{text!r} is not a valid dynamic value reference"
    return [[s.strip("`") for s in re.findall(SEGMENT, m.group(1))] for m in found]


def test_the_reference_grammar() -> None:
    assert dynamic_references("job_{{job.run_id}}") == [["job", "run_id"]]
    assert dynamic_references("{{tasks.`a-b`.values.v}}") == [["tasks", "a-b", "values", "v"]]
    with pytest.raises(AssertionError, match="not a valid"):
        dynamic_references("{{tasks.training-dataset-registrator.values.data_asset_version}}")
    assert task_values.reference("plain_key", "v") == "{{tasks.plain_key.values.v}}"
    assert task_values.reference() == (
        "{{tasks.`training-dataset-registrator`.values.data_asset_version}}"
    )
    with pytest.raises(ValueError, match="backtick"):
        task_values.identifier("a`b")


def upstream(all_tasks: dict[str, dict[str, Any]], key: str) -> set[str]:
    direct = {d["task_key"] for d in all_tasks[key].get("depends_on", [])}
    return direct.union(*(upstream(all_tasks, d) for d in direct)) if direct else set()


def test_task_value_references_parse_and_name_an_upstream_task_and_its_value() -> None:
    all_tasks = tasks()
    references = 0
    for key, task in all_tasks.items():
        for param in task["python_wheel_task"]["parameters"]:
            for ref in dynamic_references(param):
                references += 1
                assert ref[0] == "tasks" and ref[2] == "values", ref
                assert ref[1] in upstream(all_tasks, key), f"{key}: {ref[1]} is not upstream"
                assert ref[3] == task_values.VERSION_KEY  # what spark_job publishes
    assert references == 1
    params = all_tasks[RETRAINER]["python_wheel_task"]["parameters"]
    assert params[params.index("--data_asset_version") + 1] == task_values.reference()
    assert task_values.REGISTRATION_TASK == REGISTRATOR


# --- the wheel: package, entry point, library path -----------------------------------------


def test_wheel_tasks_match_the_package_and_its_entry_point() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    module, _, func = project["scripts"]["spark_job"].partition(":")
    assert (module, func) == ("drift.entrypoints.spark_job", "main")
    for task in tasks().values():
        wheel = task["python_wheel_task"]
        assert wheel["package_name"] == project["name"]
        assert wheel["entry_point"] == "spark_job"


def test_libraries_are_the_wheel_the_artifact_build_writes() -> None:
    """databricks/cli bundle/artifacts/prepare.go: a `whl` artifact's files default to
    `<artifact path>/dist/*.whl`, both relative to the file that declares them; and
    bundle/libraries/local_path.go: a path without scheme that is not absolute is local, so
    the CLI uploads it. `python -m build --wheel` writes to `<srcdir>/dist` (pypa/build
    build/__main__.py) unless told otherwise."""
    doc = bundle()
    [(name, artifact)] = doc["artifacts"].items()
    assert artifact["type"] == "whl"
    build = artifact["build"].split()
    assert build[:4] == ["python", "-m", "build", "--wheel"]
    assert not {"-o", "--outdir"} & set(build)
    base = BUNDLE.parent
    assert (base / artifact["path"]).resolve() == ROOT
    produced = posixpath.normpath(posixpath.join(artifact["path"], "dist", "*.whl"))
    for key, task in tasks().items():
        [library] = task["libraries"]
        path = library["whl"]
        assert "://" not in path and not path.startswith("/"), f"{key}: {path} is not local"
        assert posixpath.normpath(path) == produced, f"{key}: {path} is not what {name} builds"


def test_parameters_are_flags_spark_job_accepts() -> None:
    for key, task in tasks().items():
        params = [
            p.replace("${var.", "VAR_").replace("}", "")
            for p in task["python_wheel_task"]["parameters"]
        ]
        args = spark_job.parse_args(params)
        assert args.config == "VAR_config", key
    retrainer = tasks()[RETRAINER]
    assert retrainer["depends_on"] == [{"task_key": REGISTRATOR}]
    assert "--data_asset_version" not in tasks()[REGISTRATOR]["python_wheel_task"]["parameters"]


def test_weekly_schedule_paused_on_a_single_node_cluster() -> None:
    job = bundle()["resources"]["jobs"]["retraining_models"]
    assert job["schedule"] == {
        "quartz_cron_expression": "0 0 8 ? * MON *",
        "timezone_id": "UTC",
        "pause_status": "PAUSED",
    }
    assert job["notification_settings"] == {"no_alert_for_skipped_runs": True}
    [cluster] = job["job_clusters"]
    new = cluster["new_cluster"]
    assert new["num_workers"] == 0
    assert new["spark_conf"]["spark.databricks.cluster.profile"] == "singleNode"
    assert bundle()["artifacts"]["drift_wheel"]["build"] == "python -m build --wheel"


class RecordingTaskValues:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value


def test_task_value_goes_to_dbutils_on_databricks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    recorder = RecordingTaskValues()
    where = task_values.publish("data_asset_version", "20261123080000-v3", recorder)
    assert where == "task value"
    assert recorder.values == {"data_asset_version": "20261123080000-v3"}
    assert "data_asset_version=20261123080000-v3" in capsys.readouterr().out


def test_elsewhere_the_version_is_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    assert task_values.publish("data_asset_version", "v") == "stdout"
    assert capsys.readouterr().out.strip() == "data_asset_version=v"
