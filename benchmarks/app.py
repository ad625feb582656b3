"""Web-app figures, measured in real headless Chromium against a real `panel serve`.

    python benchmarks/app.py

Prints: time to the first drawn race (cold server, warm server); slider-to-redrawn-trajectory
latency (median, p95); frames per second the server sends and the browser paints while 8 racers
animate; server CPU per animating session; and, as the peer measured in the same run, the bytes a frame costs when
streamed against the bytes of re-sending the drawn race every frame.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("OPTIRACE_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]  # fmt: skip
EIGHT = "&".join(
    f"r{i}={r}"
    for i, r in enumerate(["gd:lr=0.001", "sgd:lr=0.001,momentum=0.9", "nag:lr=0.001", "adam:lr=0.02",
                           "rmsprop:lr=0.01", "adagrad:lr=0.1", "lion:lr=0.01", "nadam:lr=0.02"])
)  # fmt: skip

# JS: counters on the race's drawn tail (views/trajectories.py): `updates` counts its changes (rows
# the browser reveals from the server's frames, views/reveal.py, or a replacement from the server),
# `painted` the animation frames the browser painted with new rows since the last one (what a
# viewer sees), `frames` every animation frame, `fed` the server's frames (streams into the feed);
# `changed` is the time of the latest update and `shown` of the paint that showed it.
INSTRUMENT = """() => {
  let src = null, feed = null;
  for (const m of Bokeh.documents[0].all_models) {
    if (m.constructor.__name__ === 'ColumnDataSource' && m.name === 'race') src = m;
    if (m.constructor.__name__ === 'ColumnDataSource' && m.name === 'race-feed') feed = m;
  }
  const b = window.__bench = {changed: 0, shown: 0, updates: 0, frames: 0, painted: 0, fed: 0, fresh: false};
  feed.streaming.connect(() => { b.fed += 1; });
  const hit = () => { b.updates += 1; b.fresh = true; b.changed = performance.now(); };
  src.properties.data.change.connect(hit);
  src.streaming.connect(hit);
  // Bokeh paints in an animation frame: the first one after a change shows it.
  const tick = () => { b.frames += 1; if (b.fresh) { b.painted += 1; b.fresh = false; b.shown = performance.now(); }
                       requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  return true;
}"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "panel", "serve", "app.py", "--port", str(port), "--address", "127.0.0.1",
         "--allow-websocket-origin", f"127.0.0.1:{port}", "--liveness", "--static-dirs", "assets=static",
         # A closed tab's session is destroyed within about 1.5 s (Bokeh's default is up to 32 s), so
         # that clean-up, and the heap trim after it, never lands in a window timing another session.
         "--check-unused-sessions", "500", "--unused-session-lifetime", "1000"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONMALLOC": "malloc"},  # as scripts/run.sh and the image run it
    )  # fmt: skip
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/liveness", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("panel serve did not start")


def _retire(page) -> None:
    """Close the tab's session and wait out its destruction and the heap trim 2 s after it, so the
    next CPU window counts only the session it times."""
    page.goto("about:blank")
    time.sleep(4.5)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _open(page, url: str) -> float:
    t0 = time.perf_counter()
    page.goto(url)
    page.locator("[data-ready]").wait_for(state="attached", timeout=120_000)
    page.wait_for_function(
        "() => [...Bokeh.documents[0].all_models].some(m => m.constructor.__name__ === 'ColumnDataSource'"
        " && (m.data instanceof Map ? m.data.has('x0') : 'x0' in m.data))"
    )
    return time.perf_counter() - t0


