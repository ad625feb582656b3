"""The explain panel: for each racer, its update rule, what its hyperparameters mean, its source."""

from __future__ import annotations

import panel as pn

from optimizers import OPTIMIZERS, SCHEDULES
from optirace.text import as_html

from .latex import latex_pane
from .state import PALETTE, RaceState
from .styles import html_pane, live_html


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, float):
        return f"{v:.4g}"
    return as_html(v)


def _meaning(h, value) -> str:
    """The spec's doc, and for a convention the sentence on the chosen one."""
    chosen = h.choice_doc(value)
    return as_html(h.doc) + (f"<br><i>{as_html(value)}</i>: {as_html(chosen)}" if chosen else "")


def _table(opt, spec: dict) -> str:
    rows = "".join(
        f"<tr><td>{as_html(h.name)}</td><td>{_fmt(spec.get(h.name, h.default))}</td>"
        f"<td>{_meaning(h, spec.get(h.name, h.default))}</td></tr>"
        for h in opt.hparams
    )
    return f"<table class='hp'><tr><th>name</th><th>value</th><th>meaning</th></tr>{rows}</table>"


def racer_explanation(index: int, spec: dict, color: str | None = None) -> pn.Column:
    opt = OPTIMIZERS[spec["optimizer"]]
    color = color or PALETTE[index % len(PALETTE)]
    parts = [
        html_pane(f"<h3><span class='swatch' style='background:{color}'></span>{as_html(opt.title)}</h3>"),
        latex_pane(opt.latex, sizing_mode="stretch_width"),
        live_html(_table(opt, spec), sizing_mode="stretch_width"),
    ]
    if opt.wrapper and spec.get("inner"):
        inner = OPTIMIZERS[spec["inner"]["optimizer"]]
        parts += [
            html_pane(f"<p><b>Inner optimizer:</b> {as_html(inner.title)}</p>"),
            latex_pane(inner.latex, sizing_mode="stretch_width"),
            live_html(_table(inner, spec["inner"]), sizing_mode="stretch_width"),
        ]
    sched = spec.get("schedule")
    if sched:
        name = sched if isinstance(sched, str) else sched.get("name", "constant")
        if name != "constant":
            s = SCHEDULES[name]
            parts += [html_pane(f"<p><b>Schedule:</b> {as_html(s.title)} ({as_html(s.torch_name)})</p>"),
                      latex_pane(s.latex, sizing_mode="stretch_width")]  # fmt: skip
    parts.append(
        html_pane(
            f"<p><b>Source:</b> {as_html(opt.source)}<br><b>Convention:</b> {as_html(opt.convention)}</p>",
            sizing_mode="stretch_width",
        )
    )
    return pn.Column(*parts, name=opt.name, sizing_mode="stretch_width")


class Explain:
    def __init__(self, state: RaceState) -> None:
        self.state = state
        self.tabs = pn.Tabs(sizing_mode="stretch_width", dynamic=True)
        state.param.watch(self._update, ["racers"])
        self._update()

    def __panel__(self):
        return self.tabs

    @staticmethod
    def _shape(spec: dict) -> tuple:
        sched = spec.get("schedule")
        name = sched if isinstance(sched, str) else (sched or {}).get("name", "constant")
        return spec["optimizer"], (spec.get("inner") or {}).get("optimizer"), name

    def _update(self, *_):
        shape = [(*self._shape(spec), self.state.color(i)) for i, spec in enumerate(self.state.racers)]
        if shape == getattr(self, "_built", None):
            # Same optimizers and schedules: only the values changed, so only the tables change
            # (rebuilding would re-render every formula in the browser on every slider move).
            for column, spec in zip(self.tabs.objects, self.state.racers, strict=True):
                column[2].object.text = _table(OPTIMIZERS[spec["optimizer"]], spec)
                if OPTIMIZERS[spec["optimizer"]].wrapper and spec.get("inner"):
                    column[5].object.text = _table(OPTIMIZERS[spec["inner"]["optimizer"]], spec["inner"])
            return
        self._built = shape
        active = self.tabs.active
        self.tabs.objects = [
            racer_explanation(i, spec, self.state.color(i)) for i, spec in enumerate(self.state.racers)
        ]
        self.tabs.active = min(active, len(self.tabs.objects) - 1)
