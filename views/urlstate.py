"""The app's state as a query string, and back. Garbage falls back to defaults with a notice.

Format: `?surface=rosenbrock&r0=adam:lr=0.01&r1=sgd:lr=0.001,momentum=0.9&start=-1.5,2&steps=300`
`&noise=0&seed=0&speed=60&theme=dark&present=1&embed=1&loop=1&play=1`. `play=1` starts playing on
load and `loop=1` starts again at the end: together they make a slide's iframe animate by itself. Racers use the CLI's racer syntax
(optimizers.racer.parse_racer), so a URL and a command line say the same thing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from optimizers import OPTIMIZERS, Racer, parse_racer

__all__ = ["racer_to_string", "encode", "decode"]

MAX_URL_RACERS = 8


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


def decode(query: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Query parameters -> (valid state fields, notices for every part that was refused).

    Each field is checked on its own, so one bad racer costs that racer, not the whole link.
    """
    out: dict[str, Any] = {}
    notices: list[str] = []

    def one(key):
        v = query.get(key)
        if isinstance(v, (list, tuple)):
            v = v[0] if v else None
        return v

    from surfaces import SURFACES

    s = one("surface")
    if s is not None:
        if s in SURFACES:
            out["surface"] = s
        else:
            notices.append(f"unknown surface {str(s)[:40]!r}: showing the default")
    racers = []
    keys = sorted((k for k in query if k.startswith("r") and k[1:].isdigit()), key=lambda k: int(k[1:]))
    for k in keys[:MAX_URL_RACERS]:
        text = one(k)
        try:
            spec = parse_racer(str(text))
            Racer.from_spec(spec)
            racers.append(spec)
        except ValueError as e:
            notices.append(f"racer {k} ignored: {str(e)[:160]}")
    if len(keys) > MAX_URL_RACERS:
        notices.append(f"only the first {MAX_URL_RACERS} racers were kept")
    if racers:
        out["racers"] = racers
    start = one("start")
    if start is not None:
        try:
            pt = tuple(float(v) for v in str(start).split(","))
            if not all(math.isfinite(v) for v in pt):
                raise ValueError
            out["start"] = pt
        except ValueError:
            notices.append(f"start {str(start)[:40]!r} is not a point: using the surface's default")
    for key, cast in (
        ("steps", int),
        ("seed", int),
        ("noise", float),
        ("batch_size", int),
        ("speed", float),
        ("kappa", float),
    ):
        v = one(key)
        if v is None:
            continue
        try:
            x = cast(float(v)) if cast is int else cast(v)
            if isinstance(x, float) and not math.isfinite(x):
                raise ValueError
            out[key] = x
        except (TypeError, ValueError):
            notices.append(f"{key} {str(v)[:40]!r} is not a number: using the default")
    theme = one("theme")
    if theme is not None:
        if theme in ("light", "dark"):
            out["theme"] = theme
        else:
            notices.append(f"theme {str(theme)[:20]!r} is not light or dark")
    for k in ("present", "embed", "loop", "play"):
        v = one(k)
        if v is not None:
            out[k] = str(v).lower() in ("1", "true", "yes", "on")
    return out, notices
