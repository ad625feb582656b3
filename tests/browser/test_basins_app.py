"""The Basins card in the served app: the map is computed on demand, drawn as one image of the
grid's shape, and a click on it races from the point clicked."""

from __future__ import annotations

import io

import pytest
from conftest import RACE_ROWS_JS
from PIL import Image

from optirace.app.state import RaceState
from optirace.figures.basins import basin_map, category_colors
from surfaces import SURFACES

pytestmark = pytest.mark.browser

LINK = "/app?surface=himmelblau&r0=adam:lr=0.05&steps=300"

# The map's figure in the page: its image (the renderer tagged optirace:basins), its data ranges
# and where its frame sits on the screen. The newest figure's models come last in the document.
MAP_JS = """() => {
  let found = null;
  for (const doc of Bokeh.documents) for (const f of doc.all_models) {
    if (f.type !== 'Figure') continue;
    const r = f.renderers.find((r) => (r.tags || []).includes('optirace:basins'));
    if (!r) continue;
    const d = r.data_source.data, img = (d instanceof Map ? d.get('image') : d.image)[0];
    const view = Bokeh.index.find_one(f);
    if (!view) continue;
    const box = view.el.getBoundingClientRect(), bb = view.frame.bbox;
    found = {shape: Array.from(img.shape), values: [...new Set(Array.from(img))].sort(),
             xr: [f.x_range.start, f.x_range.end], yr: [f.y_range.start, f.y_range.end],
             frame: {left: box.left + bb.left, top: box.top + bb.top, width: bb.width, height: bb.height}};
  }
  return found;
}"""


# The sidebar's start x and y as the page shows them (the inputs sit in Panel's shadow roots).
START_JS = """() => {
  const find = (root, sel) => { const hit = root.querySelector(sel); if (hit) return hit;
    for (const e of root.querySelectorAll('*')) if (e.shadowRoot) { const h = find(e.shadowRoot, sel); if (h) return h; }
    return null; };
  const value = (c) => { const host = find(document, '.start-' + c); const input = host && find(host.shadowRoot || host, 'input');
    return input ? parseFloat(input.value) : null; };
  return [value('x'), value('y')];
}"""


# Every text node of the page, through open shadow roots (Panel renders into them).
DEEP_TEXT_JS = """() => { const parts = []; const walk = (n) => { if (n.shadowRoot) walk(n.shadowRoot);
  for (const c of n.children || []) walk(c); if (n.nodeType === 1) for (const t of n.childNodes) if (t.nodeType === 3) parts.push(t.textContent); };
  walk(document.body); return parts.join(' '); }"""


def _map(page):
    return page.evaluate(MAP_JS)


