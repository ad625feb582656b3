"""The noise as a cloud in the served app: a noisy race's seeds box draws every seed's path, the
mean path and the loss's median and band (optirace/app/cloud_panel.py)."""

from __future__ import annotations

import numpy as np
import pytest

import optimizers

pytestmark = pytest.mark.browser

RACERS = ["adam:lr=0.01", "sgd:lr=0.001,momentum=0.9"]
LINK = "/app?surface=rosenbrock&noise=0.5&r0=adam:lr=0.01&r1=sgd:lr=0.001,momentum=0.9&steps=100"

# The cloud figure's renderers in the page, by tag (optirace/figures/cloud.py): each one's data.
CLOUD_JS = """() => { const out = {};
  for (const doc of Bokeh.documents) for (const m of doc.all_models) for (const t of (m.tags || [])) {
    if (typeof t !== 'string' || !t.startsWith('optirace:cloud:')) continue;
    const d = m.data_source.data, keys = d instanceof Map ? [...d.keys()] : Object.keys(d);
    const row = {};
    for (const k of keys) {
      const v = d instanceof Map ? d.get(k) : d[k];
      row[k] = Array.from(v, (x) => (x && typeof x === 'object' && x.length !== undefined ? Array.from(x) : x));
    }
    out[t.slice('optirace:cloud:'.length)] = row;
  }
  return out; }"""


def _cloud(ui, seeds: int) -> dict:
    """Wait until the page draws a cloud of `seeds` seeds; return its layers."""
    ui.page.wait_for_function(
        f"""(n) => {{ const c = ({CLOUD_JS})();
            return c['seeds'] && c['seeds'].xs[0].length === n * 102 - 1; }}""",
        arg=seeds,
        timeout=90_000,
    )
    return ui.page.evaluate(CLOUD_JS)


def test_seeds_draw_the_cloud_mean_path_and_loss_band(app):
    ui, url = app
    ui.open(url + LINK)
    box = ui.page.locator(".cloud-seeds input")
    box.wait_for(state="visible", timeout=30_000)
    assert ui.page.evaluate(CLOUD_JS) == {}  # seeds 1: nothing drawn until asked
    box.fill("16")
    box.press("Enter")
    shown = _cloud(ui, 16)
    want = optimizers.cloud("rosenbrock", RACERS, steps=100, noise=0.5, seeds=16)
    for i in range(2):
        xs = np.array(shown["seeds"]["xs"][i], dtype=float)
        assert np.isnan(xs).sum() == 15  # 16 seeds' paths, a gap between two
        mean_x = np.array(shown["mean"]["xs"][i], dtype=float)
        mean_y = np.array(shown["mean"]["ys"][i], dtype=float)
        assert len(mean_x) == len(mean_y) == 101
        np.testing.assert_allclose(np.stack([mean_x, mean_y], -1), want.mean_path()[i], rtol=1e-9)
        median = np.array(shown[f"median:{i}"]["gap"], dtype=float)
        assert len(median) == 101
        np.testing.assert_allclose(median, np.maximum(want.loss_quantiles()[1, i], 1e-16), rtol=1e-9)
    band = shown["band"]
    assert len(band["xs"]) == 2  # one 25-75% band per racer
    assert len(band["xs"][0][0][0]) == 2 * 101  # up the 75th percentile, back down the 25th
    assert len(shown["ends"]["x"]) == 32
    ui.page.locator(".cloud").first.scroll_into_view_if_needed()
    ui.screenshot("cloud")
    assert ui.errors == []


def test_seeds_box_is_hidden_while_the_race_is_not_random(app):
    ui, url = app
    ui.open(url + LINK.replace("noise=0.5", "noise=0"))
    ui.page.locator(".cloud-seeds").first.wait_for(state="attached", timeout=30_000)
    assert not ui.page.locator(".cloud-seeds input").is_visible()
    assert ui.errors == []
