"""Exports in a real browser: the offline HTML with the network cut, and the app's Export menu."""

from __future__ import annotations

import io
import json
import textwrap
import time
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pytest
from conftest import panel_serve
from PIL import Image

from optirace.app.state import PALETTE
from optirace.export import Options, export
from optirace.export.scene import scene_to_query, state_from_scene

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

SCENE = {"surface": "rosenbrock", "racers": ["adam:lr=0.05", "sgd:lr=0.001,momentum=0.9"], "steps": 120}
STEP = "() => window.__optirace.slider.value"
# The rows racer 0's loss curve draws (optirace/figures/tags.py marks the player's layers).
SHOWN_ROWS = """() => {
  for (const m of Bokeh.documents[0].all_models) for (const t of (m.tags || [])) {
    if (typeof t !== 'string' || !t.startsWith('optirace:loss:0:')) continue;
    const d = m.data_source.data, x = t.split(':')[3];
    return (d instanceof Map ? d.get(x) : d[x]).length;
  }
  return -1;
}"""


# What a figure is made of, read from BokehJS: titles, axis labels, racers' lines, contour levels
# and colours, ranges. Equal in both pages means the offline page draws the app's very figures.
FIGURE = """
() => {
  const safe = (f) => { try { const v = f(); return v && typeof v === 'object' && 'value' in v ? v.value : v; } catch (e) { return null; } };
  const out = {titles: [], axes: [], lines: [], fills: [], levels: [], ranges: []};
  for (const m of Bokeh.documents[0].all_models) {
    const kind = m.type;
    if (kind === 'Title') { const t = safe(() => m.text); if (t) out.titles.push(t); }
    if (kind === 'LinearAxis' || kind === 'LogAxis') out.axes.push(String(safe(() => m.axis_label)));
    if (kind === 'Line') out.lines.push(String(safe(() => m.line_color)) + '/' + safe(() => m.line_width));
    if (kind === 'ContourRenderer') {
      const d = m.fill_renderer.data_source.data, get = (k) => (d instanceof Map ? d.get(k) : d[k]);
      out.fills.push(JSON.stringify(Array.from(get('fill_color') || [])));
      out.levels.push(JSON.stringify(Array.from(safe(() => m.levels) || []).map((v) => +v.toPrecision(12))));
    }
    if (kind === 'GlyphRenderer' && ['ImageRGBA', 'Image'].includes(m.glyph.type)) {
      // The surface's image: compare its values by a checksum.
      const d = m.data_source.data, img = (d instanceof Map ? d.get('image') : d['image'])[0];
      const a = img.data ?? img; let h = 0;
      for (let i = 0; i < a.length; i += 7) h = (h * 31 + a[i]) >>> 0;
      out.levels.push(a.length + ':' + h);
    }
    if (kind === 'Range1d' || kind === 'DataRange1d') out.ranges.push([safe(() => m.start), safe(() => m.end)].join(','));
  }
  for (const k in out) out[k] = [...new Set(out[k])].sort();
  return out;
}
"""


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("html") / "race.html"
    export(state_from_scene(SCENE), out, Options(size=(960, 540), fps=25, duration=2, title="Adam vs SGD"))
    return out


@pytest.fixture
def offline(browser):
    """A tab whose every request is refused unless it reads a local file."""
    context = browser.new_context(viewport={"width": 960, "height": 600})
    page = context.new_page()
    errors: list[str] = []
    refused: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    def route(r):
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    yield page, errors, refused
    context.close()


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function(
        "() => window.Bokeh && window.__optirace && window.__optirace.ready", timeout=30_000
    )


def test_offline_html_renders_and_plays_with_the_network_cut(offline, page_file):
    page, errors, refused = offline
    _open(page, page_file.as_uri())
    page.wait_for_timeout(500)
    # First view: the whole race, drawn on canvases, in the racers' colours.
    assert page.evaluate(STEP) == 120
    assert page.evaluate(SHOWN_ROWS) == 121
    assert page.locator("canvas").count() >= 3
    shot = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB")).reshape(-1, 3)
    for colour in PALETTE[:2]:
        rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(shot - rgb).sum(1) < 30).sum() > 50, f"racer colour {colour} is not on the page"
    assert page.get_by_text("Adam vs SGD").is_visible()  # the title (inside Bokeh's shadow DOM)

    page.get_by_role("button", name="▶ Play").click()
    page.wait_for_timeout(400)
    first = page.evaluate(STEP)
    page.wait_for_timeout(600)
    second = page.evaluate(STEP)
    assert 0 < first < second < 120, "playing restarts from step 0 and moves on"
    step, rows = page.evaluate(f"() => [window.__optirace.slider.value, ({SHOWN_ROWS})()]")
    assert rows == step + 1  # the drawn data follows the step
    page.get_by_role("button", name="❚❚ Pause").click()
    paused = page.evaluate(STEP)
    page.wait_for_timeout(400)
    assert page.evaluate(STEP) == paused, "pause stops the race"
    page.get_by_role("button", name="Step ▶").click()
    assert page.evaluate(STEP) == paused + 1
    page.get_by_role("button", name="◀ Step").click()
    assert page.evaluate(STEP) == paused
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "offline-html.png"))
    page.get_by_role("button", name="▶ Play").click()
    page.wait_for_function("() => window.__optirace.slider.value === 120", timeout=10_000)
    assert page.get_by_role("button", name="▶ Play").is_visible(), "the race stops at its end"
    assert errors == []
    assert refused == [], f"the page asked the network for {refused[:3]}"


