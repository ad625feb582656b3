"""Hostile text is shown as text: links, scene files and the racer editor never run script or add markup.

Every payload carries a marker of its own (xss00, xss01, ...). After each page load the test walks the
document and every open shadow root for what a payload would create if it were rendered: an element
with the marker in an attribute (id=xss07, alt=xss15, data-xss10=...) or wrapping it as text (<b>,
<strong>, <a>...), a <script> or <style> holding it, any <iframe>, <form> or inline `on*` handler,
any `javascript:` link; and it listens for dialogs. Then it checks that the payload's characters ARE
on the page where the app quotes them, so what it proves is escaping, not deletion.

One page load carries one payload in every URL key at once, rotated so that over the loads every
payload passes through every key.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]

# `{m}` is the payload's marker. No commas: a racer string splits its fields on them.
TEMPLATES = [
    "<img id={m} src=x onerror=alert(1)>",
    "<script id={m}>alert(1)</script>",
    "<svg id={m} onload=alert(1)>",
    "<details id={m} open ontoggle=alert(1)>",
    "<iframe id={m} srcdoc='<img src=x onerror=alert(1)>'>",
    "<style id={m}>*{{color:red}}</style>",
    "<form id={m} action=//x.example><button>go</button></form>",  # within the app's 60-character label
    "<a id={m} href=javascript:alert(1)>click</a>",
    "<b id={m}>bold</b>",
    '" onmouseover="alert(1)" data-{m}="',
    "' onmouseover='alert(1)' data-{m}='",
    "</textarea><img id={m} src=x onerror=alert(1)>",
    "</title><img id={m} src=x onerror=alert(1)>",
    "{{{{{m}}}}} ${{{m}}} {{{{7*7}}}}",
    "[{m}](javascript:alert(1))",
    "![{m}](x)",
    "**{m}** _{m}_ `{m}`",
    "<input id={m} autofocus onfocus=alert(1)>",
    "<video id={m}><source onerror=alert(1)></video>",
    "<object id={m} data=javascript:alert(1)>",
    "@x0 $x @{{y0}}{{safe}} {m}",
    "&lt;img id={m}&gt; &amp;",
    "<img id={m} src=x onerror=alert(1)//",
]
PAYLOADS = [t.format(m=f"xss{i:02d}") for i, t in enumerate(TEMPLATES)]
MARKERS = [f"xss{i:02d}" for i in range(len(PAYLOADS))]

# URL slots: (key, how the payload sits in the value, how many of its characters the app quotes
# (None: all of it; 0: none, the key is a switch that reads anything else as off)).
SLOTS = [
    ("surface", "{}", 40),
    ("r0", "{}", None),  # the whole racer
    ("r1", "adam:lr={}", None),  # a hyperparameter's value
    ("r2", "sgd:lr=0.01,schedule={}", None),  # a schedule's name
    ("r3", "lookahead:inner={}", None),  # an inner racer's name
    ("r4", "adam:lr=0.02,label={}", None),  # a label: shown in the legend, tooltip, leaderboard, card
    ("r5", "sgd:lr=0.01,schedule=step,schedule.gamma={}", None),  # a schedule's value
    ("r6", "gd:lr=0.001,label={}", None),
    ("r7", "lookahead:inner=sgd,inner.lr={}", None),  # an inner racer's value
    ("start", "{}", 40),
    ("steps", "{}", 40),
    ("noise", "{}", 40),
    ("seed", "{}", 40),
    ("batch_size", "{}", 40),
    ("speed", "{}", 40),
    ("kappa", "{}", 40),
    ("theme", "{}", 20),
    ("present", "{}", 0),
    ("embed", "{}", 0),
    ("loop", "{}", 0),
    ("play", "{}", 0),
]
LABEL_SLOTS = ("r4", "r6")

# Everything a rendered payload would leave in the page: returns what it found, as readable lines.
FIND_INJECTED_JS = r"""markers => {
  const re = new RegExp(markers.join('|'));
  // Tags a payload (or Markdown read from it) makes around its text; our own markup never wraps user text in them.
  const wraps = new Set(['A', 'B', 'STRONG', 'EM', 'I', 'U', 'S', 'CODE', 'BUTTON', 'SUMMARY', 'DETAILS', 'MARQUEE']);
  const hits = [];
  const seen = new Set();
  const visit = (root) => {
    if (!root || seen.has(root)) return;
    seen.add(root);
    for (const el of root.querySelectorAll('*')) {
      const tag = el.tagName.toUpperCase();
      const where = `<${el.tagName.toLowerCase()}${el.id ? ' id=' + el.id : ''}>`;
      for (const a of el.attributes) {
        // A text field's value is shown as typed, never parsed: the label field holds the payload.
        const typed = tag === 'INPUT' && (a.name === 'value' || a.name === 'placeholder');
        if (re.test(a.name) || (re.test(a.value) && !typed)) hits.push(`${where} attribute ${a.name}=${a.value}`);
        if (/^on/i.test(a.name)) hits.push(`${where} inline handler ${a.name}=${a.value}`);
        if (/^\s*javascript:/i.test(a.value)) hits.push(`${where} javascript: in ${a.name}`);
      }
      if (tag === 'IFRAME' || tag === 'FORM' || tag === 'OBJECT' || tag === 'EMBED') hits.push(`${where} present`);
      // Data blocks (Bokeh's document JSON) hold text, not code.
      const code = tag === 'STYLE' || (tag === 'SCRIPT' && !/json/i.test(el.type));
      if (code && re.test(el.textContent)) hits.push(`${where} holds a marker`);
      if (wraps.has(tag) && [...el.childNodes].some(n => n.nodeType === 3 && re.test(n.textContent)))
        hits.push(`${where} wraps a marker: ${el.textContent.slice(0, 60)}`);
      if (el.shadowRoot) visit(el.shadowRoot);
      if (tag === 'IFRAME') { try { visit(el.contentDocument); } catch (e) {} }
    }
  };
  visit(document);
  return hits;
}"""

# The text of every tooltip Bokeh shows now (they live in the plots' shadow roots).
TOOLTIP_TEXT_JS = r"""() => {
  const out = [];
  const visit = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if ([...el.classList].some(c => /^bk-tooltip-content$/i.test(c)) || el.tagName === 'DIV' && el.dataset.value !== undefined)
        out.push(el.textContent);
      if (el.shadowRoot) visit(el.shadowRoot);
    }
  };
  visit(document);
  return out.join(' | ');
}"""

# Screen coordinates of the racers' start point on the surface figure (every path begins there).
START_POINT_JS = r"""() => {
  const all = [...Bokeh.documents[0].all_models];
  const hovers = all.filter(m => m.type === 'HoverTool' && Array.isArray(m.tooltips)
                                 && m.tooltips.some(t => t[0] === 'racer'));
  const plot = all.find(m => m.toolbar && m.toolbar.tools && m.toolbar.tools.some(t => hovers.includes(t)));
  const race = all.find(m => m.name === 'optirace-race');
  const col = k => (race.data instanceof Map ? race.data.get(k) : race.data[k])[0];
  const view = Bokeh.index.find_one(plot);
  const box = view.el.getBoundingClientRect();
  return [box.left + view.frame.x_scale.compute(col('x0')), box.top + view.frame.y_scale.compute(col('y0'))];
}"""


def _open(browser, url: str, dialogs: list[str]):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    page.locator("[data-ready]").wait_for(state="attached", timeout=60_000)
    return context, page


def _text(page) -> str:
    """The page's visible characters, shadow roots included, one text node at a time."""
    return page.evaluate(
        """() => { const parts = []; const walk = n => { if (n.shadowRoot) walk(n.shadowRoot);
           for (const c of n.childNodes || []) { if (c.nodeType === 3) parts.push(c.textContent); else walk(c); } };
           walk(document.body); return parts.join('\\n'); }"""
    )


