"""Per-session limits and isolation: one session at the limits, or one whose callback keeps
raising, leaves the other sessions of the same server process animating and answering clicks."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import urllib.request

import pytest
from conftest import ARTIFACTS, RACE_ROWS_JS, ROOT, SERVE_FLAGS, AppPage, panel_serve

sys.path.insert(0, str(ROOT / "benchmarks"))
import load  # noqa: E402  (its Bokeh protocol client opens the heavy sessions)

pytestmark = pytest.mark.browser
EIGHT = ["gd:lr=0.001", "sgd:lr=0.001,momentum=0.9", "nag:lr=0.001", "adam:lr=0.02", "rmsprop:lr=0.01",
         "adagrad:lr=0.1", "lion:lr=0.01", "nadam:lr=0.02"]  # fmt: skip
AT_LIMITS = "&".join(f"r{i}={r}" for i, r in enumerate(EIGHT)) + "&steps=5000&speed=500&loop=1"


@pytest.fixture(scope="module")
def two_apps():
    """app.py and fault_app.py in one server process, as a class shares one replica."""
    log_path = ARTIFACTS / "isolation-serve.log"
    with panel_serve("app.py", "tests/browser/fault_app.py", *SERVE_FLAGS, log_path=log_path) as url:
        yield url, log_path


def _open(browser, url: str) -> tuple[AppPage, object]:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return AppPage(page, errors, []).open(url), context


def _progress(ui: AppPage, seconds: float) -> tuple[int, float]:
    """(steps advanced, longest wait in seconds between two changes of the shown step), from the
    first frame on: a race opened with play=1 starts once its page has loaded."""
    first = ui.shown_step()
    ui.page.wait_for_function(f"() => {{ {RACE_ROWS_JS} const r = rows(); return r && r.step.at(-1) !== {first}; }}",
                              timeout=10_000)  # fmt: skip
    start = last = ui.shown_step()
    changed, longest, t_end = time.monotonic(), 0.0, time.monotonic() + seconds
    while time.monotonic() < t_end:
        ui.page.wait_for_timeout(50)
        now_step = ui.shown_step()
        if now_step != last:
            longest = max(longest, time.monotonic() - changed)
            changed, last = time.monotonic(), now_step
    longest = max(longest, time.monotonic() - changed)
    return (last - start) % 301, longest  # the default race has 300 steps and loops


def _pause_takes(ui: AppPage) -> float:
    """Seconds from clicking Pause until the shown step stops moving."""
    ui.page.get_by_role("button", name="❚❚ Pause").click()
    t0 = time.monotonic()
    ui.page.get_by_role("button", name="▶ Play").wait_for(timeout=10_000)
    return time.monotonic() - t0


def test_an_exception_in_one_sessions_callback_leaves_the_others_running(browser, two_apps):
    url, log_path = two_apps
    faulty, fctx = _open(browser, f"{url}/fault_app?fault=1&play=1&loop=1")
    healthy, hctx = _open(browser, f"{url}/app?play=1&loop=1")
    try:
        advanced, longest = _progress(healthy, 3.0)
        # 60 steps/s for 3 s is 180 steps; a stalled or crashed session shows far fewer.
        assert advanced >= 120 and longest < 1.0, (advanced, longest)
        assert _pause_takes(healthy) < 2.0
        assert not healthy.errors
        raised = log_path.read_text().count("fault injected by the isolation test")
        assert raised >= 10  # the fault really kept firing meanwhile
        # The faulty session's own playback is untouched by its broken neighbour callback too.
        assert _progress(faulty, 1.0)[0] >= 30
        with urllib.request.urlopen(f"{url}/liveness", timeout=5) as r:
            assert r.status == 200
    finally:
        fctx.close()
        hctx.close()


def _heavy_sessions(url: str, n: int, seconds: float, out: dict) -> None:
    """n sessions at every limit (8 racers, 5000 steps, top speed), playing, and moving their first
    racer's lr slider (each move a whole new race at the limits) for `seconds`."""

    async def run():
        stop, click = asyncio.Event(), asyncio.Event()
        client = load.Client(url, AT_LIMITS, stop)
        sessions = [load.Session(i) for i in range(n)]
        tasks = [asyncio.create_task(client.run(s, asyncio.Semaphore(n), click)) for s in sessions]
        while not all(s.ready_at or s.error for s in sessions):
            await asyncio.sleep(0.1)
        click.set()
        out["playing"] = time.monotonic()
        await load._drive([client], sessions, rate=4.0, seconds=seconds, timeout=10.0)
        stop.set()
        await asyncio.gather(*tasks)
        out["sessions"] = sessions

    try:
        asyncio.run(run())
    except Exception as e:  # noqa: BLE001 (reported by the test, which runs in another thread)
        out["error"] = repr(e)


def test_a_session_at_the_limits_leaves_the_others_responsive(browser, two_apps):
    url, _ = two_apps
    healthy, hctx = _open(browser, f"{url}/app?play=1&loop=1")
    out: dict = {}
    heavy = threading.Thread(target=_heavy_sessions, args=(url, 3, 12.0, out))
    heavy.start()
    try:
        deadline = time.monotonic() + 60
        while "playing" not in out and time.monotonic() < deadline:
            healthy.page.wait_for_timeout(200)
        assert "playing" in out, "the sessions at the limits never opened"
        healthy.page.wait_for_timeout(1000)
        advanced, longest = _progress(healthy, 4.0)
        assert advanced >= 150 and longest < 1.0, (advanced, longest)  # 240 steps at 60 steps/s
        assert _pause_takes(healthy) < 2.0
    finally:
        heavy.join(60)
        hctx.close()
    assert "error" not in out, out.get("error")
    sessions = out["sessions"]
    assert not [s.error for s in sessions if s.error]
    # The heavy sessions really worked the server: their new races at the limits came back.
    assert sum(len(s.answers) for s in sessions) >= 10


def test_requests_beyond_the_limits_get_a_clear_message(browser, two_apps):
    url, _ = two_apps
    nine = "&".join(f"r{i}={r}" for i, r in enumerate([*EIGHT, "adamax:lr=0.02"]))
    ui, ctx = _open(browser, f"{url}/app?{nine}&steps=100000")
    try:
        text = ui.text()
        assert "only the first 8 racers were kept" in text
        assert "steps 100000 is outside 1..5000" in text
        columns = ui.trajectory()
        assert "x7" in columns and "x8" not in columns  # eight racers race
        add = ui.page.get_by_role("button", name="Add racer")
        if add.is_enabled():
            add.click()
            ui.page.wait_for_timeout(800)
            assert "at most 8 racers in one race" in ui.text()
        assert "x8" not in ui.trajectory()
    finally:
        ctx.close()
