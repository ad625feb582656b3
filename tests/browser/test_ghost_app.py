"""The ghost of the last race in the page: after a change, the race before it stays, faint."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# JS: {ghost: the ghost path layer's lines, race: racer 0's whole path as the page holds it}.
READ_JS = """
() => {
  const P = window.__optirace.player;
  const get = (d, k) => (d instanceof Map ? d.get(k) : d[k]);
  const g = P.args.targets.find((m) => (m.tags || []).some((t) => String(t).startsWith('optirace:ghostpath:')));
  const d = g.data_source.data;
  return {
    ghost: {xs: get(d, 'xs').map((a) => Array.from(a)), ys: get(d, 'ys').map((a) => Array.from(a)),
            color: Array.from(get(d, 'color'))},
    race: {x: Array.from(get(P.args.race.data, 'x0')), y: Array.from(get(P.args.race.data, 'y0'))},
  };
}
"""


def nudge_lr(ui) -> None:
    """One keyboard step of racer 0's learning-rate slider (one change); wait for the server's answer."""
    header = ui.page.locator(".racer-card .racer-head").first
    before = header.inner_text()
    handle = ui.page.locator(".racer-card .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    handle.press("ArrowRight")
    expect(header).not_to_have_text(before, timeout=20_000)


def wait_ghost(ui, path: dict) -> dict:
    """Wait until the ghost's first line is `path` (the page's copy of it arrives after the race)."""
    ui.page.wait_for_function(
        f"p => {{ const g = ({READ_JS})().ghost; return g.xs.length > 0 && g.xs[0].length === p.x.length && "
        "g.xs[0].every((v, i) => v === p.x[i]); }",
        arg=path,
        timeout=20_000,
    )
    return ui.page.evaluate(READ_JS)


def test_a_change_leaves_the_last_race_as_a_ghost_until_the_next(app):
    ui, url = app
    ui.open(f"{url}/app?r0=gd:lr=0.001&r1=adam:lr=0.02&steps=100")
    first = ui.page.evaluate(READ_JS)
    assert all(all(v != v for v in xs) for xs in first["ghost"]["xs"]), "no ghost before any change"
    nudge_lr(ui)
    seen = wait_ghost(ui, first["race"])
    # The ghost holds the old race's path to the number, while the race shown is the new one.
    assert seen["ghost"]["xs"][0] == first["race"]["x"]
    assert seen["ghost"]["ys"][0] == first["race"]["y"]
    assert seen["race"]["x"] != first["race"]["x"]
    assert len(seen["ghost"]["xs"]) == 2 and len(set(seen["ghost"]["color"])) == 2  # each racer's colour
    # The next change replaces it: the ghost is now the race the first change made.
    nudge_lr(ui)
    again = wait_ghost(ui, seen["race"])
    assert again["ghost"]["ys"][0] == seen["race"]["y"]
    assert again["ghost"]["xs"][0] != first["race"]["x"]
    # Reset clears it.
    ui.page.get_by_role("button", name="⟲ Reset").click()
    ui.page.wait_for_function(
        f"() => ({READ_JS})().ghost.xs.every((xs) => xs.every((v) => v !== v))", timeout=20_000
    )
    assert ui.errors == []
