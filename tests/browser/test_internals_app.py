"""The internals in the page: toggled arrows follow the player's step with the race's own numbers,
the table shows the step's values, and a race playing with them on still sends nothing back."""

from __future__ import annotations

import numpy as np
import pytest

import optimizers
from optirace.figures.player import race_columns

pytestmark = pytest.mark.browser

RACERS = ["adam:lr=0.02", "sgd:lr=0.001,momentum=0.9", "lookahead:inner=adam,inner.lr=0.02,k=3"]
STEPS = 60

# {kind: [[x0, y0, x1, y1] per slot]} of the arrow layers of the figure on show (figures/tags.py),
# read from BokehJS's models; visible: whether each layer is drawn.
ARROWS_JS = """() => {
  const shown = new Set(window.__optirace.player.args.targets);
  const out = {};
  for (const m of Bokeh.documents[0].all_models) {
    if (!shown.has(m)) continue;
    for (const t of (m.tags || [])) {
      if (typeof t !== 'string' || !t.startsWith('optirace:arrow.')) continue;
      const kind = t.split(':')[1].slice(6);
      const d = m.data_source.data, get = (k) => Array.from(d instanceof Map ? d.get(k) : d[k]);
      const [x0, y0, x1, y1] = ['x0', 'y0', 'x1', 'y1'].map(get);
      out[kind] = {visible: m.visible, rows: x0.map((_, j) => [x0[j], y0[j], x1[j], y1[j]])};
    }
    if ((m.tags || []).some((t) => typeof t === 'string' && t.startsWith('optirace:track:'))) {
      const d = m.data_source.data, get = (k) => (d instanceof Map ? d.get(k) : d[k]);
      out.track = {visible: m.visible, xs: get('xs').map((a) => Array.from(a)), ys: get('ys').map((a) => Array.from(a))};
    }
  }
  return out;
}"""


# {kind: the heads of the arrow layer on show, as BokehJS holds them: the Arrow annotation over the
# layer's own source, its visibility, the columns its two ends read and its heads' types}.
HEADS_JS = """() => {
  const shown = new Set(window.__optirace.player.args.targets);
  const all = [...Bokeh.documents[0].all_models];
  const out = {};
  for (const m of all) {
    if (!shown.has(m)) continue;
    const t = (m.tags || []).find((t) => typeof t === 'string' && t.startsWith('optirace:arrow.'));
    if (!t) continue;
    const heads = all.filter((a) => a.type === 'Arrow' && a.source === m.data_source);
    const f = (a, k) => (a[k] && a[k].field) || null;
    out[t.split(':')[1].slice(6)] = heads.map((a) => ({
      visible: a.visible, ends: ['x_start', 'y_start', 'x_end', 'y_end'].map((k) => f(a, k)),
      start: a.start ? a.start.type : null, end: a.end ? a.end.type : null,
      color: a.end ? f(a.end, 'line_color') : null,
    }));
  }
  return out;
}"""


def _toggle(page, label: str) -> None:
    page.get_by_label(label).check()


def _expected(k: int) -> dict:
    res = optimizers.race("rosenbrock", RACERS, steps=STEPS)
    cols = race_columns(res, np.arange(STEPS + 1))
    out = {}
    for kind in ("g", "u", "m"):
        out[kind] = []
        for i in range(len(RACERS)):
            x, y = res.params[i, k]
            out[kind].append([x, y, x + cols[f"{kind}dx{i}"][k], y + cols[f"{kind}dy{i}"][k]])
    return res, out


def _step_to(ui, k: int) -> None:
    for _ in range(k - ui.shown_step()):
        ui.page.get_by_role("button", name="Step ▶").click()
    ui.wait_step(k)


