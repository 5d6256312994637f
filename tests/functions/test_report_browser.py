"""/api/report in a real browser: Debian's headless chromium loads the page the function
served (its body and headers, from a localhost http.server), takes a screenshot and dumps the
DOM it built; the assertions are on that DOM, not on the string the function returned."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import azure.functions as func
import pytest

from tests.functions.conftest import App
from tests.functions.test_http_runs import BASE, call, history

FLAGS = [
    "--headless",
    "--no-sandbox",  # root in a container: the sandbox needs user namespaces
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]
SHOT = (1280, 1800)


def _chromium() -> str | None:
    return next((p for n in ("chromium", "chromium-browser") if (p := shutil.which(n))), None)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium; installed with apt-get when missing (scripts/test.sh does it first)."""
    found = _chromium()
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env, check=False)
        found = _chromium()
    if found is None:
        pytest.skip("chromium is not installed and could not be installed (apt-get as root)")
    return found


@pytest.fixture
def served() -> Iterator[Callable[[func.HttpResponse], str]]:
    """Serve one function response (status, headers, body) at a localhost URL."""
    servers: list[ThreadingHTTPServer] = []

    def serve(response: func.HttpResponse) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = response.get_body()
                self.send_response(response.status_code)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", f"{response.mimetype}; charset={response.charset}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/api/report"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def browse(chromium: str, url: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    return subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *args, url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class Dom(HTMLParser):
    """The dumped DOM as (tag, attributes, text) per element, text gathered per element."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []
        self._open: list[int] = []
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, []))
        if tag not in ("meta", "br", "img", "link", "hr", "input"):  # HTML's void elements
            self._open.append(len(self.elements) - 1)

    def handle_endtag(self, tag: str) -> None:
        if any(self.elements[i][0] == tag for i in self._open):
            while self.elements[self._open.pop()][0] != tag:
                pass

    def handle_data(self, data: str) -> None:
        for i in self._open:
            self.elements[i][2].append(data)

    def texts(self, tag: str, cls: str | None = None) -> list[str]:
        return [
            "".join(t).strip()
            for name, attrs, t in self.elements
            if name == tag and (cls is None or cls in attrs.get("class", "").split())
        ]


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


def test_the_served_report_renders_in_chromium(
    make_app: Callable[..., App],
    chromium: str,
    served: Callable[[func.HttpResponse], str],
    tmp_path: Path,
) -> None:
    app, ids = history(make_app)
    response = call(app, "drift_http_report", f"{BASE}/report")
    assert response.status_code == 200
    url = served(response)

    dumped = browse(chromium, url, tmp_path, "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = Dom(dumped.stdout)
    assert dom.texts("title")[0] == "drift: recent runs"  # then the charts' SVG titles
    assert dom.texts("h1") == ["drift: recent runs"]
    assert "3 run(s)" in dom.texts("p", "muted")
    assert dom.texts("h2") == [f"table {app.table}"]  # failed runs in their table's section
    # The versions table: one row per run, newest first, each naming its instance.
    codes = dom.texts("code")
    assert [c for c in codes if c in ids] == ids[::-1]
    # The terminated run says why; the drifted run shows each group's decision and chart.
    assert dom.texts("p", "bad") == ["run Terminated: stopped by an operator"]
    badges = dom.texts("span", "badge")
    assert badges.count("retrain") >= 3  # churn twice (always), upsell on drift
    assert dom.texts("svg") and any("threshold 0.1" in t for t in dom.texts("svg"))
    assert "Failed" in dom.texts("td", "bad") and "Completed" in dom.texts("td", "ok")
    assert not [e for e in dom.elements if e[0] == "script"]

    shot = tmp_path / "report.png"
    taken = browse(
        chromium, url, tmp_path, f"--screenshot={shot}", f"--window-size={SHOT[0]},{SHOT[1]}"
    )
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert png_size(shot) == SHOT
    keep = os.environ.get("DRIFT_REPORT_SCREENSHOT")  # to look at it: a path to copy it to
    if keep:
        shutil.copyfile(shot, keep)
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
    # A styled page, not a blank one: the background, text, badges and bars in many shades.
    assert len(colours) > 50
    rgb = {c for _, c in colours}
    assert (0xF7, 0xF8, 0xFA) in rgb  # the page background from the inline CSS
    assert (0x2F, 0x85, 0x5A) in rgb  # the green "retrain" badge
