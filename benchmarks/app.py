"""Web-app figures, measured in real headless Chromium against a real `panel serve`.

    python benchmarks/app.py

Prints: time to the first drawn race (cold server, warm server); slider-to-redrawn-trajectory
latency (median, p95); frames per second delivered to the browser while 8 racers animate; server
CPU per animating session; and, as the peer measured in the same run, the bytes a frame costs when
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

# JS: counters on the race's live source (views/trajectories.py): `updates` counts the frames that
# reach it (a stream, or at a chunk boundary a replacement), `painted` the animation frames the
# browser painted with new rows since the last one (what a viewer sees), `frames` every animation
# frame, `changed` the time of the latest update.
INSTRUMENT = """() => {
  let src = null;
  for (const m of Bokeh.documents[0].all_models) {
    if (m.constructor.__name__ === 'ColumnDataSource' && m.name === 'race') src = m;
  }
  const b = window.__bench = {changed: 0, updates: 0, frames: 0, painted: 0, fresh: false};
  const hit = () => { b.updates += 1; b.fresh = true; b.changed = performance.now(); };
  src.properties.data.change.connect(hit);
  src.streaming.connect(hit);
  const tick = () => { b.frames += 1; if (b.fresh) { b.painted += 1; b.fresh = false; } requestAnimationFrame(tick); };
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
         "--allow-websocket-origin", f"127.0.0.1:{port}", "--liveness", "--static-dirs", "assets=static"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/liveness", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("panel serve did not start")


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
            # browser's race source changes.
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
                    page.wait_for_function(f"() => window.__bench.changed > {t0}", timeout=5_000)
                    lat.append(page.evaluate("window.__bench.changed") - t0)
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

            # 8 racers animating: stream updates reaching the browser per second, and server CPU.
            idle0, t_idle = _cpu_seconds(proc.pid), time.perf_counter()
            time.sleep(3)
            idle = (_cpu_seconds(proc.pid) - idle0) / (time.perf_counter() - t_idle)
            _open(page, f"{base}?{EIGHT}&steps=5000&speed=120&play=1&loop=1")
            page.evaluate(INSTRUMENT)
            page.wait_for_timeout(1000)
            s0 = page.evaluate("[window.__bench.streams, window.__bench.frames]")
            c0, t0 = _cpu_seconds(proc.pid), time.perf_counter()
            page.wait_for_timeout(6000)
            s1 = page.evaluate("[window.__bench.streams, window.__bench.frames]")
            dt = time.perf_counter() - t0
            cpu = (_cpu_seconds(proc.pid) - c0) / dt - idle
            fps = (s1[0] - s0[0]) / dt
            raf = (s1[1] - s0[1]) / dt
            rows += [("frames/s streamed, 8 racers (browser)", fps, ">= 30", fps >= 30),
                     ("browser paint rate while animating (Hz)", raf, "", None),
                     ("server CPU per animating session (% of a core)", 100 * cpu, "<= 5", 100 * cpu <= 5)]  # fmt: skip

            # Peer: what a frame costs when streamed vs re-sending the race drawn so far.
            data = page.evaluate(
                """() => { for (const m of Bokeh.documents[0].all_models) { if (m.constructor.__name__ !== 'ColumnDataSource') continue;
                   const d = m.data; const has = k => d instanceof Map ? d.has(k) : k in d; if (!has('x0') || !has('step')) continue;
                   const keys = d instanceof Map ? [...d.keys()] : Object.keys(d); const n = (d instanceof Map ? d.get('step') : d['step']).length;
                   return [keys.length, n]; } }"""
            )
            n_cols, n_rows = data
            per_step = n_cols * 8  # float64 columns
            stream_bytes = per_step * (120 / max(fps, 1e-9))  # steps revealed per frame
            full_bytes = per_step * n_rows
            rows.append(("bytes/frame streamed vs full re-send (ratio)", full_bytes / stream_bytes, "", None))
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
