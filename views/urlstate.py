"""The app's state as a query string, and back. Garbage falls back to defaults with a notice.

Format: `?surface=rosenbrock&r0=adam:lr=0.01&r1=sgd:lr=0.001,momentum=0.9&start=-1.5,2&steps=300`
`&noise=0&seed=0&speed=60&theme=dark&present=1&embed=1&loop=1&play=1`. `play=1` starts playing on
load and `loop=1` starts again at the end: together they make a slide's iframe animate by itself. Racers use the CLI's racer syntax
(optimizers.racer.parse_racer), so a URL and a command line say the same thing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from optimizers import OPTIMIZERS, Racer, parse_racer
from optimizers.spec import as_float, shown

__all__ = ["racer_to_string", "encode", "decode"]

MAX_URL_RACERS = 8  # the app's racer limit (views/state.py LIMITS): one palette colour each
MAX_URL_LABEL = 60  # the app's label limit, tighter than the engine's MAX_LABEL


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isinf(v):
            return "inf"
        # Shortest text that reads back to the same float; whole numbers without ".0".
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, (list, tuple)):
        return ";".join(_fmt(x) for x in v)
    return str(v)


def racer_to_string(spec: Mapping[str, Any]) -> str:
    """The inverse of parse_racer: only values that differ from the optimizer's defaults are written."""
    name = spec["optimizer"]
    opt = OPTIMIZERS[name]
    parts = []
    for h in opt.hparams:
        if h.name in spec and spec[h.name] != h.default:
            parts.append(f"{h.name}={_fmt(spec[h.name])}")
    sched = spec.get("schedule")
    if isinstance(sched, str):
        sched = {"name": sched}
    if sched and sched.get("name", "constant") != "constant":
        parts.append(f"schedule={sched['name']}")
        parts += [f"schedule.{k}={_fmt(v)}" for k, v in sched.items() if k != "name"]
    inner = spec.get("inner")
    if isinstance(inner, str):
        inner = parse_racer(inner)
    if inner:
        parts.append(f"inner={inner['optimizer']}")
        inner_opt = OPTIMIZERS[inner["optimizer"]]
        for h in inner_opt.hparams:
            if h.name in inner and inner[h.name] != h.default:
                parts.append(f"inner.{h.name}={_fmt(inner[h.name])}")
    for k in ("clip_norm", "clip_value"):
        v = spec.get(k)
        if v is not None and not (isinstance(v, float) and math.isinf(v)):
            parts.append(f"{k}={_fmt(v)}")
    if spec.get("label") and spec["label"] != name:
        parts.append(f"label={spec['label']}")
    return name + (":" + ",".join(parts) if parts else "")


def encode(state: Mapping[str, Any]) -> dict[str, str]:
    """State dict (surface, racers, start, steps, noise, seed, ...) -> query parameters."""
    q: dict[str, str] = {"surface": state["surface"]}
    for i, r in enumerate(state["racers"]):
        q[f"r{i}"] = racer_to_string(r)
    if state.get("start") is not None:
        q["start"] = ",".join(_fmt(float(v)) for v in state["start"])
    for k in ("steps", "noise", "seed", "batch_size", "speed", "kappa"):
        if state.get(k) is not None:
            q[k] = _fmt(state[k])
    for k in ("theme",):
        if state.get(k):
            q[k] = state[k]
    for k in ("present", "embed", "loop"):
        if state.get(k):
            q[k] = "1"
    return q


_INTS = ("steps", "seed", "batch_size")
_FLOATS = ("noise", "speed", "kappa")
_FLAGS = {
    "1": True,
    "true": True,
    "yes": True,
    "on": True,
    "0": False,
    "false": False,
    "no": False,
    "off": False,
    "": False,
}
_RACER_KEY = re.compile(r"r[0-9]{1,6}")


def _number(v: Any) -> float:
    """A finite float from a number or numeric text; ValueError for anything else."""
    x = as_float(v)
    if not math.isfinite(x):
        raise ValueError
    return x


def _integer(v: Any) -> int:
    """An int from an int, a whole finite float, or text of one; ValueError for anything else
    (300.5 is refused rather than cut to 300)."""
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lstrip("+-").isdigit() and len(v) < 100:
        return int(v)
    x = _number(v)
    if not x.is_integer():
        raise ValueError
    return int(x)


def _flag(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in _FLAGS:
        return _FLAGS[v.strip().lower()]
    raise ValueError


def _point(v: Any) -> tuple[float, ...]:
    """A start point: "x,y" text or a list of numbers (a link's JSON form of it)."""
    if isinstance(v, str) and len(v) <= 200:
        items: Any = v.split(",")
    elif isinstance(v, (list, tuple)) and len(v) <= 3:
        items = v
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        items = [v]  # a one-variable surface's start, read by Panel as a number
    else:
        raise ValueError
    return tuple(_number(x) for x in items)


def decode(query: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Query parameters -> (valid state fields, notices for every part that was refused).

    Each field is checked on its own, so one bad racer costs that racer, not the whole link. A value
    may be of any type (Panel reads query values as JSON): what is not understood becomes a notice
    naming its key, never an exception. Notices quote values short (`shown`).
    """
    out: dict[str, Any] = {}
    notices: list[str] = []

    from surfaces import SURFACES

    s = query.get("surface")
    if s is not None:
        if isinstance(s, str) and s in SURFACES:
            out["surface"] = s
        else:
            notices.append(f"unknown surface {shown(s)}: showing the default")
    racers = []
    keys = sorted(
        (k for k in query if isinstance(k, str) and _RACER_KEY.fullmatch(k)), key=lambda k: (int(k[1:]), k)
    )
    for k in keys[:MAX_URL_RACERS]:
        text = query[k]
        if not isinstance(text, str):
            notices.append(f"racer {k} ignored: {shown(text)} is not a racer such as adam:lr=0.01")
            continue
        try:
            spec = parse_racer(text)
            if len(spec.get("label", "")) > MAX_URL_LABEL:
                raise ValueError(f"label: at most {MAX_URL_LABEL} characters")
            Racer.from_spec(spec)
            racers.append(spec)
        except ValueError as e:
            notices.append(f"racer {k} ignored: {str(e)[:160]}")
    if len(keys) > MAX_URL_RACERS:
        dropped = keys[MAX_URL_RACERS:]
        named = ", ".join(dropped[:4]) + (", ..." if len(dropped) > 4 else "")
        notices.append(f"only the first {MAX_URL_RACERS} racers were kept; ignored: {named}")
    if racers:
        out["racers"] = racers
    start = query.get("start")
    if start is not None:
        try:
            out["start"] = _point(start)
        except ValueError:
            notices.append(f"start {shown(start)} is not a point: using the surface's default")
    for key in (*_INTS, *_FLOATS):
        v = query.get(key)
        if v is None:
            continue
        try:
            out[key] = _integer(v) if key in _INTS else _number(v)
        except ValueError:
            kind = "a whole number" if key in _INTS else "a finite number"
            notices.append(f"{key} {shown(v)} is not {kind}: using the default")
    theme = query.get("theme")
    if theme is not None:
        if isinstance(theme, str) and theme in ("light", "dark"):
            out["theme"] = theme
        else:
            notices.append(f"theme {shown(theme)} is not light or dark")
    for k in ("present", "embed", "loop", "play"):
        v = query.get(k)
        if v is not None:
            try:
                out[k] = _flag(v)
            except ValueError:
                notices.append(f"{k} {shown(v)} is not 1 or 0: left off")
    return out, notices
