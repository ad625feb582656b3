"""The lr x momentum map in the served app: computed on its button, and a click on a cell races it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

import optimizers
from optimizers.maps import lr_beta_map

pytestmark = pytest.mark.browser

LINK = "/app?surface=rosenbrock&r0=adam:lr=0.01&r1=sgd:lr=0.001,momentum=0.9&steps=100"
SGD = "sgd:lr=0.001,momentum=0.9"

# The map's layers in the page, by tag (optirace/figures/heatmap.py): the cells' and the mark's data,
# and the screen position (page pixels) of a point (lr, beta) on the map's figure.
MAP_JS = """(want) => {
  const get = (d, k) => Array.from(d instanceof Map ? d.get(k) : d[k]);
  const out = {};
  for (const doc of Bokeh.documents) for (const m of doc.all_models) {
    if (m.type !== 'Figure') continue;
    const tags = m.renderers.flatMap((r) => r.tags || []);
    if (!tags.includes('optirace:heatmap:cells')) continue;
    for (const r of m.renderers) for (const t of (r.tags || [])) {
      const d = r.data_source.data;
      if (t === 'optirace:heatmap:cells') out.cells = {left: get(d, 'left'), right: get(d, 'right'), bottom: get(d, 'bottom'), top: get(d, 'top'), gap: get(d, 'gap')};
      if (t === 'optirace:heatmap:mark') out.mark = [get(d, 'lr')[0], get(d, 'beta')[0]];
    }
    const view = Bokeh.index.find_one(m);
    if (view && want) {
      const box = view.el.getBoundingClientRect();
      out.at = [box.left + view.frame.x_scale.compute(want[0]), box.top + view.frame.y_scale.compute(want[1])];
    }
  }
  return out;
}"""


# Every text node of the page, through open shadow roots (Panel renders into them).
DEEP_TEXT_JS = """() => { const parts = []; const walk = (n) => { if (n.shadowRoot) walk(n.shadowRoot);
  for (const c of n.children || []) walk(c); if (n.nodeType === 1) for (const t of n.childNodes) if (t.nodeType === 3) parts.push(t.textContent); };
  walk(document.body); return parts.join(' '); }"""

# The race the page was sent (optirace/figures/player.py's `race` source): every step's columns.
RACE_JS = """() => { const d = window.__optirace.player.args.race.data, out = {};
  for (const k of (d instanceof Map ? d.keys() : Object.keys(d))) out[k] = Array.from(d instanceof Map ? d.get(k) : d[k]);
  return out; }"""


def _racer_in_link(page) -> str:
    return parse_qs(urlparse(page.url).query)["r1"][0]


def test_a_click_on_a_cell_races_that_setting(app):
    ui, url = app
    page = ui.page
    ui.open(url + LINK)
    page.locator(".card-header", has_text="Learning rate × momentum").click()
    select = page.locator(".heatmap-racer select")
    select.wait_for(timeout=30_000)
    # Only the racers with a momentum or beta1 are offered (both are here).
    assert select.evaluate("e => [...e.options].map(o => o.text)") == ["adam", "sgd"]
    ui.choose(select, "sgd")
    page.get_by_role("button", name="Compute map").click()
    page.wait_for_function(f"() => !!({MAP_JS})(null).cells", timeout=60_000)

    m = lr_beta_map("rosenbrock", SGD, steps=100)
    shown = page.evaluate(MAP_JS, None)
    # The page draws the engine's map: every cell's final loss above the minimum (0 on Rosenbrock),
    # NaN where the run diverged, and the racer's own setting marked.
    assert len(shown["cells"]["gap"]) == m.loss.size == 32 * 32
    gap = np.array([np.nan if g is None else g for g in shown["cells"]["gap"]], dtype=float)
    c = {k: np.asarray(v, dtype=float) for k, v in shown["cells"].items() if k != "gap"}
    for i, j in [(0, 0), (28, 10), (31, 31)]:
        # The one cell drawn around (lr, beta).
        (k,) = np.flatnonzero((c["left"] < m.lrs[j]) & (m.lrs[j] < c["right"])
                              & (c["bottom"] < m.betas[i]) & (m.betas[i] < c["top"]))  # fmt: skip
        g = gap[k]
        assert np.isnan(g) if m.diverged[i, j] else g == pytest.approx(max(m.loss[i, j], 1e-16), rel=1e-12)
    assert shown["mark"] == [0.001, 0.9]

    # The cell with the lowest final loss: another setting than the racer's own.
    i, j = np.unravel_index(np.argmin(np.where(m.diverged, np.inf, m.loss)), m.loss.shape)
    lr, beta = float(m.lrs[j]), float(m.betas[i])
    assert (lr, beta) != (0.001, 0.9)
    before = page.evaluate(RACE_JS)
    page.locator(".heatmap").first.scroll_into_view_if_needed()
    x, y = page.evaluate(MAP_JS, [lr, beta])["at"]
    page.mouse.click(x, y)

    # The racer took the cell's values: in the link, in its card, and in the map's mark ...
    want = f"sgd:lr={lr!r},momentum={beta!r}"
    page.wait_for_function("(want) => new URLSearchParams(location.search).get('r1') === want", arg=want,
                           timeout=30_000)  # fmt: skip
    assert _racer_in_link(page) == want
    page.wait_for_function(
        f"() => {{ const t = ({DEEP_TEXT_JS})(); return t.includes({f'sgd · lr {lr:.3g} · momentum {beta:.3g}'!r}); }}",
        timeout=30_000,
    )
    page.wait_for_function(f"(w) => {{ const s = ({MAP_JS})(null); return !!s.mark && s.mark[0] === w[0] && s.mark[1] === w[1]; }}",
                           arg=[lr, beta], timeout=30_000)  # fmt: skip
    # ... and the race was run again and sent to the page: the sgd racer's loss is that of a single
    # race at the cell's setting, and ends at the map's value for the cell.
    page.wait_for_function(
        """(want) => { const d = window.__optirace.player.args.race.data, get = (k) => Array.from(d instanceof Map ? d.get(k) : d[k]);
            const loss = get('loss1'), step = get('step');
            return step[step.length - 1] === 100 && Math.abs(loss[loss.length - 1] / want - 1) < 1e-9; }""",
        arg=float(m.loss[i, j]),
        timeout=30_000,
    )
    after = page.evaluate(RACE_JS)
    res = optimizers.race(
        "rosenbrock", ["adam:lr=0.01", {"optimizer": "sgd", "lr": lr, "momentum": beta}], steps=100
    )
    assert res.diverged_at[1] == -1
    assert res.loss[1, -1] == pytest.approx(m.loss[i, j], rel=1e-9)
    np.testing.assert_allclose(after["x1"], res.params[1, :, 0], rtol=1e-9)
    assert after["x1"] != before["x1"]
    assert after["x0"] == before["x0"]  # adam's race did not change
    page.locator(".heatmap").first.scroll_into_view_if_needed()
    ui.screenshot("heatmap")
    assert ui.errors == []
