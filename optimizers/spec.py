"""Declarations shared by every optimizer and schedule: hyperparameter specs and the registry types.

One `HParam` is the single source of truth for one hyperparameter: its slider (display range, log
scale), its validation (the range torch.optim accepts), its URL key and its documentation line.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

from .limits import MAX_MILESTONES, MAX_TEXT

Array = Any  # a jax array; kept loose so the specs stay importable without tracing

__all__ = ["HParam", "Optimizer", "Schedule", "StepContext", "flag", "check_value", "shown", "as_float"]


class _Short(reprlib.Repr):
    """repr for messages: short, a few levels deep, and safe on any value (repr of an int of more
    than 4300 digits raises; repr of a deeply nested list can exhaust the stack)."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxstring, self.maxother, self.maxlong = 2, 100, 100, 40
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = 4

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 128:
            return f"<an integer of {x.bit_length()} bits>"
        return super().repr_int(x, level)


_SHORT = _Short()
SHOWN = 120  # characters of a quoted value in a message, at most


def shown(value: Any) -> str:
    """A value as error messages and notices quote it: its repr, cut short."""
    try:
        text = _SHORT.repr(value)
    except Exception:  # a hostile object's own __repr__ may raise anything
        return f"<a {type(value).__name__}>"
    # A string is quoted whole up to 100 characters; a container of several is cut as a whole.
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def as_float(value: Any) -> float:
    """float(value) for a number or numeric text. Anything else raises ValueError: bools, containers,
    arrays, text longer than MAX_TEXT, and integers beyond float's range (float() raises
    OverflowError for those)."""
    if isinstance(value, (bool, np.bool_, np.ndarray)) or (isinstance(value, str) and len(value) > MAX_TEXT):
        raise ValueError(f"{shown(value)} is not a number")
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{shown(value)} is not a number") from None


@dataclass(frozen=True)
class HParam:
    """One hyperparameter.

    `lo`/`hi` are the *display* range (slider); `min`/`max` are the *legal* range, i.e. what
    torch.optim (or the paper) accepts. A value outside the display range is legal and races.
    """

    name: str
    default: float | bool | str
    lo: float = 0.0
    hi: float = 1.0
    log: bool = False
    symbol: str = ""
    doc: str = ""
    kind: str = "float"  # "float" | "int" | "bool" | "choice" | "int_list"
    choices: tuple[str, ...] = ()
    # One sentence per choice (same order): what the choice changes and why the paths part. Shown
    # in the editor's tooltip, the explain panel and the reference.
    choice_docs: tuple[str, ...] = ()
    min: float = -math.inf
    max: float = math.inf
    min_open: bool = False  # True: value must be > min (not >=)
    max_open: bool = False  # True: value must be < max (not <=)
    allow_inf: bool = False  # e.g. clip thresholds, where inf means "off"

    def __post_init__(self) -> None:
        if self.choice_docs and len(self.choice_docs) != len(self.choices):
            raise ValueError(f"{self.name}: one choice_docs sentence per choice")

    def choice_doc(self, value: Any) -> str:
        """The sentence that says what choice `value` does ('' when the spec has none for it)."""
        docs = dict(zip(self.choices, self.choice_docs, strict=False))
        return docs.get(value, "") if isinstance(value, str) else ""

    @property
    def static(self) -> bool:
        """Choices change the program's structure; every other kind is traced."""
        return self.kind == "choice"

    def legal_text(self) -> str:
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "int_list":
            floor = "" if self.min == -math.inf else f" >= {self.min:g}"
            return f"up to 8 integers{floor}, separated by ';' (e.g. 100;200)"
        lo = "" if self.min == -math.inf else f"{self.min:g} {'<' if self.min_open else '<='} "
        hi = "" if self.max == math.inf else f" {'<' if self.max_open else '<='} {self.max:g}"
        kind = "an integer" if self.kind == "int" else "a number"
        if not lo and not hi:
            return f"{kind}"
        return f"{kind} with {lo}{self.name}{hi}"


