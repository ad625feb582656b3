"""One player for the live app and the offline HTML: the race is sent to the page once, and played there.

The server (or the exporter) renders a figure declared with `race_figure(..., player=True)` with
the Bokeh backend, then `Player.attach` finds its tagged layers (figures/tags.py) and `Player.load`
puts the race into two sources: `race` (one row per drawn step: every racer's coordinates, loss,
gap to the minimum, distance to the nearest marked minimum, learning rate; numpy columns, which
Bokeh sends as binary buffers) and `racers` (one row per racer: label, colour, where it diverged,
where its divergence marker sits). The page's code (figures/player.js) draws any step from them:
play, pause, step, scrub, loop, speed and the keyboard cost the server nothing per frame. When the
user pauses, steps or scrubs, the page writes the step into `report`, which is how the server
learns it (for the link and "export at this step").

A long race is thinned for the page to at most `row_budget` rows, evenly spaced and always holding
the last step and every step a racer diverged at: the player then moves in those steps, and each
number it shows is the exact value at the step it shows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from bokeh.models import Button, ColumnDataSource, CustomJS, Div, InlineStyleSheet, Slider, Toggle

from surfaces.grid import gradients

from ..text import as_html, shown
from .curves import curve_values, has_momentum
from .internals import arrow_columns
from .surface import diverged_marks
from .tags import PREFIX, parse
from .theory import has_theory, predicted_gap

__all__ = ["Player", "race_columns", "racer_rows", "thinned_rows", "PLAYER_JS", "TOLERANCE"]

PLAYER_JS = (Path(__file__).with_name("player.js")).read_text(encoding="utf-8")
SHEET = (Path(__file__).resolve().parents[2] / "static" / "optirace.css").read_text(encoding="utf-8")
TOLERANCE = 1e-6  # "first within": the loss's gap to the global minimum's value
CELLS = 1_500_000  # numbers per race sent to a page, at most: about 12 MB
PRESENT_CSS = (
    ":host { --font-size: 1.3rem; font-size: 1.3rem; } .bk-btn { font-size: 1.3rem; min-height: 2.6rem; }"
)
TANGENT = 0.12  # a tangent's half-width, as a fraction of the x range (figures/line.py)


def thinned_rows(steps: int, racers: int, diverged=(), cells: int = CELLS) -> np.ndarray:
    """The steps a page receives: all of them, or evenly spaced ones plus the last step and each
    step a racer diverged at, so that about 6 numbers per racer and row fit in `cells`."""
    budget = max(1000, cells // (6 * max(racers, 1)))
    if steps + 1 <= budget:
        return np.arange(steps + 1)
    stride = int(np.ceil(steps / (budget - 1)))
    rows = np.arange(0, steps + 1, stride)
    extra = [steps, *[int(d) for d in diverged if 0 <= d <= steps]]
    return np.unique(np.concatenate([rows, extra]))


def _distances(surface, points: np.ndarray) -> np.ndarray:
    """(racers, rows): distance to the nearest minimum the surface marks, global or local."""
    marked = np.asarray([*surface.minima, *surface.local_minima], dtype=np.float64)[:, : points.shape[-1]]
    d = np.linalg.norm(points[:, :, None, :] - marked[None, None], axis=-1)
    return d.min(axis=-1)


def race_columns(result, rows: np.ndarray, kappa=None, noise: float = 0.0) -> dict[str, np.ndarray]:
    """The `race` source's columns: step, and per racer i x{i}, y{i} (the loss on a one-variable
    surface), loss{i}, gap{i} (as the loss panel draws it), dist{i}, lr{i}, mom{i} where a schedule
    cycles the momentum, g{i} (the slope f'(x)) on a one-variable surface, and pred{i} where theory
    predicts the racer's loss (figures/theory.py; `kappa` and `noise` are the race's), and the
    internals' arrows and tracks on a two-variable surface (figures/internals.py)."""
    n = result.params.shape[0]
    P = np.asarray(result.params, dtype=np.float64)[:, rows]
    loss = np.asarray(result.loss, dtype=np.float64)[:, rows]
    gap, _, _ = curve_values(result, "loss")
    lr, _, _ = curve_values(result, "lr")
    # float64, as every column: BokehJS keeps an int64 column as an array type its line glyphs
    # cannot draw a slice of (steps are exact in a float64 up to 2**53).
    cols: dict[str, np.ndarray] = {"step": rows.astype(np.float64)}
    dist = _distances(result.surface, P)
    two = result.surface.dim == 2
    slopes = gradients(result.surface, P)[..., 0] if not two else None
    cycled = has_momentum(result)
    mom = curve_values(result, "momentum")[0] if cycled.any() else None
    pred = predicted_gap(result, kappa, noise) if has_theory(result.surface) else None
    for i in range(n):
        cols[f"x{i}"] = P[i, :, 0]
        cols[f"y{i}"] = P[i, :, 1] if two else loss[i]
        cols[f"loss{i}"] = loss[i]
        cols[f"gap{i}"] = gap[i, rows]
        cols[f"dist{i}"] = dist[i]
        cols[f"lr{i}"] = lr[i, rows]
        if mom is not None and cycled[i]:
            cols[f"mom{i}"] = mom[i, rows]
        if slopes is not None:
            cols[f"g{i}"] = slopes[i]
        if pred is not None and np.isfinite(pred[i]).any():
            cols[f"pred{i}"] = pred[i, rows]
    cols.update(arrow_columns(result, rows, {"kappa": kappa} if kappa is not None else None)[0])
    return cols


