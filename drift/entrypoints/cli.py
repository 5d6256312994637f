"""`drift`: the command line. Each command translates its arguments into one call into drift."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from drift.domain.config import ConfigError, DriftConfig, load_config
from drift.domain.delta_log import (
    CommitReadError,
    NotACommit,
    decide,
    parse_commit_path,
    summarize_commit,
)
from drift.reporting import report as reports

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Keep ML models fresh: Delta commits -> pinned Azure ML data versions -> retraining.",
)
err = Console(stderr=True)
out = Console()

EXIT_OK = 0
EXIT_RETRAIN_FAILED = 1
EXIT_BAD_INPUT = 2

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="drift YAML config.")]
TenantOpt = Annotated[
    str | None,
    typer.Option("--tenant", help="Tenant of the Key Vault service principal (Azure backend)."),
]
VaultOpt = Annotated[
    str | None,
    typer.Option("--vault-name", help="Key Vault with ApplicationID/ApplicationPassword."),
]


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_BAD_INPUT)


def _load(path: Path) -> DriftConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise _fail(str(exc)) from None


def _emit(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(report, indent=2, sort_keys=False, default=str))
    else:
        reports.print_report(out, report)
    raise typer.Exit(EXIT_RETRAIN_FAILED if reports.any_failed(report) else EXIT_OK)


def _retrain(
    config: DriftConfig, request: dict[str, Any], auth: tuple[str | None, str | None]
) -> dict[str, Any]:
    from drift.domain.types import PermanentError
    from drift.entrypoints.local_run import RunFailed, run_retrain
    from drift.reporting.progress import Progress
    from drift.wiring.bootstrap import AuthOptions, BackendUnavailable, build_services

    env = AuthOptions.from_env()
    options = AuthOptions(
        auth[0] or env.tenant, auth[1] or env.vault_name, env.managed_identity_client_id
    )
    try:
        services = build_services(config, options)
    except (BackendUnavailable, PermanentError) as exc:
        raise _fail(str(exc)) from None
    with Progress(err, quiet=False) as progress:
        try:
            return run_retrain(services, request, on_event=progress.on_event)
        except RunFailed as exc:
            raise _fail(str(exc)) from None


@app.command()
def inspect(
    path: Annotated[str, typer.Argument(help="A file under a table's _delta_log folder.")],
    as_json: JsonFlag = False,
) -> None:
    """Say what drift does with one `_delta_log` file: register, skip or ignore, and why."""
    _require_file(path)
    result = classify_file(path)
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        out.print(
            f"[bold]{result['action']}[/bold]: {result['reason']}", highlight=False, soft_wrap=True
        )
        if result["table"]:
            out.print(
                f"table {result['table']}  version {result['delta_version']}  "
                f"operation {result['operation']}",
                highlight=False,
                soft_wrap=True,
            )


def _require_file(path: str) -> None:
    """A local path must name an existing file: a typo is bad input, not an ignored path."""
    if "://" in path:  # a storage URL, as an Event Grid event names it
        return
    where = Path(path)
    if where.is_dir():
        example = _newest_commit(where)
        hint = f", e.g. {example}" if example else ""
        raise _fail(f"{path}: is a folder; name one commit file in it{hint}")
    if not where.exists():
        raise _fail(f"{path}: no such file")


def _newest_commit(folder: Path) -> Path | None:
    """The newest commit file of a `_delta_log` folder or of a table folder, for a hint."""
    from drift.domain.delta_log import COMMIT_FILE_RE

    log = folder if folder.name == "_delta_log" else folder / "_delta_log"
    try:
        commits = sorted(p for p in log.iterdir() if COMMIT_FILE_RE.match(p.name))
    except OSError:
        return None
    return commits[-1] if commits else None


def classify_file(path: str) -> dict[str, Any]:
    ref = parse_commit_path(path)
    if isinstance(ref, NotACommit):
        return {
            "table": None,
            "delta_version": None,
            "operation": None,
            "data_change": None,
            "action": "ignore",
            "reason": ref.reason,
        }
    from drift.backends.local_commits import read_commit_file

    try:
        raw = read_commit_file(path)
        summary = summarize_commit(raw, ref.version, source=path)
    except OSError as exc:
        raise _fail(f"{path}: cannot read commit: {exc.strerror or exc}") from None
    except CommitReadError as exc:
        raise _fail(str(exc)) from None
    decision = decide(summary)
    return {
        "table": ref.table,
        "delta_version": ref.version,
        "operation": summary.operation,
        "data_change": summary.data_change,
        "action": decision.action,
        "reason": decision.reason,
        "committed_at": summary.committed_at.isoformat() if summary.committed_at else None,
    }


@app.command("on-commit")
def on_commit(
    path: Annotated[str, typer.Argument(help="The commit file an Event Grid event names.")],
    config: ConfigOpt,
    as_json: JsonFlag = False,
    tenant: TenantOpt = None,
    vault_name: VaultOpt = None,
) -> None:
    """Do what the Event Grid trigger does for one file: register and retrain, or say why not."""
    _require_file(path)
    cfg = _load(config)
    ref = parse_commit_path(path)
    ignored = reports.empty_report()
    if isinstance(ref, NotACommit):
        _emit({**ignored, "skipped": f"ignored: {ref.reason}"}, as_json)
        return
    watched = _watches(cfg, path, ref.table)
    if watched is not None:
        skipped = f"ignored: table {ref.table} is not the one this config watches ({watched})"
        _emit(
            {**ignored, "table": ref.table, "delta_version": ref.version, "skipped": skipped},
            as_json,
        )
        return
    request = {"delta_version": ref.version}
    _emit(_retrain(cfg, request, (tenant, vault_name)), as_json)


def _watches(cfg: DriftConfig, path: str, table: str) -> str | None:
    """None when the commit is of the config's table, else what the config watches."""
    from drift.domain.events import split_storage_url
    from drift.wiring.watchlist import storage_key, table_key

    key = table_key(cfg)
    where = split_storage_url(path)
    if where is not None:  # a storage URL, as in an Event Grid event
        account, container, blob = where
        root = blob.rsplit("/_delta_log/", 1)[0] if "/_delta_log/" in blob else ""
        return None if storage_key(account, container, root) == key else key
    if cfg.local is not None:
        try:
            resolved = Path(table).resolve()
        except (RuntimeError, OSError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
            raise _fail(f"{path}: cannot resolve the table folder {table}: {exc}") from None
        if resolved == cfg.local.table_path:
            return None
    return key


@app.command()
def run(
    config: ConfigOpt,
    data_asset_version: Annotated[
        str | None, typer.Option("--data-asset-version", help="Retrain on this version.")
    ] = None,
    model_prefix: Annotated[
        list[str] | None,
        typer.Option("--model-prefix", help="Only these groups (repeat or comma-separate)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only; submit nothing.")] = False,
    as_json: JsonFlag = False,
    tenant: TenantOpt = None,
    vault_name: VaultOpt = None,
) -> None:
    """Do what the HTTP and timer triggers do: register the latest version if new, retrain."""
    cfg = _load(config)
    groups = _split_groups(model_prefix or [])
    request = {
        "data_asset_version": data_asset_version,
        "model_name_prefix": groups,
        "dry_run": dry_run,
    }
    _emit(_retrain(cfg, request, (tenant, vault_name)), as_json)


@app.command()
def violation(
    config: ConfigOpt,
    group: Annotated[str, typer.Option("--group", help="The model group whose metric failed.")],
    metric: Annotated[str | None, typer.Option(help="The violated metric, for the record.")] = None,
    violation_id: Annotated[
        str | None, typer.Option("--violation-id", help="Same id, same retrain (default: hourly).")
    ] = None,
    as_json: JsonFlag = False,
    tenant: TenantOpt = None,
    vault_name: VaultOpt = None,
) -> None:
    """Retrain one group on the latest data because its monitored metric degraded."""
    from datetime import UTC, datetime

    from drift.entrypoints import manual
    from drift.wiring.watchlist import table_key

    cfg = _load(config)
    try:
        request = manual.ViolationRequest(
            model_group=group, metric=metric, violation_id=violation_id
        )
    except ValueError as exc:
        raise _fail(f"--group/--metric/--violation-id: {exc}") from None
    args = manual.violation_input(request, table_key(cfg), datetime.now(UTC))
    _emit(_retrain(cfg, args, (tenant, vault_name)), as_json)


@app.command()
def report(
    config: ConfigOpt,
    out: Annotated[Path, typer.Option(help="The HTML file to write.")] = Path("drift-report.html"),
    limit: Annotated[int, typer.Option(min=1, help="How many recent runs.")] = 20,
) -> None:
    """Write one self-contained HTML page of the last runs: versions, decisions, drift, jobs."""
    from drift.reporting.html_report import render
    from drift.reporting.run_history import LocalRunHistory

    cfg = _load(config)
    if cfg.local is None:
        raise _fail(
            "report: run history is kept by the local backend; in Azure the Functions app "
            "serves the same page at GET /api/report (runs as JSON at GET /api/runs)"
        )
    if out.is_dir():
        raise _fail(
            f"--out {out}: is a folder; name the HTML file, e.g. {out / 'drift-report.html'}"
        )
    runs = LocalRunHistory(cfg.local.workdir).recent(limit)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render(runs), encoding="utf-8")
    except OSError as exc:
        raise _fail(f"--out {out}: cannot write: {exc.strerror or exc}") from None
    print(f"wrote {out} ({len(runs)} run(s))")


