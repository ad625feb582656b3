"""`optirace deck`: every lesson as one offline slide deck (HTML) or one still per page (PDF).

    optirace deck --out lecture.html            # all lessons, one slide each, offline
    optirace deck --out lecture.pdf             # one page per lesson: title, still, caption
    optirace deck --out part1.html --lessons gd-by-hand,learning-rates

The HTML deck is the offline HTML export's page (export/html.py) once per lesson: the same figure
description, the same in-browser player. Each slide holds its lesson's title, caption, playback bar
and panels; one slide shows at a time. Keys:

- PageDown or n: next slide; PageUp or p: previous slide; Home / End: first / last slide
  (presenter remotes send PageDown and PageUp);
- the player's own keys drive the race on the slide shown: space plays or pauses, ← and → step,
  r goes back to step 0.

`lecture.html#3` opens at slide 3. The PDF is matplotlib's (export/frames.py), each page the
lesson's last step with its title above and its caption below.
"""

from __future__ import annotations

import argparse
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from .options import THEMES, Options, parse_size

__all__ = ["write_deck", "add_arguments", "run", "DECK_JS"]

FORMATS = ("html", "pdf")
NAV_HEIGHT = 44

# The deck's navigation, run as the body of a Bokeh CustomJS: `action` is what the caller asks for
# ("ready", "next", "previous"); args: slides (the slides' columns), races (each slide's `race`
# source, which holds its player, see figures/player.js), sliders and counter.
DECK_JS = """
const D = window.__deck ?? (window.__deck = {i: 0});
D.args = {slides, races, sliders, counter};
function show(i) {
  const a = D.args, n = a.slides.length;
  i = Math.max(0, Math.min(i, n - 1));
  const O = window.__optirace ?? (window.__optirace = {});
  if (O.player && O.player.playing) O.player.command('toggle');  // the slide left stops playing
  a.slides.forEach((s, j) => { s.visible = j === i; });
  D.i = i;
  a.counter.text = `slide ${i + 1} / ${n}`;
  const P = a.races[i]._player;
  if (P) {  // the player's keys now drive this slide's race
    O.player = P;
    O.slider = a.sliders[i];
    P.draw(P.step, true);
  }
  if (window.history && window.history.replaceState) window.history.replaceState(null, '', '#' + (i + 1));
}
D.show = show;
if (action === 'ready') {
  if (!D.keys) {
    D.keys = true;
    document.addEventListener('keydown', (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const go = {PageDown: 1, PageUp: -1, n: 1, p: -1, N: 1, P: -1}[e.key];
      if (go !== undefined) { e.preventDefault(); D.show(D.i + go); }
      else if (e.key === 'Home') { e.preventDefault(); D.show(0); }
      else if (e.key === 'End') { e.preventDefault(); D.show(D.args.slides.length - 1); }
    });
  }
  const m = /^#(\\d{1,4})$/.exec(window.location.hash);
  show(m ? +m[1] - 1 : 0);
  D.ready = true;
} else if (action === 'next') show(D.i + 1);
else if (action === 'previous') show(D.i - 1);
"""


def _states(chosen):
    from .scene import state_from_scene

    return [(one, state_from_scene(one.scene)) for one in chosen]


