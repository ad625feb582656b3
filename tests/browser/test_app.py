"""The web app as a user meets it: a real `panel serve`, real headless Chromium, real clicks."""

from __future__ import annotations

import re

import pytest
from conftest import RACE_ROWS_JS
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _step_label(page) -> int:
    text = page.get_by_text(re.compile(r"^step: \d+$")).first.inner_text()
    return int(text.split(":")[1])


def test_page_loads_and_draws_the_default_race(app):
    ui, url = app
    ui.open(f"{url}/app")
    data = ui.trajectory()
    assert data is not None and "x0" in data and "x2" in data  # three default racers, drawn
    text = ui.text()
    assert "Leaderboard at step 0" in text
    assert "Rosenbrock" in text
    assert ui.page.get_by_role("button", name="▶ Play").is_visible()
    ui.screenshot("01-default")
    assert ui.errors == []
    assert ui.external == [], f"requests left the server: {ui.external[:3]}"


def test_play_pause_step_reset(app):
    ui, url = app
    ui.open(f"{url}/app")
    page = ui.page
    page.get_by_role("button", name="▶ Play").click()
    page.wait_for_timeout(1500)
    page.get_by_role("button", name="❚❚ Pause").click()
    page.get_by_role("button", name="▶ Play").wait_for()
    # On a busy machine frames sent just before the pause may still be on their way: the drawn
    # race must catch up with the step the server paused at, and then stay there.
    page.wait_for_timeout(300)
    paused_at = _step_label(page)
    assert paused_at > 10, "playing for 1.5 s at 60 steps/s must reveal steps"
    ui.wait_step(paused_at)
    page.wait_for_timeout(800)
    assert ui.shown_step() == paused_at, "pause must stop the race"
    assert _step_label(page) == paused_at
    page.get_by_role("button", name="Step ▶").click()
    assert ui.wait_step(paused_at + 1) == paused_at + 1
    page.get_by_role("button", name="◀ Step").click()
    assert ui.wait_step(paused_at) == paused_at
    ui.screenshot("02-paused")
    page.get_by_role("button", name="⟲ Reset").click()
    assert ui.wait_step(0) == 0
    assert ui.errors == []


def test_keyboard_shortcuts(app):
    ui, url = app
    ui.open(f"{url}/app")
    page = ui.page
    page.locator("body").click(position={"x": 5, "y": 700})  # focus the page, not an input
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert ui.wait_step(3) == 3
    page.keyboard.press("ArrowLeft")
    assert ui.wait_step(2) == 2
    page.keyboard.press(" ")
    page.wait_for_timeout(1000)
    page.keyboard.press(" ")
    page.wait_for_timeout(300)
    assert ui.shown_step() > 10
    page.keyboard.press("r")
    assert ui.wait_step(0) == 0
    assert ui.errors == []


