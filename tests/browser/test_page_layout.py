"""The page for a hall and a laptop: what 1280x720 (a projector) and a 640x360 iframe show of it.

Each test drives the real served app in headless Chromium and measures what is drawn."""

from __future__ import annotations

import re

import pytest
from conftest import ARTIFACTS, AppPage, panel_serve

pytestmark = pytest.mark.browser

# Every element under a root, through open shadow roots (Panel renders into them).
DEEP_JS = """
const deep = (sel, root0 = document) => { const out = []; const walk = (root) => {
  for (const e of root.querySelectorAll('*')) { if (e.matches(sel)) out.push(e); if (e.shadowRoot) walk(e.shadowRoot); } };
  walk(root0); return out; };
"""

# Controls in the sidebar that are drawn (a collapsed card's are not) and stick out of its visible
# width, plus the sidebar's own scroll and client widths.
SIDEBAR_FIT_JS = f"""() => {{ {DEEP_JS}
  const side = document.querySelector('#sidebar'); const box = side.getBoundingClientRect();
  const right = box.left + side.clientWidth;
  const out = deep('input, select, button, textarea, .noUi-target, .bk-btn', side)
    .map(e => [e, e.getBoundingClientRect()]).filter(([e, r]) => r.width > 0 && r.height > 0)
    .filter(([e, r]) => r.left < box.left - 0.5 || r.right > right + 0.5)
    .map(([e, r]) => `${{e.tagName}}.${{e.className}} [${{Math.round(r.left)}}, ${{Math.round(r.right)}}]`);
  return {{scroll: side.scrollWidth, client: side.clientWidth, out}}; }}"""

# The surface plot: the leftmost of the drawn figures (the curves sit to its right).
MAIN_PLOT_JS = f"""() => {{ {DEEP_JS}
  const c = deep('canvas').map(e => e.getBoundingClientRect()).filter(r => r.width > 100 && r.height > 100);
  c.sort((a, b) => a.left - b.left || a.top - b.top); return c.length ? c[0].toJSON() : null; }}"""


def _assert_sidebar_fits(page, when: str) -> None:
    fit = page.evaluate(SIDEBAR_FIT_JS)
    assert fit["scroll"] <= fit["client"], f"{when}: the sidebar scrolls sideways: {fit}"
    assert fit["out"] == [], f"{when}: controls outside the sidebar: {fit['out']}"


def test_the_sidebar_fits_a_projector_and_add_racer_is_in_view(app):
    ui, url = app
    label = "a label as long as a label may be so it fills the header"
    ui.open(f"{url}/app?r0=sgd:lr=0.002,momentum=0.95,nesterov=true,weight_decay=0.01,label={label}"
            "&r1=adam:lr=0.02&r2=lookahead:inner=sgd,inner.lr=0.01&r3=rmsprop:lr=0.01")  # fmt: skip
    page = ui.page
    assert page.locator(".toasts").is_hidden(), page.locator(
        ".toasts .note"
    ).all_inner_texts()  # all understood
    assert label in ui.text()
    _assert_sidebar_fits(page, "as opened")
    # Open every card: their controls must fit too.
    page.evaluate(f"""() => {{ {DEEP_JS} for (const c of deep('.racer-card')) {{
        const b = c.shadowRoot.querySelector('.card-header');
        if (c.shadowRoot.querySelector('.icon-tabler-chevron-right')) b.click(); }} }}""")
    page.wait_for_function(
        f"() => {{ {DEEP_JS} return deep('.icon-tabler-chevron-right').filter(e => e.getRootNode().host.classList.contains('racer-card')).length === 0; }}"
    )
    page.wait_for_timeout(500)
    _assert_sidebar_fits(page, "every card open")
    page.evaluate("() => { document.querySelector('#sidebar').scrollTop = 0; }")
    add = page.get_by_role("button", name="Add racer")
    box = add.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 720, (
        f"Add racer is out of view: {box}"
    )
    first_card = page.locator(".racer-card").first.bounding_box()
    assert box["y"] < first_card["y"], "Add racer comes after the racers"
    assert "bk-btn-primary" in (add.get_attribute("class") or "")
    ui.screenshot("layout-sidebar")
    assert ui.errors == []


SWATCH_AND_HEAD_JS = f"""() => {{ {DEEP_JS} return deep('.racer-head').map(h => [h.textContent.trim(),
    getComputedStyle(h.querySelector('.swatch')).backgroundColor]); }}"""
BORDERS_JS = (
    f"() => {{ {DEEP_JS} return deep('.racer-card').map(c => getComputedStyle(c).borderLeftColor); }}"
)


