"""A real `panel serve app.py` and real headless Chromium (Debian's), shared by the browser tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("OPTIRACE_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server_log() -> Path:
    return ARTIFACTS / "panel-serve.log"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test shows the end of the server logs it wrote to (CI keeps only the output)."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when != "call" or not rep.failed or not ARTIFACTS.is_dir():
        return
    started = time.time() - call.duration - 1
    for log in sorted(ARTIFACTS.glob("*.log"), key=lambda p: p.stat().st_mtime)[-2:]:
        if log.stat().st_mtime >= started:
            lines = log.read_text(errors="replace").splitlines()[-40:]
            rep.sections.append((f"end of {log.name}", "\n".join(line[:300] for line in lines)))


# The flags of the README's `panel serve` (scripts/run.sh) that the tests' servers share.
SERVE_FLAGS = ("--liveness", "--static-dirs", "assets=static", "--plugins", "optirace.serve_plugin")


@contextlib.contextmanager
def panel_serve(*args: str, log_path: Path, python: str = sys.executable, env: dict | None = None,
                timeout: float = 120, port: int | None = None):  # fmt: skip
    """`panel serve <args>` from the repository on a loopback port (a free one unless given), its
    output in `log_path`; yields the base URL once the server answers /liveness, and stops the
    server after."""
    port = port or _free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [python, "-m", "panel", "serve", *args, "--port", str(port), "--address", "127.0.0.1",
             "--allow-websocket-origin", f"127.0.0.1:{port}"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            wait_live(url, proc, log_path, timeout)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="session")
def server(server_log):
    """Serve the app as the README does, on a free loopback port; yield its base URL.

    A closed tab's session goes within Bokeh's default unused-session lifetime (15 s), as in the
    product. A shorter one also discards a page's session before a slow page's websocket arrives,
    and on a busy machine that made pages that never heard from the server again.
    """
    with panel_serve("app.py", *SERVE_FLAGS, "--warm", "--check-unused-sessions", "500", "--log-level", "info",
                     log_path=server_log) as url:  # fmt: skip
        yield url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


def wait_live(url: str, proc: subprocess.Popen, log_path: Path, timeout: float = 120) -> None:
    """Wait until a server started by a test answers /liveness; stop it and show its log if not."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/liveness", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"server did not come up: {log_path.read_text(errors='replace')[-2000:]}")
        time.sleep(0.3)


# JS: `rows()` gives what the page draws, read from the figure's layers (optirace/figures/tags.py):
# x{i}, y{i} of racer i's path, gap{i} of its loss curve and `step`, the steps shown up to the
# player's; null before the race is drawn. A path or curve is drawn in two layers (figures/split.py):
# its done part (its slot's line in the layer of role `pathdone`, `lossdone`) and its tail, which
# begins at the done part's last row: the rows drawn are the done part's, then the tail's after its first.
RACE_ROWS_JS = """
const rows = () => {
  const out = {}, done = {};
  let any = false;
  // The figure on show: a replaced figure's models may linger in the document for a while.
  const P0 = window.__optirace && window.__optirace.player;
  const shown = P0 ? P0.args.targets : [];
  // Layers are by palette slot; racer i is in slot racers.slot[i] (an empty slot draws nothing).
  const racers = P0 ? P0.args.racers : null;
  const slots = racers ? Array.from(racers.data instanceof Map ? racers.data.get('slot') : racers.data.slot) : [];
  for (const m of shown) for (const t of (m.tags || [])) {
    if (typeof t !== 'string' || !t.startsWith('optirace:')) continue;
    const [, role, slot, fx, fy] = t.split(':');
    if (!['path', 'loss', 'pathdone', 'lossdone'].includes(role)) continue;
    const d = m.data_source.data, get = (k) => (d instanceof Map ? d.get(k) : d[k]);
    if (role.endsWith('done')) {  // every racer's done part, a line per slot
      const xs = get('xs'), ys = get('ys');
      for (let k = 0; k < xs.length; k++) {
        const i = slots.indexOf(k);
        if (i < 0) continue;
        if (role === 'pathdone') { done['x' + i] = Array.from(xs[k]); done['y' + i] = Array.from(ys[k]); }
        else done['gap' + i] = Array.from(ys[k]);
      }
      continue;
    }
    const i = slots.indexOf(+slot);
    if (i < 0) continue;
    const into = out;
    if (role.startsWith('path')) {
      const x = get(fx), y = get(fy);
      into['x' + i] = Array.from(fx === 'xs' ? (x.length ? x[0] : []) : x);
      into['y' + i] = Array.from(fy === 'ys' ? (y.length ? y[0] : []) : y);
      if (into === out) any = true;
    } else {
      into['gap' + i] = Array.from(get(fy));
    }
  }
  if (!any) return null;
  for (const [k, rows] of Object.entries(done))
    if (rows.length) out[k] = rows.concat(out[k] === undefined ? [] : out[k].slice(1));
  // The steps shown: those the page holds up to the player's (a diverged racer's curves stop early).
  const P = window.__optirace.player, race = P.args.race;
  const all = Array.from(race.data instanceof Map ? race.data.get('step') : race.data.step);
  out.step = all.filter((k) => k <= P.step);
  return out;
};
"""