def test_arrow_keys_on_a_racers_slider_move_the_slider_not_the_race(app):
    """A focused slider takes the arrow keys: the racer's learning rate changes, and the race's
    step stays where it was (the player's shortcuts are for the page, not for a widget)."""
    ui, url = app
    ui.open(f"{url}/app?r0=adam:lr=0.02&steps=100")
    page = ui.page
    header = page.locator(".racer-card .racer-head").first
    before = header.inner_text()
    handle = page.locator(".racer-card .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    handle.press("ArrowRight")
    handle.press("ArrowRight")
    # The slider moved the racer's lr (the server answers with the card's new header) ...
    expect(header).not_to_have_text(before, timeout=20_000)
    assert ui.shown_step() == 0
    assert ui.errors == []


def test_scrubber_jumps(app):
    ui, url = app
    ui.open(f"{url}/app?steps=100")
    page = ui.page
    handle = page.locator(".scrubber .noUi-handle").first
    handle.focus()
    handle.press("End")
    assert ui.wait_step(100) == 100
    handle.press("Home")
    assert ui.wait_step(0) == 0


def test_pick_a_surface(app):
    ui, url = app
    ui.open(f"{url}/app")
    before = ui.trajectory()["x0"][0]
    ui.choose(ui.page.locator("select").first, "Himmelblau")
    # The new figure arrives when it is built (its time is a benchmark's, not a test's).
    ui.page.wait_for_function(
        f"b => {{ {RACE_ROWS_JS} const r = rows(); return !!r && r.x0[0] !== b; }}",
        arg=before,
        timeout=20_000,
    )
    assert "Himmelblau" in ui.text()
    assert ui.trajectory()["x0"][0] != before  # Himmelblau's own start
    ui.screenshot("03-himmelblau")
    assert ui.errors == []


def test_add_a_racer(app):
    ui, url = app
    ui.open(f"{url}/app")
    assert "x3" not in ui.trajectory()
    ui.choose(ui.page.locator(".add-racer select").first, "rmsprop")
    ui.page.get_by_role("button", name="Add racer").click()
    # The new figure arrives when it is built: wait for it (its time is a benchmark's, not a test's).
    ui.page.wait_for_function(
        f"() => {{ {RACE_ROWS_JS} const r = rows(); return !!r && 'x3' in r; }}", timeout=20_000
    )
    data = ui.trajectory()
    assert "x3" in data
    assert "rmsprop" in ui.text()
    assert ui.errors == []


def test_lr_slider_changes_the_path_and_keeps_the_step(app):
    ui, url = app
    ui.open(f"{url}/app?r0=gd:lr=0.001")
    page = ui.page
    for _ in range(5):
        page.get_by_role("button", name="Step ▶").click()
    page.wait_for_timeout(500)
    before = ui.trajectory()
    assert ui.shown_step() == 5
    # The first racer card's first slider is its learning rate (log scale).
    handle = page.locator(".racer-card .noUi-handle").first
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + 60, y, steps=5)  # drag right: a larger learning rate
    page.mouse.up()
    page.wait_for_timeout(2000)
    ui.screenshot("08-lr-dragged")
    after = ui.trajectory()
    assert ui.shown_step() == 5, "a slider change must not restart the animation"
    # Step 1 is x0 - lr * g: it moves with any change of lr (a racer that now diverges draws its
    # path only up to the step it diverged at, so later steps may be gone).
    assert after["x0"][1] != before["x0"][1], "a larger lr must move the path"
    assert after["x0"][0] == before["x0"][0]
    assert ui.errors == []


def test_click_sets_the_start(app):
    ui, url = app
    ui.open(f"{url}/app")
    before = ui.trajectory()
    canvas = ui.page.locator(".bk-Canvas, canvas").first
    box = canvas.bounding_box()
    ui.page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.7)
    ui.page.wait_for_timeout(2000)
    after = ui.trajectory()
    assert (after["x0"][0], after["y0"][0]) != (before["x0"][0], before["y0"][0])
    assert ui.errors == []


def test_url_restores_the_state(app):
    ui, url = app
    ui.open(f"{url}/app?surface=booth&r0=adam:lr=0.05&r1=sgd:lr=0.01,momentum=0.5&start=1.5,-2&steps=120")
    data = ui.trajectory()
    assert "x1" in data and "x2" not in data
    assert (data["x0"][0], data["y0"][0]) == (1.5, -2.0)
    text = ui.text()
    assert "Booth" in text and "adam:lr=0.05" in text and "sgd:lr=0.01,momentum=0.5" in text
    ui.page.get_by_role("button", name="Step ▶").click()
    ui.page.wait_for_timeout(800)
    assert "steps=120" in ui.page.url and "surface=booth" in ui.page.url  # the URL follows the state
    assert ui.errors == []


def test_garbage_url_falls_back_with_a_notice(app):
    ui, url = app
    ui.open(f"{url}/app?surface=nope&r0=zzz:lr=1&r1=adam:lr=-5&steps=abc&start=foo&noise=nan&seed=-3")
    text = ui.text()
    assert "not understood" in text
    assert "unknown surface" in text and "zzz" in text
    assert ui.trajectory() is not None  # the default race is drawn
    ui.screenshot("04-garbage-url")
    assert ui.errors == []


