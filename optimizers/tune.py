"""A fair race: each racer's learning rate swept over its display range, and tuned to the best one.

A race between an optimizer at a good learning rate and one at a poor one says little about the
optimizers. `lr_sweeps` gives each racer's final loss against its learning rate (one vmapped
`sweep` call per racer, on the race's own surface, start, step budget, noise and seed), and `tune`
sets each racer to the value of that grid with the lowest final loss, as Wilson et al. (2017,
"The marginal value of adaptive gradient methods in machine learning") and Schmidt, Schneider and
Hennig (2021, "Descending through a crowded valley") tune every optimizer's step size on a log grid
before comparing them.

    tuned = optimizers.tune("rosenbrock", ["adam:lr=0.01", "sgd:lr=0.001,momentum=0.9"], steps=300)
    tuned.racers        # the racers, each with its best learning rate
    tuned.sweeps[0]     # Sweep(name="lr", values=..., loss=..., before=0.01, best=...)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .limits import MAX_RACERS, MAX_SWEEP_VALUES
from .race import _check_inputs, _is_int, sweep
from .racer import Racer, parse_racer
from .spec import HParam, shown

__all__ = [
    "Sweep",
    "Tuned",
    "tune",
    "lr_sweeps",
    "lr_grid",
    "lr_of",
    "with_lr",
    "best_index",
    "MAX_TUNE_GRID",
    "TIE",
]

MAX_TUNE_GRID = 256  # learning rates per racer: a sensitivity curve needs tens, not thousands
DEFAULT_GRID = 64
TIE = 1e-12  # final losses this close to the minimum, relative to the start's, count as equal


@dataclass(frozen=True)
class Sweep:
    """One racer's final loss against its learning rate.

    name     the swept hyperparameter: the learning rate the racer's schedule scales (`lr`; FTRL's
             `alpha`; a wrapper's inner racer's `lr`)
    values   (grid,) the learning rates, over the hyperparameter's display range (log-spaced where
             its slider is)
    loss     (grid,) final loss at each value; +inf where the run diverged
    before   the racer's own learning rate
    best     the value with the lowest final loss (the smallest of equals, see `best_index`);
             `before` if every run diverged
    tol      final losses within `tol` of the surface's minimum count as equal (`best_index`)
    """

    name: str
    values: np.ndarray = field(repr=False)
    loss: np.ndarray = field(repr=False)
    before: float
    best: float
    tol: float = 0.0

    @property
    def best_loss(self) -> float:
        return float(np.min(self.loss)) if self.loss.size else math.inf

    @property
    def at_edge(self) -> bool:
        """The best value is an end of the range: a better one may lie beyond it."""
        return self.values.size > 0 and self.best in (float(self.values[0]), float(self.values[-1]))

    @property
    def all_diverged(self) -> bool:
        return not np.isfinite(self.loss).any()


@dataclass(frozen=True)
class Tuned:
    """What `tune` returns: the racers with their best learning rates, and each one's sweep."""

    racers: list[dict[str, Any]]
    sweeps: list[Sweep]


def best_index(loss: np.ndarray, min_value: float, tol: float) -> int | None:
    """The index of the lowest final loss, diverged runs (+inf) last; None if every run diverged.

    Losses within `tol` of the minimum's value count as equal, and the smallest learning rate of
    equals wins: once runs have reached the minimum to within float64's rounding, which of 1e-29 or
    0.0 a run ends on says nothing about the learning rate, and the vmapped sweep and a single race
    can round it either way.
    """
    loss = np.asarray(loss, dtype=np.float64)
    finite = np.isfinite(loss)
    if not finite.any():
        return None
    score = np.where(finite, np.maximum(loss - min_value, tol), np.inf)
    return int(np.argmin(score))


def _as_spec(racer: Mapping[str, Any] | str) -> dict[str, Any]:
    if isinstance(racer, str):
        racer = parse_racer(racer)
    if not isinstance(racer, Mapping):
        raise ValueError(
            f"racer: expected a dict like {{'optimizer': 'adam', 'lr': 0.01}}, got {shown(racer)}"
        )
    Racer.from_spec(racer)  # validated whole, as race would
    return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in racer.items()}


def _lr_spec(racer: Racer) -> HParam:
    owner = racer.lr_owner
    name = owner.optimizer.lr_name
    if not name:  # every registered rule has one; a rule without a learning rate cannot be tuned
        raise ValueError(f"{racer.optimizer.name}: has no learning rate to tune")
    return owner.optimizer.spec(name)


def lr_of(racer: Mapping[str, Any] | str) -> tuple[str, float]:
    """(name, value) of the learning rate a racer's schedule scales (a wrapper's inner racer's)."""
    r = Racer.from_spec(racer)
    return _lr_spec(r).name, float(r.base_lr)