def check_value(owner: str, spec: HParam, value: Any) -> float | str:
    """Validate one value against its spec; return it normalised (float, or str for choices).

    Raises ValueError naming the field and what is allowed, whatever the value's type.
    """
    where = f"{owner}: {spec.name}"
    refused = f"{where} = {shown(value)} is not allowed"
    if spec.kind == "choice":
        if not isinstance(value, str) or value not in spec.choices:
            raise ValueError(f"{refused}; use {spec.legal_text()}")
        return value
    if spec.kind == "bool":
        if isinstance(value, str):
            low = value.strip().lower()
            if low in ("true", "1", "yes", "on"):
                return 1.0
            if low in ("false", "0", "no", "off"):
                return 0.0
            raise ValueError(f"{refused}; use true or false")
        if isinstance(value, (bool, np.bool_)) or (
            isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1)
        ):
            return float(bool(value))
        raise ValueError(f"{refused}; use true or false")
    if spec.kind == "int_list":
        # Up to 8 integers, given as "100;200" or a list; traced as 8 floats padded with inf (no entry).
        if isinstance(value, (list, tuple)):
            items = list(value)
        elif isinstance(value, str) and len(value) <= MAX_TEXT:
            items = [] if not value.strip() else value.split(";")
        elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            items = [value]
        else:
            raise ValueError(f"{refused}; use {spec.legal_text()}")
        if len(items) > MAX_MILESTONES:
            raise ValueError(
                f"{refused}; use up to {MAX_MILESTONES} integers (MAX_MILESTONES) such as 100;200"
            )
        one = HParam(spec.name, 0.0, kind="int", min=spec.min, max=spec.max, allow_inf=True)
        out = [x for x in (check_value(owner, one, v) for v in items) if x != math.inf]
        if -math.inf in out:
            raise ValueError(f"{refused}; use up to 8 integers such as 100;200")
        return tuple(out) + (math.inf,) * (MAX_MILESTONES - len(out))
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{refused}; use {spec.legal_text()}")
    try:
        x = as_float(value)
    except ValueError:
        raise ValueError(f"{where} = {shown(value)} is not a number; use {spec.legal_text()}") from None
    if math.isnan(x) or (math.isinf(x) and not spec.allow_inf):
        raise ValueError(f"{refused}; use {spec.legal_text()} (finite)")
    if spec.kind == "int" and not (math.isinf(x) or x == int(x)):
        raise ValueError(f"{refused}; use {spec.legal_text()}")
    too_low = x < spec.min or (spec.min_open and x == spec.min)
    too_high = x > spec.max or (spec.max_open and x == spec.max)
    if too_low or too_high:
        raise ValueError(f"{refused}; use {spec.legal_text()}")
    return x


def flag(value: Array) -> Array:
    """A traced boolean hyperparameter (stored as 0.0/1.0) as a jnp bool, for `jnp.where`."""
    return jnp.asarray(value) > 0.5


class StepContext(NamedTuple):
    """What the engine hands an update rule at step t (t counts from 1, as torch's `step`).

    lr:      the scheduled learning rate for this step (already includes the schedule).
    t:       step number as float64, 1-based.
    loss:    f at the current params (before the update).
    grad:    callable x -> gradient at x (with the race's noise and the racer's clipping applied);
             used by rules that look elsewhere (NAG's and SGD's look-ahead Nesterov form).
    hess:    callable x -> exact Hessian at x (Newton).
    """

    lr: Array
    t: Array
    loss: Array
    grad: Callable[[Array], Array]
    hess: Callable[[Array], Array]


class _HasSpecs:
    """Look-ups shared by everything that declares `hparams`."""

    hparams: tuple[HParam, ...]

    def spec(self, name: str) -> HParam:
        for h in self.hparams:
            if h.name == name:
                return h
        raise KeyError(name)

    @property
    def defaults(self) -> dict[str, Any]:
        return {h.name: h.default for h in self.hparams}


@dataclass(frozen=True)
class Optimizer(_HasSpecs):
    """A pure init/update pair with its hyperparameter specs and documentation.

    init(params, hp) -> state                       state: dict[str, array]
    update(params, grad, state, hp, ctx) -> (new_params, new_state)

    `hp` maps every spec name to a traced float64 scalar (bools as 0/1). The scheduled learning
    rate arrives as `ctx.lr`; rules use it instead of `hp[lr_name]`.

    Wrappers (`wrapper=True`, e.g. lookahead) take the inner racer: their init/update get an extra
    keyword `inner`, an `InnerRule` bound to the inner optimizer.
    """

    name: str
    title: str
    hparams: tuple[HParam, ...]
    init: Callable[..., dict]
    update: Callable[..., tuple]
    latex: str
    source: str
    convention: str = ""
    lr_name: str | None = "lr"  # the spec the schedule scales and the lr curve shows
    wrapper: bool = False
    state_doc: Mapping[str, str] = field(default_factory=dict)

    @property
    def doc(self) -> str:
        return (self.update.__doc__ or "").strip()

    def validate(self, hp: Mapping[str, Any]) -> None:
        """Cross-field checks torch.optim makes (e.g. nesterov needs momentum > 0)."""
        if self.check is not None:
            self.check(hp)

    check: Callable[[Mapping[str, Any]], None] | None = None


@dataclass(frozen=True)
class Schedule(_HasSpecs):
    """A learning-rate schedule with torch.optim.lr_scheduler's semantics, stepped once per step.

    init(base_lr, hp, steps) -> sstate               sstate: dict[str, array]
    lr(sstate, base_lr, hp) -> lr used by the current step
    step(sstate, base_lr, hp, loss) -> next sstate   (`loss` feeds ReduceLROnPlateau)
    momentum(sstate, hp) -> the cycled momentum (or beta1) of the current step, for schedules that
                            cycle it (torch's cycle_momentum); None for the others

    `steps` is the race's step budget (traced), for schedules whose horizon defaults to it.
    """

    name: str
    title: str
    hparams: tuple[HParam, ...]
    init: Callable[..., dict]
    lr: Callable[..., Array]
    step: Callable[..., dict]
    torch_name: str
    latex: str = ""
    check: Callable[[Mapping[str, Any]], None] | None = None
    momentum: Callable[..., Array] | None = None