def test_arrows_follow_the_players_step_and_the_table_shows_its_values(app):
    ui, url = app
    ui.open(f"{url}/app?r0={RACERS[0]}&r1={RACERS[1]}&r2={RACERS[2]}&steps={STEPS}")
    page = ui.page
    before = page.evaluate(ARROWS_JS)
    assert set(before) == {"g", "u", "m", "track"} and not any(v["visible"] for v in before.values()), (
        "off by default"
    )
    for label in (
        "Gradient arrows",
        "Update arrows",
        "Momentum arrows",
        "Slow-weight tracks",
        "Internals table",
    ):
        _toggle(page, label)
    for k in (3, 4):
        _step_to(ui, k)
        res, want = _expected(k)
        page.wait_for_function(
            f"x => {{ const a = ({ARROWS_JS})(); return a.g.visible && Math.abs(a.g.rows[0][0] - x) < 1e-9; }}",
            arg=float(want["g"][0][0]),
        )
        got = page.evaluate(ARROWS_JS)
        for kind in ("g", "u", "m"):
            assert got[kind]["visible"]
            np.testing.assert_allclose(
                np.asarray(got[kind]["rows"][:3], dtype=float), want[kind], atol=1e-6, rtol=0
            )
            # The figure's other slots hold no racer: nothing is drawn there.
            assert all(v is None or np.isnan(v) for row in got[kind]["rows"][3:] for v in row)
        # Lookahead's slow weights up to the step: they jumped at step 3 (k = 3).
        slow = res.state[2]["slow"][: k + 1]
        assert got["track"]["visible"]
        np.testing.assert_allclose(got["track"]["xs"][2], slow[:, 0], atol=1e-12, rtol=0)
        np.testing.assert_allclose(got["track"]["ys"][2], slow[:, 1], atol=1e-12, rtol=0)
        assert not np.array_equal(slow[3], slow[2])
        # The table is the server's, for the step the page reported.
        m = res.state[0]["exp_avg"][k + 1]
        table = page.locator(".internals-table")
        table.get_by_text(f"Internals at step {k}").wait_for(timeout=20_000)
        text = table.locator("div.internals").inner_text()
        assert f"{m[0]:.6g}" in text and f"{m[1]:.6g}" in text
        assert f"step {k} → {k + 1}" in text
    assert "arrows: −∇f and −m ×" in ui.text()
    # Each arrow has a head at its tip (x1, y1), none at the racer's point (x0, y0): they point away
    # from the racer, as the rows compared above do; in each row's colour.
    heads = page.evaluate(HEADS_JS)
    for kind in ("g", "u", "m"):
        assert heads[kind] == [
            {
                "visible": True,
                "ends": ["x0", "y0", "x1", "y1"],
                "start": None,
                "end": "OpenHead",
                "color": "color",
            }
        ], heads
    # Off again: the layers are hidden at once, with no server in the loop.
    page.get_by_label("Update arrows").uncheck()
    page.wait_for_function(f"() => !({ARROWS_JS})().u.visible")
    assert page.evaluate(ARROWS_JS)["g"]["visible"]
    heads = page.evaluate(HEADS_JS)  # the heads go with their layer
    assert [h["visible"] for h in heads["u"]] == [False] and [h["visible"] for h in heads["g"]] == [True]
    ui.screenshot("internals")
    assert ui.errors == []


def test_a_race_playing_with_every_internal_shown_sends_nothing_back(app):
    ui, url = app
    ui.open(f"{url}/app?steps=3000&speed=200")
    page = ui.page
    for label in (
        "Gradient arrows",
        "Update arrows",
        "Momentum arrows",
        "Slow-weight tracks",
        "Internals table",
    ):
        _toggle(page, label)
    page.locator(".internals-table").get_by_text("Internals at step 0").wait_for(timeout=20_000)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    sent: list[str] = []
    cdp.on("Network.webSocketFrameSent", lambda e: sent.append(e["response"]["payloadData"][:200]))
    page.get_by_role("button", name="▶ Play").click()
    page.wait_for_timeout(1000)  # the click and the first frames
    before, start = len(sent), ui.shown_step()
    page.wait_for_timeout(2500)
    assert ui.shown_step() > start + 100, "the race must be playing"
    assert page.evaluate(ARROWS_JS)["g"]["visible"]
    # A websocket message is three frames (header, metadata, content); allow one stray message.
    assert len(sent) - before <= 3, (
        f"the browser sent {len(sent) - before} frames: {sent[before : before + 3]}"
    )
    assert ui.errors == []
