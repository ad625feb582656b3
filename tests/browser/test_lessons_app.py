"""The app's Lessons select and "optimal settings" button in a real browser."""

from __future__ import annotations

import pytest

import surfaces
from optirace.lessons import lesson

pytestmark = pytest.mark.browser

RACERS_TEXT = """() => { const P = window.__optirace.player; const r = P.args.racers;
  const d = r.data instanceof Map ? r.data.get('text') : r.data.text; return Array.from(d); }"""
# The race the page holds (all its steps), racer 0's x.
RACE_COL = """(k) => { const d = window.__optirace.player.args.race.data;
  return Array.from(d instanceof Map ? d.get(k) : d[k]); }"""
RACE_X0 = f"() => ({RACE_COL})('x0')"
EIGEN_LABELS = """() => Array.from(Bokeh.documents[0].all_models).flatMap((m) => {
  const d = m.data_source && m.data_source.data; if (!d) return [];
  const t = d instanceof Map ? d.get('text') : d.text; return t ? Array.from(t) : []; })"""
PRED = """() => { const P = window.__optirace.player, d = P.args.race.data;
  const get = (k) => (d instanceof Map ? d.get(k) : d[k]);
  return [0, 1].map((i) => get('pred' + i) ? Array.from(get('pred' + i)) : null); }"""


def test_opening_a_lesson_loads_its_scene_and_shows_its_caption(app):
    ui, url = app
    ui.open(f"{url}/app")
    one = lesson("gd-by-hand")
    # The first lesson (one key press away: each press opens the lesson it passes).
    ui.choose(ui.page.locator(".lesson-select select"), one.title)
    ui.page.wait_for_function(f"() => {{ const x = ({RACE_X0})(); return x.length === 21 && x[0] === 0; }}",
                              timeout=90_000)  # fmt: skip
    assert ui.page.evaluate(RACE_X0)[:3] == pytest.approx([0.0, 1.2, 1.68])
    assert ui.page.evaluate(RACERS_TEXT) == ["gd:lr=0.3"]
    caption = ui.page.locator(".lesson-caption")
    caption.get_by_text(one.caption[:40], exact=False).wait_for(timeout=10_000)
    caption.get_by_text(one.title, exact=False).wait_for(timeout=10_000)
    assert "Parabola" in ui.text()
    ui.page.wait_for_function("() => window.location.search.includes('lesson=gd-by-hand')", timeout=10_000)
    assert "surface=parabola" in ui.page.evaluate("() => window.location.search")
    ui.screenshot("lesson-gd-by-hand")

    # The link opens the same lesson in a new tab, caption and all.
    link = ui.page.evaluate("() => window.location.href")
    ui.open(link)
    ui.page.locator(".lesson-caption").get_by_text(one.caption[:40], exact=False).wait_for(timeout=10_000)
    assert ui.page.evaluate(RACERS_TEXT) == ["gd:lr=0.3"]
    assert ui.errors == []
    # Not asserted here yet: after a lesson is chosen from the select this page fetches Panel's CSS
    # from its CDN (the link and the optimal-settings tests below assert that nothing leaves).


def test_a_link_with_only_a_lesson_opens_it(app):
    ui, url = app
    one = lesson("momentum-escape")
    ui.open(f"{url}/app?lesson=momentum-escape")
    ui.page.locator(".lesson-caption").get_by_text(one.caption[:40], exact=False).wait_for(timeout=10_000)
    assert ui.page.evaluate(RACE_X0)[0] == pytest.approx(3.5)  # two basins' start
    assert ui.page.evaluate(RACERS_TEXT) == ["gradient descent", "momentum 0.9"]
    ui.open(f"{url}/app?lesson=%3Cb%3Enope")
    ui.page.get_by_text("unknown lesson '<b>nope'", exact=False).wait_for(timeout=10_000)
    assert ui.errors == []
    assert ui.external == [], f"requests left the server: {ui.external[:3]}"


def test_optimal_settings_button(app):
    ui, url = app
    ui.open(f"{url}/app?surface=quadratic&kappa=20&r0=gd:lr%3D0.01&r1=sgd:lr%3D0.01,momentum%3D0.9&steps=100")
    t = surfaces.theory("quadratic", kappa=20)
    assert ui.page.evaluate(PRED)[0] is not None  # a prediction for gd at lr 0.01 too
    ui.page.get_by_role("button", name="optimal settings").click()
    want = [f"gd:lr={t['lr_gd']!r}", f"sgd:lr={t['lr_heavy_ball']!r},momentum={t['momentum_heavy_ball']!r}"]
    ui.page.wait_for_function(f"() => ({RACERS_TEXT})()[0].startsWith('gd:lr=0.095')", timeout=20_000)
    shown = ui.page.evaluate(RACERS_TEXT)
    assert shown[0].startswith("gd:lr=0.0952") and shown[1].startswith("sgd:lr=0.1335"), (shown, want)
    notice = ui.page.locator(".optimal-notice")
    notice.get_by_text("κ = 20", exact=False).wait_for(timeout=10_000)
    notice.get_by_text(f"momentum = {t['momentum_heavy_ball']:.4g}", exact=False).wait_for(timeout=10_000)
    # The dashed predictions now follow the theory's rates: loss0 · rate^(2t).
    pred = ui.page.evaluate(PRED)
    gap = ui.page.evaluate(RACE_COL, "gap0")
    g0 = gap[0]
    assert pred[0][10] == pytest.approx(g0 * t["rate_gd"] ** 20, rel=1e-9)
    assert pred[1][10] == pytest.approx(g0 * t["rate_heavy_ball"] ** 20, rel=1e-9)
    assert gap[10] == pytest.approx(pred[0][10], rel=1e-6)  # GD at 2/(mu+L): exactly on its line
    # The eigen-directions are drawn on the surface, labelled with their curvatures.
    labels = ui.page.evaluate(EIGEN_LABELS)
    assert "λ = L = 20" in labels and "λ = μ = 1" in labels
    ui.screenshot("optimal-settings")
    assert ui.errors == []
    assert ui.external == [], f"requests left the server: {ui.external[:3]}"
