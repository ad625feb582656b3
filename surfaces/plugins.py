"""Plug-ins: surfaces and optimizers that a course packages itself, found through entry points.

A package declares them in its pyproject.toml, one object per entry point, named by its key:

    [project.entry-points."optirace.surfaces"]
    three_hump_camel = "my_course.surfaces:THREE_HUMP_CAMEL"      # a surfaces.Surface

    [project.entry-points."optirace.optimizers"]
    signsgd = "my_course.optimizers:SIGNSGD"                      # an optimizers.Optimizer

They join the registries when `surfaces` and `optimizers` are imported. A plug-in that fails to
import or breaks the contract (wrong type, a name that is not its key, a name already taken, a
missing field, a function that does not run under JAX) is skipped: a warning in the log names it,
and `PROBLEMS` keeps the same line for the app to show. Nothing a plug-in does stops the server.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, MutableMapping
from importlib.metadata import entry_points
from typing import Any

import jax
import jax.numpy as jnp

from .base import Surface, short_repr

__all__ = ["PROBLEMS", "SURFACE_GROUP", "load", "load_surfaces", "check_name"]

SURFACE_GROUP = "optirace.surfaces"
log = logging.getLogger("optirace.plugins")

# One line per plug-in that was skipped, in the order found: "<group> plug-in '<key>' (<target>): why".
PROBLEMS: list[str] = []

_GROUPS: dict[str, tuple] = {}  # group -> (registry, kind, check), as declared
_LOADED: set[str] = set()
_BUSY: list[bool] = []  # non-empty while groups load

# Keys go into links, racer strings and command lines: short, lower case, no ':' (optax's namespace).
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def check_name(key: str, obj: Any, kind: type, registry: MutableMapping[str, Any]) -> str:
    """'' if `obj` may join `registry` under `key`; else what is wrong with it."""
    if not isinstance(obj, kind):
        return f"is a {type(obj).__name__}, not a {kind.__module__}.{kind.__name__}"
    if not _NAME.fullmatch(key):
        return "its key must be 1-40 lower-case letters, digits or '_', starting with a letter"
    if getattr(obj, "name", None) != key:
        return f"its name {short_repr(getattr(obj, 'name', None))} is not its entry point's key {key!r}"
    if key in registry:
        return f"the name {key!r} is taken (built-in or an earlier plug-in)"
    for field in ("title", "latex", "source", "formula", "description"):
        if hasattr(obj, field) and not (isinstance(getattr(obj, field), str) and getattr(obj, field).strip()):
            return f"its {field} is missing (give a non-empty text)"
    return ""


def load(
    group: str, registry: MutableMapping[str, Any], kind: type, check: Callable[[Any], str], now: bool = True
) -> None:
    """Declare entry-point `group`: its plug-ins that keep the contract join `registry`.
    `check(obj)` is the kind's own contract: '' when kept, else why not.

    Every declared group loads together, once, when a package's import ends with `now` (each
    package declares its group at the end of its import). A plug-in's module may import both
    packages, and so trigger the other's import while a group loads: that group then loads right
    after, in the same loop, once the plug-in's module is complete."""
    _GROUPS.setdefault(group, (registry, kind, check))
    if not now or _BUSY:
        return
    _BUSY.append(True)
    try:
        while pending := [g for g in _GROUPS if g not in _LOADED]:
            _LOADED.add(pending[0])
            _load_group(pending[0], *_GROUPS[pending[0]])
    finally:
        _BUSY.clear()


def _load_group(
    group: str, registry: MutableMapping[str, Any], kind: type, check: Callable[[Any], str]
) -> None:
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        try:
            obj = ep.load()
            why = check_name(ep.name, obj, kind, registry) or check(obj)
        except (Exception, SystemExit) as e:  # a plug-in's own code: anything may go wrong in it
            why = f"failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        if why:
            line = f"{group} plug-in {ep.name!r} ({ep.value}): {why[:300]}; skipped"
            log.warning(line)
            PROBLEMS.append(line)
            continue
        registry[ep.name] = obj


def _check_surface(s: Surface) -> str:
    if s.dim not in (1, 2):
        return f"dim is {short_repr(s.dim)}; surfaces have 1 or 2 variables"
    for field in ("domain", "minima", "start"):
        if not getattr(s, field):
            return f"its {field} is missing"
    if len(s.domain) != s.dim or len(s.start) != s.dim or any(len(m) != s.dim for m in s.minima):
        return f"domain, start and every minimum need {s.dim} coordinate(s)"
    if any(not (lo < hi) for lo, hi in s.domain):
        return "each domain interval must be (low, high) with low < high"
    # The objective must run under JAX, and be differentiable, at the start and at a minimum.
    for point in (s.start, s.minima[0]):
        x = jnp.asarray(point, jnp.float64)
        value, grad = jax.value_and_grad(lambda x: s.fn(x, **s.params))(x)
        if jnp.shape(value) != () or not math.isfinite(float(value)) or grad.shape != (s.dim,):
            return f"f at {tuple(point)} is not a finite scalar with a gradient"
    return ""


def load_surfaces(registry: MutableMapping[str, Surface], now: bool = True) -> None:
    load(SURFACE_GROUP, registry, Surface, _check_surface, now)