def main() -> None:
    from playwright.sync_api import sync_playwright

    port = _port()
    base = f"http://127.0.0.1:{port}/app"
    t_spawn = time.perf_counter()
    proc = _serve(port)
    server_up = time.perf_counter() - t_spawn
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            cold = _open(page, base)
            warm = statistics.median(_open(page, base) for _ in range(3))
            rows += [("first race drawn, cold server (s)", cold, "<= 3 warm", None),
                     ("first race drawn, warm server (s)", warm, "<= 3", warm <= 3.0)]  # fmt: skip

            # Slider -> redrawn trajectory: drag the first racer's lr by a few pixels, time until the
            # browser paints the recomputed race.
            _open(page, f"{base}?r0=gd:lr=0.001&r1=adam:lr=0.02")
            page.evaluate(INSTRUMENT)
            handle = page.locator(".racer-card .noUi-handle").first
            handle.scroll_into_view_if_needed()
            lat, skipped = [], 0
            for i in range(30):
                box = handle.bounding_box()
                x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
                page.mouse.move(x, y)
                page.mouse.down()
                t0 = page.evaluate("performance.now()")
                page.mouse.move(x + (10 if i % 2 == 0 else -10), y, steps=2)
                try:
                    page.wait_for_function(f"() => window.__bench.changed > {t0} && window.__bench.shown > window.__bench.changed",
                                           timeout=5_000)  # fmt: skip
                    lat.append(page.evaluate("window.__bench.shown") - t0)
                except Exception:
                    # A drag that lands on the value the slider already had changes nothing: skip it.
                    skipped += 1
                page.mouse.up()
                page.wait_for_timeout(400)
            lat.sort()
            med, p95 = statistics.median(lat), lat[int(0.95 * (len(lat) - 1))]
            rows += [("slider -> redraw, median (ms)", med, "<= 150", med <= 150),
                     ("slider -> redraw, p95 (ms)", p95, "", None),
                     ("  drags timed (of 30; others moved nothing)", float(len(lat)), "", None)]  # fmt: skip

            # 8 racers x 5000 steps animating: early in the race (short paths), then late (~3000-4700
            # drawn rows per line, the browser's worst case). Frames that reach the browser, frames it
            # paints with new rows, and the server's CPU beyond its idle rate.
            _retire(page)
            idle0, t_idle = _cpu_seconds(proc.pid), time.perf_counter()
            time.sleep(3)
            idle = (_cpu_seconds(proc.pid) - idle0) / (time.perf_counter() - t_idle)
            # Bytes the page receives on its websocket (a message is several websocket frames).
            received: list[int] = []
            cdp = page.context.new_cdp_session(page)
            cdp.send("Network.enable")
            # Binary frames arrive base64-encoded: 4 characters per 3 bytes.
            cdp.on("Network.webSocketFrameReceived", lambda e: received.append(
                len(e["response"]["payloadData"]) * (0.75 if e["response"]["opcode"] == 2 else 1)))  # fmt: skip
            for label, speed, skip in (("early", 120, 1.0), ("late", 300, 10.0)):
                _retire(page)
                _open(page, f"{base}?{EIGHT}&steps=5000&speed={speed}&play=1")
                page.evaluate(INSTRUMENT)
                page.wait_for_timeout(skip * 1000)
                s0 = page.evaluate("[window.__bench.fed, window.__bench.painted]")
                c0, t0 = _cpu_seconds(proc.pid), time.perf_counter()
                received.clear()
                page.wait_for_timeout(5500)
                s1 = page.evaluate("[window.__bench.fed, window.__bench.painted]")
                ws_bytes = sum(received)
                dt = time.perf_counter() - t0
                cpu = (_cpu_seconds(proc.pid) - c0) / dt - idle
                fps, painted = (s1[0] - s0[0]) / dt, (s1[1] - s0[1]) / dt
                ws_frames = s1[0] - s0[0]
                what = f"8 racers, {label} in the race"
                rows += [(f"server frames/s reaching the browser, {what}", fps, "", None),
                         (f"frames/s painted with new rows, {what}", painted, ">= 30", painted >= 30),
                         (f"server CPU per animating session, {what} (% core)", 100 * cpu, "<= 5", 100 * cpu <= 5)]  # fmt: skip

            # Peer: the bytes a frame costs when streamed (measured on the websocket over the late
            # window), against re-sending the rows drawn so far as binary float64 columns.
            n_cols, n_rows = page.evaluate(
                """() => { const live = [...Bokeh.documents[0].all_models].find(m => m.name === 'race');
                   const col = k => (live.data instanceof Map ? live.data.get(k) : live.data[k]);
                   const keys = live.data instanceof Map ? [...live.data.keys()] : Object.keys(live.data);
                   const step = col('step');
                   return [keys.length, step.length ? step[step.length - 1] + 1 : 0]; }"""
            )  # every column of rows 0..k, the race shown so far
            full_bytes = n_cols * 8 * n_rows
            per_frame = ws_bytes / ws_frames if ws_frames and ws_bytes else float("nan")
            rows += [("bytes per server frame on the websocket, late (mean)", per_frame, "", None),
                     ("  re-sending the drawn race instead (ratio)", full_bytes / per_frame, "", None)]  # fmt: skip
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)

    print(f"panel serve up in {server_up:.1f} s (not counted: process start)")
    print(f"{'figure':50s} {'value':>10s}  {'target':>8s}  result")
    for name, value, target, ok in rows:
        verdict = "" if ok is None else ("PASS" if ok else "MISS")
        print(f"{name:50s} {value:10.2f}  {target:>8s}  {verdict}")


if __name__ == "__main__":
    main()
