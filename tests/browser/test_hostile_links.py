"""Links that used to leave a blank page: each still draws the race, with a notice naming every key
it could not use, and the server logs no traceback for them."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

pytestmark = pytest.mark.browser

HUGE = "9" * 400
# A few page loads, each carrying several bad keys: (query, the keys that must be named).
LINKS = [
    (
        {"surface": "least_squares", "steps": "inf", "seed": "1e999", "batch_size": "inf", "theme": "[1]",
         "present": "{}"},
        ("steps", "seed", "batch_size", "theme", "present"),
    ),
    (
        {"surface": "{}", "steps": "[1,2]", "r0": '[["adam"]]', "kappa": "1e999", "noise": '{"a":[1]}',
         "start": "[[1]]"},
        ("surface", "steps", "r0", "kappa", "noise", "start"),
    ),
    (
        {"surface": "[[1]]", "seed": HUGE, "steps": "1" + "0" * 400, "speed": "-Infinity",
         "r1": "adam:lr=1e999", "loop": "null", "embed": "[true]"},
        ("surface", "seed", "steps", "speed", "r1", "loop", "embed"),
    ),
]  # fmt: skip


def _notice_for(key: str) -> re.Pattern:
    if key == "surface":
        return re.compile(r"unknown surface")
    if re.fullmatch(r"r\d+", key):
        return re.compile(rf"racer {key} ignored")
    return re.compile(rf"\b{key}\b[^;]*?\bis (not|outside)")


def _open_and_check(app, server_log, query: dict, keys: tuple) -> str:
    """Open the link; check the race is drawn with a notice naming each key; return what the
    server logged meanwhile."""
    ui, url = app
    log_start = server_log.stat().st_size
    link = "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
    ui.open(f"{url}/app?{link}")  # waits until the race is drawn and the page is live
    data = ui.trajectory()
    assert data is not None and "x0" in data
    text = ui.text()
    assert "not understood" in text
    for key in keys:
        assert _notice_for(key).search(text), f"no notice names {key!r}: {text[:2000]}"
    assert ui.errors == []
    ui.page.wait_for_timeout(500)
    with open(server_log, encoding="utf-8", errors="replace") as f:
        f.seek(log_start)
        return f.read()


@pytest.mark.parametrize("query, keys", LINKS, ids=["numbers", "json-shapes", "huge-and-odd"])
def test_a_bad_link_draws_the_page_with_a_notice_per_key(app, server_log, query, keys):
    logged = _open_and_check(app, server_log, query, keys)
    assert "Traceback" not in logged and " ERROR" not in logged, logged[-3000:]


def test_a_link_panel_cannot_read_still_draws(app, server_log):
    """An integer of more than 4300 digits: Python refuses to read it, and Panel's own reading of the
    link (its Location) raises. The app reads the link itself and serves without URL sync; any
    traceback left in the log is Panel's, never the app's."""
    logged = _open_and_check(app, server_log, {"steps": "9" * 5000, "seed": "[1]"}, ("steps", "seed"))
    for block in logged.split("Traceback (most recent call last):")[1:]:
        assert "parse_query" in block and "/views/" not in block.split("ValueError")[0], block[-2000:]
