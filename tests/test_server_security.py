"""The app server's own defences, checked against a real `panel serve app.py` started the way the
image starts it (docker/entrypoint.py + the Dockerfile's CMD and ENV): security headers on every
response, the websocket allow-list enforced for every upgrade (forged Host/Origin pairs included),
and signed sessions. Raw sockets, so every header is exactly what a hostile client would send.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import bokeh
import panel
import pytest
import tornado
from bokeh.util.token import generate_jwt_token, generate_session_id

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deployfile import ROOT, Dockerfile, image_env  # noqa: E402

from optirace import server_security  # noqa: E402

DOCKERFILE = Dockerfile.read()
ARTIFACTS = ROOT / "test-artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(argv: list[str], env: dict, log: Path) -> subprocess.Popen:
    ARTIFACTS.mkdir(exist_ok=True)
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)  # noqa: SIM115
    port = int(env["PORT"])
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/liveness", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"server did not come up: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.3)


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _env(port: int, tmp: Path) -> dict:
    return image_env(DOCKERFILE, PORT=str(port), OPTIRACE_ADDRESS="127.0.0.1",
                     BOKEH_ALLOW_WS_ORIGIN=f"127.0.0.1:{port}", JAX_COMPILATION_CACHE_DIR=str(tmp / "jax"))  # fmt: skip


@pytest.fixture(scope="module")
def image_server(tmp_path_factory):
    """The image's ENTRYPOINT + CMD with its ENV, allowing only 127.0.0.1:PORT; yields the port."""
    port = _free_port()
    argv = [sys.executable, "docker/entrypoint.py", *DOCKERFILE.exec_form("CMD")]
    proc = _start(argv, _env(port, tmp_path_factory.mktemp("srv")), ARTIFACTS / "security-image.log")
    yield port
    _stop(proc)