class AppPage:
    """A user's tab on the app, with the few questions the tests ask of what it shows."""

    def __init__(self, page, errors, external):
        self.page = page
        self.errors = errors
        self.external = external

    def open(self, url: str) -> AppPage:
        self.page.goto(url)
        # The page is usable when its player has drawn the race (optirace/figures/player.js).
        self.page.wait_for_function("() => window.__optirace && window.__optirace.ready", timeout=60_000)
        # The page is live once its websocket is connected (the app marks this in onload).
        self.page.locator("[data-ready]").wait_for(state="attached", timeout=60_000)
        return self

    def choose(self, select, label: str, timeout: float = 30) -> None:
        """Pick an option the way a keyboard user does (Bokeh's select ignores scripted changes).
        A change that rebuilds the select's card replaces the element and its focus, and keys
        pressed on the old one may be lost: the keys go again to the select as it is then (the
        locator finds it again), until it settles on `label`."""
        deadline = time.monotonic() + timeout
        while True:
            labels = select.evaluate("e => [...e.options].map(o => o.text)")
            current, target = select.evaluate("e => e.selectedIndex"), labels.index(label)
            if current == target:
                # A rebuild the server sent for an earlier key may still land and show that key's
                # value (the server never saw a key pressed on the element it replaced): settled?
                self.page.wait_for_timeout(1000)
                if select.evaluate("e => e.selectedIndex") == target:
                    break
                continue
            if time.monotonic() > deadline:
                raise AssertionError(f"the select shows {labels[current]!r}, not {label!r}")
            select.focus()
            # All the keys at once: Panel applies the last of a burst of changes, so the server
            # does not work through every option in between (a surface each, seconds apiece).
            for _ in range(abs(target - current)):
                select.press("ArrowDown" if target > current else "ArrowUp")
            self.page.wait_for_timeout(300)  # the server's answer, and a rebuilt card, land

    def trajectory(self) -> dict:
        """What the page draws of the race: each racer's path and loss curve (see RACE_ROWS_JS)."""
        return self.page.evaluate(f"() => {{ {RACE_ROWS_JS} return rows(); }}")

    def wait_step(self, k: int, timeout: float = 10_000) -> int:
        """Wait until the drawn race ends at step k (frames may lag on a busy machine); return it."""
        self.page.wait_for_function(
            f"k => {{ {RACE_ROWS_JS} const r = rows(); return !!r && r.step.length > 0 && r.step[r.step.length - 1] === k; }}",
            arg=k,
            timeout=timeout,
        )
        return self.shown_step()

    def shown_step(self) -> int:
        data = self.trajectory()
        return int(max(data["step"])) if data and data["step"] else -1

    def text(self) -> str:
        return self.page.evaluate(
            """() => { const parts = []; const walk = n => { if (n.shadowRoot) walk(n.shadowRoot);
               for (const c of n.children || []) walk(c); if (n.nodeType === 1 && n.childNodes) for (const t of n.childNodes) if (t.nodeType === 3) parts.push(t.textContent); };
               walk(document.body); return parts.join(' '); }"""
        )

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@pytest.fixture
def app(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    errors: list[str] = []
    external: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # A classroom may be offline: the page must not need anything beyond our own server.
    page.on(
        "request", lambda r: None if r.url.startswith((server, "data:", "blob:")) else external.append(r.url)
    )
    yield AppPage(page, errors, external), server
    context.close()
