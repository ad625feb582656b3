"""Load test: N concurrent real sessions against a local `panel serve app.py`, as the image runs it.

    python benchmarks/load.py --sessions 40            # the course target on this machine
    python benchmarks/load.py --sessions 40 --servers 2 # two replicas, as docker-compose.yml runs them

Each session is what a browser tab does, over a real websocket: GET the page (which runs app.py for
that session), open the Bokeh websocket with the page's token, pull the document, announce
`document_ready` (Panel holds some updates until then), and later click the Play button. The
client never builds Bokeh models: it counts the patches the server sends, so the load generator
costs little CPU next to the server it measures (its own CPU is reported too).

A frame is one `ColumnsStreamed` patch of the race's feed source: each animation tick that reveals new
steps streams exactly one. Phases:

1. start the server; warm-up session (imports, JIT compiles), closed; wait until Bokeh has
   destroyed it; baseline memory;
2. open N sessions (not playing): memory per idle session;
3. click Play in every session (`loop=1`, so they never stop): frames/s per session, server CPU;
4. close every session, wait `--after` seconds (60): memory against the baseline.

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
CMD = ["panel", "serve", "app.py", "--liveness", "--static-dirs", "assets=static"]  # the Dockerfile's CMD
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

    def __init__(self, procs: int, log_path: Path, cache_dir: Path) -> None:
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
        }
        bindir = str(Path(sys.executable).parent)
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [sys.executable, "docker/entrypoint.py", *CMD], cwd=ROOT, env=env,
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
        """Sessions the app logged as closed (views/page.py logs each destroyed session)."""
        return self.log_path.read_text(errors="replace").count("closed; its playback callback stopped")

    def log_errors(self) -> list[str]:
        text = self.log_path.read_text(errors="replace")
        return [line for line in text.splitlines() if "ERROR" in line or "Traceback" in line]

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

    def __init__(self, servers: int, procs: int, tmp: Path) -> None:
        self.servers: list[Server] = []
        try:
            for i in range(servers):
                self.servers.append(Server(procs, tmp / f"server-{i}.log", tmp / "jax-cache"))
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
    frames: list[float] = field(default_factory=list)  # arrival times of streamed frames
    ready_at: float | None = None
    opened_in: float | None = None
    error: str | None = None
    closed: bool = False
    play_id: str | None = None


def _find_play_button(doc_json: str) -> str | None:
    """The id of the Play button in a pulled document (the Button whose css_classes hold 'play')."""
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            attrs = node.get("attributes")
            if (
                node.get("type") == "object"
                and isinstance(attrs, dict)
                and "play" in (attrs.get("css_classes") or [])
            ):
                found.append(node["id"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.loads(doc_json))
    return found[0] if found else None


class Client:
    def __init__(self, base: str, query: str, stop: asyncio.Event) -> None:
        self.base = base
        self.query = query
        self.stop = stop

    async def run(self, s: Session, opening: asyncio.Semaphore, click: asyncio.Event) -> None:
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
                        s.play_id = _find_play_button(content)
                        break
                await self._send(ws, "PATCH-DOC", {"events": [DOCUMENT_READY]})
                s.opened_in = time.monotonic() - t0
                s.ready_at = time.monotonic()
            reader = asyncio.create_task(self._count(ws, s))
            # Idle until Play is clicked, or until the run closes the session without playing.
            waits = [asyncio.create_task(click.wait()), asyncio.create_task(self.stop.wait())]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                w.cancel()
            if self.stop.is_set():
                reader.cancel()
                return
            if s.play_id is None:
                raise RuntimeError("no Play button in the document")
            click_event = {"kind": "MessageSent", "msg_type": "bokeh_event", "msg_data": {
                "type": "event", "name": "button_click",
                "values": {"type": "map", "entries": [["model", {"id": s.play_id}]]}}}  # fmt: skip
            await self._send(ws, "PATCH-DOC", {"events": [click_event]})
            await self.stop.wait()
            reader.cancel()
        except Exception as e:  # noqa: BLE001 (every failure is an error of this session, reported)
            s.error = f"{type(e).__name__}: {e}"[:300]
        finally:
            if ws is not None:
                ws.close()

    async def _count(self, ws, s: Session) -> None:
        while True:
            header, content = await self._read(ws)
            if header is None:
                if not self.stop.is_set():
                    s.error = "websocket closed by the server"
                return
            if header["msgtype"] == "PATCH-DOC" and '"ColumnsStreamed"' in content:
                s.frames.append(time.monotonic())

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

    @classmethod
    async def _send(cls, ws, msgtype: str, content: dict) -> None:
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


async def _open(fleet: Fleet, n: int, query: str, concurrency: int):
    stop, click = asyncio.Event(), asyncio.Event()
    clients = [Client(url, query, stop) for url in fleet.urls]
    sessions = [Session(i) for i in range(n)]
    opening = asyncio.Semaphore(concurrency)
    tasks = [asyncio.create_task(clients[s.index % len(clients)].run(s, opening, click)) for s in sessions]
    while not all(s.ready_at or s.error for s in sessions):
        await asyncio.sleep(0.1)
    return sessions, tasks, stop, click


async def measure(args) -> dict:
    out: dict = {
        "sessions": args.sessions,
        "servers": args.servers,
        "procs": args.procs,
        "seconds": args.seconds,
        "query": args.query,
    }
    with tempfile.TemporaryDirectory(prefix="optirace-load-") as tmp:
        server = Fleet(args.servers, args.procs, Path(tmp))
        try:
            out["memory_fresh_mb"] = server.memory_mb()
            # 1. warm-up: imports and compiles happen once per process, not per session.
            sessions, tasks, stop, click = await _open(
                server, 2 * args.servers * max(args.procs, 1), args.query, 4
            )
            click.set()
            await asyncio.sleep(5)
            stop.set()
            await asyncio.gather(*tasks)
            print(
                f"warm-up done; waiting {args.destroy_wait:.0f} s for Bokeh to destroy its sessions",
                flush=True,
            )
            await asyncio.sleep(args.destroy_wait)
            base = server.memory_mb()
            out["memory_baseline_mb"] = base

            # 2. N idle sessions.
            t = time.monotonic()
            sessions, tasks, stop, click = await _open(server, args.sessions, args.query, args.concurrency)
            out["open_all_seconds"] = time.monotonic() - t
            out["open_session_seconds"] = _summary([s.opened_in for s in sessions if s.opened_in])
            await asyncio.sleep(args.idle_settle)
            idle = server.memory_mb()
            c0, w0 = server.cpu_seconds(), time.monotonic()
            await asyncio.sleep(5)
            out["idle_cpu_percent_total"] = 100 * (server.cpu_seconds() - c0) / (time.monotonic() - w0)
            out["memory_idle_mb"] = idle
            out["memory_per_idle_session_mb"] = {k: (idle[k] - base[k]) / args.sessions for k in idle}
            print(f"{args.sessions} idle sessions: {out['memory_per_idle_session_mb']['pss']:.1f} MB PSS each",
                  flush=True)  # fmt: skip

            # 3. Play in every session.
            click.set()
            await asyncio.sleep(args.ramp)
            w0, c0, p0, m0 = (
                time.monotonic(),
                server.cpu_seconds(),
                time.process_time(),
                machine_busy_seconds(),
            )
            profiler = None
            if args.profile:
                profiler = subprocess.Popen(["py-spy", "record", "-p", str(server.servers[0].proc.pid), "-d",
                                             str(int(args.seconds)), "-f", "raw", "-o", args.profile, "-s"],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            await asyncio.sleep(args.seconds)
            w1, c1, p1, m1 = (
                time.monotonic(),
                server.cpu_seconds(),
                time.process_time(),
                machine_busy_seconds(),
            )
            # Whatever else ran on the machine meanwhile (it shares the same cores with the server).
            out["other_cpu_percent"] = 100 * ((m1 - m0) - (c1 - c0) - (p1 - p0)) / (w1 - w0)
            out["memory_playing_mb"] = server.memory_mb()
            fps = [sum(w0 <= f < w1 for f in s.frames) / (w1 - w0) for s in sessions]
            frames = sum(sum(w0 <= f < w1 for f in s.frames) for s in sessions)
            out["fps"] = _summary(fps)
            out["fps_per_session"] = [round(f, 2) for f in fps]
            gaps = sorted(1000 * (b - a) for s in sessions for a, b in zip(s.frames, s.frames[1:], strict=False)
                          if w0 <= a and b < w1)  # fmt: skip
            out["frame_gap_ms"] = {f"p{q}": gaps[min(len(gaps) - 1, len(gaps) * q // 100)] if gaps else None
                                   for q in (10, 50, 90, 99)}  # fmt: skip
            cpu = 100 * (c1 - c0) / (w1 - w0)
            out["server_cpu_percent_total"] = cpu
            out["server_cpu_percent_per_session"] = cpu / args.sessions
            out["server_cpu_ms_per_frame"] = 1000 * (c1 - c0) / frames if frames else None
            out["client_cpu_percent"] = 100 * (p1 - p0) / (w1 - w0)
            stop.set()
            await asyncio.gather(*tasks)
            if profiler is not None:
                profiler.wait()
            out["session_errors"] = [f"session {s.index}: {s.error}" for s in sessions if s.error]
            out["sessions_without_frames"] = sum(f == 0 for f in fps)
            print(f"playing: fps min {out['fps']['min']:.1f} median {out['fps']['median']:.1f}; "
                  f"server CPU {cpu:.0f}%", flush=True)  # fmt: skip

            # 4. Everything closed: does memory come back?
            print(f"all closed; waiting {args.after:.0f} s", flush=True)
            await asyncio.sleep(args.after)
            after = server.memory_mb()
            out["memory_after_close_mb"] = after
            out["memory_after_vs_baseline_percent"] = {k: 100 * (after[k] - base[k]) / base[k] for k in after}
            out["sessions_destroyed"] = server.destroyed()

            # 5. Leak or reuse? The same N sessions again: a leak grows by another N sessions' worth,
            # memory the allocator kept for reuse does not.
            out["later_rounds_after_close_mb"] = []
            for _ in range(args.rounds - 1):
                sessions, tasks, stop, click = await _open(
                    server, args.sessions, args.query, args.concurrency
                )
                await asyncio.sleep(args.idle_settle)
                stop.set()
                await asyncio.gather(*tasks)
                await asyncio.sleep(args.after)
                out["later_rounds_after_close_mb"].append(server.memory_mb())
                print(f"round {len(out['later_rounds_after_close_mb']) + 1} closed: "
                      f"{out['later_rounds_after_close_mb'][-1]['pss']:.0f} MB PSS", flush=True)  # fmt: skip
            out["server_log_errors"] = server.log_errors()[:20]
        finally:
            server.stop()
    out["errors"] = len(out.get("session_errors", [])) + len(out.get("server_log_errors", []))
    out["targets"] = {
        "fps_min>=15": out["fps"]["min"] >= 15,
        "errors==0": out["errors"] == 0 and out["sessions_without_frames"] == 0,
        "idle_session<=30MB": out["memory_per_idle_session_mb"]["pss"] <= 30,
        "after_close_within_10%": out["memory_after_vs_baseline_percent"]["rss"] <= 10,
    }
    return out


def report(r: dict) -> str:
    m = r["memory_per_idle_session_mb"]
    lines = [
        f"sessions {r['sessions']}, servers {r['servers']} x {r['procs']} process(es), query ?{r['query']}, window {r['seconds']:.0f} s",
        f"open: all {r['open_all_seconds']:.1f} s; per session median {r['open_session_seconds']['median']:.2f} s, "
        f"max {r['open_session_seconds']['max']:.2f} s",
        f"frames/s per session: min {r['fps']['min']:.1f}, median {r['fps']['median']:.1f}, "
        f"mean {r['fps']['mean']:.1f}, max {r['fps']['max']:.1f}",
        "gap between frames (ms): "
        + ", ".join(f"{k} {v:.0f}" for k, v in r["frame_gap_ms"].items() if v is not None),
        f"server CPU: {r['server_cpu_percent_total']:.0f}% of one core in total, "
        f"{r['server_cpu_percent_per_session']:.1f}% per session, "
        f"{r['server_cpu_ms_per_frame'] or float('nan'):.2f} ms per frame; idle sessions "
        f"{r['idle_cpu_percent_total']:.0f}% in total; load client {r['client_cpu_percent']:.0f}%; "
        f"other processes on the machine {r['other_cpu_percent']:.0f}%",
        f"memory (PSS / RSS, MB): fresh {r['memory_fresh_mb']['pss']:.0f} / {r['memory_fresh_mb']['rss']:.0f}, "
        f"baseline {r['memory_baseline_mb']['pss']:.0f} / {r['memory_baseline_mb']['rss']:.0f}, "
        f"{r['sessions']} idle {r['memory_idle_mb']['pss']:.0f} / {r['memory_idle_mb']['rss']:.0f}, "
        f"playing {r['memory_playing_mb']['pss']:.0f} / {r['memory_playing_mb']['rss']:.0f}, "
        f"after close {r['memory_after_close_mb']['pss']:.0f} / {r['memory_after_close_mb']['rss']:.0f}",
        f"per idle session: {m['pss']:.1f} MB PSS ({m['rss']:.1f} MB RSS); after close vs baseline: "
        f"{r['memory_after_vs_baseline_percent']['rss']:+.1f}% RSS "
        f"({r['memory_after_vs_baseline_percent']['pss']:+.1f}% PSS)",
        f"sessions destroyed by the server (logged): {r['sessions_destroyed']}"
        + "".join(
            f"; after round {i + 2}: {m['pss']:.0f} MB PSS"
            for i, m in enumerate(r["later_rounds_after_close_mb"])
        ),
        f"errors: {r['errors']} ({len(r['session_errors'])} session, {len(r['server_log_errors'])} server log); "
        f"sessions without frames: {r['sessions_without_frames']}",
        "targets: " + ", ".join(f"{k} {'PASS' if v else 'MISS'}" for k, v in r["targets"].items()),
    ]
    lines += [f"  {e}" for e in r["session_errors"][:5] + r["server_log_errors"][:5]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=40)
    p.add_argument(
        "--servers", type=int, default=1, help="replicas, each on its own port (sessions dealt round-robin)"
    )
    p.add_argument("--procs", type=int, default=1, help="processes per replica (panel serve --num-procs)")
    p.add_argument("--seconds", type=float, default=30, help="measurement window while playing")
    p.add_argument("--query", default="loop=1", help="URL parameters of every session (Play is clicked)")
    p.add_argument("--concurrency", type=int, default=8, help="sessions opening at the same time")
    p.add_argument("--ramp", type=float, default=5, help="seconds between the clicks and the window")
    p.add_argument("--idle-settle", type=float, default=10, help="seconds before idle memory is read")
    p.add_argument("--destroy-wait", type=float, default=40,
                   help="seconds for Bokeh to destroy closed sessions (15 s lifetime, checked every 17 s)")  # fmt: skip
    p.add_argument("--after", type=float, default=60, help="seconds after closing before memory is read")
    p.add_argument("--rounds", type=int, default=1, help="open and close the N idle sessions this many times")
    p.add_argument("--json", help="write the figures here as JSON")
    p.add_argument("--profile", help="py-spy raw profile of the server during the window, to this file")
    args = p.parse_args(argv)
    # A terminated run still stops the servers it started (measure's finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    result = asyncio.run(measure(args))
    print(report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0 if all(result["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
