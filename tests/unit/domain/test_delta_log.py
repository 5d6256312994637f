"""Which `_delta_log` files are commits, and what real delta-rs commits say about their data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from drift.domain.delta_log import (
    CommitReadError,
    CommitRef,
    NotACommit,
    commit_file_name,
    decide,
    parse_commit_path,
    summarize_commit,
)

V3 = "00000000000000000003.json"
UUID = "80a083e8-7026-4e79-81be-64bd76c43a11"


# -- parse_commit_path: commits ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "table", "version"),
    [
        (f"/data/tables/churn/_delta_log/{V3}", "/data/tables/churn", 3),
        (f"tables/churn/_delta_log/{V3}", "tables/churn", 3),
        ("/t/_delta_log/00000000000000001234.json", "/t", 1234),
        (f"C:\\data\\churn\\_delta_log\\{V3}", "C:/data/churn", 3),
        (
            f"https://acct.blob.core.windows.net/data/features/seat_spinning/_delta_log/{V3}",
            "https://acct.blob.core.windows.net/data/features/seat_spinning",
            3,
        ),
        (
            f"https://acct.blob.core.windows.net/data/t/_delta_log/{V3}?sv=2024&sig=abc%3D",
            "https://acct.blob.core.windows.net/data/t",
            3,
        ),
        (
            f"abfss://data@acct.dfs.core.windows.net/features/seat_spinning/_delta_log/{V3}",
            "abfss://data@acct.dfs.core.windows.net/features/seat_spinning",
            3,
        ),
        (
            "https://acct.blob.core.windows.net/data/seat%20spinning/caf%C3%A9/_delta_log/"
            "00000000000000000042.json",
            "https://acct.blob.core.windows.net/data/seat spinning/café",
            42,
        ),
        (
            f"abfss://data@acct.dfs.core.windows.net/a%2Bb/_delta_log/{V3}",
            "abfss://data@acct.dfs.core.windows.net/a+b",
            3,
        ),
    ],
)
def test_commit_paths(path: str, table: str, version: int) -> None:
    assert parse_commit_path(path) == CommitRef(table=table, version=version, path=path)


def test_commit_file_name_round_trips() -> None:
    for version in (0, 7, 10**19):
        ref = parse_commit_path(f"/t/_delta_log/{commit_file_name(version)}")
        assert isinstance(ref, CommitRef) and ref.version == version


# -- parse_commit_path: everything else, each with its own reason -----------------------------

LOG = "/data/churn/_delta_log"
BLOB = "https://acct.blob.core.windows.net/data/churn/_delta_log"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (f"{LOG}/00000000000000000010.checkpoint.parquet", "checkpoint file"),
        (f"{LOG}/00000000000000000010.checkpoint.0000000001.0000000002.parquet", "checkpoint file"),
        (f"{LOG}/00000000000000000010.checkpoint.{UUID}.parquet", "checkpoint file"),
        (f"{LOG}/00000000000000000010.checkpoint.{UUID}.json", "checkpoint file"),
        (f"{BLOB}/00000000000000000010.checkpoint.parquet", "checkpoint file"),
        (f"{LOG}/_last_checkpoint", "checkpoint pointer (_last_checkpoint)"),
        (f"{LOG}/00000000000000000003.crc", "checksum file (.crc)"),
        (f"{LOG}/.00000000000000000003.json.crc", "checksum file (.crc)"),
        (f"{BLOB}/.00000000000000000003.crc", "checksum file (.crc)"),
        (f"{LOG}/.tmp/{V3}", "temporary file of an in-flight commit (.tmp/ folder)"),
        (f"{BLOB}/.tmp/{V3}", "temporary file of an in-flight commit (.tmp/ folder)"),
        (f"{LOG}/{V3}.tmp", "temporary file of an in-flight commit"),
        (f"{LOG}/_commit_{UUID}.json.tmp", "temporary file of an in-flight commit"),
        (f"{LOG}/.{V3}", "temporary file of an in-flight commit"),
        (f"{LOG}/_commits/00000000000000000003.{UUID}.json", "staged commit"),
        (f"{BLOB}/_commits/00000000000000000003.{UUID}.json", "staged commit"),
        (f"{LOG}/00000000000000000003.00000000000000000009.compacted.json", "compacted log file"),
        (f"{LOG}/_sidecars/{UUID}.parquet", "not a commit: sub-folder '_sidecars'"),
        (f"{LOG}/0000000000000000003.json", "expected 20 digits"),
        (f"{LOG}/000000000000000000003.json", "expected 20 digits"),
        (f"{LOG}/3.json", "expected 20 digits"),
        (f"{LOG}/00000000000000000003.JSON", "expected 20 digits"),
        (f"{LOG}/0000000000000000000a.json", "expected 20 digits"),
        ("/data/churn/part-00000-abc-c000.snappy.parquet", "not in a _delta_log folder"),
        (f"/data/churn/{V3}", "not in a _delta_log folder"),
        (f"/data/churn/_delta_log_old/{V3}", "not in a _delta_log folder"),
        (
            "https://acct.blob.core.windows.net/data/churn/part-0.parquet",
            "not in a _delta_log folder",
        ),
        (f"/data/churn/_delta_log/x/_delta_log/{V3}", "nested _delta_log"),
        (f"_delta_log/{V3}", "no table folder before _delta_log"),
        (f"/_delta_log/{V3}", "no table folder before _delta_log"),
        (f"https://acct.blob.core.windows.net/_delta_log/{V3}", "no table folder"),
    ],
)
def test_not_commits(path: str, reason: str) -> None:
    result = parse_commit_path(path)
    assert isinstance(result, NotACommit), result
    assert result.path == path
    assert reason in result.reason


def test_abfss_table_at_container_root_is_a_commit() -> None:
    path = f"abfss://data@acct.dfs.core.windows.net/_delta_log/{V3}"
    result = parse_commit_path(path)
    assert isinstance(result, CommitRef), result
    assert result.version == 3


# -- the files delta-rs really writes --------------------------------------------------------


def test_every_file_delta_rs_writes_in_the_log_is_classified(delta_table) -> None:
    delta_table.write(mode="overwrite")
    delta_table.write()
    delta_table.table().create_checkpoint()
    delta_table.write()
    names = sorted(p.name for p in delta_table.log_dir.iterdir() if p.is_file())
    assert "00000000000000000001.checkpoint.parquet" in names
    assert "_last_checkpoint" in names

    results = {name: parse_commit_path(str(delta_table.log_dir / name)) for name in names}

    commits = {n: r for n, r in results.items() if isinstance(r, CommitRef)}
    assert sorted(commits) == [commit_file_name(v) for v in range(3)]
    assert {r.table for r in commits.values()} == {str(delta_table.path)}
    assert [commits[commit_file_name(v)].version for v in range(3)] == [0, 1, 2]
    checkpoint = results["00000000000000000001.checkpoint.parquet"]
    assert isinstance(checkpoint, NotACommit)
    assert "checkpoint file" in checkpoint.reason
    assert isinstance(results["_last_checkpoint"], NotACommit)
    data_file = next(p for p in delta_table.path.iterdir() if p.suffix == ".parquet")
    assert isinstance(parse_commit_path(str(data_file)), NotACommit)


# -- summarize_commit + decide on real delta-rs commits ----------------------------------------


def summary_of(delta_table, version: int):
    source = str(delta_table.commit_file(version))
    return summarize_commit(delta_table.raw(version), version, source=source)


def test_create_append_overwrite_register(delta_table) -> None:
    v0 = delta_table.write(5, mode="overwrite")
    v1 = delta_table.write(2)
    v2 = delta_table.write(4, mode="overwrite")

    for version, files in ((v0, 1), (v1, 1), (v2, 3)):  # overwrite: 1 add + 2 removes
        summary = summary_of(delta_table, version)
        assert summary.version == version
        assert summary.operation == "WRITE"
        assert summary.data_change is True
        assert summary.data_files == files
        assert summary.files_without_data_change == 0
        decision = decide(summary)
        assert decision.action == "register"
        assert decision.reason == f"WRITE changed data ({files} file action(s))"


@pytest.mark.parametrize(
    ("operation", "change"),
    [
        ("DELETE", lambda dt: dt.delete("id < 2")),
        ("UPDATE", lambda dt: dt.update(updates={"value": "value + 1"}, predicate="id = 3")),
        (
            "MERGE",
            lambda dt: (
                dt.merge(
                    pa.table({"id": [3, 100], "value": [0.5, 100.0]}),
                    predicate="t.id = s.id",
                    source_alias="s",
                    target_alias="t",
                )
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute()
            ),
        ),
    ],
)
def test_dml_commits_register(delta_table, operation, change) -> None:
    delta_table.write(10, mode="overwrite")
    change(delta_table.table())
    version = delta_table.version()
    assert version == 1

    summary = summary_of(delta_table, version)

    assert summary.operation == operation
    assert summary.data_change is True
    assert summary.data_files == 2  # the rewritten file's remove and its replacement's add
    decision = decide(summary)
    assert decision.action == "register"
    assert decision.reason.startswith(f"{operation} changed data")


def test_delete_of_every_row_registers(delta_table) -> None:
    delta_table.write(4, mode="overwrite")
    delta_table.table().delete()
    summary = summary_of(delta_table, 1)
    assert (summary.operation, summary.data_change) == ("DELETE", True)
    assert decide(summary).action == "register"


def test_optimize_compact_is_skipped_as_no_data_change(delta_table) -> None:
    for _ in range(3):
        delta_table.write(2)
    metrics = delta_table.table().optimize.compact()
    assert metrics["numFilesRemoved"] == 3
    version = delta_table.version()

    summary = summary_of(delta_table, version)

    assert summary.operation == "OPTIMIZE"
    assert summary.data_change is False
    assert summary.data_files == 0
    assert summary.files_without_data_change == 4  # 3 removes + 1 add
    decision = decide(summary)
    assert decision.action == "skip"
    assert "OPTIMIZE" in decision.reason
    assert "dataChange=false" in decision.reason


def test_optimize_z_order_is_skipped_as_no_data_change(delta_table) -> None:
    delta_table.write(2)
    delta_table.write(2)
    delta_table.table().optimize.z_order(["id"])

    summary = summary_of(delta_table, delta_table.version())

    assert summary.operation == "OPTIMIZE"
    assert summary.data_change is False
    decision = decide(summary)
    assert decision.action == "skip"
    assert decision.reason.startswith("OPTIMIZE rewrote")
    assert "dataChange=false" in decision.reason


def test_vacuum_commits_are_metadata_only(delta_table) -> None:
    delta_table.write(3)
    delta_table.write(3, mode="overwrite")  # leaves a removed file for vacuum to delete
    deleted = delta_table.table().vacuum(
        retention_hours=0, enforce_retention_duration=False, dry_run=False
    )
    assert len(deleted) == 1
    start, end = delta_table.version() - 1, delta_table.version()

    for version, operation in ((start, "VACUUM START"), (end, "VACUUM END")):
        summary = summary_of(delta_table, version)
        assert summary.operation == operation
        assert (summary.data_change, summary.data_files, summary.files_without_data_change) == (
            False,
            0,
            0,
        )
        decision = decide(summary)
        assert decision.action == "skip"
        assert operation in decision.reason
        assert "metadata only" in decision.reason


def test_set_table_properties_is_metadata_only(delta_table) -> None:
    delta_table.write(3)
    delta_table.table().alter.set_table_properties({"delta.appendOnly": "false"})

    summary = summary_of(delta_table, delta_table.version())

    assert summary.operation == "SET TBLPROPERTIES"
    assert summary.data_change is False
    decision = decide(summary)
    assert decision.action == "skip"
    assert decision.reason == "SET TBLPROPERTIES added or removed no data files (metadata only)"


def test_writing_no_rows_is_metadata_only(delta_table) -> None:
    delta_table.write(0, mode="overwrite")
    summary = summary_of(delta_table, 0)
    assert summary.data_change is False
    assert decide(summary).action == "skip"


def test_commit_time_is_commit_info_timestamp_in_utc(delta_table) -> None:
    before = datetime.now(UTC)
    delta_table.write(3)
    stamp = delta_table.commit_info(0)["timestamp"]

    summary = summary_of(delta_table, 0)

    assert summary.timestamp_ms == stamp
    assert summary.committed_at is not None
    assert summary.committed_at.utcoffset() == timedelta(0)
    assert abs(summary.committed_at - before) < timedelta(minutes=1)


def test_commit_time_from_a_known_timestamp(delta_table) -> None:
    delta_table.write(3)
    delta_table.set_commit_info(0, timestamp=1767254400123)  # 2026-01-01T08:00:00.123Z

    summary = summary_of(delta_table, 0)

    assert summary.timestamp_ms == 1767254400123
    assert summary.committed_at == datetime(2026, 1, 1, 8, 0, 0, 123000, tzinfo=UTC)


def test_in_commit_timestamp_wins_over_commit_info_timestamp(delta_table) -> None:
    delta_table.write(3)
    delta_table.set_commit_info(0, timestamp=1767254400123, inCommitTimestamp=1767254399000)

    assert summary_of(delta_table, 0).committed_at == datetime(2026, 1, 1, 7, 59, 59, tzinfo=UTC)


def test_commit_time_falls_back_to_file_modification_time(delta_table) -> None:
    delta_table.write(3)
    text = b"".join(
        line + b"\n" for line in delta_table.raw(0).splitlines() if b'"commitInfo"' not in line
    )
    add_time = next(a["add"]["modificationTime"] for a in delta_table.actions(0) if "add" in a)

    summary = summarize_commit(text, 0)

    assert summary.operation is None
    assert summary.timestamp_ms == add_time
    assert decide(summary).reason.startswith("unknown operation changed data")


def test_checkpoint_written_by_create_checkpoint_is_not_a_commit(delta_table) -> None:
    delta_table.write(3)
    delta_table.write(3)
    delta_table.table().create_checkpoint()
    checkpoints = sorted(delta_table.log_dir.glob("*.checkpoint*.parquet"))
    assert [p.name for p in checkpoints] == ["00000000000000000001.checkpoint.parquet"]

    result = parse_commit_path(str(checkpoints[0]))

    assert isinstance(result, NotACommit)
    assert result.reason == "checkpoint file: a summary of earlier commits, not a change"


# -- malformed commits ----------------------------------------------------------------------


def test_malformed_line_names_source_and_line(delta_table) -> None:
    delta_table.write(3)
    lines = delta_table.raw(0).decode().splitlines()
    lines.insert(2, '{"add": {"path": "truncated')
    source = str(delta_table.commit_file(0))

    with pytest.raises(CommitReadError) as excinfo:
        summarize_commit("\n".join(lines), 0, source=source)

    assert str(excinfo.value).startswith(f"{source}: line 3: not JSON")


def test_a_line_that_is_not_an_object_is_an_error() -> None:
    raw = b'{"commitInfo": {"timestamp": 1}}\n\n[1, 2]\n'
    with pytest.raises(CommitReadError, match=r"^c\.json: line 3: expected a JSON object"):
        summarize_commit(raw, 0, source="c.json")


def test_invalid_utf8_is_a_commit_read_error_naming_the_source() -> None:
    raw = b'{"commitInfo": {"timestamp": 1}}\n{"add": {"path": "\xff"}}\n'
    with pytest.raises(CommitReadError, match=r"^c\.json: line 2"):
        summarize_commit(raw, 0, source="c.json")


def test_blank_lines_are_ignored(delta_table) -> None:
    delta_table.write(3)
    spaced = delta_table.raw(0).replace(b"\n", b"\n\n")
    assert summarize_commit(spaced, 0) == summarize_commit(delta_table.raw(0), 0)


@pytest.mark.parametrize("raw", [b"", b"\n\n", b"{}", b"{}\n{}\n"])
def test_a_commit_without_actions_is_not_a_metadata_only_commit(raw: bytes) -> None:
    """Every Delta commit holds at least one action (issue 14, item 11)."""
    with pytest.raises(CommitReadError, match=r"^t/_delta_log/7\.json: no Delta actions"):
        summarize_commit(raw, 7, source="t/_delta_log/7.json")