def test_embed_mode_shows_plots_and_playback_only(app):
    ui, url = app
    ui.open(f"{url}/app?embed=1")
    assert ui.page.get_by_role("button", name="▶ Play").is_visible()
    assert ui.page.locator("select").count() == 0  # no sidebar controls
    assert "Leaderboard" not in ui.text()
    ui.screenshot("05-embed")


def test_one_variable_view_shows_the_first_iterates_of_gradient_descent(app):
    ui, url = app
    ui.open(f"{url}/app?surface=parabola&r0=gd:lr=0.3")
    ui.page.get_by_role("button", name="Step ▶").click()
    ui.page.get_by_role("button", name="Step ▶").click()
    ui.page.wait_for_timeout(800)
    text = ui.text()
    assert "Iterates" in text
    for shown in ("1.2", "1.68", "-4", "-1.6"):
        assert shown in text, f"{shown} missing from the iterate table"
    ui.screenshot("06-parabola")
    assert ui.errors == []


def test_diverging_racer_is_marked(app):
    ui, url = app
    ui.open(f"{url}/app?r0=sgd:lr=1000000&r1=adam:lr=0.02")
    ui.page.get_by_role("button", name="Step ▶").click()
    ui.page.wait_for_timeout(800)
    assert "diverged at step 1" in ui.text()
    data = ui.trajectory()
    assert all(abs(v) < 1e6 for v in data["x0"]), "a diverged racer must not be drawn off to infinity"
    ui.screenshot("07-diverged")


def test_loss_legend_hides_and_shows_a_racers_curve(app):
    """A click on a racer's entry in the loss legend hides its curve (its tail, and its line in the
    done layer, figures/split.py), a second click shows it, drawn as before to the number."""
    ui, url = app
    ui.open(f"{url}/app?r0=gd:lr=0.001&r1=adam:lr=0.02&steps=600&play=1&speed=500")
    page = ui.page
    ui.wait_step(600, timeout=30_000)
    # {racer: [its tail layer visible, points in its done line]} of the loss panel.
    shows = """() => { const v = {}; for (const m of window.__optirace.player.args.targets)
        for (const t of m.tags) { const [, role, i] = t.split(':');
          if (role === 'loss' && +i < 2) (v[i] = v[i] || [null, null])[0] = m.visible;
          if (role !== 'lossdone') continue;
          const d = m.data_source.data, ys = d instanceof Map ? d.get('ys') : d.ys;
          for (const k of [0, 1]) (v[k] = v[k] || [null, null])[1] = ys[k].length; }
        return v; }"""
    both = page.evaluate(shows)
    assert both == {"0": [True, 513], "1": [True, 513]}, both  # rows 0..512: the done part of 600 steps
    drawn = ui.trajectory()
    entry = page.locator(".bk-Legend.bk-interactive .bk-item").filter(has_text="adam:lr=0.02")  # loss legend
    entry.click()
    page.wait_for_function(
        f"() => JSON.stringify(({shows})()) === JSON.stringify({{'0': [true, 513], '1': [false, 0]}})"
    )
    entry.click()
    page.wait_for_function(
        f"() => JSON.stringify(({shows})()) === JSON.stringify({{'0': [true, 513], '1': [true, 513]}})"
    )
    assert ui.trajectory() == drawn
    assert ui.errors == []


# Every `<style data-css="position">` in the glyph renderers' shadow roots, in document order.
_RENDERER_SHEETS_JS = """() => {
  const out = [];
  const walk = (n) => {
    if (n.shadowRoot) walk(n.shadowRoot);
    for (const c of n.children || []) walk(c);
    if (n.host && n.host.classList && n.host.classList.contains('bk-GlyphRenderer'))
      for (const s of n.children) if (s.tagName === 'STYLE' && s.dataset.css === 'position') out.push(s.textContent);
  };
  walk(document.body);
  return out;
}"""