def test_a_card_header_shows_its_colour_and_settings_and_follows_its_sliders(app):
    ui, url = app
    ui.open(f"{url}/app?surface=booth&r0=adam:lr=0.02&r1=sgd:lr=0.01,momentum=0.9&r2=gd:lr=0.01")
    page = ui.page
    heads = page.evaluate(SWATCH_AND_HEAD_JS)
    assert [h[0] for h in heads] == ["adam · lr 0.02", "sgd · lr 0.01 · momentum 0.9", "gd · lr 0.01"]
    assert [h[1] for h in heads] == page.evaluate(BORDERS_JS)  # each swatch in its racer's colour
    # Move the first racer's lr slider by keyboard, as a user without a mouse does.
    page.evaluate(f"""() => {{ {DEEP_JS} const t = deep('.bk-slider-title').find(e => e.textContent.startsWith('lr'));
        t.getRootNode().querySelector('.noUi-handle').focus(); }}""")
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    # The header says what the race runs: once the keys are handled, the legend's racer string
    # has the header's lr (read together: the header may pass through values between key presses).
    page.wait_for_function(
        f"""() => {{ const head = ({SWATCH_AND_HEAD_JS})()[0][0]; const m = /^adam · lr ([\\d.e-]+)$/.exec(head);
            return !!m && head !== 'adam · lr 0.02' && [...Bokeh.documents[0].all_models].some(x =>
              x.type === 'LegendItem' && x.label && x.label.value === `adam:lr=${{m[1]}}`); }}""",
        timeout=20_000,
    )
    head = page.evaluate(SWATCH_AND_HEAD_JS)[0][0]
    lr = re.fullmatch(r"adam · lr ([\d.e-]+)", head)
    assert lr and float(lr.group(1)) > 0.02, head
    # A collapsed card (the third) shows a chevron that is drawn: a stroke, a size, inside its header.
    chevron = page.evaluate(f"""() => {{ {DEEP_JS} const c = deep('.racer-card')[2].shadowRoot;
        const svg = c.querySelector('.card-button svg'); const path = svg.querySelector('path:last-child');
        const r = svg.getBoundingClientRect(), h = c.querySelector('.card-header').getBoundingClientRect();
        return {{right: svg.classList.contains('icon-tabler-chevron-right'), stroke: getComputedStyle(path).stroke,
                width: r.width, inside: r.left >= h.left && r.right <= h.right && r.top >= h.top && r.bottom <= h.bottom}}; }}""")
    assert chevron["right"], "the third card should start collapsed"
    assert chevron["stroke"] not in ("none", "", "rgba(0, 0, 0, 0)"), chevron
    assert chevron["width"] >= 12 and chevron["inside"], chevron
    assert ui.errors == []


def test_the_export_menu_fits_the_sidebar(app):
    ui, url = app
    ui.open(f"{url}/app")
    page = ui.page
    page.locator(".card-header", has_text="Export and share").click()
    page.locator(".export-format select").wait_for(state="visible", timeout=30_000)
    page.locator(".export-scene button").wait_for(state="visible", timeout=30_000)
    page.wait_for_timeout(500)
    _assert_sidebar_fits(page, "export menu open")
    ui.screenshot("layout-export-menu")
    # An export shows that it is working from the click on (a spinner on its button), and stops.
    page.evaluate(f"""() => {{ {DEEP_JS} const b = deep('.export-button')[0]; window.__busy = [];
        new MutationObserver(() => window.__busy.push(b.classList.contains('pn-loading')))
          .observe(b, {{attributes: true, attributeFilter: ['class']}}); }}""")
    page.locator(".export-format select").select_option(label="PNG (this step)")
    page.wait_for_timeout(300)
    page.locator(".export-button button").click()
    page.locator(".export-download button").wait_for(state="visible", timeout=60_000)
    page.wait_for_function("() => window.__busy.length > 1 && !window.__busy[window.__busy.length - 1]")
    assert True in page.evaluate("() => window.__busy"), page.evaluate("() => window.__busy")
    _assert_sidebar_fits(page, "export done")
    assert ui.errors == []


def test_notices_are_toasts_that_leave_the_plots_in_place(app):
    ui, url = app
    page = ui.page
    ui.open(f"{url}/app")
    clean = page.evaluate(MAIN_PLOT_JS)
    payload = "<img src=x onerror=alert(1)>"
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    ui.open(f"{url}/app?steps=abc&r0=nonsense&r1=adam:lr={payload}")
    noticed = page.evaluate(MAIN_PLOT_JS)
    assert noticed["top"] == clean["top"] and noticed["height"] == clean["height"], (clean, noticed)
    toast = page.locator(".toast").filter(has_text="not understood")
    assert toast.is_visible()
    text = toast.locator(".note").inner_text()
    assert "steps" in text and "nonsense" in text and payload in text  # the payload's characters, as text
    assert (
        page.evaluate(
            f"() => {{ {DEEP_JS} return deep('img').filter(i => i.getAttribute('src') === 'x').length; }}"
        )
        == 0
    )
    # The toast is over the page: inside the window, not in the flow above the plots.
    box = toast.bounding_box()
    assert box["y"] + box["height"] <= 720 and box["x"] + box["width"] <= 1280, box
    toast.locator(".toast-close button").click()
    toast.wait_for(state="hidden", timeout=10_000)
    assert page.evaluate(MAIN_PLOT_JS)["top"] == clean["top"]
    assert dialogs == []
    assert ui.errors == []


