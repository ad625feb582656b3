"""Defects found by trying the app at 1280x720: each test drives the real served app."""

from __future__ import annotations

import contextlib
import json
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from optimizers import OPTIMIZERS, SCHEDULES
from surfaces import SURFACES

pytestmark = pytest.mark.browser

# Every element under the document, through open shadow roots (Panel renders into them).
DEEP_JS = """
const deep = (sel) => { const out = []; const walk = (root) => {
  for (const e of root.querySelectorAll('*')) { if (e.matches(sel)) out.push(e); if (e.shadowRoot) walk(e.shadowRoot); } };
  walk(document); return out; };
"""


def test_every_formula_renders_without_a_katex_error(app):
    ui, url = app
    ui.open(f"{url}/app?surface=booth&r0=sgd:lr=0.02,momentum=0.9&r1=newton&r2=rmsprop:lr=0.02,centered=true"
            "&r3=gd:lr=0.02,schedule=cosine")  # fmt: skip
    page = ui.page
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
    # KaTeX's stylesheet lays a formula's sub- and superscripts out as inline tables; without it
    # they run together at text size and sized brackets shrink back to plain ones.
    laid_out = "const laid_out = k => { const v = k.querySelector('.vlist-t'); return !!v && getComputedStyle(v).display === 'inline-table'; };"
    for tab in range(4):  # the explain tabs render their formulas when first shown
        page.evaluate(f"i => {{ {DEEP_JS} deep('.bk-tab')[i].click(); }}", tab)
        page.wait_for_function(
            f"() => {{ {DEEP_JS} return deep('table.hp').some(t => t.getBoundingClientRect().width > 0); }}"
        )
        styled = f"""() => {{ {DEEP_JS} {laid_out} const k = deep('.katex').filter(k => k.getBoundingClientRect().width > 0);
                      return k.length >= 2 && k.every(laid_out); }}"""
        # KaTeX's stylesheet arrives after the formula; the formula must end up styled by it (the
        # assertions below say what is wrong if it never does).
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_function(styled, timeout=10_000)
        shown = page.evaluate(
            f"""() => {{ {DEEP_JS} {laid_out} const text = deep('table.hp').find(t => t.getBoundingClientRect().width > 0);
                return deep('.katex').filter(k => k.getBoundingClientRect().width > 0 && k.getRootNode().host.classList.contains('rule'))
                  .map(k => [k.textContent.slice(0, 20) + (laid_out(k) ? '' : ': not laid out by KaTeX'), parseFloat(getComputedStyle(k).fontSize),
                             parseFloat(getComputedStyle(text).fontSize), k.getRootNode().querySelectorAll('.katex-error').length]); }}"""
        )
        assert shown, f"tab {tab}: no formula drawn"
        for formula, size, text_size, errors in shown:
            assert errors == 0
            assert "not laid out" not in formula, f"tab {tab}: {formula}"
            assert size >= text_size, f"tab {tab}: formula {size}px, text {text_size}px"
    # The same KaTeX the page uses, on every optimizer's and schedule's formula.
    formulas = {name: spec.latex for name, spec in {**OPTIMIZERS, **SCHEDULES}.items()}
    errors = page.evaluate(
        """(formulas) => { const bad = {}; for (const [name, tex] of Object.entries(formulas)) {
             const html = katex.renderToString(tex, {displayMode: true, throwOnError: false});
             if (html.includes('katex-error')) bad[name] = html; } return bad; }""",
        formulas,
    )
    assert errors == {}, json.dumps(errors, indent=1)
    assert missing == []  # e.g. fonts the stylesheet names and the server does not have
    assert ui.errors == []


def test_a_racer_keeps_its_colour_when_another_is_removed(app):
    ui, url = app
    ui.open(f"{url}/app?surface=booth&r0=gd:lr=0.02&r1=sgd:lr=0.02,momentum=0.9&r2=adam:lr=0.1")
    page = ui.page
    # The colour of each racer's loss curve, in racer order (racer i is drawn in its palette slot's
    # layers, optirace/figures/player.js).
    curves = """() => { const P = window.__optirace.player, d = P.args.racers.data;
        const slots = Array.from(d instanceof Map ? d.get('slot') : d.slot), at = {};
        for (const m of P.args.targets) for (const t of m.tags) {
          const [, role, slot] = t.split(':');
          if (role === 'loss' && m.visible) at[slot] = m.glyph.line_color.value ?? m.glyph.line_color; }
        return slots.map((s) => at[s]); }"""
    cards = f"() => {{ {DEEP_JS} return deep('.racer-card').map(c => getComputedStyle(c).borderLeftColor); }}"
    assert page.evaluate(curves) == ["#0072B2", "#D55E00", "#009E73"]
    page.get_by_role("button", name="Remove").first.click()
    page.wait_for_function(f"() => {{ {DEEP_JS} return deep('.racer-card').length === 2; }}")
    page.wait_for_function(f"() => {{ const c = ({curves})(); return !!c && c.length === 2; }}")
    assert page.evaluate(curves) == ["#D55E00", "#009E73"]
    assert page.evaluate(cards) == ["rgb(213, 94, 0)", "rgb(0, 158, 115)"]
    assert ui.errors == []


def test_shortcuts_leave_text_fields_and_selects_alone(app):
    ui, url = app
    ui.open(f"{url}/app")
    page = ui.page
    page.locator("body").click(position={"x": 5, "y": 700})
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert ui.wait_step(3) == 3
    label = page.locator(".racer-label input").first
    label.click()
    page.keyboard.type("r r")  # a reset, a play and a reset, were they shortcuts
    page.keyboard.press("ArrowLeft")
    assert label.input_value() == "r r"
    # The lr schedule's select: none of its options starts with "r" or a space, so a keypress that
    # reached it as typing cannot change it (in the surface select, "r" picks Rastrigin and resets).
    select = page.locator("select", has=page.locator("option", has_text="cosine_restarts")).first
    select.focus()
    page.keyboard.press("r")
    page.keyboard.press(" ")
    page.keyboard.press("Escape")
    page.wait_for_timeout(1500)
    assert ui.shown_step() == 3
    assert page.get_by_role("button", name="▶ Play").is_visible()
    assert ui.errors == []


def test_slider_labels_show_the_real_value(app):
    ui, url = app
    ui.open(f"{url}/app?surface=booth&r0=adam:lr=0.1")
    ui.page.wait_for_timeout(500)
    text = ui.text()
    shown = dict(re.findall(r"(beta[12]):\s+([-\d.e]+)", text))
    assert shown == {"beta1": "0.9", "beta2": "0.999"}
    assert ui.errors == []


@pytest.mark.parametrize("surface", [k for k, s in SURFACES.items() if s.dim == 1])
def test_a_one_variable_surface_plays_without_errors(app, surface):
    ui, url = app
    console: list[str] = []
    ui.page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    # Fast enough to cross an archive chunk (256 rows) in a few seconds of a 600-step race.
    ui.open(f"{url}/app?surface={surface}&steps=600&speed=300&play=1")
    ui.wait_step(600, timeout=30_000)
    assert ui.errors == []
    # Nothing at all: no stylesheet from Panel's CDN either, which the page's CSP would block
    # (tests/browser/test_local_resources.py).
    assert console == []
