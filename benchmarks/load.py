"""Load test: N concurrent real sessions against a local `panel serve app.py`, as the image runs it.

    python benchmarks/load.py --sessions 60                    # one replica
    python benchmarks/load.py --sessions 60 --against ../optirace-d06a320  # and the streaming design

Each session is what a browser tab does, over a real websocket: GET the page (which runs app.py for
that session), open the Bokeh websocket with the page's token, pull the document, announce
`document_ready` (Panel holds some updates until then), then press Play and move a slider. The
client never builds Bokeh models: it counts the server's messages and reads their JSON only to
find a slider move's answer, so the load generator costs little CPU next to the server it measures
(its own CPU is reported too).

The page plays a race by itself (optirace/figures/player.js): Play sends the server only the
page's `optirace-report` source (step, playing), as the player writes it, and then nothing per
frame. Phases:

1. start the server; warm-up sessions (imports, JIT compiles), closed; wait until Bokeh has
   destroyed them; baseline memory, and the CPU of the server with no session;
2. open N sessions (not playing): memory per idle session, server CPU and messages;
3. Play in every session: server CPU and messages while they play (targets: no message, <= 0.5%
   of a core per session above the server with no session);
4. `--rate` slider moves a second among the playing sessions (the first racer's lr slider, found
   in the pulled document; the PATCH-DOC the browser sends for a keyboard move): the time until
   the server's PATCH-DOC carrying the new `optirace-race` data arrives, p50 and p95 (target:
   p95 <= 500 ms with 0 errors);
5. close every session, wait `--after` seconds: memory against the baseline.

With `--against` a checkout of the design before the player (d06a320, which streamed 20 frames a
second to each playing tab, its Play a button click on the server) runs phases 1-3 first, with
`--against-sessions` sessions: the peer measured in the same run.

Memory is read from /proc for all the server's processes: RSS, and PSS (proportional set size,
which counts pages shared by forked workers once, but also shrinks when unrelated processes map
the same libraries). The per-session figure uses PSS, the after-close target RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

ROOT = Path(__file__).resolve().parents[1]
CMD = [
    "panel",
    "serve",
    "app.py",
    "--liveness",
    "--static-dirs",
    "assets=static",
    "--plugins",
    "optirace.serve_plugin",
]  # the Dockerfile's CMD
DOCUMENT_READY = {"kind": "MessageSent", "msg_type": "bokeh_event",
                  "msg_data": {"type": "event", "name": "document_ready", "values": {"type": "map"}}}  # fmt: skip
PAGE = 4096  # bytes per memory page, for /proc/<pid>/statm


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----- the server and what /proc says about it ---------------------------------------------------
class Server:
    """`python docker/entrypoint.py panel serve app.py ...` on a loopback port, as the image runs it."""

    def __init__(self, procs: int, log_path: Path, cache_dir: Path, root: Path = ROOT) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "PORT": str(self.port),
            "OPTIRACE_ADDRESS": "127.0.0.1",
            "OPTIRACE_NUM_PROCS": str(procs),
            "BOKEH_ALLOW_WS_ORIGIN": f"127.0.0.1:{self.port}",
            "JAX_PLATFORMS": "cpu",
            "JAX_ENABLE_X64": "1",
            "JAX_COMPILATION_CACHE_DIR": str(cache_dir),
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "PYTHONMALLOC": "malloc",  # as the image sets it
            "PYTHONPATH": str(root),  # the tree served is the one imported
        }
        bindir = str(Path(sys.executable).parent)
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [sys.executable, "docker/entrypoint.py", *CMD], cwd=root, env=env,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/liveness", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server did not come up; see {log_path}")
            time.sleep(0.3)

    def pids(self) -> list[int]:
        """The server process and its descendants (the workers of --num-procs)."""
        out, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*"):
                with contextlib.suppress(OSError):
                    todo += [int(c) for c in (task / "children").read_text().split()]
        return out

    def cpu_seconds(self) -> float:
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        return total

    def memory_mb(self) -> dict[str, float]:
        rss = pss = 0
        for pid in self.pids():
            try:
                rss += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
            except OSError:
                continue
        return {"rss": rss / 2**20, "pss": pss / 2**20}

    def destroyed(self) -> int:
        """Sessions the app logged as closed (optirace/app/page.py logs each destroyed session)."""
        return len(re.findall(r"session \S+ destroyed", self.log_path.read_text(errors="replace")))

    def log_errors(self) -> list[str]:
        text = self.log_path.read_text(errors="replace")
        return [line for line in text.splitlines() if "ERROR" in line or "Traceback" in line]

    def tracebacks(self) -> list[str]:
        """Every traceback in the log, whole: the line before it (what Bokeh or Tornado was doing)
        down to the exception's own line, the first line after the frames."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        out = []
        for i, line in enumerate(lines):
            if line.startswith("Traceback"):
                j = i + 1
                while j < len(lines) and (lines[j].startswith(" ") or lines[j].startswith("Traceback")
                                          or lines[j].startswith("During handling")
                                          or lines[j].startswith("The above") or not lines[j]):  # fmt: skip
                    j += 1
                out.append("\n".join(lines[max(0, i - 1) : j + 1]))
        return out

    def stop(self) -> None:
        """Stop the server and its --num-procs workers: they share the process group it leads."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._log.close()


class Fleet:
    """One or more servers on their own ports: the replicas behind the proxy, which keeps each
    session on one replica (sessions are dealt out round-robin here, as cookie affinity does)."""

    def __init__(
        self, servers: int, procs: int, tmp: Path, root: Path = ROOT, logs: Path | None = None
    ) -> None:
        self.servers: list[Server] = []
        logs = logs or tmp
        try:
            for i in range(servers):
                self.servers.append(Server(procs, logs / f"server-{i}.log", tmp / "jax-cache", root))
        except Exception:
            self.stop()
            raise

    @property
    def urls(self) -> list[str]:
        return [s.url for s in self.servers]

    def cpu_seconds(self) -> float:
        return sum(s.cpu_seconds() for s in self.servers)

    def memory_mb(self) -> dict[str, float]:
        parts = [s.memory_mb() for s in self.servers]
        return {k: sum(p[k] for p in parts) for k in ("rss", "pss")}

    def log_errors(self) -> list[str]:
        return [line for s in self.servers for line in s.log_errors()]

    def tracebacks(self) -> list[str]:
        return [t for s in self.servers for t in s.tracebacks()]

    def destroyed(self) -> int:
        return sum(s.destroyed() for s in self.servers)

    def stop(self) -> None:
        for s in self.servers:
            s.stop()


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used (from /proc/stat), to see other load."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# ----- one session, as a browser tab would run it ------------------------------------------------
@dataclass
class Session:
    index: int
    messages: list[float] = field(default_factory=list)  # arrival times of the server's messages
    answers: list[float] = field(default_factory=list)  # slider move -> new race, seconds
    ready_at: float | None = None
    opened_in: float | None = None
    error: str | None = None
    models: dict = field(default_factory=dict)
    pending: float | None = None  # when the unanswered slider move was sent
    moves: int = 0
    ws: object = None  # the session's websocket, once open
    lost: int = 0  # moves the server never answered within the timeout


def _walk(node, out: list) -> None:
    if isinstance(node, dict):
        if node.get("type") == "object" and isinstance(node.get("attributes"), dict):
            out.append(node)
        for v in node.values():
            _walk(v, out)
    elif isinstance(node, list):
        for v in node:
            _walk(v, out)


def find_models(doc_json: str) -> dict:
    """What a session drives, found in the pulled document: the race source (`optirace-race`), the
    player's report source (`optirace-report`, written by the page when the user plays or pauses),
    the Play button (the Button whose css_classes hold 'play') and the first racer's lr slider (the
    first Slider titled 'lr'), with its value, step and range."""
    objects: list = []
    _walk(json.loads(doc_json), objects)
    out: dict = {}
    for node in objects:
        attrs = node["attributes"]
        name = attrs.get("name")
        if name in ("optirace-race", "optirace-report") and name not in out:
            out[name] = node["id"]
        if "play" not in out and "play" in (attrs.get("css_classes") or []):
            out["play"] = node["id"]
        if "lr" not in out and attrs.get("title") == "lr" and "value" in attrs and "step" in attrs:
            out["lr"] = node["id"]
            out["lr_range"] = (attrs.get("start"), attrs.get("end"), attrs["step"], attrs["value"])
    return out


def _changed(model: str, attr: str, new) -> dict:
    return {"kind": "ModelChanged", "model": {"id": model}, "attr": attr, "new": new}


class Client:
    def __init__(self, base: str, query: str, stop: asyncio.Event, timeout: float = 10.0) -> None:
        self.base = base
        self.query = query
        self.stop = stop
        self.timeout = timeout

    async def run(self, s: Session, opening: asyncio.Semaphore, play: asyncio.Event) -> None:
        ws = None
        t0 = time.monotonic()
        try:
            async with opening:
                page = await AsyncHTTPClient().fetch(f"{self.base}/app?{self.query}", request_timeout=300)
                token = re.search(rb'"token":"([^"]+)"', page.body).group(1).decode()
                request = HTTPRequest(self.base.replace("http", "ws", 1) + "/app/ws",
                                      headers={"Origin": self.base}, request_timeout=300)  # fmt: skip
                ws = await websocket_connect(request, subprotocols=["bokeh", token], max_message_size=2**28)
                ack = await self._read(ws)
                if ack[0]["msgtype"] != "ACK":
                    raise RuntimeError(f"expected ACK, got {ack[0]['msgtype']}")
                await self._send(ws, "PULL-DOC-REQ", {})
                while True:
                    header, content = await self._read(ws)
                    if header["msgtype"] == "PULL-DOC-REPLY":
                        s.models = find_models(content)
                        break
                await self._send(ws, "PATCH-DOC", {"events": [DOCUMENT_READY]})
                s.opened_in = time.monotonic() - t0
                s.ready_at = time.monotonic()
            s.ws = ws
            reader = asyncio.create_task(self._count(ws, s))
            # Idle until Play, or until the run closes the session without playing.
            waits = [asyncio.create_task(play.wait()), asyncio.create_task(self.stop.wait())]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                w.cancel()
            if not self.stop.is_set():
                await self._send(ws, "PATCH-DOC", {"events": [self._play_event(s)]})
                await self.stop.wait()
            reader.cancel()
        except Exception as e:  # noqa: BLE001 (every failure is an error of this session, reported)
            s.error = f"{type(e).__name__}: {e}"[:300]
        finally:
            if ws is not None:
                ws.close()

    @staticmethod
    def _play_event(s: Session) -> dict:
        """What the page sends when the user clicks Play. With the player (optirace/figures/player.js)
        the click is handled in the page, which only writes its `optirace-report` source (step,
        playing); before it, the click itself went to the server, which then streamed the frames."""
        if "optirace-report" in s.models:
            return _changed(s.models["optirace-report"], "data",
                            {"type": "map", "entries": [["step", [0]], ["playing", [1]]]})  # fmt: skip
        if "play" not in s.models:
            raise RuntimeError("no Play button and no report source in the document")
        return {"kind": "MessageSent", "msg_type": "bokeh_event", "msg_data": {
            "type": "event", "name": "button_click",
            "values": {"type": "map", "entries": [["model", {"id": s.models["play"]}]]}}}  # fmt: skip

    async def move(self, s: Session) -> None:
        """Move the first racer's lr slider one notch and back on alternate calls, as the keyboard
        does: the browser sends `value` and `value_throttled` (the app listens to both)."""
        start, end, step, value = s.models["lr_range"]
        up = value + step if end is None or value + step <= end else value - step
        new = up if s.moves % 2 == 0 else value
        s.moves += 1
        s.pending = time.monotonic()
        await self._send(ws=s.ws, msgtype="PATCH-DOC", content={"events": [
            _changed(s.models["lr"], "value", new), _changed(s.models["lr"], "value_throttled", new)]})  # fmt: skip

    async def _count(self, ws, s: Session) -> None:
        race = s.models.get("optirace-race")
        while True:
            header, content = await self._read(ws)
            if header is None:
                if not self.stop.is_set():
                    s.error = "websocket closed by the server"
                return
            now = time.monotonic()
            s.messages.append(now)
            # The answer to a slider move: the message that replaces the race source's data.
            if s.pending is not None and header["msgtype"] == "PATCH-DOC" and race and race in content:
                events = json.loads(content).get("events", [])
                if any(e.get("kind") in ("ModelChanged", "ColumnDataChanged") and e.get("attr") == "data"
                       and (e.get("model") or {}).get("id") == race for e in events):  # fmt: skip
                    s.answers.append(now - s.pending)
                    s.pending = None

    @staticmethod
    async def _read(ws):
        """One Bokeh protocol message: header, metadata, content, then (header, payload) per buffer."""
        raw = await ws.read_message()
        if raw is None:
            return None, None
        header = json.loads(raw)
        await ws.read_message()
        content = await ws.read_message()
        for _ in range(2 * header.get("num_buffers", 0)):
            await ws.read_message()
        return header, content

    _msgid = 0
    _locks: dict[int, asyncio.Lock] = {}  # noqa: RUF012 (one lock per socket, shared by the class)

    @classmethod
    async def _send(cls, ws, msgtype: str, content: dict) -> None:
        # A message is three websocket frames: two coroutines writing to one session's socket (its
        # Play and a slider move) must not interleave them, or the server reads a broken message.
        lock = cls._locks.setdefault(id(ws), asyncio.Lock())
        async with lock:
            cls._msgid += 1
            await ws.write_message(json.dumps({"msgid": f"load{cls._msgid}", "msgtype": msgtype}))
            await ws.write_message("{}")
            await ws.write_message(json.dumps(content))


# ----- the phases ------------------------------------------------------------------------------
def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"min": 0.0, "median": 0.0, "mean": 0.0, "max": 0.0}
    return {"min": min(values), "median": statistics.median(values), "mean": statistics.fmean(values),
            "max": max(values)}  # fmt: skip


def _pct(values: list[float], q: float) -> float | None:
    v = sorted(values)
    return v[min(len(v) - 1, round(q / 100 * (len(v) - 1)))] if v else None


async def _open(fleet: Fleet, n: int, query: str, concurrency: int):
    stop, play = asyncio.Event(), asyncio.Event()
    clients = [Client(url, query, stop) for url in fleet.urls]
    sessions = [Session(i) for i in range(n)]
    opening = asyncio.Semaphore(concurrency)
    tasks = [asyncio.create_task(clients[s.index % len(clients)].run(s, opening, play)) for s in sessions]
    while not all(s.ready_at or s.error for s in sessions):
        await asyncio.sleep(0.1)
    return sessions, clients, tasks, stop, play


class Window:
    """Server CPU, load-client CPU, other processes' CPU and the server's messages over a window."""

    def __init__(self, server: Fleet, sessions: list[Session]) -> None:
        self.server, self.sessions = server, sessions
        self.w0, self.c0, self.p0, self.m0 = (
            time.monotonic(),
            server.cpu_seconds(),
            time.process_time(),
            machine_busy_seconds(),
        )

    def close(self) -> dict:
        w1, c1, p1, m1 = (
            time.monotonic(),
            self.server.cpu_seconds(),
            time.process_time(),
            machine_busy_seconds(),
        )
        dt = w1 - self.w0
        n = len(self.sessions)
        per = [sum(self.w0 <= t < w1 for t in s.messages) / dt for s in self.sessions]
        cpu = 100 * (c1 - self.c0) / dt
        return {"seconds": dt, "server_cpu_percent_total": cpu, "server_cpu_percent_per_session": cpu / n,
                "messages_per_s_total": sum(per), "messages_per_s_per_session": _summary(per),
                "client_cpu_percent": 100 * (p1 - self.p0) / dt,
                "other_cpu_percent": 100 * ((m1 - self.m0) - (c1 - self.c0) - (p1 - self.p0)) / dt}  # fmt: skip


async def _drive(
    clients: list[Client], sessions: list[Session], rate: float, seconds: float, timeout: float
) -> int:
    """Slider moves at `rate` per second over all sessions, round-robin, each session with one move
    in flight at most (a move whose answer is late delays that session's next one, as a user waits
    for the race to redraw). Returns the moves that found no session free."""
    live = [s for s in sessions if s.ready_at and not s.error and "lr" in s.models]
    if not live:
        raise RuntimeError("no session has an lr slider")
    busy, k, t0 = 0, 0, time.monotonic()
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
        now = time.monotonic()
        for s in live:  # an unanswered move counts as lost after the timeout
            if s.pending is not None and now - s.pending > timeout:
                s.lost += 1
                s.pending = None
        for _ in range(len(live)):
            s = live[k % len(live)]
            k += 1
            if s.pending is None:
                await clients[s.index % len(clients)].move(s)
                break
        else:
            busy += 1
    deadline = time.monotonic() + timeout
    while any(s.pending is not None for s in live) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for s in live:
        if s.pending is not None:
            s.lost += 1
            s.pending = None
    return busy


async def measure(args, root: Path = ROOT, light: bool = False) -> dict:
    """The phases against a server of tree `root`; `light` stops after the playing window (the peer)."""
    out: dict = {"sessions": args.sessions if not light else args.against_sessions, "servers": args.servers,
                 "procs": args.procs, "seconds": args.seconds, "query": args.query}  # fmt: skip
    n = out["sessions"]
    # The servers' logs outlive the run (its temporary folder does not): a traceback is read, not
    # only counted.
    logs = Path(args.logs or tempfile.mkdtemp(prefix="optirace-load-logs-")) / ("peer" if light else "run")
    logs.mkdir(parents=True, exist_ok=True)
    out["logs"] = str(logs)
    print(f"server logs: {logs}", flush=True)
    with tempfile.TemporaryDirectory(prefix="optirace-load-") as tmp:
        server = Fleet(args.servers, args.procs, Path(tmp), root, logs)
        try:
            out["memory_fresh_mb"] = server.memory_mb()
            # 1. warm-up: imports and compiles happen once per process, not per session.
            sessions, clients, tasks, stop, play = await _open(
                server, 2 * args.servers * max(args.procs, 1), args.query, 4
            )
            play.set()
            await asyncio.sleep(2)
            if not light:
                await _drive(clients, sessions, 2, 3, args.timeout)
            stop.set()
            await asyncio.gather(*tasks)
            print(
                f"warm-up done; waiting {args.destroy_wait:.0f} s for Bokeh to destroy its sessions",
                flush=True,
            )
            await asyncio.sleep(args.destroy_wait)
            base = server.memory_mb()
            out["memory_baseline_mb"] = base
            idle_server = Window(server, [Session(-1)])
            await asyncio.sleep(5)
            out["no_sessions"] = idle_server.close()

            # 2. N idle sessions.
            t = time.monotonic()
            sessions, clients, tasks, stop, play = await _open(server, n, args.query, args.concurrency)
            out["open_all_seconds"] = time.monotonic() - t
            out["open_session_seconds"] = _summary([s.opened_in for s in sessions if s.opened_in])
            await asyncio.sleep(args.idle_settle)
            idle = server.memory_mb()
            out["memory_idle_mb"] = idle
            out["memory_per_idle_session_mb"] = {k: (idle[k] - base[k]) / n for k in idle}
            w = Window(server, sessions)
            await asyncio.sleep(args.seconds)
            out["idle"] = w.close()
            print(f"{n} idle sessions: {out['memory_per_idle_session_mb']['pss']:.1f} MB PSS each; server CPU "
                  f"{out['idle']['server_cpu_percent_total']:.1f}%", flush=True)  # fmt: skip

            # 3. Play in every session (`loop=1`, so a streaming server never stops).
            play.set()
            await asyncio.sleep(args.ramp)
            w = Window(server, sessions)
            await asyncio.sleep(args.seconds)
            out["playing"] = w.close()
            out["memory_playing_mb"] = server.memory_mb()
            out["server_cpu_percent_per_playing_session"] = (
                out["playing"]["server_cpu_percent_total"] - out["no_sessions"]["server_cpu_percent_total"]
            ) / n
            print(f"{n} playing: server messages/s {out['playing']['messages_per_s_total']:.1f}; "
                  f"server CPU {out['playing']['server_cpu_percent_total']:.1f}%", flush=True)  # fmt: skip

            # 4. Slider moves among the playing sessions; each answer is the race's new data.
            if not light:
                for s in sessions:
                    s.answers.clear()
                w = Window(server, sessions)
                out["moves_without_free_session"] = await _drive(clients, sessions, args.rate, args.move_seconds,
                                                                 args.timeout)  # fmt: skip
                out["moving"] = w.close()
                answers = [1000 * a for s in sessions for a in s.answers]
                out["moves_sent"] = sum(s.moves for s in sessions)
                out["moves_answered"] = len(answers)
                out["moves_lost"] = sum(s.lost for s in sessions)
                out["answer_ms"] = {f"p{q}": _pct(answers, q) for q in (50, 95, 99, 100)}
                print(f"slider moves: {len(answers)} answered, p50 {out['answer_ms']['p50'] or float('nan'):.0f} ms, "
                      f"p95 {out['answer_ms']['p95'] or float('nan'):.0f} ms", flush=True)  # fmt: skip
            stop.set()
            await asyncio.gather(*tasks)
            out["session_errors"] = [f"session {s.index}: {s.error}" for s in sessions if s.error]

            # 5. Everything closed: does memory come back?
            if not light:
                print(f"all closed; waiting {args.after:.0f} s", flush=True)
                await asyncio.sleep(args.after)
                after = server.memory_mb()
                out["memory_after_close_mb"] = after
                out["memory_after_vs_baseline_percent"] = {
                    k: 100 * (after[k] - base[k]) / base[k] for k in after
                }
                out["sessions_destroyed"] = server.destroyed()
            out["server_log_errors"] = server.log_errors()[:20]
            out["server_tracebacks"] = server.tracebacks()
        finally:
            server.stop()
    out["errors"] = len(out["session_errors"]) + len(out["server_log_errors"]) + out.get("moves_lost", 0)
    if not light:
        out["targets"] = {
            "playing_messages==0": out["playing"]["messages_per_s_total"] == 0,
            "cpu_per_playing_session<=0.5%": out["server_cpu_percent_per_playing_session"] <= 0.5,
            "answer_p95<=500ms": (out["answer_ms"]["p95"] or 1e9) <= 500,
            "errors==0": out["errors"] == 0,
            "idle_session<=30MB": out["memory_per_idle_session_mb"]["pss"] <= 30,
            "after_close_within_10%": out["memory_after_vs_baseline_percent"]["rss"] <= 10,
        }
    return out


def _window_line(name: str, w: dict) -> str:
    m = w["messages_per_s_per_session"]
    return (f"{name}: server messages/s {w['messages_per_s_total']:.2f} in total (per session max {m['max']:.2f}); "
            f"server CPU {w['server_cpu_percent_total']:.1f}% of a core ({w['server_cpu_percent_per_session']:.3f}% "
            f"per session); load client {w['client_cpu_percent']:.0f}%; other processes {w['other_cpu_percent']:.0f}%")  # fmt: skip


def report(r: dict, peer: dict | None = None) -> str:
    m = r["memory_per_idle_session_mb"]
    lines = [
        f"sessions {r['sessions']}, servers {r['servers']} x {r['procs']} process(es), query ?{r['query']}, "
        f"windows {r['seconds']:.0f} s",
        f"open: all {r['open_all_seconds']:.1f} s; per session median {r['open_session_seconds']['median']:.2f} s, "
        f"max {r['open_session_seconds']['max']:.2f} s",
        _window_line("no session", r["no_sessions"]),
        _window_line(f"{r['sessions']} idle", r["idle"]),
        _window_line(f"{r['sessions']} playing", r["playing"]),
        f"server CPU per playing session, above the server with no session: "
        f"{r['server_cpu_percent_per_playing_session']:.3f}% of a core",
        _window_line(f"{r['sessions']} playing, {r['moves_sent']} slider moves", r["moving"]),
        "slider move -> new race (ms): "
        + ", ".join(f"{k} {v:.0f}" for k, v in r["answer_ms"].items() if v is not None)
        + f"; answered {r['moves_answered']} of {r['moves_sent']}, lost {r['moves_lost']}, "
        f"not sent for want of a free session {r['moves_without_free_session']}",
        f"memory (PSS / RSS, MB): fresh {r['memory_fresh_mb']['pss']:.0f} / {r['memory_fresh_mb']['rss']:.0f}, "
        f"baseline {r['memory_baseline_mb']['pss']:.0f} / {r['memory_baseline_mb']['rss']:.0f}, "
        f"{r['sessions']} idle {r['memory_idle_mb']['pss']:.0f} / {r['memory_idle_mb']['rss']:.0f}, "
        f"playing {r['memory_playing_mb']['pss']:.0f} / {r['memory_playing_mb']['rss']:.0f}, "
        f"after close {r['memory_after_close_mb']['pss']:.0f} / {r['memory_after_close_mb']['rss']:.0f}",
        f"per idle session: {m['pss']:.1f} MB PSS ({m['rss']:.1f} MB RSS); after close vs baseline: "
        f"{r['memory_after_vs_baseline_percent']['rss']:+.1f}% RSS "
        f"({r['memory_after_vs_baseline_percent']['pss']:+.1f}% PSS); sessions destroyed (logged): "
        f"{r['sessions_destroyed']}",
        f"errors: {r['errors']} ({len(r['session_errors'])} session, {len(r['server_log_errors'])} server log, "
        f"{r['moves_lost']} moves unanswered)",
    ]
    if peer:
        n = peer["sessions"]
        ours_cpu, peer_cpu = (
            r["server_cpu_percent_per_playing_session"],
            peer["server_cpu_percent_per_playing_session"],
        )
        lines += [
            f"peer, the tree before the player, same run ({n} sessions, {peer['errors']} errors):",
            "  " + _window_line(f"{n} playing", peer["playing"]),
            f"  server CPU per playing session {peer_cpu:.3f}% vs {ours_cpu:.3f}% here; server messages/s per playing "
            f"session {peer['playing']['messages_per_s_total'] / n:.2f} vs "
            f"{r['playing']['messages_per_s_total'] / r['sessions']:.2f} here",
        ]
    lines.append("targets: " + ", ".join(f"{k} {'PASS' if v else 'MISS'}" for k, v in r["targets"].items()))
    lines += [f"  {e}" for e in r["session_errors"][:5] + r["server_log_errors"][:5]]
    # The distinct tracebacks, each with how often it came (the same one often repeats per session).
    seen: dict[str, int] = {}
    for t in r.get("server_tracebacks", []):
        key = re.sub(r"\b[0-9a-f]{8,}\b|\d{4}-\d\d-\d\d [\d:,.]+", "", t)
        seen[key] = seen.get(key, 0) + 1
    for t, count in seen.items():
        lines += [f"server traceback, {count} time(s):", *("  " + line for line in t.splitlines())]
    lines.append(f"server logs: {r['logs']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=40)
    p.add_argument(
        "--servers", type=int, default=1, help="replicas, each on its own port (sessions dealt round-robin)"
    )
    p.add_argument("--procs", type=int, default=1, help="processes per replica (panel serve --num-procs)")
    p.add_argument("--seconds", type=float, default=10, help="each measurement window (idle, playing)")
    p.add_argument("--query", default="r0=adam:lr=0.02&r1=gd:lr=0.001&loop=1",
                   help="URL parameters of every session")  # fmt: skip
    p.add_argument("--rate", type=float, default=20, help="slider moves per second, over all sessions")
    p.add_argument("--move-seconds", type=float, default=20, help="seconds of slider moves")
    p.add_argument("--timeout", type=float, default=10, help="seconds before a move's answer counts as lost")
    p.add_argument("--concurrency", type=int, default=8, help="sessions opening at the same time")
    p.add_argument("--ramp", type=float, default=3, help="seconds between Play and the window")
    p.add_argument("--idle-settle", type=float, default=10, help="seconds before idle memory is read")
    p.add_argument("--destroy-wait", type=float, default=40,
                   help="seconds for Bokeh to destroy closed sessions (15 s lifetime, checked every 17 s)")  # fmt: skip
    p.add_argument("--after", type=float, default=60, help="seconds after closing before memory is read")
    p.add_argument("--against", type=Path, help="a checkout of the tree before the player: its playing cost")
    p.add_argument("--against-sessions", type=int, default=10, help="sessions for the peer (it streams)")
    p.add_argument("--json", help="write the figures here as JSON")
    p.add_argument("--logs", help="folder for the servers' logs (default: a new temporary folder, printed)")
    args = p.parse_args(argv)
    # A terminated run still stops the servers it started (measure's finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    peer = asyncio.run(measure(args, args.against.resolve(), light=True)) if args.against else None
    result = asyncio.run(measure(args))
    print(report(result, peer))
    if args.json:
        Path(args.json).write_text(json.dumps({"result": result, "peer": peer}, indent=2))
    return 0 if all(result["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
