"""The cards of a fair race in the served app: learning-rate sensitivity, Tune lr and Undo, memory."""

from __future__ import annotations

import pytest

import optimizers

pytestmark = pytest.mark.browser

RACERS = ["adam:lr=0.01", "sgd:lr=0.001,momentum=0.9"]
LINK = "/app?surface=rosenbrock&r0=adam:lr=0.01&r1=sgd:lr=0.001,momentum=0.9&steps=100"

# The sensitivity plot's renderers in the page, by tag (optirace/figures/sensitivity.py): each
# curve's and mark's data. The newest figure's models come last in the document.
SENSITIVITY_JS = """() => { const out = {};
  for (const doc of Bokeh.documents) for (const m of doc.all_models) for (const t of (m.tags || [])) {
    if (typeof t !== 'string' || !t.startsWith('optirace:sensitivity:')) continue;
    const d = m.data_source.data, get = (k) => Array.from(d instanceof Map ? d.get(k) : d[k]);
    out[t.slice('optirace:sensitivity:'.length)] = {lr: get('lr'), gap: get('gap')};
  }
  return out; }"""


# Every text node of the page, through open shadow roots (Panel renders into them).
DEEP_TEXT_JS = """() => { const parts = []; const walk = (n) => { if (n.shadowRoot) walk(n.shadowRoot);
  for (const c of n.children || []) walk(c); if (n.nodeType === 1) for (const t of n.childNodes) if (t.nodeType === 3) parts.push(t.textContent); };
  walk(document.body); return parts.join(' '); }"""


def _open_card(ui, title: str) -> None:
    ui.page.locator(".card-header", has_text=title).click()


def _marks_at(ui, lrs) -> None:
    """Wait until the plot's marks sit at these learning rates (racer order)."""
    ui.page.wait_for_function(
        f"""(lrs) => {{ const s = ({SENSITIVITY_JS})();
            return lrs.every((lr, i) => s['mark:' + i] && Math.abs(s['mark:' + i].lr[0] / lr - 1) < 1e-9); }}""",
        arg=list(lrs),
        timeout=60_000,
    )


def test_sensitivity_plot_has_one_curve_per_racer_and_marks_their_learning_rates(app):
    ui, url = app
    ui.open(url + LINK)
    _open_card(ui, "Learning rate: sensitivity and tuning")
    _marks_at(ui, [0.01, 0.001])
    shown = ui.page.evaluate(SENSITIVITY_JS)
    assert sorted(shown) == ["curve:0", "curve:1", "mark:0", "mark:1"]
    tuned = optimizers.tune("rosenbrock", RACERS, steps=100)
    for i, sweep in enumerate(tuned.sweeps):
        curve = shown[f"curve:{i}"]
        assert len(curve["lr"]) == 64
        assert curve["lr"] == pytest.approx(list(sweep.values), rel=1e-12)
    # Each mark sits at its racer's final loss above the minimum (Rosenbrock's is 0).
    res = optimizers.race("rosenbrock", RACERS, steps=100)
    for i in range(2):
        assert shown[f"mark:{i}"]["gap"][0] == pytest.approx(res.loss[i, -1], rel=1e-9)
    assert ui.errors == []


def test_tune_sets_the_racers_learning_rates_and_undo_restores_them(app):
    ui, url = app
    ui.open(url + LINK)
    page = ui.page
    _open_card(ui, "Learning rate: sensitivity and tuning")
    _marks_at(ui, [0.01, 0.001])
    tuned = optimizers.tune("rosenbrock", RACERS, steps=100)
    best = [s.best for s in tuned.sweeps]
    assert best != [0.01, 0.001]
    page.get_by_role("button", name="Tune lr").click()
    # The racers' cards show the tuned values, and the plot's marks moved to them.
    headers = [f"adam · lr {best[0]:.3g}", f"sgd · lr {best[1]:.3g}"]
    # ... and the card says what changed.
    headers += [f"adam: lr 0.01 → {best[0]:.3g}", f"sgd: lr 0.001 → {best[1]:.3g}"]
    page.wait_for_function(
        f"(want) => {{ const t = ({DEEP_TEXT_JS})(); return want.every((w) => t.includes(w)); }}",
        arg=headers,
        timeout=30_000,
    )
    _marks_at(ui, best)
    page.get_by_role("button", name="Undo").click()
    page.wait_for_function(
        f"() => {{ const t = ({DEEP_TEXT_JS})(); return t.includes('adam · lr 0.01') && t.includes('sgd · lr 0.001'); }}",
        timeout=30_000,
    )
    _marks_at(ui, [0.01, 0.001])
    assert "Learning rates restored." in page.evaluate(DEEP_TEXT_JS)
    page.locator(".sensitivity").first.scroll_into_view_if_needed()
    ui.screenshot("fair-sensitivity")
    assert ui.errors == []


def test_memory_table_shows_the_expected_numbers(app):
    ui, url = app
    ui.open(url + LINK)
    _open_card(ui, "Memory per racer")
    ui.page.wait_for_function(f"() => ({DEEP_TEXT_JS})().includes('exp_avg_sq')", timeout=30_000)
    cells = ui.page.evaluate(
        """() => { const rows = []; const walk = (root) => { for (const e of root.querySelectorAll('*')) {
             if (e.matches('table.memory-table tbody tr')) rows.push([...e.children].map((c) => c.textContent));
             if (e.shadowRoot) walk(e.shadowRoot); } }; walk(document); return rows; }"""
    )
    ui.page.locator(".memory").first.scroll_into_view_if_needed()
    ui.screenshot("fair-memory")
    # adam: 2 buffers; sgd with momentum: 1. A model of 7e9 parameters over 8 GPUs (the defaults).
    assert cells == [
        ["adam", "2 (exp_avg, exp_avg_sq)", "8", "4", "56 GB", "28 GB", "7 GB", "3.5 GB"],
        ["sgd", "1 (momentum_buffer)", "4", "2", "28 GB", "14 GB", "3.5 GB", "1.75 GB"],
    ]
    assert ui.errors == []