def test_offline_html_plays_by_itself_for_slides(offline, page_file):
    page, errors, refused = offline
    _open(page, page_file.as_uri() + "?play=1&loop=1")
    seen = set()
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and not (seen and min(seen) < 20 and max(seen) > 100):
        seen.add(page.evaluate(STEP))
        page.wait_for_timeout(100)
    assert min(seen) < 20 and max(seen) > 100
    page.keyboard.press(" ")  # space pauses
    paused = page.evaluate(STEP)
    page.wait_for_timeout(300)
    assert page.evaluate(STEP) == paused
    assert errors == [] and refused == []


def test_offline_html_draws_the_apps_figures(app, offline, tmp_path):
    ui, url = app
    ui.open(f"{url}/app?{urlencode(scene_to_query(SCENE))}")
    live = ui.page.evaluate(FIGURE)
    out = tmp_path / "same.html"
    export(state_from_scene(SCENE), out, Options(size=(960, 540)))
    page, errors, refused = offline
    _open(page, out.as_uri())
    offline_figure = page.evaluate(FIGURE)

    def surface_ranges(fig) -> list[tuple[float, float]]:
        # Equal data scales: the surface's ranges widen to fit the frame's shape, which differs
        # between a page that fills the window and a file of fixed size. Both hold the domain.
        pairs = [tuple(map(float, r.split(","))) for r in fig["ranges"]]
        domain = [p for p in pairs if p[0] <= -1 and p[1] >= 2.0]  # Rosenbrock: x in [-2, 2], y in [-1, 3]
        fig["ranges"] = [r for r, p in zip(fig["ranges"], pairs, strict=True) if p not in domain]
        return sorted(domain)

    def holds(p, lo, hi) -> bool:
        return p[0] <= lo and p[1] >= hi

    for fig in (live, offline_figure):
        a, b = surface_ranges(fig)  # x and y, in either order
        assert (holds(a, -2, 2) and holds(b, -1, 3)) or (holds(b, -2, 2) and holds(a, -1, 3)), (a, b)
    assert offline_figure == live
    # One loss and one learning-rate line per palette slot (a racer added later is drawn in its slot).
    assert len(live["lines"]) == 8 and len(live["levels"]) == 1 and "Loss" in live["titles"]
    assert errors == [] and refused == []


# ----- the app's Export menu ----------------------------------------------------------------------------
MENU_APP = textwrap.dedent(
    """
    import panel as pn
    from optirace.app.export_menu import ExportMenu
    from optirace.app.state import RaceState

    pn.extension(notifications=False)
    pn.Column(ExportMenu(RaceState(steps=30)), width=700).servable()
    """
)


@pytest.fixture(scope="module")
def menu_server(tmp_path_factory):
    script = tmp_path_factory.mktemp("menu") / "menu.py"
    script.write_text(MENU_APP)
    with panel_serve(str(script), "--liveness", log_path=ARTIFACTS / "menu-serve.log", timeout=90) as url:
        yield f"{url}/menu"


def test_export_menu_exports_and_downloads(browser, menu_server, tmp_path):
    context = browser.new_context(viewport={"width": 1000, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(menu_server)
    link = page.locator(".export-link input")
    link.wait_for(timeout=60_000)
    assert "surface=rosenbrock" in link.input_value() and "steps=30" in link.input_value()
    assert link.input_value().startswith(menu_server.split("/menu")[0])
    snippet = page.locator(".export-snippet textarea").input_value()
    assert snippet.startswith("<iframe src=") and "embed=1" in snippet and "play=1" in snippet
    page.locator(".export-format select").select_option(label="PNG (this step)")
    page.wait_for_timeout(500)
    page.locator(".export-button button").click()
    download_button = page.locator(".export-download button, .export-download a").first
    download_button.wait_for(state="visible", timeout=60_000)
    assert download_button.inner_text() == "Download optirace-rosenbrock.png"
    assert page.get_by_text("optirace-rosenbrock.png (still picture, 1280x720, step 0").is_visible()
    with page.expect_download() as info:
        download_button.click()
    path = tmp_path / "got.png"
    info.value.save_as(path)
    with Image.open(path) as im:
        assert im.size == (1280, 720)
    with page.expect_download() as info:
        page.locator(".export-scene button, .export-scene a").first.click()
    scene_path = tmp_path / "scene.json"
    info.value.save_as(scene_path)
    assert state_from_scene(json.loads(scene_path.read_text())).steps == 30
    # An animation shows its progress while the frames are drawn, then offers the file.
    page.locator(".export-format select").select_option(label="GIF (animated)")
    page.wait_for_timeout(500)
    page.locator(".export-button button").click()
    page.locator("progress.export-progress").wait_for(state="visible", timeout=10_000)
    page.get_by_text("Download optirace-rosenbrock.gif").wait_for(state="visible", timeout=60_000)
    assert page.locator("progress.export-progress").is_hidden()
    with page.expect_download() as info:
        page.get_by_text("Download optirace-rosenbrock.gif").click()
    info.value.save_as(tmp_path / "got.gif")
    with Image.open(tmp_path / "got.gif") as im:
        assert im.size == (1280, 720) and im.n_frames == 31  # 30 steps: 50 frames, equal ones merged
    assert errors == []
    context.close()