def _quoted(payload: str, limit: int | None) -> str | None:
    """The characters of `payload` the app quotes (its repr, cut to `limit`), when repr keeps them
    as they are: it escapes quotes only when both kinds occur, and always escapes backslashes."""
    cut = payload if limit is None else payload[:limit]
    if ("'" in cut and '"' in cut) or "\\" in cut:
        return None
    return cut


# True once some drawn source holds a step >= k (the paths then have a segment to hover).
DRAWN_TO_JS = """k => [...Bokeh.documents[0].all_models].some(m => {
  if (m.type !== 'ColumnDataSource') return false;
  const c = m.data instanceof Map ? m.data.get('step') : m.data.step;
  return !!c && Array.from(c).some(v => v >= k);
})"""


def _hover_start(page, want: list[str]) -> str:
    """Hover the racers' shared start point until every text in `want` is in a tooltip (a busy
    machine may miss a first move); return the tooltips' text."""
    page.wait_for_function(DRAWN_TO_JS, arg=1, timeout=15_000)
    x, y = page.evaluate(START_POINT_JS)
    tips = ""
    for _ in range(5):
        page.mouse.move(x + 40, y + 40)
        page.mouse.move(x, y, steps=4)
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_function(
                f"want => {{ const t = ({TOOLTIP_TEXT_JS})(); return want.every(w => t.includes(w)); }}",
                arg=want,
                timeout=3_000,
            )
        tips = page.evaluate(TOOLTIP_TEXT_JS)
        if all(w in tips for w in want):
            break
    return tips


