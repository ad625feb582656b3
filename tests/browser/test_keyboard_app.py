"""A keyboard user moving through a racer's selects with the arrow keys, in a real browser.

Choosing another optimizer or schedule changes the card's sliders. The select the user is on must
stay the element they are on: each arrow key then changes the racer again. When the card was
rebuilt, the focused select was replaced and the next key went nowhere."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

RACERS_TEXT = """() => { const r = window.__optirace.player.args.racers;
  const d = r.data instanceof Map ? r.data.get('text') : r.data.text; return Array.from(d); }"""
# The element that has the keyboard's focus, through the shadow roots Bokeh renders into.
FOCUSED = """() => { let a = document.activeElement;
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement; return a; }"""


def _select(page, option: str):
    """The first racer card's select that offers `option`."""
    return page.locator(".racer-card").first.locator("select", has=page.locator(f"option[value='{option}']"))


@pytest.mark.parametrize(
    ("option", "start", "field"),
    [("adamw", "adam:lr=0.05", None), ("cosine", "adam:lr=0.05", "schedule=")],
    ids=["optimizer", "schedule"],
)
def test_arrow_keys_keep_moving_through_a_select_whose_choice_changes_the_card(app, option, start, field):
    ui, url = app
    ui.open(url + f"/app?surface=booth&steps=50&r0={start}")
    page = ui.page
    select = _select(page, option)
    labels = select.evaluate("e => [...e.options].map(o => o.value)")
    first = select.evaluate("e => e.selectedIndex")
    select.focus()
    select.evaluate("e => { e.__kept = true; }")  # marks this element: is it still the one focused?
    for k in (1, 2):
        before = page.evaluate(RACERS_TEXT)[0]
        page.keyboard.press("ArrowDown")  # to whatever has the focus, as a user's key goes
        want = labels[first + k]
        # The racer becomes the next option: its optimizer, or its schedule's name.
        page.wait_for_function(
            f"([b, w, f]) => {{ const t = ({RACERS_TEXT})()[0];"
            " return t !== b && (f ? t.includes(f + w) : t.startsWith(w)); }",
            arg=[before, want, field],
            timeout=60_000,
        )
        # The server has answered and the card has its new sliders; the focus is where it was.
        page.wait_for_function(f"() => {{ const a = ({FOCUSED})(); return !!a && a.__kept === true; }}")
        assert page.evaluate(f"() => ({FOCUSED})().value") == want
    assert ui.errors == []
