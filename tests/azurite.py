"""Start and stop a real Azurite blob service for tests.

Azurite is the storage emulator Microsoft ships on npm. Install it beside the repo with
`scripts/azurite.sh` (runs `npm install --no-save --no-audit --no-fund azurite@3`, about 30 s);
it lands in `node_modules/.bin/`, which git ignores. `DRIFT_AZURITE` may name another
`azurite-blob` (or `azurite`) executable.

Only the blob service runs: Azurite has no Data Lake (dfs) endpoint.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from drift.backends.azure_commits import EMULATOR_ACCOUNT, EMULATOR_ACCOUNT_KEY

REPO = Path(__file__).resolve().parent.parent
INSTALL_HINT = (
    "Azurite (the Azure Storage emulator) is not installed. Install it with "
    "`scripts/azurite.sh` (= `npm install --no-save --no-audit --no-fund azurite@3` in "
    f"{REPO}; needs Node.js and npm), or point DRIFT_AZURITE at an azurite-blob executable. "
    "Set DRIFT_SKIP_AZURITE=1 to skip the Azurite tests instead."
)
ACCOUNT = EMULATOR_ACCOUNT
KEY = EMULATOR_ACCOUNT_KEY  # Azurite's documented, public development key


class AzuriteNotInstalled(RuntimeError):
    pass


@dataclass(frozen=True)
class Azurite:
    """A running emulator: its blob endpoint, e.g. `http://127.0.0.1:54321/devstoreaccount1`."""

    host: str
    port: int

    @property
    def blob_url(self) -> str:
        return f"http://{self.host}:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint={self.blob_url};"
        )


def find_executable() -> tuple[str, bool]:
    """The Azurite to run and whether it is the blob-only `azurite-blob`."""
    override = os.environ.get("DRIFT_AZURITE")
    if override:
        if not (Path(override).is_file() and os.access(override, os.X_OK)):
            raise AzuriteNotInstalled(f"DRIFT_AZURITE={override!r} is not an executable file")
        return override, Path(override).name.startswith("azurite-blob")
    local = REPO / "node_modules" / ".bin"
    for name in ("azurite-blob", "azurite"):
        for candidate in (local / name, shutil.which(name)):
            if candidate and Path(candidate).is_file():
                return str(candidate), name == "azurite-blob"
    raise AzuriteNotInstalled(INSTALL_HINT)


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=0.5).close()
    except urllib.error.HTTPError:
        return True  # any HTTP status (Azurite says 400 to a bare GET) means it is serving
    except OSError:
        return False
    return True


@contextmanager
def running(host: str = "127.0.0.1", timeout: float = 30.0) -> Iterator[Azurite]:
    """Run Azurite in memory on a free port until the block ends."""
    exe, blob_only = find_executable()
    with tempfile.TemporaryDirectory(prefix="azurite-") as workdir:
        port = _free_port(host)
        args = [
            exe,
            "--blobHost", host,
            "--blobPort", str(port),
            "--inMemoryPersistence",  # Azurite refuses --location with it; cwd is workdir
            "--skipApiVersionCheck",
            "--loose",
            "--silent",
            "--disableTelemetry",
        ]  # fmt: skip
        if not blob_only:  # the all-services `azurite` also opens queue and table ports
            args += ["--queuePort", str(_free_port(host)), "--tablePort", str(_free_port(host))]
        log = Path(workdir) / "azurite.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
        try:
            azurite = Azurite(host, port)
            deadline = time.monotonic() + timeout
            while not _answers(azurite.blob_url):
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"Azurite exited with code {proc.returncode}: "
                        f"{log.read_text(errors='replace')[-2000:]}"
                    )
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"Azurite did not answer on {azurite.blob_url} in {timeout}s"
                    )
                time.sleep(0.1)
            yield azurite
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