def racer_rows(result, rows: np.ndarray, labels, colors, xlim, ylim, slots=None) -> dict[str, list]:
    """The `racers` source's columns, one row per racer. Labels are user text: `label` is escaped
    for the leaderboard's HTML, `text` is the plain text a hover shows (Bokeh escapes fields).
    `slot` is the racer's palette slot: the figure's layers it is drawn in."""
    n = result.params.shape[0]
    X = result.params[..., 0]
    Y = result.params[..., 1] if result.surface.dim == 2 else result.loss
    marks = diverged_marks(result, X, Y, xlim, ylim)
    first = result.first_within(TOLERANCE)
    last = np.where(result.diverged_at >= 0, result.diverged_at, result.steps).astype(int)
    row_of = {int(s): j for j, s in enumerate(rows)}
    lastrow = [int(np.searchsorted(rows, v, side="right") - 1) for v in last]
    return {
        "label": [as_html(t) for t in labels],
        "text": [shown(t) for t in labels],
        "color": list(colors),
        "dead": [int(d) for d in result.diverged_at],
        "deadrow": [row_of.get(int(d), -1) for d in result.diverged_at],
        "first": [int(f) for f in first],
        "lastrow": lastrow,
        "px": [m[0] for m in marks], "py": [m[1] for m in marks],
        "tx": [m[2] for m in marks], "ty": [m[3] for m in marks],
        "h": [m[4] for m in marks], "v": [m[5] for m in marks],
        "tw": [TANGENT * (xlim[1] - xlim[0])] * n,
        "slot": list(range(n)) if slots is None else [int(v) for v in slots],
    }  # fmt: skip


def tagged(root) -> list:
    """The models under `root` that the player draws (figures/tags.py), in a stable order."""
    # A figure's drawn layers are its renderers (walking every model under it took a second).
    under = [root, *root.renderers] if hasattr(root, "renderers") else root.references()
    found = [m for m in under if any(parse(t) for t in getattr(m, "tags", ()) or ())]
    return sorted(found, key=lambda m: next(t for t in m.tags if isinstance(t, str) and t.startswith(PREFIX)))


def panels(root) -> dict[str, object]:
    """The figures under `root` by panel name (contour, loss, lr, momentum)."""
    out = {}
    for m in root.references():
        for t in getattr(m, "tags", ()) or ():
            p = parse(t)
            if p and p[0] == "panel":
                out[p[2]] = m
    return out