# Records every time the plots area gains or loses Panel's loading spinner (its `pn-loading` class),
# and whether the spinner's image is in the page already: one fetched from the server would arrive
# only once the server is done with the work, too late to be seen.
WATCH_BUSY_JS = f"""() => {{ {DEEP_JS} const plots = deep('.plots')[0]; window.__busy = []; window.__inline = [];
  new MutationObserver(() => {{ const on = plots.classList.contains('pn-loading'); window.__busy.push(on);
      if (on) window.__inline.push(getComputedStyle(plots, '::before').webkitMaskImage.startsWith('url("data:')); }})
    .observe(plots, {{attributes: true, attributeFilter: ['class']}}); }}"""


def test_a_surface_switch_and_adding_or_removing_a_racer_show_that_they_are_working(app):
    ui, url = app
    ui.open(f"{url}/app?surface=booth")
    page = ui.page
    page.evaluate(WATCH_BUSY_JS)
    ui.choose(page.locator(".surface-select select"), "Rosenbrock")
    page.wait_for_function(
        "() => [...Bokeh.documents[0].all_models].some(m => m.type === 'Title' && (m.text || '').startsWith('Rosenbrock'))",
        timeout=60_000,
    )
    page.wait_for_function("() => window.__busy.length > 0 && !window.__busy[window.__busy.length - 1]")
    assert True in page.evaluate("() => window.__busy"), "no busy indicator during the surface switch"
    assert all(page.evaluate("() => window.__inline")), "the spinner's image must not wait for the server"
    page.evaluate("() => { window.__busy = []; }")
    page.get_by_role("button", name="Add racer").click()
    page.wait_for_function(f"() => {{ {DEEP_JS} return deep('.racer-card').length === 4; }}", timeout=30_000)
    page.wait_for_function("() => window.__busy.length > 0 && !window.__busy[window.__busy.length - 1]")
    assert page.evaluate("() => window.__busy")[0] is True, "no busy indicator while adding a racer"
    page.evaluate("() => { window.__busy = []; }")
    page.get_by_role("button", name="Remove").first.click()
    page.wait_for_function(f"() => {{ {DEEP_JS} return deep('.racer-card').length === 3; }}", timeout=30_000)
    page.wait_for_function("() => window.__busy.length > 0 && !window.__busy[window.__busy.length - 1]")
    assert page.evaluate("() => window.__busy")[0] is True, "no busy indicator while removing a racer"
    assert ui.errors == []


@pytest.fixture(scope="module")
def bare_server():
    """`panel serve app.py` with no other flag the page could depend on (no --static-dirs)."""
    with panel_serve("app.py", "--liveness", log_path=ARTIFACTS / "panel-serve-bare.log") as url:
        yield url


def test_plain_panel_serve_serves_the_whole_page(browser, bare_server):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        ui = AppPage(page, errors, []).open(f"{bare_server}/app")
        page.wait_for_timeout(1000)
        icon = page.evaluate(
            "() => { const l = document.querySelector('link[rel~=icon]'); return l && l.href; }"
        )
        assert icon and icon.startswith("data:image/svg+xml"), icon
        assert failed == []
        assert ui.trajectory() is not None
        assert errors == []
    finally:
        context.close()


def test_an_embedded_figure_fits_a_small_iframe(browser, server):
    context = browser.new_context(viewport={"width": 640, "height": 360})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        ui = AppPage(page, errors, []).open(f"{server}/app?embed=1")
        page.wait_for_timeout(500)
        box = page.evaluate(MAIN_PLOT_JS)
        assert box is not None
        assert box["left"] >= 0 and box["top"] >= 0, box
        assert box["right"] <= 640 and box["bottom"] <= 360, box
        # The curves beside it too: the page is no wider than the frame.
        drawn = page.evaluate(f"""() => {{ {DEEP_JS} return deep('canvas').map(e => e.getBoundingClientRect())
            .filter(r => r.width > 100 && r.height > 50).map(r => [r.right, r.bottom]); }}""")
        assert len(drawn) >= 3 and all(r <= 640 and b <= 360 for r, b in drawn), drawn
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 640
        # The playback too: play, the steps, reset and the scrubber, all in view, none scrolled to.
        bar = page.evaluate("""() => { const a = window.__optirace.player.args;
            return [a.play, a.slider].map((m) => { const r = Bokeh.index.find_one(m).el.getBoundingClientRect();
              return [r.left, r.top, r.right, r.bottom, r.width]; }); }""")
        for left, top, right, bottom, width in bar:
            assert left >= 0 and top >= 0 and right <= 640 and bottom <= 360 and width > 40, bar
        ui.screenshot("layout-embed-640x360")
        assert errors == []
    finally:
        context.close()
