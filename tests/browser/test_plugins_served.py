"""A real `panel serve app.py` from a fresh venv holding the example plug-in and a set of broken
plug-ins: the server starts, the page races the plug-in's surface and optimizer beside an optax
racer, a typed optax optimizer joins the race, and the skipped plug-ins are named on the page."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import ARTIFACTS, RACE_ROWS_JS, SERVE_FLAGS, AppPage, panel_serve

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from plugin_env import broken_plugins, env, example_venv  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def plugin_server(tmp_path_factory):
    where = tmp_path_factory.mktemp("served-plugins")
    python = example_venv(where)
    site = broken_plugins(where)
    log_path = ARTIFACTS / "panel-serve-plugins.log"
    with panel_serve(
        "app.py", *SERVE_FLAGS, "--warm", log_path=log_path, python=str(python), env=env(site)
    ) as url:
        yield url, log_path


def test_plugins_and_optax_racers_in_the_served_app(browser, plugin_server):
    url, log_path = plugin_server
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_navigation_timeout(120_000)  # a fresh server compiles this race's program first
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    ui = AppPage(page, errors, [])
    ui.open(
        f"{url}/app?surface=three_hump_camel&r0=signsgd:lr=0.05&r1=optax:yogi:learning_rate=0.1&steps=100"
    )
    data = ui.trajectory()
    assert "x1" in data and "x2" not in data
    assert (data["x0"][0], data["y0"][0]) == (2.5, -2.0)  # the plug-in surface's own start
    page.get_by_role("button", name="Step ▶").click()
    ui.wait_step(1)
    data = ui.trajectory()
    assert (data["x0"][1], data["y0"][1]) == pytest.approx((2.45, -1.95))  # signSGD: lr along -sign(g)
    text = ui.text()
    assert "Three-hump camel" in text and "signsgd" in text and "optax:yogi" in text
    # The skipped plug-ins are named on the page, as in the server's log.
    assert "Plug-ins skipped" in text and "plug-in 'broken'" in text and "plug-in 'bad_lr'" in text
    assert "plug-in 'broken'" in log_path.read_text()
    # Any optax optimizer, typed by name, joins the race.
    box = page.locator(".any-optax input")
    box.fill("lamb")
    box.press("Enter")
    page.get_by_role("button", name="Add racer").click()
    page.wait_for_function(
        f"() => {{ {RACE_ROWS_JS} const r = rows(); return !!r && 'x2' in r; }}", timeout=30_000
    )
    assert "optax:lamb" in ui.text()
    ui.screenshot("plugins-served")
    assert errors == []
    context.close()