def with_lr(racer: Mapping[str, Any] | str, value: float) -> dict[str, Any]:
    """A copy of the racer spec with its learning rate set to `value` (in the inner racer for a wrapper)."""
    spec = _as_spec(racer)
    r = Racer.from_spec(spec)
    name = _lr_spec(r).name
    if r.inner is not None:
        inner = spec.get("inner")
        spec["inner"] = {**(parse_racer(inner) if isinstance(inner, str) else inner), name: float(value)}
    else:
        spec[name] = float(value)
    Racer.from_spec(spec)
    return spec


def _check_grid(grid: Any) -> int:
    if not _is_int(grid) or not 2 <= grid <= MAX_TUNE_GRID:
        raise ValueError(f"grid = {shown(grid)} is not allowed; use an integer from 2 to {MAX_TUNE_GRID}")
    return int(min(grid, MAX_SWEEP_VALUES))


def lr_grid(racer: Mapping[str, Any] | str, grid: int = DEFAULT_GRID) -> tuple[str, np.ndarray]:
    """(name, values): `grid` learning rates over the racer's display range (its slider's), log-spaced
    where the slider is; a linear range that starts at 0 starts one step in (a zero rate cannot learn)."""
    n = _check_grid(grid)
    h = _lr_spec(Racer.from_spec(racer))
    if h.log and h.lo > 0:
        return h.name, np.geomspace(h.lo, h.hi, n)
    values = np.linspace(h.lo, h.hi, n + 1 if h.lo <= 0 else n)
    return h.name, values[values > 0][-n:]


def _check_racers(racers: Any) -> list[dict[str, Any]]:
    if isinstance(racers, (str, Mapping, Racer)) or not isinstance(racers, Sequence):
        raise ValueError("racers: give a list of racers, e.g. [{'optimizer': 'adam', 'lr': 0.01}]")
    if not racers:
        raise ValueError("racers: give at least one racer")
    if len(racers) > MAX_RACERS:
        raise ValueError(f"racers: {len(racers)} racers; MAX_RACERS is {MAX_RACERS}")
    return [_as_spec(r) for r in racers]


def lr_sweeps(
    surface,
    racers: Sequence[Mapping[str, Any] | str],
    steps: int = 500,
    start=None,
    grid: int = DEFAULT_GRID,
    noise: float = 0.0,
    seed: int = 0,
    batch_size: int | None = None,
    surface_params: Mapping[str, float] | None = None,
) -> list[Sweep]:
    """Each racer's final loss over `grid` learning rates of its display range: one vmapped `sweep`
    call per racer, with the race's surface, start, step budget, noise, seed and mini-batches."""
    specs = _check_racers(racers)
    surf, steps, x0, _, _, _, sp = _check_inputs(
        surface, steps, start, noise, seed, batch_size, surface_params
    )
    # Converged: within TIE of the way from the start's loss down to the minimum.
    tol = TIE * abs(float(surf.f(x0, **sp)) - surf.min_value)
    out = []
    for spec in specs:
        name, values = lr_grid(spec, grid)
        loss = sweep(surface, spec, over={name: values}, steps=steps, start=start, noise=noise, seed=seed,
                     batch_size=batch_size, surface_params=surface_params)  # fmt: skip
        before = float(Racer.from_spec(spec).base_lr)
        i = best_index(loss, surf.min_value, tol)
        best = before if i is None else float(values[i])
        loss.flags.writeable = False
        values.flags.writeable = False
        out.append(Sweep(name=name, values=values, loss=loss, before=before, best=best, tol=tol))
    return out


def tune(
    surface,
    racers: Sequence[Mapping[str, Any] | str],
    steps: int = 500,
    start=None,
    grid: int = DEFAULT_GRID,
    noise: float = 0.0,
    seed: int = 0,
    batch_size: int | None = None,
    surface_params: Mapping[str, float] | None = None,
) -> Tuned:
    """Set each racer to the learning rate of its display range with the lowest final loss on this
    surface, from this start, within this step budget (a diverged run counts as +inf; losses within
    TIE x (f(start) - min) of the minimum count as equal, and the smallest rate of equals wins; a
    racer whose every run diverged keeps its own rate).

    Returns `Tuned(racers, sweeps)`: the racers as dicts with the new learning rate, and each
    racer's `Sweep`. Only the learning rate changes; every other setting is the racer's own.
    """
    sweeps = lr_sweeps(surface, racers, steps, start, grid, noise, seed, batch_size, surface_params)
    specs = _check_racers(racers)
    return Tuned(racers=[with_lr(r, s.best) for r, s in zip(specs, sweeps, strict=True)], sweeps=sweeps)
