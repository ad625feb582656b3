"""Web-app figures, measured in real headless Chromium against a real `panel serve`.

    python benchmarks/app.py
    python benchmarks/app.py --against ../optirace-d06a320   # and the design before the player

The server sends a race to the page once, when it changes (the `optirace-race` and `optirace-racers`
sources); the page plays it (optirace/figures/player.js). Prints: server messages per second while
a race plays (websocket frames the page receives) and the server's CPU per animating session,
against the checkout given with --against (the design that streamed a frame 20 times a second)
measured in the same run; the warm first race drawn; slider -> redrawn race (median, p95); frames
per second the browser paints with a new step, 8 racers x 5000 steps, early and late in the race;
and Add racer -> the new racer drawn. `--painting` measures only the painting windows, of this
tree and of each checkout given with `--painting-against`, one after the other in the same run.
`--canvas` repeats the painting windows with the figures on a
2D canvas instead of WebGL (a diagnostic: HoloViews draws Bokeh figures with WebGL by default).
The player caps a frame's advance at 0.25 s of playback, so when the page paints slowly the "late"
window starts earlier in the race than at full speed: the step reached is printed.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
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
READY = "() => !!(window.__optirace && window.__optirace.ready)"

# JS: counters on the player (optirace/figures/player.js). `frames` counts animation frames,
# `painted` those in which the player's step had changed since the previous one (a new picture
# for the viewer); `raceAt` / `racersAt` are the times the page's `optirace-race` / `optirace-racers`
# data last changed (the server sends `racers` last, and its change makes the player draw), and
# `shownAt` the first animation frame after that.
INSTRUMENT = """() => {
  const b = window.__bench = {frames: 0, painted: 0, raceAt: 0, racersAt: 0, shownAt: 0, fresh: false};
  const hook = (name, key) => {
    for (const m of Bokeh.documents[0].all_models)
      if (m.name === name) m.properties.data.change.connect(() => {
        b[key] = performance.now(); if (key === 'racersAt') b.fresh = true; });
  };
  hook('optirace-race', 'raceAt');
  hook('optirace-racers', 'racersAt');
  let last = window.__optirace.player.step;
  const tick = () => {
    b.frames += 1;
    const step = window.__optirace.player.step;
    if (step !== last) { b.painted += 1; last = step; }
    if (b.fresh) { b.fresh = false; b.shownAt = performance.now(); }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  return true;
}"""

# JS: how many points the path layer of palette slot `slot` holds (figures/tags.py), or -1.
PATH_POINTS = """(slot) => {
  for (const m of window.__optirace.player.args.targets) for (const t of (m.tags || [])) {
    if (typeof t !== 'string' || !t.startsWith('optirace:path:' + slot + ':')) continue;
    const [, , , fx] = t.split(':');
    const d = m.data_source.data, x = d instanceof Map ? d.get(fx) : d[fx];
    return fx === 'xs' ? (x.length ? x[0].length : 0) : x.length;
  }
  return -1;
}"""
SLOTS = """() => { const r = window.__optirace.player.args.racers;
  return Array.from(r.data instanceof Map ? r.data.get('slot') : r.data.slot); }"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# A diagnostic: the figures drawn on a 2D canvas instead of WebGL (HoloViews' Bokeh renderer draws
# with WebGL by default; in a browser without a GPU, as here, WebGL is emulated on the CPU).
CANVAS = """import holoviews.plotting.bokeh  # noqa: F401
from holoviews.plotting.bokeh.renderer import BokehRenderer
BokehRenderer.webgl = False
"""


def _serve(root: Path, port: int, canvas: Path | None = None) -> subprocess.Popen:
    path = str(root) if canvas is None else os.pathsep.join([str(canvas), str(root)])
    proc = subprocess.Popen(
        [sys.executable, "-m", "panel", "serve", "app.py", "--port", str(port), "--address", "127.0.0.1",
         "--allow-websocket-origin", f"127.0.0.1:{port}", "--liveness", "--static-dirs", "assets=static",
         "--plugins", "optirace.serve_plugin",
         # A closed tab's session is destroyed within about 1.5 s (Bokeh's default is up to 32 s), so
         # that clean-up, and the heap trim after it, never lands in a window timing another session.
         "--check-unused-sessions", "500", "--unused-session-lifetime", "1000"],
        cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        # The tree served is the one imported; glibc's allocator as scripts/run.sh and the image run it.
        env={**os.environ, "PYTHONPATH": path, "PYTHONMALLOC": "malloc"},
    )  # fmt: skip
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/liveness", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
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
    """Open the page; seconds until the player has drawn the race."""
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_function(READY, timeout=120_000)
    elapsed = time.perf_counter() - t0
    page.locator("[data-ready]").wait_for(state="attached", timeout=120_000)  # the websocket is live
    return elapsed


def _open_any(page, url: str) -> None:
    """Open a page of either design: the player's ready flag, or (the streaming design) its
    websocket marker and then a few seconds for the race to arrive."""
    page.goto(url)
    page.locator("[data-ready]").wait_for(state="attached", timeout=120_000)
    try:
        page.wait_for_function(READY, timeout=3_000)
    except Exception:  # noqa: BLE001 (the streaming design has no player to wait for)
        page.wait_for_timeout(3_000)


class Socket:
    """Websocket frames the page receives from the server (Chrome's DevTools protocol)."""

    def __init__(self, page) -> None:
        self.frames: list[float] = []
        self.bytes = 0.0
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on("Network.webSocketFrameReceived", self._on)

    def _on(self, e) -> None:
        self.frames.append(time.perf_counter())
        # Binary frames arrive base64-encoded: 4 characters per 3 bytes.
        self.bytes += len(e["response"]["payloadData"]) * (0.75 if e["response"]["opcode"] == 2 else 1)

    def reset(self) -> None:
        self.frames.clear()
        self.bytes = 0.0


def _idle_rate(pid: int, seconds: float = 3.0) -> float:
    c0, t0 = _cpu_seconds(pid), time.perf_counter()
    time.sleep(seconds)
    return (_cpu_seconds(pid) - c0) / (time.perf_counter() - t0)


def streaming_cost(browser, root: Path, window: float = 8.0) -> dict:
    """One tab playing the 8-racer race on a server of tree `root`: the server's messages (websocket
    frames the page receives) per second and its CPU above its idle rate, over `window` seconds."""
    port = _port()
    proc = _serve(root, port)
    base = f"http://127.0.0.1:{port}/app"
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        _open_any(page, base)  # imports, compiles, the first page: not counted
        _retire(page)
        time.sleep(3)
        idle = _idle_rate(proc.pid, 5)
        ws = Socket(page)
        _open_any(page, f"{base}?{EIGHT}&steps=5000&speed=120&play=1")
        page.wait_for_timeout(1500)
        ws.reset()
        c0, t0 = _cpu_seconds(proc.pid), time.perf_counter()
        page.wait_for_timeout(window * 1000)
        dt = time.perf_counter() - t0
        busy = (_cpu_seconds(proc.pid) - c0) / dt
        messages, sent = len(ws.frames) / dt, ws.bytes / dt
        # The idle rate again once the tab has closed: the lower of the two is the server's own.
        _retire(page)
        time.sleep(3)
        idle = min(idle, _idle_rate(proc.pid, 5))
        page.close()
        return {"messages": messages, "bytes": sent, "cpu": 100 * (busy - idle), "idle": 100 * idle}
    finally:
        proc.terminate()
        proc.wait(10)


def _lr_handle(page):
    """The first racer's lr slider handle (its card's first slider is the optimizer's lr)."""
    card = page.locator(".racer-card").first
    handle = card.locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    return handle


def slider_latency(page, base: str, moves: int) -> tuple[list[float], list[float]]:
    """Keyboard moves of the first racer's lr slider: ms until the page's race data changes, and
    until the first animation frame after the new race reached the player."""
    _open(page, f"{base}?r0=adam:lr=0.02&r1=gd:lr=0.001")
    page.evaluate(INSTRUMENT)
    handle = _lr_handle(page)
    handle.focus()
    data, shown = [], []
    for i in range(moves):
        t0 = page.evaluate("performance.now()")
        handle.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        page.wait_for_function(f"() => window.__bench.shownAt > {t0} && window.__bench.raceAt > {t0}",
                               timeout=10_000)  # fmt: skip
        at = page.evaluate("[window.__bench.raceAt, window.__bench.shownAt]")
        data.append(at[0] - t0)
        shown.append(at[1] - t0)
        page.wait_for_timeout(300)
    return data, shown


def painted(page, base: str, speed: int, skip: float, window: float = 5.5) -> tuple[float, float, int]:
    """8 racers x 5000 steps playing at `speed` steps/s: animation frames per second in which the
    step changed, all animation frames per second, and the step at the end of the window."""
    _open(page, f"{base}?{EIGHT}&steps=5000&speed={speed}&play=1")
    page.evaluate(INSTRUMENT)
    page.wait_for_timeout(skip * 1000)
    s0 = page.evaluate("[window.__bench.painted, window.__bench.frames]")
    t0 = time.perf_counter()
    page.wait_for_timeout(window * 1000)
    s1 = page.evaluate("[window.__bench.painted, window.__bench.frames, window.__optirace.player.step]")
    dt = time.perf_counter() - t0
    return (s1[0] - s0[0]) / dt, (s1[1] - s0[1]) / dt, int(s1[2])


PAINTING = (("early", 120, 1.0, 50), ("late", 300, 10.0, 40))  # window, speed (steps/s), skip (s), target


def painting_rows(browser, root: Path, name: str) -> list[tuple[str, float, str, bool | None]]:
    """The two painting windows on a server of tree `root` (its first page, compiles and imports,
    is not timed)."""
    port = _port()
    proc = _serve(root, port)
    base = f"http://127.0.0.1:{port}/app"
    rows: list[tuple[str, float, str, bool | None]] = []
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.set_default_navigation_timeout(180_000)  # the first page compiles the racers' programs
        _open(page, f"{base}?{EIGHT}&steps=5000")
        for label, speed, skip, target in PAINTING:
            _retire(page)
            fps, frames, step = painted(page, base, speed, skip)
            rows += [(f"{name}: frames/s painted with a new step, {label}", fps, f">= {target}", fps >= target),
                     (f"  animation frames/s, {label} (step {step} at the end)", frames, "", None)]  # fmt: skip
        page.close()
    finally:
        proc.terminate()
        proc.wait(60)
    return rows


def add_racer(page, base: str, repeat: int) -> list[float]:
    """Click Add racer: seconds until the new racer's path layer holds its points."""
    out = []
    for _ in range(repeat):
        _open(page, f"{base}?r0=adam:lr=0.02&r1=gd:lr=0.001")
        before = page.evaluate(SLOTS)
        button = page.get_by_role("button", name="Add racer")
        button.scroll_into_view_if_needed()
        t0 = time.perf_counter()
        button.click()
        page.wait_for_function(
            f"() => {{ const s = ({SLOTS})(); return s.length > {len(before)} && ({PATH_POINTS})(s[s.length - 1]) > 0; }}",
            timeout=30_000,
        )
        out.append(time.perf_counter() - t0)
    return out


def _p95(values: list[float]) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, round(0.95 * (len(v) - 1)))]