def test_growing_paths_leave_the_page_styles_alone(app):
    """A growing path must not rewrite its renderer's style sheet on every frame (see
    optirace/figures/paintfix.py): each rewrite made the browser recalculate the whole page's styles, and the
    animation painted a third of the frames it received."""
    ui, url = app
    ui.open(f"{url}/app?steps=3000&speed=120")
    page = ui.page
    page.get_by_role("button", name="▶ Play").click()
    for _ in range(100):  # until the paths have grown past their first points
        if ui.shown_step() >= 30:
            break
        page.wait_for_timeout(200)
    before = page.evaluate(_RENDERER_SHEETS_JS)
    start = ui.shown_step()
    page.wait_for_timeout(1500)
    after = page.evaluate(_RENDERER_SHEETS_JS)
    assert ui.shown_step() > start + 30, "the race must have moved on while we watched"
    assert page.evaluate("() => window.Bokeh.__optirace_paint_fixes === true"), (
        "optirace/figures/paintfix.py no longer applies to this BokehJS: check its costs again"
    )
    assert len(before) >= 10, f"expected the race's glyph renderers, found {len(before)} position sheets"
    changed = sum(a != b for a, b in zip(before, after, strict=True))
    assert changed == 0, f"{changed} of {len(before)} renderer style sheets were rewritten while paths grew"
    assert ui.errors == []


_CURRENT_JS = """() => {
  const col = (m, k) => { const d = m.data_source.data; return d instanceof Map ? d.get(k) : d[k]; };
  const P = window.__optirace.player, paths = {}, spans = [];
  let heads = null;
  for (const m of P.args.targets) for (const t of m.tags) {
    const [, role, i, fx, fy] = t.split(':');
    if (role === 'path' && +i < 3) { const x = col(m, fx)[0], y = col(m, fy)[0]; paths[i] = [x[x.length - 1], y[y.length - 1]]; }
    if (role === 'heads') heads = m;
    if (role === 'step') spans.push(m.location);
  }
  // Racer i is drawn in its palette slot's layers (here racer i in slot i).
  return {step: P.step, tail: [0, 1, 2].map(i => paths[i]),
          heads: [0, 1, 2].map((i) => [col(heads, 'x')[i], col(heads, 'y')[i]]), spans};
}"""


def test_current_points_and_step_markers_follow_the_race(app):
    """Each racer's marker sits on its path's newest point, and the loss and learning-rate panels
    mark the shown step, after steps, play and reset (the page's player draws them all)."""
    ui, url = app
    ui.open(f"{url}/app")
    page = ui.page
    for _ in range(3):
        page.get_by_role("button", name="Step ▶").click()
    ui.wait_step(3)
    now = page.evaluate(_CURRENT_JS)
    assert now["step"] == 3 and now["heads"] == now["tail"] and now["spans"] == [3, 3]
    page.get_by_role("button", name="▶ Play").click()
    page.wait_for_timeout(1000)
    page.get_by_role("button", name="❚❚ Pause").click()
    page.wait_for_timeout(500)
    now = page.evaluate(_CURRENT_JS)
    assert now["step"] > 10 and now["heads"] == now["tail"] and now["spans"] == [now["step"]] * 2
    page.get_by_role("button", name="⟲ Reset").click()
    ui.wait_step(0)
    now = page.evaluate(_CURRENT_JS)
    assert now["step"] == 0 and now["heads"] == now["tail"] and now["spans"] == [0, 0]
    assert ui.errors == []