def _split_groups(values: list[str]) -> list[str]:
    from drift.domain.config import GROUP_NAME_RE

    groups = [g.strip() for v in values for g in v.split(",") if g.strip()]
    for group in groups:
        if not GROUP_NAME_RE.match(group):
            raise _fail(f"--model-prefix: {group!r} is not a valid job-group name")
    return groups


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="Where the demo writes everything.")] = Path(
        "drift-demo"
    ),
    as_json: JsonFlag = False,
) -> None:
    """Write a real Delta table, commit to it, and watch drift register, skip and retrain."""
    try:
        from drift.entrypoints.demo import DemoError, run_demo
    except ModuleNotFoundError as exc:  # pandas and scikit-learn are the `demo` extra
        raise _fail(
            f"demo: needs {exc.name}: pip install 'drift[demo]' (scripts/demo.sh does)"
        ) from None

    try:
        steps = run_demo(workdir.resolve(), err)
    except DemoError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        print(json.dumps(steps, indent=2, default=str))
    else:
        reports.print_demo(out, steps)
    failed = any(reports.any_failed(step["report"]) for step in steps if step.get("report"))
    raise typer.Exit(EXIT_RETRAIN_FAILED if failed else EXIT_OK)


def main() -> None:
    """The console script. Typer's own usage errors (a missing option, an unknown command, an
    extra argument) follow drift's convention too: one `error:` line on stderr, exit 2."""
    # typer 0.26 vendors Click; these are the exceptions its parser raises.
    from typer._click.exceptions import ClickException, NoArgsIsHelpError

    try:
        code = app(standalone_mode=False)
    except KeyboardInterrupt:
        sys.exit(130)
    except NoArgsIsHelpError:  # `drift` alone: the help is already printed
        sys.exit(EXIT_BAD_INPUT)
    except ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        message = " ".join(exc.format_message().split())
        print(f"error: {message}{hint}", file=sys.stderr)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