class Player:
    """The page's player: the race's sources, the playback bar, the tables, and the wiring."""

    def __init__(self, speed: float = 50.0, loop: bool = False, autoplay: bool = False, report: bool = True,
                 present: bool = False, linked: bool = False) -> None:  # fmt: skip
        """`linked`: the page reads play=1 and loop=1 from its own link (the offline HTML, which
        has no server to read them)."""
        sheet = InlineStyleSheet(css=SHEET)
        big: list = []
        self.race = ColumnDataSource({"step": np.zeros(1)}, name="optirace-race")
        self.racers = ColumnDataSource({"color": []}, name="optirace-racers")
        self.play = Button(label="▶ Play", button_type="primary", width=110 if present else 96, name="play",
                           css_classes=["play"], stylesheets=big)  # fmt: skip
        self.back = Button(label="◀ Step", width=80, name="back", css_classes=["back"], stylesheets=big)
        self.forward = Button(label="Step ▶", width=80, name="forward", css_classes=["step"], stylesheets=big)
        self.reset = Button(label="⟲ Reset", width=84, name="reset", css_classes=["reset"], stylesheets=big)
        self.slider = Slider(start=0, end=1, value=0, step=1, title="step", name="step", min_width=160,
                             sizing_mode="stretch_width", css_classes=["scrubber"], stylesheets=big)  # fmt: skip
        self.speed = Slider(start=1, end=500, value=float(speed), step=1, title="speed (steps/s)", width=180,
                            name="speed", stylesheets=big)  # fmt: skip
        self.loop = Toggle(label="⟳ Loop", active=bool(loop), width=76, name="loop", stylesheets=big)
        self.board = Div(text="", sizing_mode="stretch_width", css_classes=["leaderboard"], stylesheets=[sheet],
                         name="leaderboard")  # fmt: skip
        self.iterates = Div(text="", sizing_mode="stretch_width", css_classes=["iterates"], stylesheets=[sheet],
                            name="iterates")  # fmt: skip
        self.report = (
            ColumnDataSource({"step": [0], "playing": [0]}, name="optirace-report") if report else None
        )
        # What the page changes each frame stays in the page.
        for m in (self.play, self.back, self.forward, self.reset, self.slider, self.board, self.iterates):
            m.syncable = False
        self.set_present(present)
        self.targets: list = []
        self.autoplay = bool(autoplay)
        self.linked = bool(linked)
        self._callbacks: list[CustomJS] = []
        self._wire()

    def set_present(self, present: bool) -> None:
        """Presentation mode enlarges the playback bar with the figures, for the back of a hall."""
        big = [InlineStyleSheet(css=PRESENT_CSS)] if present else []
        for m in (self.play, self.back, self.forward, self.reset, self.slider, self.speed, self.loop):
            m.stylesheets = big
        self.play.width = 120 if present else 96
        for m in (self.back, self.forward, self.reset, self.loop):
            m.width = 100 if present else 80

    # ----- the page's side ---------------------------------------------------------------------------
    def _args(self) -> dict:
        return {"race": self.race, "racers": self.racers, "targets": self.targets, "slider": self.slider,
                "play": self.play, "board": self.board, "iterates": self.iterates, "speed": self.speed,
                "loop": self.loop, "report": self.report, "autoplay": self.autoplay, "linked": self.linked}  # fmt: skip

    def callback(self, action: str) -> CustomJS:
        cb = CustomJS(args=self._args(), code=f"const action = {action!r};\n{PLAYER_JS}")
        self._callbacks.append(cb)
        return cb

    def _wire(self) -> None:
        self.play.js_on_click(self.callback("toggle"))
        self.back.js_on_click(self.callback("back"))
        self.forward.js_on_click(self.callback("forward"))
        self.reset.js_on_click(self.callback("reset"))
        self.slider.js_on_change("value", self.callback("scrub"))
        self.slider.js_on_change("value_throttled", self.callback("scrubbed"))
        # The server assigns `racers` last when it sends a race: everything else has arrived.
        self.racers.js_on_change("data", self.callback("load"))

    def ready(self) -> CustomJS:
        """The callback that starts the player once the page's document is ready."""
        return self.callback("ready")

    # ----- the server's side -------------------------------------------------------------------------
    def attach(self, *roots) -> None:
        """Point the player at the figures under `roots` (new ones replace the last)."""
        self.targets = [m for root in roots for m in tagged(root)]
        args = self._args()
        for cb in self._callbacks:
            cb.args = args

    def load(
        self, result, labels, colors, xlim, ylim, slots=None, kappa=None, noise: float = 0.0
    ) -> np.ndarray:
        """Send the race: `race` first, `racers` last (its change makes the page draw). Returns the
        steps the page received."""
        rows = thinned_rows(result.steps, result.params.shape[0], result.diverged_at)
        self.slider.step = int(rows[1] - rows[0]) if len(rows) > 1 else 1
        self.slider.end = max(int(result.steps), 1)
        self.race.data = race_columns(result, rows, kappa, noise)
        self.racers.data = racer_rows(result, rows, labels, colors, xlim, ylim, slots)
        return rows

    def bar(self, compact: bool = False):
        """The playback bar. `compact` (an iframe in a slide, 640 pixels wide) leaves out the speed
        and loop controls, which the link sets, so play, step, reset and the scrubber fit."""
        from bokeh.layouts import row

        if compact:
            for m, w in ((self.play, 90), (self.back, 76), (self.forward, 76), (self.reset, 80)):
                m.width = w
            return row(self.play, self.back, self.forward, self.reset, self.slider, sizing_mode="stretch_width",
                       css_classes=["playback"])  # fmt: skip
        return row(self.play, self.back, self.forward, self.reset, self.speed, self.loop, self.slider,
                   sizing_mode="stretch_width", css_classes=["playback"])  # fmt: skip
