"""A typed formula in the running app: a hostile one is refused with a clear message (as plain
text), the page stays usable, and a valid one then races and goes into the link."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from conftest import RACE_ROWS_JS
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=alert(1)>"


def _type(ui, text: str) -> None:
    box = ui.page.locator(".formula-input input").first
    box.fill(text)
    box.press("Enter")


def _changed(ui, before: float, timeout: float = 30_000) -> None:
    ui.page.wait_for_function(
        f"b => {{ {RACE_ROWS_JS} const r = rows(); return !!r && r.x0[0] !== b; }}",
        arg=before,
        timeout=timeout,
    )


def test_a_hostile_formula_is_refused_and_a_valid_one_then_races(app):
    ui, url = app
    ui.open(f"{url}/app")
    dialogs: list[str] = []
    ui.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    before = ui.trajectory()
    _type(ui, HOSTILE)
    error = ui.page.locator(".error").filter(has_text="unexpected '<' at column 1").first
    error.wait_for(timeout=15_000)
    assert "Not applied: formula: unexpected '<' at column 1" in " ".join(ui.text().split())
    # shown as its characters: no element was made of it and nothing ran
    assert ui.page.locator("img[src=x]").count() == 0 and dialogs == []
    assert ui.trajectory() == before  # the last race stays drawn
    _type(ui, "__import__('os').system('id')")
    ui.page.locator(".error").filter(has_text="'_' (U+005F LOW LINE) at column 1").first.wait_for(
        timeout=15_000
    )
    # a refusal for a look-alike letter says which character it was
    _type(ui, "х^2 + y^2")
    ui.page.locator(".error").filter(has_text="CYRILLIC SMALL LETTER HA").first.wait_for(timeout=15_000)
    # the page is still usable: a valid formula races, and its minimum is marked as an estimate
    _type(ui, "x^2 + 3y^2 - x y")
    _changed(ui, before["x0"][0])
    assert "so the marked one is an estimate" in " ".join(ui.text().split())
    ui.page.wait_for_function("() => location.search.includes('formula=')", timeout=10_000)
    assert "surface=formula" in ui.page.url
    ui.screenshot("formula-raced")
    assert ui.errors == []


def test_a_link_with_a_hostile_formula_draws_the_defaults_with_a_notice(app):
    ui, url = app
    ui.open(f"{url}/app?surface=formula&formula={quote('9^9^9^9', safe='')}")
    text = " ".join(ui.text().split())
    assert "not understood" in text and "the exponent at column 5" in text
    assert "showing the default surface" in text
    assert ui.trajectory() is not None
    assert ui.errors == []


def test_a_link_with_a_formula_opens_on_it(app):
    ui, url = app
    ui.open(f"{url}/app?formula={quote('(x - 1)^2 + 2(y + 0.5)^2', safe='')}&domain=-3,3,-2,2")
    assert "so the marked one is an estimate" in " ".join(ui.text().split())
    expect(ui.page.locator(".formula-input input").first).to_have_value("(x - 1)^2 + 2(y + 0.5)^2")
    assert ui.errors == []


def test_picking_your_formula_races_the_example_and_a_one_variable_formula_draws_as_a_line(app):
    ui, url = app
    # Least squares is the menu's last surface, just above "Your formula": one key press away.
    ui.open(f"{url}/app?surface=least_squares")
    before = ui.trajectory()
    ui.choose(ui.page.locator("select").first, "Your formula")
    _changed(ui, before["x0"][0])
    expect(ui.page.locator(".formula-input input").first).to_have_value("x^2 + 3y^2", timeout=20_000)
    now = ui.trajectory()
    _type(ui, "f(x) = (x + 2)^2")  # its start, 15% in from the far edge, is x = 2.1
    _changed(ui, now["x0"][0])
    assert "surface=formula" in ui.page.url
    ui.page.wait_for_function("() => location.search.includes('formula=f%28x%29')", timeout=10_000)
    assert ui.errors == []
