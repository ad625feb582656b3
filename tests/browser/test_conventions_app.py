"""Two racers of one optimizer in two conventions, opened from a link, in a real browser."""

from __future__ import annotations

import numpy as np
import pytest

from optimizers import OPTIMIZERS

pytestmark = pytest.mark.browser

DEEP_JS = """
const deep = (sel) => { const out = []; const walk = (root) => {
  for (const e of root.querySelectorAll('*')) { if (e.matches(sel)) out.push(e); if (e.shadowRoot) walk(e.shadowRoot); } };
  walk(document); return out; };
"""
RACERS_TEXT = """() => { const r = window.__optirace.player.args.racers;
  const d = r.data instanceof Map ? r.data.get('text') : r.data.text; return Array.from(d); }"""
RACE_COL = """(k) => { const d = window.__optirace.player.args.race.data;
  return Array.from(d instanceof Map ? d.get(k) : d[k]); }"""
# Each select that offers the momentum forms: its label's text and the option shown.
FORM_SELECTS = f"""() => {{ {DEEP_JS}
  return deep('select').filter(s => [...s.options].some(o => o.value === 'sutskever' || o.text === 'sutskever'))
    .map(s => {{ const group = s.closest('.bk-input-group') || s.parentElement;
                 const label = group.querySelector('label');
                 return [label ? label.textContent.trim() : '', s.options[s.selectedIndex].text]; }}); }}"""

STEPS = 100
LINK = (f"/app?surface=rosenbrock&steps={STEPS}&r0=sgd:lr=0.001,momentum=0.9"
        "&r1=sgd:lr=0.001,momentum=0.9,momentum_form=averaged")  # fmt: skip


def test_two_momentum_forms_race_side_by_side(app):
    ui, url = app
    ui.open(url + LINK)
    page = ui.page
    # (lr 0.001 is sgd's default, which a racer's text leaves out)
    assert page.evaluate(RACERS_TEXT) == ["sgd:momentum=0.9", "sgd:momentum=0.9,momentum_form=averaged"]
    # Both race the whole budget, from the same start, and part: the averaged steps are 0.1 of torch's.
    x0, y0 = np.array(page.evaluate(RACE_COL, "x0")), np.array(page.evaluate(RACE_COL, "y0"))
    x1, y1 = np.array(page.evaluate(RACE_COL, "x1")), np.array(page.evaluate(RACE_COL, "y1"))
    assert len(x0) == len(x1) == STEPS + 1
    assert (x0[0], y0[0]) == (x1[0], y1[0])
    torch_moved = np.hypot(x0[-1] - x0[0], y0[-1] - y0[0])
    averaged_moved = np.hypot(x1[-1] - x1[0], y1[-1] - y1[0])
    assert torch_moved > 0.1 and averaged_moved > 1e-3
    assert np.hypot(x1 - x0, y1 - y0).max() > 0.05
    first = np.hypot(x0[1] - x0[0], y0[1] - y0[0]), np.hypot(x1[1] - x1[0], y1[1] - y1[0])
    assert first[1] == pytest.approx(0.1 * first[0], rel=1e-6)
    # The option is in each racer's editor under its name, showing the racer's form.
    page.wait_for_function(f"() => ({FORM_SELECTS})().length >= 2")
    assert page.evaluate(FORM_SELECTS)[:2] == [["momentum_form", "torch"], ["momentum_form", "averaged"]]
    # The explain panel says what the chosen form changes, for each racer's tab.
    sentences = OPTIMIZERS["sgd"].spec("momentum_form")
    for tab, form in enumerate(("torch", "averaged")):
        page.evaluate(f"i => {{ {DEEP_JS} deep('.bk-tab')[i].click(); }}", tab)
        page.wait_for_function(
            f"""(s) => {{ {DEEP_JS} return deep('table.hp').some(t => t.getBoundingClientRect().width > 0
                 && t.textContent.includes(s)); }}""",
            arg=sentences.choice_doc(form)[:60],
        )
    assert ui.errors == []


def test_choosing_a_form_in_the_editor_races_it(app):
    ui, url = app
    ui.open(url + LINK)
    page = ui.page
    before = page.evaluate(RACE_COL, "x1")
    select = page.locator("select", has=page.locator("option", has_text="sutskever")).nth(1)
    ui.choose(select, "sutskever")
    # Sutskever's form is torch's at a constant lr: racer 1's path becomes racer 0's.
    page.wait_for_function(
        f"() => ({RACERS_TEXT})()[1] === 'sgd:momentum=0.9,momentum_form=sutskever'", timeout=30_000
    )
    page.wait_for_function(f"() => ({RACE_COL})('x1').at(-1) !== {before[-1]!r}", timeout=30_000)
    x0, x1 = np.array(page.evaluate(RACE_COL, "x0")), np.array(page.evaluate(RACE_COL, "x1"))
    np.testing.assert_allclose(x1, x0, rtol=1e-9, atol=1e-12)
    assert "momentum_form=sutskever" in page.evaluate("() => decodeURIComponent(window.location.search)")
    assert ui.errors == []
