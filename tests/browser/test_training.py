"""The network in the served app: the mlp_landscape surface races, and the Real training card trains."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import RACE_ROWS_JS

import optimizers
import surfaces
from optirace.app.state import RaceState

pytestmark = pytest.mark.browser

SURFACE = surfaces.SURFACES["mlp_landscape"]
CARD = "Real training: a 337-parameter network, trained by each racer"

# The training plot's renderers in the page, by tag (optirace/figures/training.py): each curve's data.
TRAINING_JS = """() => { const out = {};
  for (const doc of Bokeh.documents) for (const m of doc.all_models) for (const t of (m.tags || [])) {
    if (typeof t !== 'string' || !t.startsWith('optirace:training:')) continue;
    const d = m.data_source.data, get = (k) => Array.from(d instanceof Map ? d.get(k) : d[k]);
    out[t.slice('optirace:training:'.length)] = {step: get('step'), loss: get('loss')};
  }
  return out; }"""


def test_the_landscape_races_and_train_draws_one_pair_of_curves_per_racer(app):
    ui, url = app
    ui.open(f"{url}/app")
    page = ui.page
    ui.choose(page.locator("select").first, SURFACE.title)
    # The first visit trains theta* and compiles the race: give the loaded server time.
    page.wait_for_function(
        f"s => {{ {RACE_ROWS_JS} const r = rows(); return !!r && Math.abs(r.x0[0] - s[0]) < 1e-12 && Math.abs(r.y0[0] - s[1]) < 1e-12; }}",
        arg=list(SURFACE.start),
        timeout=300_000,
    )
    assert "Li et al. (2018)" in ui.text()
    # The page's racers: the default race, retuned for the new surface, as the app's state does it.
    state = RaceState()
    state.surface = "mlp_landscape"
    racers, res = state.racers, state.result
    rows = ui.trajectory()
    assert len(racers) == 3
    for i in range(len(racers)):
        # The race the page holds is the engine's, drawn from the surface's start (at step 0).
        assert rows[f"x{i}"][0] == SURFACE.start[0] and rows[f"y{i}"][0] == SURFACE.start[1]
        np.testing.assert_allclose(rows[f"gap{i}"][0], res.loss[i, 0] - SURFACE.min_value, rtol=1e-12)

    page.locator(".card-header", has_text=CARD).click()
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function(f"() => Object.keys(({TRAINING_JS})()).length >= 6", timeout=300_000)
    shown = page.evaluate(TRAINING_JS)
    assert sorted(shown) == sorted(f"{kind}:{i}" for kind in ("train", "held_out") for i in range(3))
    trained = optimizers.train(racers, steps=500, seed=0)
    for i in range(3):
        for kind, values in (("train", trained.train_loss[i]), ("held_out", trained.held_out_loss[i])):
            curve = shown[f"{kind}:{i}"]
            assert curve["step"] == list(range(501))
            np.testing.assert_allclose(curve["loss"], values, rtol=1e-12)
    assert "Trained 3 racer(s) for 500 steps" in ui.text()
    ui.screenshot("training")
    assert ui.errors == []