def main(argv: list[str] | None = None) -> None:
    from playwright.sync_api import sync_playwright

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--against", type=Path, help="a checkout of the design before the player, for the A/B")
    p.add_argument("--moves", type=int, default=30, help="slider moves timed")
    p.add_argument("--canvas", action="store_true",
                   help="also measure painting with the figures on a 2D canvas instead of WebGL (diagnostic)")  # fmt: skip
    p.add_argument("--painting", action="store_true", help="measure only the painting windows")
    p.add_argument("--painting-against", type=Path, action="append", default=[],
                   help="a checkout whose painting windows are measured too, in the same run (repeatable)")  # fmt: skip
    args = p.parse_args(argv)

    if args.painting:
        from playwright.sync_api import sync_playwright as run

        with run() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            rows = painting_rows(browser, ROOT, "this tree")
            for other in args.painting_against:
                rows += painting_rows(browser, other.resolve(), other.resolve().name)
            browser.close()
        print(f"{'figure':64s} {'value':>10s}  {'target':>8s}  result")
        for name, value, target, ok in rows:
            verdict = "" if ok is None else ("PASS" if ok else "MISS")
            print(f"{name:64s} {value:10.2f}  {target:>8s}  {verdict}")
        return

    rows: list[tuple[str, float, str, bool | None]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # Server messages and CPU while one tab plays: this tree, and the peer in the same minutes.
        ours = streaming_cost(browser, ROOT)
        peer = streaming_cost(browser, args.against.resolve()) if args.against else None
        rows += [
            ("server messages/s while a race plays (ws frames)", ours["messages"], "0", ours["messages"] == 0)
        ]
        if peer:
            rows += [("  before the player, same run", peer["messages"], "", None)]
        rows += [("server bytes/s while a race plays", ours["bytes"], "", None)]
        if peer:
            rows += [("  before the player, same run", peer["bytes"], "", None)]
        rows += [("server CPU per animating session (% core)", ours["cpu"], "<= 0.5", ours["cpu"] <= 0.5)]
        if peer:
            rows += [("  before the player, same run", peer["cpu"], "", None)]
        rows += [("server CPU with no session (% core)", ours["idle"], "", None)]
        if peer:
            rows += [("  before the player, same run", peer["idle"], "", None)]

        port = _port()
        base = f"http://127.0.0.1:{port}/app"
        t_spawn = time.perf_counter()
        proc = _serve(ROOT, port)
        server_up = time.perf_counter() - t_spawn
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            cold = _open(page, base)
            second = _open(page, base)
            warm = [second, _open(page, base), _open(page, base)]
            rows += [("first race drawn, cold server (s)", cold, "", None),
                     ("first race drawn, second session (s)", second, "<= 2", second <= 2.0),
                     ("first race drawn, warm, median of 3 (s)", statistics.median(warm), "<= 2",
                      statistics.median(warm) <= 2.0)]  # fmt: skip

            data, shown = slider_latency(page, base, args.moves)
            med, p95 = statistics.median(data), _p95(data)
            rows += [("slider -> race data changed, median (ms)", med, "<= 100", med <= 100),
                     ("slider -> race data changed, p95 (ms)", p95, "<= 100", p95 <= 100),
                     ("slider -> next frame after the new race, median (ms)", statistics.median(shown), "", None),
                     ("slider -> next frame after the new race, p95 (ms)", _p95(shown), "", None)]  # fmt: skip

            for label, speed, skip, target in PAINTING:
                _retire(page)
                fps, frames, step = painted(page, base, speed, skip)
                rows += [(f"frames/s painted with a new step, {label}", fps, f">= {target}", fps >= target),
                         (f"  animation frames/s, {label} (step {step} at the end)", frames, "", None)]  # fmt: skip

            if args.canvas:
                # The same two windows on a server whose figures draw on a 2D canvas (see CANVAS).
                with tempfile.TemporaryDirectory(prefix="optirace-canvas-") as tmp:
                    (Path(tmp) / "sitecustomize.py").write_text(CANVAS)
                    cport = _port()
                    cproc = _serve(ROOT, cport, Path(tmp))
                    try:
                        cbase = f"http://127.0.0.1:{cport}/app"
                        _open(page, cbase)
                        for label, speed, skip in (("early", 120, 1.0), ("late", 300, 10.0)):
                            _retire(page)
                            fps, frames, step = painted(page, cbase, speed, skip)
                            rows += [
                                (f"  diagnostic, figures on a 2D canvas: painted/s, {label}", fps, "", None)
                            ]
                    finally:
                        cproc.terminate()
                        cproc.wait(10)

            added = add_racer(page, base, 3)
            rows += [("add a racer -> drawn, median of 3 (s)", statistics.median(added), "<= 1",
                      statistics.median(added) <= 1.0),
                     ("add a racer -> drawn, slowest of 3 (s)", max(added), "", None)]  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(10)
        browser.close()

    print(f"panel serve up in {server_up:.1f} s (not counted: process start)")
    print(f"{'figure':56s} {'value':>10s}  {'target':>8s}  result")
    for name, value, target, ok in rows:
        verdict = "" if ok is None else ("PASS" if ok else "MISS")
        print(f"{name:56s} {value:10.2f}  {target:>8s}  {verdict}")
    if peer:
        # A ratio against zero is no number: say what each side did.
        print(f"before / player, same run: server messages/s {peer['messages']:.1f} / {ours['messages']:.1f}; "
              f"server CPU per animating session {peer['cpu']:.2f}% / {ours['cpu']:.2f}% of a core")  # fmt: skip


if __name__ == "__main__":
    main()