def test_an_animating_page_sends_nothing_back(app):
    """While the race plays, the browser only listens: every message it sent back (an autoscaled
    axis range each frame, once) cost the server a decode of the whole page per frame."""
    ui, url = app
    ui.open(f"{url}/app?steps=3000&speed=200")
    page = ui.page
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    sent: list[str] = []
    cdp.on("Network.webSocketFrameSent", lambda e: sent.append(e["response"]["payloadData"][:200]))
    page.get_by_role("button", name="▶ Play").click()
    page.wait_for_timeout(1000)  # the click and the first frames
    before, start = len(sent), ui.shown_step()
    page.wait_for_timeout(2500)
    assert ui.shown_step() > start + 100, "the race must be playing"
    # A websocket message is three frames (header, metadata, content); allow one stray message.
    assert len(sent) - before <= 3, (
        f"the browser sent {len(sent) - before} frames: {sent[before : before + 3]}"
    )
    assert ui.errors == []


_FRAME_WIDTHS_JS = """() => [...Bokeh.documents[0].all_models]
    .filter(m => m.type === 'Figure').map(m => m.title.text + ': ' + m.inner_width)"""


def test_the_loss_panel_holds_still_as_its_labels_lengthen(app):
    """A loss falling from 10^2 to the 10^-16 floor lengthens the log axis's labels: the panel's
    frame must not narrow with them (it jittered, and each change was a message back)."""
    ui, url = app
    ui.open(f"{url}/app?surface=quadratic&r0=sgd:lr=0.05&steps=600&speed=300")
    page = ui.page
    widths = {tuple(page.evaluate(_FRAME_WIDTHS_JS))}
    first = ui.trajectory()["gap0"][0]
    page.get_by_role("button", name="▶ Play").click()
    while ui.shown_step() < 599:
        page.wait_for_timeout(100)
        widths.add(tuple(page.evaluate(_FRAME_WIDTHS_JS)))
    last = ui.trajectory()["gap0"][-1]
    assert first > 100 and last == 1e-16, "the race must span the decades it is meant to"
    assert len(widths) == 1, f"the panels' frames changed width: {sorted(widths)}"
    assert ui.errors == []


def test_the_drawn_rows_are_the_race_exactly(app):
    """Whenever one looks while the race plays, each racer's drawn path and loss curve are the race's
    own numbers for steps 0..k, bit for bit, none missing or twice; and once paused too."""
    import numpy as np

    import optimizers
    from optirace.figures.curves import GAP_FLOOR

    ui, url = app
    racers = ["adam:lr=0.02", "gd:lr=0.001"]
    ui.open(f"{url}/app?r0={racers[0]}&r1={racers[1]}&steps=900&speed=90")  # 10 s: still playing at the pause
    race = optimizers.race("rosenbrock", racers, steps=900)
    gap = np.maximum(race.loss - race.surface.min_value, GAP_FLOOR)
    page = ui.page
    page.get_by_role("button", name="▶ Play").click()

    def same(rows) -> int:
        k = rows["step"][-1]
        assert rows["step"] == list(range(k + 1)), f"shown steps not 0..k: {rows['step'][-8:]}"
        for i in range(2):
            np.testing.assert_array_equal(rows[f"x{i}"], race.params[i, : k + 1, 0])
            np.testing.assert_array_equal(rows[f"y{i}"], race.params[i, : k + 1, 1])
            np.testing.assert_array_equal(rows[f"gap{i}"], gap[i, : k + 1])
        return k

    seen = []
    for _ in range(8):  # looks taken at any moment
        page.wait_for_timeout(97)
        seen.append(same(ui.trajectory()))
    assert seen[-1] > seen[0], "the race must be playing"
    page.get_by_role("button", name="❚❚ Pause").click()
    page.get_by_role("button", name="▶ Play").wait_for()
    k = same(ui.trajectory())
    assert _step_label(page) == k, "the step slider shows the step the plots show"
    assert ui.errors == []


def _play_to_the_end(ui, steps: int) -> dict:
    page = ui.page
    page.get_by_role("button", name="▶ Play").click()
    ui.wait_step(steps, timeout=60_000)
    return ui.trajectory()


