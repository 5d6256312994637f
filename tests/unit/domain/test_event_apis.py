"""Which BlobCreated APIs announce a finished commit, and the reason logged for the others.

The payloads follow the examples of learn.microsoft.com/azure/event-grid/event-schema-blob-storage
("Microsoft.Storage.BlobCreated event (SFTP)", CloudEvents schema, `dataVersion` 3, and the
Data Lake Storage Gen2 examples), with the blob URL pointed at a Delta commit.
"""

from __future__ import annotations

from typing import Any

import pytest

from drift.domain.events import CommitEvent, Rejected, parse_event

COMMIT_URL = (
    "https://my-storage-account.blob.core.windows.net/testcontainer/features/seat/"
    "_delta_log/00000000000000000007.json"
)


def sftp_event(api: str) -> dict[str, Any]:
    """The documented SFTP BlobCreated event (CloudEvents schema)."""
    return {
        "source": "/subscriptions/{subscription-id}/resourceGroups/Storage/providers/"
        "Microsoft.Storage/storageAccounts/my-storage-account",
        "subject": "/blobServices/default/containers/testcontainer/blobs/features/seat/"
        "_delta_log/00000000000000000007.json",
        "type": "Microsoft.Storage.BlobCreated",
        "time": "2022-04-25T19:13:00.1522383Z",
        "id": "831e1650-001e-001b-66ab-eeb76e069631",
        "data": {
            "api": api,
            "requestId": "831e1650-001e-001b-66ab-eeb76e000000",
            "eTag": "0x8D4BCC2E4835CD0",
            "contentType": "application/octet-stream",
            "contentLength": 0,
            "contentOffset": 0,
            "blobType": "BlockBlob",
            "url": COMMIT_URL,
            "sequencer": "00000000000004420000000000028963",
            "identity": "localuser",
            "storageDiagnostics": {"batchId": "b68529f3-68cd-4744-baa4-3c0498ec19f0"},
        },
        "specversion": "1.0",
    }


def reason(api: str) -> str:
    result = parse_event(sftp_event(api))
    assert isinstance(result, Rejected), result
    return result.reason


def test_sftp_commit_is_not_called_unfinished() -> None:
    text = reason("SftpCommit")
    assert "not finished" not in text
    assert text.startswith("BlobCreated by SftpCommit: an SFTP upload finished the file")
    assert "does not take Delta commits from SFTP" in text


@pytest.mark.parametrize(
    ("api", "expected"),
    [
        ("SftpCreate", "opened the file, still empty: not finished yet"),
        ("SftpWrite", "wrote part of the file: not finished yet"),
        ("CreateFile", "created empty and not finished yet"),
        ("SomethingNew", "not an API drift knows to announce a finished file"),
    ],
)
def test_each_unfinished_api_says_why(api: str, expected: str) -> None:
    assert expected in reason(api)


def test_a_copy_blob_event_is_taken() -> None:
    """On a hierarchical-namespace account it fires when the copy starts; the commit store
    waits for the copy to finish before reading
    (tests/integration/backends/test_azure_commits.py)."""
    event = parse_event(sftp_event("CopyBlob"))
    assert isinstance(event, CommitEvent)
    assert (event.container, event.table_path, event.version) == (
        "testcontainer",
        "features/seat",
        7,
    )
