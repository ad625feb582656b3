"""The surface in 3D: the view switch shows a plotly figure of the surface with every racer's path."""

from __future__ import annotations

import math
import re

import pytest
from playwright.sync_api import expect

import optimizers
from optirace.app.state import RaceState
from optirace.figures.surface import surface_values
from optirace.figures.surface3d import STRIDE, heights

pytestmark = pytest.mark.browser

# JS: the plotly graph on the page (Panel draws it in a shadow root), as {traces, zaxis}; null before.
GRAPH_JS = """
() => {
  const find = (n) => {
    if (n.classList && n.classList.contains('js-plotly-plot')) return n;
    for (const c of [...(n.shadowRoot ? n.shadowRoot.children : []), ...(n.children || [])]) {
      const f = find(c);
      if (f) return f;
    }
    return null;
  };
  const gd = find(document.body);
  if (!gd || !gd._fullLayout || !gd._fullLayout.scene || !gd.data) return null;
  const arr = (a) => Array.from(a ?? []);
  // What plotly drew (_fullData): the figure's arrays arrive base64-encoded, and plotly decodes them.
  return {
    traces: gd._fullData.map((t) => ({type: t.type, name: t.name, x: arr(t.x), y: arr(t.y),
                                      z: t.type === 'surface' ? null : arr(t.z), raw: typeof gd.data[t.index].x,
                                      dash: t.line ? t.line.dash : null, legend: t.showlegend})),
    zaxis: {type: gd._fullLayout.scene.zaxis.type, range: arr(gd._fullLayout.scene.zaxis.range)},
  };
}
"""


def open_app(ui, url: str) -> list[str]:
    """Open the app; the list fills with the page's requests for plotly's code."""
    fetched: list[str] = []
    ui.page.on("request", lambda r: fetched.append(r.url) if "plotly" in r.url else None)
    ui.open(url)
    # The page fetches plotly.js by itself once idle (optirace/app/view3d.py); a click before that
    # is not what these tests time.
    ui.page.wait_for_function("() => window.__optirace3d === 'ready'", timeout=60_000)
    return fetched


def open_3d(ui, fetched: list[str]) -> dict:
    """Switch to 3D; return the graph. Plotly's code came from our own server (Panel's bundle)."""
    ui.page.get_by_role("button", name="3D").click()
    ui.page.wait_for_function(
        f"() => {{ const g = ({GRAPH_JS})(); return g !== null && g.traces[0].type === 'surface'; }}",
        timeout=30_000,
    )
    assert any(re.search(r"/plotly-[\d.]+\.min\.js$", u.split("?")[0]) for u in fetched), fetched
    assert all("/static/extensions/panel/bundled/plotlyplot/" in u for u in fetched), fetched
    return ui.page.evaluate(GRAPH_JS)


def the_race(query: dict) -> RaceState:
    state = RaceState()
    state.apply_query(query)
    return state


def test_3d_view_draws_the_surface_and_each_racers_whole_path(app):
    ui, url = app
    query = "surface=rosenbrock&r0=adam:lr=0.02&r1=sgd:lr=0.0005,momentum=0.9&steps=120"
    fetched = open_app(ui, f"{url}/app?{query}")
    ui.page.get_by_role("button", name="Step ▶").click()  # the page reports the step: 1
    ui.page.get_by_role("button", name="⟲ Reset").click()
    graph = open_3d(ui, fetched)
    ui.screenshot("view3d-rosenbrock")
    state = the_race(dict(p.split("=", 1) for p in query.split("&")))
    res = state.result
    kinds = [t["type"] for t in graph["traces"]]
    assert kinds == ["surface", "scatter3d", "scatter3d"], kinds
    # At rest at step 0 (Reset): each path is its start point.
    for t in graph["traces"][1:]:
        assert len(t["x"]) == 1
    # Playing to the end, then paused: the paths end at the race's final point, on a log height axis.
    ui.page.get_by_role("button", name="Step ▶").click()
    handle = ui.page.locator(".scrubber .noUi-handle").first
    handle.focus()
    handle.press("End")
    ui.page.wait_for_function(
        f"() => {{ const g = ({GRAPH_JS})(); return g && g.traces[1].x.length > 100; }}", timeout=30_000
    )
    graph = ui.page.evaluate(GRAPH_JS)
    (_, _, Z, _, log) = surface_values(res.surface)
    assert log and graph["zaxis"]["type"] == "log"
    lo, hi = graph["zaxis"]["range"]  # plotly's log range is in powers of ten
    assert math.isclose(10**lo, Z[::STRIDE, ::STRIDE].min(), rel_tol=1e-6)
    floor = float(Z[::STRIDE, ::STRIDE].min())
    for i, t in enumerate(graph["traces"][1:]):
        assert t["name"] == state.label(i)
        x, y = res.params[i, -1]
        z = heights(res, res.loss[i, -1:], floor)[0]
        assert abs(t["x"][-1] - x) < 1e-6 and abs(t["y"][-1] - y) < 1e-6, (t["x"][-1], x)
        assert abs(t["z"][-1] - z) <= 1e-6 * max(1.0, abs(z))
    assert ui.external == [], f"requests left the server: {ui.external[:3]}"
    assert ui.errors == []