@pytest.mark.parametrize("edit", ["remove", "add", "add then reset"])
def test_an_edited_race_is_drawn_as_a_fresh_one(app, edit):
    """After Remove, Add racer, or Add then Reset, every racer's drawn path and loss curve hold every
    step of the race, as a page opened fresh on the same racers draws them, to the number. (They
    were wiped but for the last rows once a race crossed a 256-row boundary.)"""
    import numpy as np

    ui, url = app
    steps = 700  # past every boundary a 256-row chunking would have
    racers = ["gd:lr=0.001", "adam:lr=0.02", "sgd:lr=0.002,momentum=0.95"]
    ui.open(f"{url}/app?" + "&".join(f"r{i}={r}" for i, r in enumerate(racers)) + f"&steps={steps}&speed=500")
    page = ui.page
    if edit == "remove":
        page.locator(".racer-card").nth(1).get_by_role("button", name="Remove").click()
        final = [racers[0], racers[2]]
    else:
        ui.choose(page.locator(".add-racer select").first, "rmsprop")
        page.get_by_role("button", name="Add racer").click()
        final = None
    page.wait_for_function(
        f"n => {{ {RACE_ROWS_JS} const r = rows(); return !!r && Object.keys(r).filter(k => /^x\\d+$/.test(k)).length === n; }}",
        arg=2 if edit == "remove" else 4, timeout=20_000)  # fmt: skip
    if edit == "add then reset":
        page.get_by_role("button", name="⟲ Reset").click()
    edited = _play_to_the_end(ui, steps)
    link = page.evaluate("() => window.location.search")
    if final is not None:
        assert "rmsprop" not in link and "adam" not in link, "the link names the racers left"
    fresh_page = page.context.new_page()
    fresh = type(ui)(fresh_page, [], []).open(f"{url}/app{link}&speed=500")
    drawn = _play_to_the_end(fresh, steps)
    n = 2 if edit == "remove" else 4
    for i in range(n):
        for col in (f"x{i}", f"y{i}", f"gap{i}"):
            assert len(edited[col]) in (steps + 1, len(drawn[col])), (col, len(edited[col]))
            np.testing.assert_array_equal(np.asarray(edited[col]), np.asarray(drawn[col]), err_msg=col)
    assert len(edited["x0"]) == steps + 1, "gd never diverges: its whole path is drawn"
    assert ui.errors == []


# JS: the divergence marks the page draws (figures/surface.py, dead_layers), in slot order: per
# layer role, the rows shown, as {x, y, text, align, baseline, color}.
_DEAD_JS = """() => {
  const out = {};
  for (const m of window.__optirace.player.args.targets) for (const t of m.tags || []) {
    const [, role] = t.split(':');
    if (!['deadx', 'deadtext', 'lossdead'].includes(role)) continue;
    const d = m.data_source.data, get = (k) => (d instanceof Map ? d.get(k) : d[k]);
    const x = get(role === 'lossdead' ? 'step' : 'x'), y = get('y'), rows = [];
    for (let k = 0; k < x.length; k++) if (Number.isFinite(x[k]) && Number.isFinite(y[k]))
      rows.push({x: x[k], y: y[k], text: get('text') ? get('text')[k] : null,
                 align: get('align') ? get('align')[k] : null,
                 baseline: get('baseline') ? get('baseline')[k] : null,
                 color: get('line_color') ? get('line_color')[k] : null});
    out[role] = m.visible ? rows : [];
  }
  return out;
}"""


def _colours(page) -> list[str]:
    return page.evaluate("() => { const r = window.__optirace.player.args.racers.data;"
                         " return Array.from(r instanceof Map ? r.get('color') : r.color); }")  # fmt: skip


