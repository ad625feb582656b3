"""A served app gives its sessions' memory back once they close (optirace/app/heap.py).

The server runs as the image runs it, on glibc's allocator (PYTHONMALLOC=malloc), and each
session is what a tab does over the websocket (the load benchmark's client, in little): open the
page, pull its document, say it is ready, close. Before the heap was trimmed, the sessions' objects
were freed but the process kept their memory: +22% of the baseline after 12 sessions closed here,
+357% after 200 in benchmarks/load.py.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SESSIONS = 12
DOCUMENT_READY = {"kind": "MessageSent", "msg_type": "bokeh_event",
                  "msg_data": {"type": "event", "name": "document_ready", "values": {"type": "map"}}}  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def _session(base: str) -> None:
    """Open one session as a tab does, then close it."""
    from tornado.httpclient import AsyncHTTPClient, HTTPRequest
    from tornado.websocket import websocket_connect

    page = await AsyncHTTPClient().fetch(f"{base}/app", request_timeout=300)
    token = re.search(rb'"token":"([^"]+)"', page.body).group(1).decode()
    request = HTTPRequest(
        base.replace("http", "ws", 1) + "/app/ws", headers={"Origin": base}, request_timeout=300
    )
    ws = await websocket_connect(request, subprotocols=["bokeh", token], max_message_size=2**28)

    async def read() -> str:
        header = json.loads(await ws.read_message())
        await ws.read_message()  # metadata
        await ws.read_message()  # content
        for _ in range(2 * header.get("num_buffers", 0)):
            await ws.read_message()
        return header["msgtype"]

    async def send(msgtype: str, content: dict) -> None:
        await ws.write_message(json.dumps({"msgid": str(time.monotonic_ns()), "msgtype": msgtype}))
        await ws.write_message("{}")
        await ws.write_message(json.dumps(content))

    try:
        assert await read() == "ACK"
        await send("PULL-DOC-REQ", {})
        while await read() != "PULL-DOC-REPLY":
            pass
        await send("PATCH-DOC", {"events": [DOCUMENT_READY]})
    finally:
        ws.close()


def _run(coroutine) -> None:
    """Run the client on its own thread and event loop: in the whole suite an earlier test may leave
    an event loop running on this thread, where asyncio.run refuses to start another."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


async def _sessions(base: str, n: int) -> None:
    opening = asyncio.Semaphore(4)

    async def one():
        async with opening:
            await _session(base)

    await asyncio.gather(*(one() for _ in range(n)))


def _wait_destroyed(log: Path, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while log.read_text(errors="replace").count("destroyed; nothing of it runs") < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"the server did not destroy {count} sessions; see {log}")
        time.sleep(0.5)
    time.sleep(5)  # the heap is trimmed 2 s after the latest close


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; glibc's allocator")
def test_closed_sessions_give_their_memory_back(tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    env = {**os.environ, "PYTHONMALLOC": "malloc", "JAX_PLATFORMS": "cpu", "JAX_ENABLE_X64": "1",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "panel", "serve", "app.py", "--port", str(port), "--address", "127.0.0.1",
             "--allow-websocket-origin", f"127.0.0.1:{port}", "--liveness", "--static-dirs", "assets=static",
             "--check-unused-sessions", "500", "--unused-session-lifetime", "5000", "--log-level", "info"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{base}/liveness", timeout=2):
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
        # Warm-up: imports and compiles happen once per process, not per session.
        _run(_sessions(base, 2))
        _wait_destroyed(log, 2)
        baseline = _rss_mb(proc.pid)
        _run(_sessions(base, SESSIONS))
        opened = _rss_mb(proc.pid)
        assert opened - baseline > 0.15 * baseline, (
            "the sessions must take memory for the test to mean anything"
        )
        _wait_destroyed(log, 2 + SESSIONS)
        after = _rss_mb(proc.pid)
        assert after - baseline <= 0.10 * baseline, (
            f"resident memory {baseline:.0f} MB before {SESSIONS} sessions, {opened:.0f} MB with them, "
            f"{after:.0f} MB once they closed"
        )
        trims = [line for line in log.read_text().splitlines() if "heap trimmed" in line]
        print("\n".join(trims))  # the collection's and the trim's times, for the record (pytest -s)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