def test_3d_view_of_a_surface_without_a_log_scale_has_a_linear_height_axis(app):
    ui, url = app
    fetched = open_app(ui, f"{url}/app?surface=rastrigin&r0=adam:lr=0.05&steps=50")
    graph = open_3d(ui, fetched)
    assert not optimizers.race("rastrigin", [{"optimizer": "adam"}], steps=1).surface.log_scale
    assert graph["zaxis"]["type"] == "linear"
    assert [t["type"] for t in graph["traces"]] == ["surface", "scatter3d"]
    # Back to 2D: the 2-D panel is shown again, the 3-D one hidden.
    ui.page.get_by_role("button", name="2D").click()
    expect(ui.page.locator(".surface3d").first).to_be_hidden(timeout=10_000)
    expect(ui.page.locator(".plots .bk-Canvas").first).to_be_visible()
    assert ui.errors == []


def test_3d_view_draws_the_last_race_as_a_ghost_and_its_switch_hides_it(app):
    ui, url = app
    query = "surface=rastrigin&r0=adam:lr=0.05&steps=50"
    fetched = open_app(ui, f"{url}/app?{query}")
    graph = open_3d(ui, fetched)
    assert [t["dash"] for t in graph["traces"][1:]] == ["solid"]  # no change yet: no ghost
    old = the_race(dict(p.split("=", 1) for p in query.split("&"))).result
    # One keyboard step of the racer's learning rate: a new race, and the last one is the ghost.
    header = ui.page.locator(".racer-card .racer-head").first
    before = header.inner_text()
    handle = ui.page.locator(".racer-card .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    handle.press("ArrowRight")
    expect(header).not_to_have_text(before, timeout=20_000)
    ui.page.wait_for_function(f"() => ({GRAPH_JS})().traces.length === 3", timeout=30_000)
    racer, ghost = ui.page.evaluate(GRAPH_JS)["traces"][1:]
    assert ghost["dash"] == "dash" and ghost["legend"] is False and racer["dash"] == "solid"
    assert len(ghost["x"]) == old.steps + 1  # the last race whole, not played
    for got, want in (
        (ghost["x"], old.params[0, :, 0]),
        (ghost["y"], old.params[0, :, 1]),
        (ghost["z"], old.loss[0]),
    ):
        assert max(abs(a - b) for a, b in zip(got, want, strict=True)) < 1e-6
    assert abs(racer["x"][-1] - old.params[0, -1, 0]) > 1e-6  # the racer's path is the new race's
    # The ghost's switch hides it in 3D too, and shows it again.
    ui.page.locator(".ghost-switch input").first.uncheck()
    ui.page.wait_for_function(f"() => ({GRAPH_JS})().traces.length === 2", timeout=30_000)
    ui.page.locator(".ghost-switch input").first.check()
    ui.page.wait_for_function(f"() => ({GRAPH_JS})().traces.length === 3", timeout=30_000)
    assert ui.errors == []
