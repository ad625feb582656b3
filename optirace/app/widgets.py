"""Widgets generated from hyperparameter specs: the spec's range, scale, symbol and doc drive them."""

from __future__ import annotations

import math
from typing import Any

import panel as pn
from bokeh.models import CustomJSTickFormatter

from optimizers.spec import HParam

_LOG_FORMAT_JS = "return Number(Math.pow(10, tick).toPrecision(3)).toString();"


def _round(x: float) -> float:
    """Three significant digits: what a slider can mean, and what reads well in a URL."""
    return float(f"{x:.3g}")


def _make(cls, tip: str, **kwargs):
    # Only some Panel widgets carry a tooltip (`description`); the others show the doc in the label's title.
    if "description" in cls.param:
        kwargs["description"] = tip
    return cls(**kwargs)


def hparam_widget(h: HParam, value: Any, prefix: str = "") -> tuple[pn.widgets.Widget, callable]:
    """A widget for `h` showing `value`, and a function from the widget's value to the hp value.

    The spec's display range is only a default view: a legal value outside it widens the range.
    """
    label = f"{prefix}{h.name}"
    tip = f"{h.doc}. Legal: {h.legal_text()}."
    if h.kind == "bool":
        return _make(pn.widgets.Checkbox, tip, label=label, value=bool(value)), bool
    if h.kind == "choice":
        # Each choice's sentence (what it changes, why the paths part) in the tooltip.
        tip += "".join(f" {c}: {h.choice_doc(c)}" for c in h.choices if h.choice_doc(c))
        return _make(pn.widgets.Select, tip, label=label, options=list(h.choices), value=value), str
    if h.kind == "int_list":
        items = value if isinstance(value, (list, tuple)) else str(value).split(";")
        text = ";".join(str(int(float(v))) for v in items if str(v).strip() and float(v) != math.inf)
        return _make(pn.widgets.TextInput, tip, label=f"{label} (e.g. 100;200)", value=text), str
    if h.kind == "int":
        v = int(value)
        lo, hi = int(min(h.lo, v)), int(max(h.hi, v, h.lo + 1))
        return _make(pn.widgets.IntSlider, tip, label=label, start=lo, end=hi, value=v), int
    v = float(value)
    if h.log and h.min < 0:
        return _log_or_racer_lr(h, v, label, tip)
    if h.log:
        lo = math.log10(h.lo)
        hi = math.log10(h.hi)
        if v > 0:
            lo, hi = min(lo, math.log10(v)), max(hi, math.log10(v))
        pos = math.log10(v) if v > 0 else lo
        widget = _make(
            pn.widgets.FloatSlider,
            tip,
            label=label,
            start=lo,
            end=hi,
            step=(hi - lo) / 200,
            value=pos,
            # A model of its own per widget: a Bokeh model must not be shared between sessions.
            format=CustomJSTickFormatter(code=_LOG_FORMAT_JS),
        )
        return widget, lambda x: _round(10.0**x)
    lo, hi = min(h.lo, v), max(h.hi, v)
    # A round step at least as fine as the value's own digits: the value sits on the slider's grid
    # and its label shows it as given (beta2 = 0.999 reads 0.999, not 1).
    step = 10.0 ** math.floor(math.log10((hi - lo) / 200)) if hi > lo else 0.01
    digits = max(_decimals(v), _decimals(lo), -math.floor(math.log10(step)))
    step = min(step, 10.0**-digits)
    widget = _make(
        pn.widgets.FloatSlider,
        tip,
        label=label,
        start=lo,
        end=hi,
        step=step,
        value=v,
        format=CustomJSTickFormatter(code=f"return Number(tick.toFixed({digits})).toString();"),
    )
    return widget, lambda x: round(float(x), digits)


def _log_or_racer_lr(h: HParam, v: float, label: str, tip: str) -> tuple[pn.widgets.Widget, callable]:
    """A schedule's own lr whose negative value (-1) means "the racer's lr": a log slider with one
    extra notch at its left end, labelled as what it means rather than as the slider's minimum."""
    lo, hi = math.log10(h.lo), math.log10(h.hi)
    if v > 0:
        lo, hi = min(lo, math.log10(v)), max(hi, math.log10(v))
    step = (hi - lo) / 200
    racers = lo - step  # the notch
    code = (
        f'if (tick < {lo - step / 2!r}) return "racer\'s lr"; '
        "return Number(Math.pow(10, tick).toPrecision(3)).toString();"
    )
    widget = _make(pn.widgets.FloatSlider, tip, label=label, start=racers, end=hi, step=step,
                   value=math.log10(v) if v > 0 else racers, format=CustomJSTickFormatter(code=code))  # fmt: skip
    return widget, lambda x: -1.0 if x < lo - step / 2 else _round(10.0**x)


def _decimals(x: float, most: int = 6) -> int:
    """How many decimals x needs (at most `most`)."""
    text = f"{x:.{most}f}".rstrip("0")
    return len(text) - text.index(".") - 1