def _step_once(page) -> None:
    page.get_by_role("button", name="Step ▶").click()


def _assert_clean(page, dialogs: list[str], what: str) -> None:
    hits = page.evaluate(FIND_INJECTED_JS, MARKERS)
    assert dialogs == [], f"{what}: a payload opened a dialog: {dialogs}"
    assert hits == [], f"{what}: markup injected:\n" + "\n".join(hits)


def _placed(load: int) -> dict[str, tuple[str, str, int | None]]:
    """Load `load` puts payload (load + k) % n in slot k: over all loads, every payload meets every key."""
    n = len(PAYLOADS)
    return {key: (PAYLOADS[(load + k) % n], form, limit) for k, (key, form, limit) in enumerate(SLOTS)}


def _check_load(page, dialogs: list[str], load: int) -> None:
    placed = _placed(load)
    _assert_clean(page, dialogs, f"load {load}")
    text = _text(page)
    assert "Some of the link was not understood" in text
    for key, (p, form, limit) in placed.items():
        # Panel reads a whole value that starts with [ or { as JSON (or drops it): not our text.
        whole_json = form == "{}" and p.startswith(("[", "{"))
        shown = _quoted(p, limit) if limit != 0 and not whole_json else None
        if shown:
            assert shown in text, f"load {load}: {key}={p!r}: {shown!r} is not shown as text"
    _step_once(page)
    tips = _hover_start(page, [placed[key][0] for key in LABEL_SLOTS])
    _assert_clean(page, dialogs, f"load {load}, hovering the racers")
    legend = page.evaluate(
        "() => [...Bokeh.documents[0].all_models].filter(m => m.type === 'LegendItem')"
        ".map(m => m.label && m.label.value)"
    )
    for key in LABEL_SLOTS:
        p = placed[key][0]
        assert p in tips, f"load {load}: {key}'s label {p!r} is not shown as text in its tooltip: {tips!r}"
        assert p in legend, f"load {load}: {key}'s label is not the legend's text"


# Pages opened at once: the server builds their sessions while the browser draws the others.
AT_ONCE = 3


@pytest.mark.parametrize("first", range(0, len(PAYLOADS), AT_ONCE))
def test_every_url_key_shows_hostile_text_as_text(browser, server, first):
    loads = range(first, min(first + AT_ONCE, len(PAYLOADS)))
    opened = []
    try:
        for load in loads:
            query = urlencode(
                {key: form.format(p) for key, (p, form, _) in _placed(load).items()}, quote_via=quote
            )
            dialogs: list[str] = []
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.on("dialog", lambda d, dialogs=dialogs: (dialogs.append(d.message), d.dismiss()))
            page.goto(f"{server}/app?{query}", wait_until="commit")
            opened.append((load, context, page, dialogs))
        for load, _, page, dialogs in opened:
            page.locator("[data-ready]").wait_for(state="attached", timeout=60_000)
            _check_load(page, dialogs, load)
    finally:
        for _, context, _, _ in opened:
            context.close()


def test_a_refused_link_says_so_as_text(browser, server):
    """A link whose parts each decode but whose whole is refused falls back to the defaults, saying so."""
    dialogs: list[str] = []
    q = urlencode({"batch_size": "5", "r0": f"adam:lr=0.02,label={PAYLOADS[0]}", "surface": PAYLOADS[8],
                   "theme": PAYLOADS[2]}, quote_via=quote)  # fmt: skip
    context, page = _open(browser, f"{server}/app?{q}", dialogs)
    try:
        _assert_clean(page, dialogs, "refused link")
        text = _text(page)
        assert "link refused" in text and PAYLOADS[8] in text
    finally:
        context.close()


def test_an_embedded_page_shows_hostile_text_as_text(browser, server):
    """The iframe view (embed=1) has its own layout: the notice and the labels must be text there too."""
    dialogs: list[str] = []
    q = urlencode({"embed": "1", "surface": PAYLOADS[0], "r0": f"adam:lr=0.02,label={PAYLOADS[4]}",
                   "r1": f"sgd:lr={PAYLOADS[1]}"}, quote_via=quote)  # fmt: skip
    context, page = _open(browser, f"{server}/app?{q}", dialogs)
    try:
        _assert_clean(page, dialogs, "embedded page")
        text = _text(page)
        assert PAYLOADS[0] in text and PAYLOADS[1] in text
        _step_once(page)
        tips = _hover_start(page, [PAYLOADS[4]])
        _assert_clean(page, dialogs, "embedded page, hovering the racer")
        assert PAYLOADS[4] in tips
    finally:
        context.close()