def test_a_divergence_is_marked_once_reached_and_the_same_after_an_edit(app):
    """A diverged racer's cross and "diverged at step d" label (surface) and its cross on the loss
    panel appear once the player reaches step d, inside the frame, in its colour; after Remove of
    the other racer, the marks are drawn as before, and as a fresh page draws them, to the number
    (its colour is the fresh page's first, as a link does not keep palette slots)."""
    ui, url = app
    racers = "r0=adam:lr=0.02&r1=sgd:lr=0.01"  # plain SGD at lr 0.01 diverges on Rosenbrock
    ui.open(f"{url}/app?surface=rosenbrock&{racers}&steps=300&speed=500")
    page = ui.page
    d = page.evaluate("() => { const r = window.__optirace.player.args.racers.data;"
                      " return Array.from(r instanceof Map ? r.get('dead') : r.dead); }")  # fmt: skip
    assert d[0] < 0 and 0 < d[1] < 300, d
    before = page.evaluate(_DEAD_JS)
    assert before == {"deadx": [], "deadtext": [], "lossdead": []}, "nothing is marked at step 0"
    edited = _play_to_the_end(ui, 300)
    marks = page.evaluate(_DEAD_JS)
    (cross,), (label,), (loss,) = marks["deadx"], marks["deadtext"], marks["lossdead"]
    assert label["text"] == f"diverged at step {d[1]}"
    assert label["align"] in ("left", "right") and label["baseline"] in ("top", "bottom")
    assert -2 < cross["x"] < 2 and -1 < cross["y"] < 3, "the cross is pinned inside Rosenbrock's frame"
    assert loss["x"] == d[1]
    assert cross["color"].lower() == loss["color"].lower() == _colours(page)[1].lower()
    # Remove adam: the diverged racer is the only one, still in its slot and colour.
    page.locator(".racer-card").nth(0).get_by_role("button", name="Remove").click()
    page.wait_for_function(
        f"() => {{ {RACE_ROWS_JS} const r = rows(); return !!r && Object.keys(r).filter(k => /^x\\d+$/.test(k)).length === 1; }}",
        timeout=20_000)  # fmt: skip
    edited = _play_to_the_end(ui, 300)
    link = page.evaluate("() => window.location.search")
    fresh = type(ui)(page.context.new_page(), [], []).open(f"{url}/app{link}&speed=500")
    drawn = _play_to_the_end(fresh, 300)
    assert edited["x0"] == drawn["x0"]
    after, again = page.evaluate(_DEAD_JS), fresh.page.evaluate(_DEAD_JS)
    assert after == marks, "Remove of another racer leaves the marks as they were"
    assert again["deadx"][0]["color"].lower() == _colours(fresh.page)[0].lower()
    for role in again:
        for row in (*after[role], *again[role]):
            row.pop("color")
    assert after == again
    assert ui.errors == [] and fresh.errors == []


def test_the_export_menu_is_built_when_first_opened(app):
    """The export card's content is built on its first opening, not with every page; opened, it
    offers the formats and the link to the figure shown."""
    ui, url = app
    ui.open(f"{url}/app?surface=booth&steps=120")
    page = ui.page
    assert page.locator(".export-format").count() == 0
    page.get_by_text("Export and share", exact=True).click()
    page.locator(".export-format select").wait_for(timeout=10_000)
    assert "GIF (animated)" in page.locator(".export-format select").inner_text()
    link = page.locator(".export-link input").input_value()
    assert "surface=booth" in link and "steps=120" in link
    assert ui.errors == []


_COUNT_PAINTS_JS = """() => {
  window.__paints = {};
  for (const f of [...Bokeh.documents[0].all_models].filter(m => m.type === 'Figure')) {
    const view = Bokeh.index.find_one(f);
    const counts = (window.__paints[f.title.text] = {primary: 0, overlays: 0, moves: 0});
    const primary = view._paint_primary.bind(view), overlays = view._paint_overlays.bind(view);
    view._paint_primary = (ctx) => { counts.primary += 1; return primary(ctx); };
    view._paint_overlays = (ctx) => { counts.overlays += 1; return overlays(ctx); };
    // Frames in which the player moved a done layer of this panel (figures/split.py).
    let at = null;
    for (const r of f.renderers) if ((r.tags || []).some((t) => /^optirace:[a-z]+done:/.test(t)))
      r.data_source.properties.data.change.connect(() => {
        const now = document.timeline.currentTime;
        if (now !== at) { at = now; counts.moves += 1; }
      });
  }
  window.__legendRenders = 0;
  for (const l of [...Bokeh.documents[0].all_models].filter(m => m.constructor.__name__ === 'Legend')) {
    const view = Bokeh.index.find_one(l), render = view._render_items.bind(view);
    view._render_items = () => { window.__legendRenders += 1; return render(); };
  }
}"""


