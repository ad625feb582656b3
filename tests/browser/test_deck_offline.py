"""The lessons' slide deck in a real browser with the network cut: slides, captions, keys, players."""

from __future__ import annotations

import pytest

from optirace.export.deck import write_deck
from optirace.lessons import lesson

pytestmark = pytest.mark.browser

NAMES = ["gd-by-hand", "learning-rates", "optimal-momentum"]
SHOWN = """() => {
  const D = window.__deck;
  return D.args.slides.map((s) => s.visible);
}"""
STEP = "() => window.__optirace.slider.value"
# Canvases drawn at a size (inside Bokeh's nested shadow roots).
CANVASES = """() => {
  const found = [];
  const walk = (root) => {
    for (const e of root.querySelectorAll('*')) {
      if (e.tagName === 'CANVAS') found.push(e);
      if (e.shadowRoot) walk(e.shadowRoot);
    }
  };
  walk(document);
  return found.filter((c) => c.getBoundingClientRect().width > 100 && c.getBoundingClientRect().height > 100).length;
}"""


@pytest.fixture(scope="module")
def deck(tmp_path_factory):
    out = tmp_path_factory.mktemp("deck") / "lecture.html"
    write_deck(out, NAMES)
    return out


@pytest.fixture
def offline(browser):
    """A tab whose every request is refused unless it reads a local file."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    errors: list[str] = []
    refused: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    def route(r):
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    yield page, errors, refused
    context.close()


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function(
        "() => window.__deck && window.__deck.ready && window.__optirace.ready", timeout=60_000
    )


def test_deck_navigates_offline_and_each_slide_plays_its_own_race(offline, deck):
    page, errors, refused = offline
    _open(page, deck.as_uri())
    assert page.evaluate(SHOWN) == [True, False, False]
    assert page.get_by_text(lesson("gd-by-hand").title).is_visible()
    assert page.get_by_text("0, 1.2, 1.68", exact=False).is_visible()  # the caption
    assert page.get_by_text("slide 1 / 3").is_visible()
    assert page.evaluate(STEP) == 20  # slide 1's race (20 steps), shown at its end

    # The player's keys drive the slide shown: ← steps its race back.
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(STEP) == 19
    assert page.evaluate(SHOWN) == [True, False, False], "an arrow key steps the race, not the slides"

    page.keyboard.press("PageDown")
    assert page.evaluate(SHOWN) == [False, True, False]
    assert page.get_by_text(lesson("learning-rates").title).is_visible()
    assert not page.get_by_text(lesson("gd-by-hand").title).is_visible()
    assert page.evaluate(STEP) == 150  # now the player is slide 2's
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(STEP) == 149
    page.keyboard.press(" ")  # space plays slide 2's race from where it is...
    page.wait_for_timeout(300)
    page.keyboard.press(" ")
    assert page.evaluate(STEP) not in (149,), "space plays the shown slide's race"

    page.keyboard.press("n")
    assert page.evaluate(SHOWN) == [False, False, True]
    page.keyboard.press("PageDown")  # past the end: stays on the last slide
    assert page.evaluate(SHOWN) == [False, False, True]
    assert page.url.endswith("#3")
    page.keyboard.press("Home")
    assert page.evaluate(SHOWN) == [True, False, False]
    assert page.evaluate(STEP) == 19, "slide 1 kept its own step"
    page.get_by_role("button", name="Next slide ▶").click()
    assert page.evaluate(SHOWN) == [False, True, False]
    page.keyboard.press("PageUp")
    assert page.evaluate(SHOWN) == [True, False, False]
    page.screenshot(path=str(deck.parent / "deck.png"))
    assert errors == []
    assert refused == [], f"the deck asked the network for {refused[:3]}"


def test_deck_opens_at_the_slide_its_link_names(offline, deck):
    page, errors, refused = offline
    _open(page, deck.as_uri() + "#2")
    assert page.evaluate(SHOWN) == [False, True, False]
    # The slide's figure was laid out although hidden at first: its canvases have a size.
    page.screenshot(path=str(deck.parent / "deck-2.png"))
    assert page.evaluate(CANVASES) >= 3
    assert errors == [] and refused == []
