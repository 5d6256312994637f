"""`spark_job`: the reference's wheel entry point, kept so Databricks workflows run drift as is.

Without `--data_asset_version` it is the registration task and publishes the new version; with
it, the retraining task. The exit code says whether every retraining completed.

A Databricks `python_wheel_task` does not run the console script: it loads the entry point
and calls the function, ignoring what it returns. So `main` raises `SystemExit` with the
code on failure (which fails the task, and is the exit code from a shell too), and returns
None on success.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from drift.domain.config import ConfigError, load_config
from drift.domain.types import PermanentError
from drift.durable.activities import register_version
from drift.entrypoints import task_values
from drift.entrypoints.local_run import RunFailed, run_retrain
from drift.reporting.report import any_failed
from drift.wiring.bootstrap import AuthOptions, BackendUnavailable, build_services


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="spark_job", description=__doc__)
    parser.add_argument("--config", required=True, help="drift YAML config")
    parser.add_argument("--tenant", help="Entra tenant of the Key Vault service principal")
    parser.add_argument("--vault_name", help="Key Vault holding ApplicationID/ApplicationPassword")
    parser.add_argument("--data_asset_version", help="retrain on this registered version")
    parser.add_argument("--model_name_prefix", help="comma-separated job groups to retrain")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """The entry point: `SystemExit(1)` if a retraining failed, `SystemExit(2)` on bad input."""
    code = run(argv)
    if code:
        raise SystemExit(code)


def run(argv: Sequence[str] | None = None) -> int:
    """Register or retrain; the exit code: 0 done, 1 a retraining failed, 2 bad input."""
    args = parse_args(argv)
    try:
        auth = AuthOptions(args.tenant or None, args.vault_name or None)
        services = build_services(load_config(args.config), auth)
        if not args.data_asset_version:
            result = register_version(services, {})
            print(json.dumps(result, default=str))
            if result["asset_version"]:
                task_values.publish(task_values.VERSION_KEY, result["asset_version"])
            return 0
        groups = [g.strip() for g in (args.model_name_prefix or "").split(",") if g.strip()]
        report = run_retrain(
            services, {"data_asset_version": args.data_asset_version, "model_name_prefix": groups}
        )
    except (ConfigError, BackendUnavailable, RunFailed, PermanentError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, default=str))
    return 1 if any_failed(report) else 0


if __name__ == "__main__":
    main()
