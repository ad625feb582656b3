"""Two-parameter maps: a racer's final loss over a grid of learning rates x momenta, in one vmapped call.

The learning rate and the momentum interact: torch's SGD momentum at β takes steps about 1/(1 - β)
times the learning rate once it has built up, so the rates that converge shrink as β grows, and a
single sweep of either hides that trade-off (Goh 2017, "Why Momentum Really Works"; Sutskever et
al. 2013, "On the importance of initialization and momentum in deep learning"). `lr_beta_map`
races every (lr, β) pair of a grid at once, on the race's own surface, start, steps, noise and seed:

    from optimizers.maps import lr_beta_map
    m = lr_beta_map("rosenbrock", "sgd:lr=0.001,momentum=0.9", steps=300)
    m.loss[i, j]       # final loss at beta m.betas[i] and lr m.lrs[j]; +inf where the run diverged
    m.spec(i, j)       # the racer with that cell's lr and beta, to race it

β is the hyperparameter a schedule's cycled momentum drives, as torch picks it (schedules.
momentum_name): `beta1` where the optimizer has betas (Adam and its kin, Lion), else `momentum`
(SGD, NAG, RMSprop). A wrapper's (Lookahead's) inner racer's lr and β are mapped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .race import _batched_run, _check_inputs, _check_work, _is_int
from .racer import Racer, parse_racer
from .schedules import momentum_name
from .spec import HParam, as_float, check_value, shown

__all__ = ["LrBetaMap", "lr_beta_map", "beta_name", "with_lr_beta", "MAX_MAP_SIDE", "DEFAULT_SIDE"]

MAX_MAP_SIDE = 128  # values per axis: 128 x 128 runs is a fine picture; more is only more work
DEFAULT_SIDE = 32


def _round(x: float) -> float:
    """Three significant digits, as the racer's sliders keep (optirace/app/widgets.py), so that a
    cell's values are exactly what the racer's sliders and link show once the cell is raced."""
    return float(f"{x:.3g}")


def _owner(racer: Racer) -> Racer:
    # The racer whose lr and β are mapped: the inner one for a wrapper, as the schedule's lr.
    return racer.lr_owner


def beta_name(racer: Mapping[str, Any] | str | Racer) -> str | None:
    """The racer's momentum hyperparameter: `beta1` or `momentum` (its inner racer's for a wrapper);
    None if it has neither."""
    return momentum_name(_owner(Racer.from_spec(racer)).optimizer)


def with_lr_beta(racer: Mapping[str, Any] | str, lr: float, beta: float) -> dict[str, Any]:
    """A copy of the racer spec with its learning rate and β set (in the inner racer for a wrapper)."""
    spec = parse_racer(racer) if isinstance(racer, str) else racer
    if not isinstance(spec, Mapping):
        raise ValueError(f"racer: expected a dict like {{'optimizer': 'sgd', 'lr': 0.01}}, got {shown(spec)}")
    r = Racer.from_spec(spec)
    lr_name, b_name = _names(r)
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in spec.items()}
    if r.inner is not None:
        inner = out.get("inner")
        out["inner"] = {**(parse_racer(inner) if isinstance(inner, str) else inner),
                        lr_name: float(lr), b_name: float(beta)}  # fmt: skip
    else:
        out[lr_name], out[b_name] = float(lr), float(beta)
    Racer.from_spec(out)  # validated whole, as race would
    return out


@dataclass(frozen=True)
class LrBetaMap:
    """What `lr_beta_map` returns: the racer's final loss over a grid of learning rates and β.

    lr_name, beta_name   the mapped hyperparameters' names (`lr`; `beta1` or `momentum`)
    inner                True when they are a wrapper's inner racer's (the app's `inner.` keys)
    lrs                  (n_lr,) learning rates, increasing: the x axis
    betas                (n_beta,) values of β, increasing: the y axis
    loss                 (n_beta, n_lr) final loss, row i at betas[i], column j at lrs[j] (an image);
                         +inf where the run diverged
    diverged             (n_beta, n_lr) bool: the run's params or loss went non-finite or out of bounds
    lr, beta             the racer's own values, to mark on the map
    steps, min_value     the race's step budget and the surface's minimum
    """

    racer: dict[str, Any] = field(repr=False)
    lr_name: str
    beta_name: str
    inner: bool
    lrs: np.ndarray = field(repr=False)
    betas: np.ndarray = field(repr=False)
    loss: np.ndarray = field(repr=False)
    diverged: np.ndarray = field(repr=False)
    lr: float
    beta: float
    steps: int
    min_value: float

    def spec(self, i: int, j: int) -> dict[str, Any]:
        """The racer with cell (i, j)'s values: β = betas[i], lr = lrs[j]."""
        return with_lr_beta(self.racer, float(self.lrs[j]), float(self.betas[i]))

    def cell(self, lr: float, beta: float) -> tuple[int, int]:
        """(i, j) of the cell nearest to (lr, beta): nearest in log lr and in β, as drawn."""
        bad = f"cell: lr = {shown(lr)}, beta = {shown(beta)} is not a point of the map"
        try:
            lr, beta = as_float(lr), as_float(beta)
        except ValueError:
            raise ValueError(bad) from None
        if not (math.isfinite(lr) and math.isfinite(beta)) or lr <= 0:
            raise ValueError(bad)
        j = int(np.argmin(np.abs(np.log(self.lrs) - math.log(lr))))
        i = int(np.argmin(np.abs(self.betas - beta)))
        return i, j

    def as_json(self) -> dict[str, Any]:
        """The map as plain JSON (a diverged cell's loss is null)."""
        loss = [[None if d else float(x) for x, d in zip(row, dead, strict=True)]
                for row, dead in zip(self.loss, self.diverged, strict=True)]  # fmt: skip
        return {"lr_name": self.lr_name, "beta_name": self.beta_name, "inner": self.inner,
                "lrs": self.lrs.tolist(), "betas": self.betas.tolist(), "loss": loss,
                "diverged": int(self.diverged.sum()), "lr": self.lr, "beta": self.beta,
                "steps": self.steps, "min_value": self.min_value}  # fmt: skip


def _names(racer: Racer) -> tuple[str, str]:
    owner = _owner(racer)
    lr_name, b_name = owner.optimizer.lr_name, momentum_name(owner.optimizer)
    if not lr_name or b_name is None:
        which = (
            f"{racer.optimizer.name}'s inner racer {owner.optimizer.name}"
            if racer.inner is not None
            else owner.optimizer.name
        )
        raise ValueError(
            f"racer: {which} has no {'learning rate' if not lr_name else 'momentum or beta1'} to map; "
            "an lr x beta map needs an optimizer with momentum (sgd, nag, rmsprop) or beta1 (adam and its kin, lion)"
        )
    sched = racer.schedule
    if sched.momentum is not None and racer.schedule_hp.get("cycle_momentum"):
        # The schedule would overwrite every cell's β with its own cycled value.
        raise ValueError(
            f"racer: schedule {sched.name} cycles {b_name} (cycle_momentum = true), which would override "
            f"the map's {b_name}; set cycle_momentum = false to map it"
        )
    return lr_name, b_name


def _axis(
    what: str, given: Any, spec: HParam, owner: Racer, others: Mapping[str, Any], positive: bool = False
) -> np.ndarray:
    """One axis's values: `given` values, or that many over the spec's display range (log-spaced
    where its slider is), rounded as the slider rounds. Each is validated as the racer's own would
    be; a value of the range the optimizer refuses with the racer's other settings (momentum 0 for
    Nesterov SGD, as torch refuses) is left out, and an explicit one refused. `positive`: the
    learning rate's axis is logarithmic, so a zero rate (legal, but it cannot learn) is left out of
    a range and refused in a list."""
    opt = owner.optimizer
    if _is_int(given):
        if not 2 <= given <= MAX_MAP_SIDE:
            raise ValueError(
                f"{what} = {shown(given)} is not allowed; use an integer from 2 to {MAX_MAP_SIDE} (MAX_MAP_SIDE) "
                "or a list of values"
            )
        n = int(given)
        if spec.log and spec.lo > 0:
            raw = np.geomspace(spec.lo, spec.hi, n)
        else:
            raw = np.linspace(spec.lo, spec.hi, n)
        values, explicit = sorted({_round(v) for v in raw}), False
    else:
        if isinstance(given, np.ndarray):
            given = given.reshape(-1).tolist()
        if isinstance(given, (str, bytes, Mapping)) or not isinstance(given, (list, tuple, range)):
            raise ValueError(f"{what}: give a number of values (2 to {MAX_MAP_SIDE}) or a list of values, "
                             f"not {shown(given)}")  # fmt: skip
        if not 2 <= len(given) <= MAX_MAP_SIDE:
            raise ValueError(f"{what}: {len(given)} values; give 2 to {MAX_MAP_SIDE} (MAX_MAP_SIDE)")
        values, explicit = [check_value(opt.name, spec, v) for v in given], True
        if any(isinstance(v, str) for v in values) or len(set(values)) != len(values):
            raise ValueError(f"{what}: give distinct numbers")
        values = sorted(values)
    kept = []
    for v in values:
        if positive and v <= 0:
            if explicit:
                raise ValueError(f"{what}: {shown(v)} is not > 0 (the learning-rate axis is logarithmic)")
            continue
        try:
            opt.validate({**opt.defaults, **owner.hp, **owner.static, **others, spec.name: v})
        except ValueError:
            if explicit:
                raise
            continue
        kept.append(v)
    if len(kept) < 2:
        raise ValueError(f"{what}: fewer than 2 values the optimizer accepts")
    return np.asarray(kept, dtype=np.float64)


def lr_beta_map(
    surface,
    racer: Mapping[str, Any] | str,
    steps: int = 300,
    start=None,
    lrs: int | Sequence[float] = DEFAULT_SIDE,
    betas: int | Sequence[float] = DEFAULT_SIDE,
    noise: float = 0.0,
    seed: int = 0,
    batch_size: int | None = None,
    surface_params: Mapping[str, float] | None = None,
) -> LrBetaMap:
    """The racer's final loss at every (lr, β) of a grid, in one vmapped, jitted call.

    `lrs` and `betas` are each a count (2 to MAX_MAP_SIDE) of values over the hyperparameter's
    display range (its slider's: log-spaced for the learning rate, linear for β; rounded to three
    significant digits), or a list of values. Everything else about the racer (schedule, clipping,
    its other hyperparameters) is its own, and the race's surface, start, steps, noise, seed and
    mini-batches are shared by every cell, as in `race`. A racer without momentum or beta1, a
    schedule that cycles it, and a grid beyond MAX_MAP_SIDE or MAX_RUN_STEPS raise ValueError.
    """
    surf, steps, x0, sigma, seed, batch, sp = _check_inputs(
        surface, steps, start, noise, seed, batch_size, surface_params
    )
    spec = parse_racer(racer) if isinstance(racer, str) else racer
    if not isinstance(spec, Mapping):
        raise ValueError(f"racer: expected a dict like {{'optimizer': 'sgd', 'lr': 0.01}}, got {shown(spec)}")
    r = Racer.from_spec(spec)
    lr_name, b_name = _names(r)
    owner = _owner(r)
    lr0, beta0 = float(owner.hp[lr_name]), float(owner.hp[b_name])
    lr_values = _axis("lrs", lrs, owner.optimizer.spec(lr_name), owner, {b_name: beta0}, positive=True)
    beta_values = _axis("betas", betas, owner.optimizer.spec(b_name), owner, {lr_name: lr0})
    n_lr, n_beta = len(lr_values), len(beta_values)
    _check_work("lr x beta map", n_lr * n_beta, steps, surf.cost)
    L, B = np.meshgrid(lr_values, beta_values)  # row i: betas[i]; column j: lrs[j]
    starts = np.broadcast_to(x0, (L.size, surf.dim)).copy()
    over = {lr_name: L.ravel().copy(), b_name: B.ravel().copy()}
    _, loss_end, dead = _batched_run(surf, r, starts, over, steps, sigma, seed, sp, batch)
    dead = dead.reshape(n_beta, n_lr)
    loss = np.where(dead, np.inf, loss_end.reshape(n_beta, n_lr))
    for a in (lr_values, beta_values, loss, dead):
        a.flags.writeable = False
    return LrBetaMap(
        racer={k: (dict(v) if isinstance(v, Mapping) else v) for k, v in spec.items()},
        lr_name=lr_name, beta_name=b_name, inner=r.inner is not None, lrs=lr_values, betas=beta_values,
        loss=loss, diverged=dead, lr=lr0, beta=beta0, steps=steps, min_value=float(surf.min_value),
    )  # fmt: skip