def test_the_map_is_computed_drawn_and_a_click_races_from_there(app):
    ui, url = app
    ui.open(url + LINK)
    page = ui.page
    before = page.evaluate(START_JS)
    assert before == pytest.approx([0.0, 0.0])  # Himmelblau's own start
    assert _map(page) is None  # nothing is computed before it is asked for
    page.locator(".card-header", has_text="Basins of attraction").click()
    page.get_by_role("button", name="Compute map").click()
    page.wait_for_function(
        f"() => {{ const m = ({MAP_JS})(); return !!m && m.shape[0] === 128; }}", timeout=120_000
    )
    drawn = _map(page)
    assert drawn["shape"] == [128, 128]
    # The same categories as the map computed here: Himmelblau's four minima, each reached.
    want = basin_map("himmelblau", {"optimizer": "adam", "lr": 0.05}, grid=128, steps=300)
    assert drawn["values"] == sorted(set(want.labels.ravel().tolist())) == [0, 1, 2, 3]
    # The status line names each minimum's share.
    page.wait_for_function(f"() => ({DEEP_TEXT_JS})().includes('1: global minimum (3, 2): ')", timeout=30_000)
    # The legend draws a square of each category's colour: "no listed minimum" covers none of
    # Himmelblau's map, so its grey can only come from the legend.
    page.locator(".basins").first.scroll_into_view_if_needed()
    shot = Image.open(io.BytesIO(page.locator(".basins").first.screenshot())).convert("RGB")
    counts = {c: n for n, c in shot.getcolors(1_000_000)}
    grey = tuple(int(category_colors(4)[-2][i : i + 2], 16) for i in (1, 3, 5))
    assert counts.get(grey, 0) >= 60, counts.get(grey, 0)  # a square of 14 px, not a few pixels of text
    # Click the map at (2, -1) (in the basin of the minimum at (3.58, -1.85) or (3, 2)).
    page.locator(".basins").first.scroll_into_view_if_needed()
    m = _map(page)
    target = (2.0, -1.0)
    f = m["frame"]
    px = f["left"] + (target[0] - m["xr"][0]) / (m["xr"][1] - m["xr"][0]) * f["width"]
    py = f["top"] + (m["yr"][1] - target[1]) / (m["yr"][1] - m["yr"][0]) * f["height"]
    page.mouse.click(px, py)
    # One pixel of the map in data units: the start is where the click was, to within two.
    tol = 2 * (m["xr"][1] - m["xr"][0]) / f["width"]
    page.wait_for_function(
        f"([x, y, tol]) => {{ const [a, b] = ({START_JS})(); return Math.abs(a - x) < tol && Math.abs(b - y) < tol; }}",
        arg=[target[0], target[1], tol],
        timeout=30_000,
    )
    after = page.evaluate(START_JS)
    assert after != pytest.approx(before)
    assert after == pytest.approx(target, abs=tol)
    # The race itself starts there: the drawn path's first point is the new start.
    page.wait_for_function(
        f"([x, y, tol]) => {{ {RACE_ROWS_JS} const r = rows();"
        " return !!r && Math.abs(r.x0[0] - x) < tol && Math.abs(r.y0[0] - y) < tol; }",
        arg=[target[0], target[1], tol],
        timeout=30_000,
    )
    # The map's start marker moved there too.
    start = page.evaluate(
        """() => { let out = null; for (const doc of Bokeh.documents) for (const m of doc.all_models)
             if ((m.tags || []).includes('optirace:basins:start')) { const d = m.data_source.data;
               out = [(d instanceof Map ? d.get('x') : d.x)[0], (d instanceof Map ? d.get('y') : d.y)[0]]; }
           return out; }"""
    )
    assert start == pytest.approx(target, abs=tol)
    ui.screenshot("basins")
    assert ui.errors == []


def test_on_the_networks_landscape_the_card_maps_what_fits_and_says_why(app):
    """mlp_landscape at 300 steps: one step of the network costs 2000 closed-form steps, so not even
    16 x 16 starts of 300 steps fit the card's bound. The card offers 16, says why before anything is
    computed, and draws the 16 x 16 map of the first 128 steps (it used to refuse)."""
    ui, url = app
    ui.open(f"{url}/app")
    page = ui.page
    ui.choose(page.locator("select").first, SURFACES["mlp_landscape"].title)
    # The first visit trains theta* and compiles the race: give the loaded server time.
    page.wait_for_function(
        f"s => {{ {RACE_ROWS_JS} const r = rows(); return !!r && Math.abs(r.x0[0] - s[0]) < 1e-12 && Math.abs(r.y0[0] - s[1]) < 1e-12; }}",
        arg=list(SURFACES["mlp_landscape"].start),
        timeout=300_000,
    )
    page.locator(".card-header", has_text="Basins of attraction").click()
    page.wait_for_function(
        f'() => ({DEEP_TEXT_JS})().includes("At most 16×16 starts and the first 128 of the race\'s 300 steps")',
        timeout=300_000,
    )
    page.get_by_role("button", name="Compute map").click()
    page.wait_for_function(
        f"() => {{ const m = ({MAP_JS})(); return !!m && m.shape[0] === 16; }}", timeout=300_000
    )
    assert _map(page)["shape"] == [16, 16]
    state = RaceState()  # the page's racers: the default race, retuned for the surface as the app does
    state.surface = "mlp_landscape"
    want = basin_map("mlp_landscape", state.racers[0], grid=16, steps=128)
    assert _map(page)["values"] == sorted(set(want.labels.ravel().tolist()))
    page.wait_for_function(
        f"() => ({DEEP_TEXT_JS})().includes('1: trained minimum (0, 0): ')", timeout=120_000
    )
    assert "more than this page maps" not in page.evaluate(DEEP_TEXT_JS)  # the old card's refusal
    ui.screenshot("basins-mlp")
    assert ui.errors == []
