"""A racer: one optimizer with its hyperparameters, schedule and clipping, validated.

`Racer.from_spec` turns the contract's plain dict (or a racer string such as
`"adam:lr=0.01,beta1=0.9"`) into a validated, normalised `Racer`. Unknown names and values that
torch.optim would reject raise ValueError naming the field and what is allowed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .limits import MAX_LABEL, MAX_TEXT, check_spec_size
from .optax_racers import PREFIX as OPTAX_PREFIX
from .optax_racers import is_optax_name, optax_optimizer
from .registry import OPTIMIZERS, SCHEDULES
from .schedules import check_cycle_momentum
from .spec import HParam, Optimizer, Schedule, check_value, shown

__all__ = ["Racer", "parse_racer", "racer_to_string", "RESERVED"]

RESERVED = ("optimizer", "inner", "schedule", "clip_norm", "clip_value", "label")

CLIP_NORM = HParam(
    "clip_norm",
    math.inf,
    0.1,
    100.0,
    log=True,
    doc="clip the gradient's norm to this (inf: off)",
    min=0.0,
    min_open=True,
    allow_inf=True,
)
CLIP_VALUE = HParam(
    "clip_value",
    math.inf,
    0.01,
    100.0,
    log=True,
    doc="clip each gradient component to +-this (inf: off)",
    min=0.0,
    min_open=True,
    allow_inf=True,
)


def _split(owner: str, specs: tuple[HParam, ...], given: Mapping[str, Any]):
    """Validate `given` against `specs`; return (traced numeric values, static choices)."""
    known = {h.name: h for h in specs}
    for name in given:
        if name not in known:
            allowed = ", ".join(known) or "none"
            raise ValueError(f"{owner}: unknown hyperparameter {shown(name)}; allowed: {allowed}")
    numeric: dict[str, float] = {}
    static: dict[str, str] = {}
    for h in specs:
        value = check_value(owner, h, given.get(h.name, h.default))
        if h.static:
            static[h.name] = value
        else:
            numeric[h.name] = value
    return numeric, static


@dataclass(frozen=True)
class Racer:
    optimizer: Optimizer
    hp: Mapping[str, float]
    static: Mapping[str, str]
    schedule: Schedule
    schedule_hp: Mapping[str, float]
    schedule_static: Mapping[str, str]
    clip_norm: float
    clip_value: float
    label: str
    inner: Racer | None = None

    @functools.cached_property
    def key(self) -> tuple:
        """Everything that changes the compiled program; numeric values never do."""
        return (
            self.optimizer.name,
            tuple(sorted(self.static.items())),
            self.inner.key if self.inner is not None else None,
            self.schedule.name,
            tuple(sorted(self.schedule_static.items())),
        )

    @property
    def lr_owner(self) -> Racer:
        """The racer whose `lr` the schedule scales: the inner one for wrappers."""
        return self.inner.lr_owner if self.inner is not None else self

    @property
    def base_lr(self) -> float:
        owner = self.lr_owner
        return owner.hp[owner.optimizer.lr_name] if owner.optimizer.lr_name else 0.0

    @functools.cached_property
    def numbers(self) -> tuple[float, ...]:
        """The traced numbers in the order the engine's race program reads them: hp, the inner
        racer's hp, the schedule's hp, base lr, clip norm, clip value (a milestone list is 8 numbers)."""
        out: list[float] = []
        for tree in (self.hp, self.inner.hp if self.inner is not None else {}, self.schedule_hp):
            for v in tree.values():
                if isinstance(v, tuple):
                    out.extend(v)
                else:
                    out.append(v)
        return (*out, self.base_lr, self.clip_norm, self.clip_value)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | str | Racer, *, _inner: bool = False) -> Racer:
        if isinstance(spec, Racer):
            return spec
        # Before anything walks it recursively (the cache key, the inner racer) or hashes it.
        check_spec_size(spec)
        key = None if _inner else _canonical(spec)
        if key is not None:
            racer = _PARSED.get(key)
            if racer is None:
                racer = cls._parse(spec, False)
                while len(_PARSED) >= _PARSED_KEPT:
                    _PARSED.pop(next(iter(_PARSED)), None)
                _PARSED[key] = racer
            return racer
        return cls._parse(spec, _inner)

    @classmethod
    def _parse(cls, spec: Mapping[str, Any] | str, _inner: bool) -> Racer:
        if isinstance(spec, str):
            spec = parse_racer(spec)
        if not isinstance(spec, Mapping):
            raise ValueError(
                f"racer: expected a dict like {{'optimizer': 'adam', 'lr': 0.01}}, got {shown(spec)}"
            )
        optimizers, schedules = OPTIMIZERS, SCHEDULES
        name = spec.get("optimizer")
        if is_optax_name(name):
            optax_optimizer(name)  # an unknown alias, or one that cannot race: optax's own message
        elif not isinstance(name, str) or name not in optimizers:
            raise ValueError(
                f"racer: unknown optimizer {shown(name)}; known: {', '.join(sorted(optimizers))}"
            )
        opt = optimizers[name]
        owner = f"{name}"
        hp_given = {k: v for k, v in spec.items() if k not in RESERVED}
        hp, static = _split(owner, opt.hparams, hp_given)
        inner = None
        if opt.wrapper:
            if "inner" not in spec:
                raise ValueError(
                    f"{owner}: needs an inner racer, e.g. 'inner': {{'optimizer': 'sgd', 'lr': 0.001}}"
                )
            try:
                inner = cls.from_spec(spec["inner"], _inner=True)
            except ValueError as e:
                raise ValueError(f"{owner}: inner: {e}") from None
            if inner.optimizer.wrapper:
                raise ValueError(f"{owner}: the inner racer cannot itself be a wrapper")
        elif "inner" in spec:
            raise ValueError(f"{owner}: 'inner' is only for wrappers (lookahead)")
        if _inner:
            for k in ("schedule", "clip_norm", "clip_value"):
                if k in spec:
                    raise ValueError(f"{owner}: put {k!r} on the outer (wrapper) racer, not the inner one")
        opt.validate({**opt.defaults, **{k: v for k, v in hp.items()}, **static})
        sched_spec = spec.get("schedule")
        if sched_spec is None or sched_spec == "":
            sched_spec = "constant"
        if isinstance(sched_spec, str):
            sched_spec = {"name": sched_spec}
        got = sched_spec.get("name") if isinstance(sched_spec, Mapping) else sched_spec
        if not isinstance(got, str) or got not in schedules:
            raise ValueError(
                f"{owner}: schedule: unknown schedule {shown(got)}; known: {', '.join(sorted(schedules))}"
            )
        sched = schedules[sched_spec["name"]]
        s_hp, s_static = _split(
            f"{owner}: schedule {sched.name}",
            sched.hparams,
            {k: v for k, v in sched_spec.items() if k != "name"},
        )
        if sched.check is not None:
            sched.check({**s_hp, **s_static})
        check_cycle_momentum(owner, sched, s_hp, inner.optimizer if inner is not None else opt)
        clip_n = check_value(
            owner,
            CLIP_NORM,
            spec.get("clip_norm", math.inf) if spec.get("clip_norm") is not None else math.inf,
        )
        clip_v = check_value(
            owner,
            CLIP_VALUE,
            spec.get("clip_value", math.inf) if spec.get("clip_value") is not None else math.inf,
        )
        label = spec.get("label") or name
        if not isinstance(label, str):
            raise ValueError(f"{owner}: label must be text, got {shown(label)}")
        if len(label) > MAX_LABEL:
            raise ValueError(f"{owner}: label of {len(label)} characters; MAX_LABEL is {MAX_LABEL}")
        return cls(opt, hp, static, sched, s_hp, s_static, clip_n, clip_v, label, inner)


# Racers parsed before, by the canonical form of their spec: the app races the same racers again on
# every slider move. A spec that fails validation is never stored, so it raises again.
_PARSED: dict[tuple, Racer] = {}
_PARSED_KEPT = 4096
_ATOMS = frozenset({bool, int, float, str, type(None), np.float64, np.float32, np.int64, np.int32, np.bool_})


def _canonical(spec: Any) -> tuple | None:
    """A hashable form of a racer spec; two specs with the same form parse to equal racers.

    Every value keeps its type beside it (True == 1 == 1.0 in Python, not as racer values), a
    zero keeps its sign, and anything but plain scalars, strings, lists and dicts gives None (not
    cached: parsed every time).
    """
    kind = type(spec)
    if kind in _ATOMS:
        if spec == 0 and kind not in (bool, int, str, type(None), np.bool_):
            return (kind, repr(spec))  # -0.0 == 0.0
        return (kind, spec)
    if kind is dict:
        items = []
        for k, v in spec.items():
            c = _canonical(v)
            if type(k) is not str or c is None:
                return None
            items.append((k, c))
        return (dict, tuple(items))
    if kind in (list, tuple):
        items = tuple(_canonical(v) for v in spec)
        return None if None in items else (kind, items)
    return None


def _scalar(text: str) -> Any:
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return float(text)
    except ValueError:
        return text.strip()


def parse_racer(text: str) -> dict[str, Any]:
    """Parse the CLI's racer string: `name:key=value,key=value`.

    Schedule keys are written `schedule=step,step_size=100` would be ambiguous, so schedule
    parameters take a `schedule.` prefix: `sgd:lr=0.1,schedule=step,schedule.step_size=100`.
    Inner racers of wrappers take an `inner.` prefix: `lookahead:k=5,inner=sgd,inner.lr=0.01`.
    An optax optimizer keeps its namespace in the name: `optax:yogi:learning_rate=0.1,b1=0.8`.
    """
    if not isinstance(text, str):
        raise ValueError(f"racer: expected text such as 'adam:lr=0.01,beta1=0.9', got {shown(text)}")
    if len(text) > MAX_TEXT:
        raise ValueError(f"racer: racer text of {len(text)} characters; MAX_TEXT is {MAX_TEXT}")
    if not text.strip():
        raise ValueError("racer: empty racer; write e.g. 'adam:lr=0.01,beta1=0.9'")
    name, _, rest = text.strip().partition(":")
    if name.strip() + ":" == OPTAX_PREFIX:
        # `optax:yogi:learning_rate=0.1`: the namespace is part of the optimizer's name.
        alias, _, rest = rest.partition(":")
        name = OPTAX_PREFIX + alias.strip()
    out: dict[str, Any] = {"optimizer": name.strip()}
    sched: dict[str, Any] = {}
    inner: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ValueError(f"racer {shown(text)}: {shown(part)} is not key=value")
        if key == "schedule":
            sched["name"] = value.strip()
        elif key.startswith("schedule."):
            sched[key[len("schedule.") :]] = _scalar(value)
        elif key == "inner":
            inner["optimizer"] = value.strip()
        elif key.startswith("inner."):
            inner[key[len("inner.") :]] = _scalar(value)
        elif key == "label":
            out["label"] = value.strip()
        else:
            out[key] = _scalar(value)
    if sched:
        if "name" not in sched:
            raise ValueError(f"racer {shown(text)}: schedule parameters given without schedule=NAME")
        out["schedule"] = sched
    if inner:
        out["inner"] = inner
    return out


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