def test_racer_editor_text_fields_show_hostile_text_as_text(app):
    """Typed into a racer's label field and a schedule's milestones field of the running page."""
    ui, url = app
    page = ui.page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    ui.open(f"{url}/app?r0=sgd:lr=0.001&r1=adam:lr=0.02")
    card = page.locator(".racer-card").first
    for p in PAYLOADS[:12]:
        label = card.locator(".racer-label input")
        label.fill(p)
        label.press("Enter")
        page.wait_for_function(
            "p => [...Bokeh.documents[0].all_models].some(m => m.type === 'LegendItem'"
            " && m.label && m.label.value === p)",
            arg=p,
            timeout=30_000,
        )
        expect(card).to_contain_text(p, timeout=30_000)  # the card is rebuilt: its header shows the label
        _assert_clean(page, dialogs, f"label {p!r}")
        assert _text(page).count(p) >= 2, f"label {p!r} is not shown as text in the card and the leaderboard"
    _step_once(page)
    tips = _hover_start(page, [PAYLOADS[11]])
    _assert_clean(page, dialogs, "hovering a typed label")
    assert PAYLOADS[11] in tips
    # A schedule's milestones are typed as text: a refused value is quoted in the error.
    ui.choose(card.locator("select").filter(has_text="multistep"), "multistep")
    milestones = card.locator("input[type=text]").last
    page.wait_for_function(
        "() => [...Bokeh.documents[0].all_models].some(m => typeof m.title === 'string' && m.title.startsWith('milestones'))",
        timeout=30_000,
    )
    for p in PAYLOADS[12:]:
        before = milestones.input_value()
        milestones.fill(p)
        milestones.press("Enter")
        # The field is a ;-separated list: the error quotes its first item, as the app's repr writes it.
        quoted = f"milestones = {p.split(';')[0]!r} is not a number"
        page.locator(".error").filter(has_text=quoted).first.wait_for(timeout=10_000)
        expect(milestones).to_have_value(
            before, timeout=10_000
        )  # refused: the card shows the old value again
        _assert_clean(page, dialogs, f"milestones {p!r}")
    assert ui.errors == []


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> list[tuple[Path, list[str], str]]:
    """Offline HTML pages written by `optirace export --scene`: hostile labels and a hostile title.

    Three exports, eight labelled racers each, so every payload is some racer's label."""
    folder = tmp_path_factory.mktemp("xss-export")
    out = []
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    jobs = []
    for j in range(3):
        labels = [PAYLOADS[(8 * j + i) % len(PAYLOADS)] for i in range(8)]
        title = PAYLOADS[(5 + 7 * j) % len(PAYLOADS)]
        scene = {"surface": "rosenbrock", "steps": 40, "step": 0,
                 "racers": [f"gd:lr={0.0005 * (i + 1)},label={p}" for i, p in enumerate(labels)]}  # fmt: skip
        path = folder / f"scene{j}.json"
        path.write_text(json.dumps(scene))
        html = folder / f"race{j}.html"
        proc = subprocess.Popen(
            [sys.executable, "-m", "optirace.cli", "export", "--scene", str(path), "--out", str(html),
             "--title", title, "--size", "960x540"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        jobs.append((proc, html, labels, title))
    for proc, html, labels, title in jobs:
        log, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, log
        out.append((html, labels, title))
    return out


@pytest.mark.parametrize("j", range(3))
def test_exported_html_shows_hostile_text_as_text(browser, exported, j):
    html, labels, title = exported[j]
    context = browser.new_context(viewport={"width": 1100, "height": 700})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(html.as_uri())
        page.wait_for_function("() => window.__optirace && window.__optirace.ready", timeout=30_000)
        _assert_clean(page, dialogs, html.name)
        assert page.title() == title, "the page's <title> must be the title's text"
        assert title in _text(page), "the title above the panels must be the title's text"
        legend = page.evaluate(
            "() => [...Bokeh.documents[0].all_models].filter(m => m.type === 'LegendItem')"
            ".map(m => m.label && m.label.value)"
        )
        assert all(p in legend for p in labels)
        page.evaluate("() => { window.__optirace.slider.value = 5; }")
        tips = _hover_start(page, labels)
        _assert_clean(page, dialogs, f"{html.name}, hovering the racers")
        for p in labels:
            assert p in tips, f"label {p!r} is not shown as text in its tooltip"
    finally:
        context.close()