def _page(port: int, query: str = "") -> tuple[int, dict, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/app{query}", timeout=60) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), ""


def _token(port: int) -> str:
    return re.search(r'"token":"([^"]+)"', _page(port)[2]).group(1)


def _upgrade(port: int, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    """Send a websocket upgrade for /app/ws exactly as given (Host included) over a raw socket;
    return the status and headers of the answer."""
    lines = ["GET /app/ws HTTP/1.1", "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
             f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}",
             *(f"{k}: {v}" for k, v in headers.items())]  # fmt: skip
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    head = data.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
    return int(head[0].split()[1]), fields


def _bokeh(token: str) -> str:
    return f"bokeh, {token}"


# ----- who may connect -----------------------------------------------------------------------------
def test_a_forged_host_and_origin_pair_gets_no_websocket(image_server):
    """DNS rebinding: a hostile page whose name now points here sends Host and Origin that agree
    (and a browser adds Sec-Fetch-Site: same-origin). Tornado would wave that through without
    asking Bokeh's allow-list, which names only 127.0.0.1:PORT."""
    port, token = image_server, _token(image_server)
    forged = {
        "Host": "evil.example",
        "Origin": "http://evil.example",
        "Sec-WebSocket-Protocol": _bokeh(token),
    }
    assert _upgrade(port, forged)[0] == 403
    assert _upgrade(port, {**forged, "Sec-Fetch-Site": "same-origin"})[0] == 403
    same_site = {
        "Host": f"127.0.0.1:{port}",
        "Origin": "http://evil.example",
        "Sec-Fetch-Site": "same-origin",
    }
    assert _upgrade(port, {**same_site, "Sec-WebSocket-Protocol": _bokeh(token)})[0] == 403


def test_the_allowed_origin_connects_and_foreign_origins_do_not(image_server):
    port = image_server
    legit = {"Host": f"127.0.0.1:{port}", "Origin": f"http://127.0.0.1:{port}"}
    assert _upgrade(port, {**legit, "Sec-WebSocket-Protocol": _bokeh(_token(port))})[0] == 101
    foreign = {"Host": f"127.0.0.1:{port}", "Origin": "http://elsewhere.example"}
    assert _upgrade(port, {**foreign, "Sec-WebSocket-Protocol": _bokeh(_token(port))})[0] == 403


def test_without_the_plugin_tornado_still_skips_the_allow_list(tmp_path):
    """Why optirace.serve_plugin exists: a bare `panel serve app.py` answers the forged pair with
    101. When this fails, Tornado or Bokeh check every upgrade themselves, and the patch in
    optirace/server_security.py can go."""
    port = _free_port()
    argv = [sys.executable, "-m", "panel", "serve", "app.py", "--port", str(port), "--address", "127.0.0.1",
            "--allow-websocket-origin", f"127.0.0.1:{port}", "--liveness"]  # fmt: skip
    env = {k: v for k, v in _env(port, tmp_path).items() if k != "BOKEH_ALLOW_WS_ORIGIN"}
    proc = _start(argv, env, ARTIFACTS / "security-bare.log")
    try:
        forged = {
            "Host": "evil.example",
            "Origin": "http://evil.example",
            "Sec-WebSocket-Protocol": _bokeh(_token(port)),
        }
        assert _upgrade(port, forged)[0] == 101
        assert "Content-Security-Policy" not in _page(port)[1]
        # Unsigned sessions take any id a client makes up; the image's signed ones do not (below).
        assert _page(port, "?bokeh-session-id=madeupsessionid0123456789abcdefghijklmno")[0] == 200
    finally:
        _stop(proc)
    assert (
        "security headers and the strict websocket origin check are off"
        in (ARTIFACTS / "security-bare.log").read_text()
    )


def _run(coroutine):
    """Run `coroutine` on a loop of its own thread: tests that ran before may leave this thread's
    event loop set (Panel and Bokeh do), and asyncio.run refuses to start under one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result(60)


async def _first_message(port: int, token: str) -> str | None:
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    request = HTTPRequest(f"ws://127.0.0.1:{port}/app/ws", headers={"Origin": f"http://127.0.0.1:{port}"})
    conn = await websocket_connect(request, subprotocols=["bokeh", token])
    try:
        return await asyncio.wait_for(conn.read_message(), 30)
    finally:
        conn.close()


def test_sessions_are_signed_and_made_up_ids_are_refused(image_server):
    """The entrypoint signs sessions with a per-container key: a page asked for a session id the
    server did not hand out is refused, and so is a websocket token carrying one."""
    port = image_server
    status, _, _ = _page(port, "?bokeh-session-id=madeupsessionid0123456789abcdefghijklmno")
    assert status == 403
    unsigned = generate_jwt_token(generate_session_id(signed=False), signed=False)
    assert _run(_first_message(port, unsigned)) is None  # closed without a word
    assert _run(_first_message(port, _token(port))) is not None  # the page's own token works


# ----- headers -------------------------------------------------------------------------------------
def test_every_response_carries_the_security_headers(image_server):
    port = image_server
    expected = server_security.security_headers({})
    status, headers, _ = _page(port)
    assert status == 200
    for name, value in expected.items():
        assert headers.get(name) == value, name
    assert "frame-ancestors" not in headers["Content-Security-Policy"]  # slides may embed the app
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/js/bokeh.min.js", timeout=30) as r:
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    legit = {"Host": f"127.0.0.1:{port}", "Origin": f"http://127.0.0.1:{port}"}
    status, fields = _upgrade(port, {**legit, "Sec-WebSocket-Protocol": _bokeh(_token(port))})
    assert status == 101 and fields["X-Content-Type-Options"] == "nosniff"


def test_frame_ancestors_come_from_the_environment_and_nothing_else_can():
    csp = server_security.content_security_policy
    assert "frame-ancestors" not in csp({})
    assert csp({"OPTIRACE_FRAME_ANCESTORS": "'self' https://slides.example.org"}).endswith(
        "; frame-ancestors 'self' https://slides.example.org"
    )
    assert csp({"OPTIRACE_FRAME_ANCESTORS": " 'none' "}).endswith("; frame-ancestors 'none'")
    for bad in ("'self'; script-src *", "https://a.example, https://b.example", "'none' 'self'",
                "javascript:alert(1)'", "'unsafe-inline'", "https://a.example\r\nX-Evil: 1"):  # fmt: skip
        with pytest.raises(ValueError, match="OPTIRACE_FRAME_ANCESTORS"):
            csp({"OPTIRACE_FRAME_ANCESTORS": bad})


def test_the_patch_is_checked_against_these_library_versions():
    """optirace/server_security.py replaces handler classes in Bokeh's route tables, as Panel does
    for its own. Re-check it (and the CSP in tests/browser/test_security_headers.py) when this fails."""
    assert {
        "panel": panel.__version__,
        "bokeh": bokeh.__version__,
        "tornado": tornado.version,
    } == server_security.TESTED