def test_the_panels_repaint_only_their_overlay_layer_while_playing(app):
    """What changes with the step (paths' and curves' tails, current points, the step marker) is
    on the overlay layer, so a panel's main layer (image, contours, axes, grid, legend, the
    schedules) is redrawn on an animation frame only when the player moves the done part of the
    paths and curves (figures/split.py), once per 256 steps, while every panel's overlay follows
    the race."""
    ui, url = app
    ui.open(f"{url}/app?steps=2000&speed=200")
    page = ui.page
    page.evaluate(_COUNT_PAINTS_JS)
    page.get_by_role("button", name="▶ Play").click()
    page.wait_for_timeout(2000)
    # Until the paths have passed a checkpoint (a busy machine paints fewer steps a second).
    page.wait_for_function("() => window.__optirace.player.step > 300", timeout=30_000)
    paints, step = page.evaluate("[window.__paints, window.__optirace.player.step]")
    assert len(paints) >= 3, paints
    # A legend rebuilds its entries (elements and a canvas each) whenever a model it reaches
    # changes: it must reach none of the layers the player changes.
    assert page.evaluate("window.__legendRenders") == 0
    for title, count in paints.items():
        assert count["overlays"] > 10, f"{title!r} must follow the race: {paints}"
        # Every step is a row here (2000 steps): the done parts move at rows 256, 512, ..., once each.
        assert count["moves"] in (0, step // 256), f"{title!r} at step {step}: {paints}"
        assert count["primary"] <= count["moves"], f"{title!r} redrew its main layer: {paints}"
    moves = sorted(count["moves"] for count in paints.values())
    # The surface's and the loss panel's paths and curves have done parts; the learning rate's
    # panel has none, and its main layer is never redrawn.
    assert moves[0] == 0 and moves[-2:] == [step // 256] * 2, (step, paints)
    assert ui.errors == []


_SCALES_JS = """() => {
  for (const f of [...Bokeh.documents[0].all_models].filter((m) => m.type === 'Figure')) {
    if (!(f.tags || []).includes('optirace:panel:contour')) continue;
    const v = Bokeh.index.find_one(f), bb = v.frame.bbox;
    return {x: bb.width / (f.x_range.end - f.x_range.start), y: bb.height / (f.y_range.end - f.y_range.start),
            xr: [f.x_range.start, f.x_range.end], yr: [f.y_range.start, f.y_range.end]};
  }
  return null;
}"""


@pytest.mark.parametrize(("size", "embed"), [((1280, 720), False), ((640, 360), True)])
def test_the_surface_is_drawn_at_equal_scales(app, size, embed):
    """A unit of x is as long on screen as a unit of y: the kappa = 20 ravine looks like a ravine,
    at any window size, and the whole domain (x in [-10, 10], y in [-4, 4]) is in view."""
    ui, url = app
    ui.page.set_viewport_size({"width": size[0], "height": size[1]})
    ui.open(f"{url}/app?surface=quadratic" + ("&embed=1" if embed else ""))
    ui.page.wait_for_timeout(500)
    s = ui.page.evaluate(_SCALES_JS)
    assert abs(s["x"] - s["y"]) <= 0.01 * s["x"], s
    assert s["xr"][0] <= -10 and s["xr"][1] >= 10 and s["yr"][0] <= -4 and s["yr"][1] >= 4, s
    assert ui.errors == []