def _html(chosen, path: Path, options: Options) -> None:
    from bokeh.document import Document
    from bokeh.layouts import column, row
    from bokeh.models import Button, CustomJS, Div

    from ..figures import paintfix
    from .html import page_html, race_block

    w, h = options.size
    slide_options = Options(size=(w, h - NAV_HEIGHT), theme=options.theme, legend=options.legend,
                            panels=options.panels)  # fmt: skip
    slides, races, sliders, readies = [], [], [], []
    lk = None
    for one, state in _states(chosen):
        opts = Options(**{**slide_options.__dict__, "title": one.title})
        block, player, lk = race_block(state, opts.checked("html", state.result.steps), caption=one.caption)
        block.visible = not slides  # the first slide shows until the page's code takes over
        block.name = f"slide-{one.name}"
        slides.append(block)
        races.append(player.race)
        sliders.append(player.slider)
        readies.append(player.ready())
    counter = Div(text=f"slide 1 / {len(slides)}", name="deck-counter", styles={"color": lk.text},
                  css_classes=["deck-counter"])  # fmt: skip
    back = Button(label="◀ Previous slide", width=140, name="previous-slide")
    forward = Button(label="Next slide ▶", width=140, name="next-slide")
    keys = Div(text="PageUp / PageDown (or p / n): slides &nbsp; space, ←, →, r: the race",
               styles={"color": lk.text, "opacity": "0.7"})  # fmt: skip
    nav = row(back, forward, counter, keys, height=NAV_HEIGHT)
    args = {"slides": slides, "races": races, "sliders": sliders, "counter": counter}
    back.js_on_click(CustomJS(args=args, code=f"const action = 'previous';\n{DECK_JS}"))
    forward.js_on_click(CustomJS(args=args, code=f"const action = 'next';\n{DECK_JS}"))
    doc = Document()
    doc.add_root(column(nav, *slides, styles={"background": lk.background}))
    paintfix.install(doc)
    for ready in readies:  # each player draws its race, then the deck shows the first slide
        doc.js_on_event("document_ready", ready)
    doc.js_on_event("document_ready", CustomJS(args=args, code=f"const action = 'ready';\n{DECK_JS}"))
    path.write_text(page_html(doc, "OptiRace: lessons", lk.background), encoding="utf-8")


def _pdf(chosen, path: Path, options: Options) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    from .frames import DPI, LOCK, Picture

    with LOCK, PdfPages(path, metadata={"Creator": "optirace", "CreationDate": None}) as pdf:
        for one, state in _states(chosen):
            opts = Options(**{**options.__dict__, "title": one.title, "caption": one.caption})
            pic = Picture(state, opts.checked("pdf", state.result.steps), animated=False)
            pic.show(state.result.steps)
            pdf.savefig(pic.fig, dpi=DPI, facecolor=pic.look.background)
            plt.close(pic.fig)


def write_deck(out: str | Path, names: Sequence[str] | None = None, options: Options | None = None,
               folder: str | Path | None = None) -> tuple[Path, int]:  # fmt: skip
    """Write the lessons `names` (default: all, in order) from `folder` (default: the shipped ones)
    to `out`, a .html deck or a .pdf; returns (path, slides). ValueError for what is wrong."""
    from ..lessons import lesson, lessons, read_folder

    out = Path(out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"cannot tell the format of {str(out)!r}: a deck is .html or .pdf")
    if not out.parent.is_dir():
        raise ValueError(f"cannot write {out}: folder {out.parent} does not exist")
    known = read_folder(folder) if folder is not None else lessons()
    if names:
        chosen = []
        for n in names:
            if folder is None:
                chosen.append(lesson(n))
            elif n in known:
                chosen.append(known[n])
            else:
                raise ValueError(f"unknown lesson {n!r}; known: {', '.join(known)}")
    else:
        chosen = list(known.values())
    if not chosen:
        raise ValueError("no lessons to write")
    options = options or Options()
    # Written beside the target and renamed at the end: a failed deck leaves no half file behind.
    tmp = out.with_name(f".{out.stem}-{os.getpid()}-{secrets.token_hex(4)}{out.suffix}")
    try:
        (_html if fmt == "html" else _pdf)(chosen, tmp, options)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out, len(chosen)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (__doc__ or "").split("\n\n")[0]
    p.add_argument(
        "--out", required=True, metavar="FILE", help="lecture.html (slides) or lecture.pdf (stills)"
    )
    p.add_argument("--lessons", metavar="NAMES", help="comma-separated lesson names (default: all, in order)")
    p.add_argument(
        "--folder", metavar="DIR", help="read the lessons from this folder instead of the shipped ones"
    )
    p.add_argument(
        "--size", default="1280x720", metavar="WxH", help="each slide's pixels (default: 1280x720)"
    )
    p.add_argument("--theme", choices=THEMES, help="slides: large fonts and thick lines (default: light)")
    p.epilog = (
        "Keys in the HTML deck: PageDown or n / PageUp or p: next / previous slide, Home / End: first / "
        "last; space, the arrow keys and r drive the race on the slide shown."
    )


def run(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.lessons.split(",") if n.strip()] if args.lessons else None
    options = Options(size=parse_size(args.size), theme=args.theme)
    options.checked("pdf", 1)  # size and theme, checked before any race runs
    path, count = write_deck(args.out, names, options, args.folder)
    print(f"wrote {path} ({count} lessons, {path.stat().st_size / 1e6:.2f} MB)")
    return 0
