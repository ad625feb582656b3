"""`race`, `sweep` and `basins`: the engine's public calls."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

if TYPE_CHECKING:  # the engine must load before `surfaces` (see engine.compile_loops_as_one_kernel)
    from surfaces import Surface

from .engine import (
    ARG_ORDER,
    bucket,
    check_surface_params,
    draws,
    program,
    race_draws,
    race_program,
    racer_args,
    resolve_surface,
)
from .limits import (
    MAX_GRID,
    MAX_RACE_STEPS,
    MAX_RACERS,
    MAX_RUN_STEPS,
    MAX_STEPS,
    MAX_SWEEP_VALUES,
)
from .racer import Racer
from .spec import as_float, check_value, shown

__all__ = ["RaceResult", "race", "sweep", "basins"]


@dataclass(frozen=True)
class RaceResult:
    """What a race returns; arrays are numpy float64, read-only views of the race's one output
    table (`.copy()` one to change it).

    params       (n_racers, steps + 1, dim); params[:, 0] is the start
    loss         (n_racers, steps + 1): f at each params row
    lr           (n_racers, steps): the scheduled learning rate each step used
    diverged_at  (n_racers,): first step whose params or loss were non-finite or out of bounds
                 (the racer is frozen at its last good point from there on); -1 if none
    state        one dict per racer: state name -> (steps + 1, ...) array, row 0 the initial state
                 (made on first use: most callers never read it)
    momentum     (n_racers, steps): the momentum (or beta1) each step used where the schedule
                 cycles it (torch's cycle_momentum of CyclicLR and OneCycleLR); NaN elsewhere
    """

    surface: Surface
    racers: tuple[Racer, ...]
    params: np.ndarray
    loss: np.ndarray
    lr: np.ndarray
    diverged_at: np.ndarray
    table: np.ndarray = field(repr=False, compare=False)  # every array above is a view of it
    layout: tuple = field(repr=False, compare=False)  # RaceProgram.states: where each state sits
    momentum_columns: tuple = field(default=(), repr=False, compare=False)  # RaceProgram.momentum

    @functools.cached_property
    def momentum(self) -> np.ndarray:
        out = np.full(self.lr.shape, np.nan)
        for i, col in enumerate(self.momentum_columns):
            if col is not None:
                out[i] = self.table[1:, col]
        out.flags.writeable = False
        return out

    @functools.cached_property
    def state(self) -> list[dict[str, np.ndarray]]:
        return [
            {name: _column(self.table, a, b, shape, dtype) for name, a, b, shape, dtype in st}
            for st in self.layout
        ]

    @property
    def steps(self) -> int:
        return self.lr.shape[1]

    def first_within(self, tol: float = 1e-6) -> np.ndarray:
        """Per racer: the first step whose loss is within tol of the global minimum's value; -1 if never."""
        gap = self.loss - self.surface.min_value
        hit = gap <= tol
        first = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
        return first

    def distance(self) -> np.ndarray:
        """(n_racers, steps + 1): distance from each point to the nearest global minimum."""
        return self.surface.nearest_minimum(self.params)[1]


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_steps(steps) -> int:
    if not _is_int(steps) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(
            f"steps = {shown(steps)} is not allowed; use an integer from 1 to {MAX_STEPS} (MAX_STEPS)"
        )
    return int(steps)


def _check_work(what: str, runs: int, steps: int, cost: float = 1.0) -> None:
    """Refuse a vmapped call whose runs x steps, in steps of a closed-form surface (x the surface's
    `cost`), exceed MAX_RUN_STEPS, before anything compiles."""
    if runs * steps * cost > MAX_RUN_STEPS:
        dearer = f" on a surface {cost:g} times as costly to step" if cost != 1 else ""
        raise ValueError(
            f"{what}: {runs} runs x {steps} steps{dearer} is more than MAX_RUN_STEPS = {MAX_RUN_STEPS}; "
            "use fewer steps or fewer runs"
        )


def _check_start(surface: Surface, start) -> np.ndarray:
    if start is None:
        return np.asarray(surface.start, dtype=np.float64)
    if isinstance(start, (str, bytes, Mapping)) or not hasattr(start, "__len__") or len(start) > 64:
        raise ValueError(f"start = {shown(start)} is not a point; give {surface.dim} numbers")
    try:
        x = np.asarray(start, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError, OverflowError, RecursionError):
        raise ValueError(f"start = {shown(start)} is not a point; give {surface.dim} numbers") from None
    if x.shape != (surface.dim,):
        raise ValueError(f"start = {shown(start)}: {surface.name} needs {surface.dim} coordinate(s)")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"start = {shown(start)} must be finite")
    return x


def _check_noise_seed(noise, seed) -> tuple[float, int]:
    try:
        sigma = as_float(noise)
    except ValueError:
        raise ValueError(f"noise = {shown(noise)} is not a number; use a finite sigma >= 0") from None
    if not math.isfinite(sigma) or sigma < 0:
        raise ValueError(f"noise = {shown(noise)} is not allowed; use a finite sigma >= 0")
    if not _is_int(seed) or not 0 <= seed < 2**32:
        raise ValueError(f"seed = {shown(seed)} is not allowed; use an integer from 0 to 2**32 - 1")
    return sigma, int(seed)


def _check_batch(surface: Surface, batch_size) -> int | None:
    if batch_size is None:
        return None
    if surface.data is None:
        raise ValueError(f"batch_size: {surface.name} is not a data surface; only data surfaces take one")
    n = surface.data.n
    if not _is_int(batch_size) or not 1 <= batch_size <= n:
        raise ValueError(f"batch_size = {shown(batch_size)} is not allowed; use an integer from 1 to {n}")
    return int(batch_size)


def _check_inputs(surface, steps, start, noise, seed, batch_size, surface_params):
    """Everything race() and sweep() validate alike, in the order a user would fix it."""
    surf = resolve_surface(surface)
    steps = _check_steps(steps)
    x0 = _check_start(surf, start)
    sigma, seed = _check_noise_seed(noise, seed)
    batch = _check_batch(surf, batch_size)
    sp = check_surface_params(surf, surface_params)
    return surf, steps, x0, sigma, seed, batch, sp


def _flatten_state(tree: Mapping[str, Any], prefix: str = "") -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for k, v in tree.items():
        if isinstance(v, Mapping):
            out.update(_flatten_state(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = np.asarray(v)
    return out


def race(
    surface: str | Surface,
    racers: Sequence[Mapping[str, Any] | str | Racer],
    start=None,
    steps: int = 500,
    noise: float = 0.0,
    seed: int = 0,
    batch_size: int | None = None,
    surface_params: Mapping[str, float] | None = None,
) -> RaceResult:
    """Race every racer from the same start for the same number of steps.

    All racers run in one cached, jitted loop (see engine.race_program). A racer is a dict:
    ``{"optimizer": name, <hyperparameter>: value, ..., "schedule": {...}, "inner": {...}}``
    (docs/reference.md lists every name), its racer string, or a `Racer` from `Racer.from_spec`,
    which is raced as it is: a caller that checked its specs passes their Racers, parsed once.
    """
    surf, steps, x0, sigma, seed, batch, sp = _check_inputs(
        surface, steps, start, noise, seed, batch_size, surface_params
    )
    if isinstance(racers, (str, Mapping, Racer)) or not isinstance(racers, Sequence):
        raise ValueError("racers: give a list of racers, e.g. [{'optimizer': 'adam', 'lr': 0.01}]")
    if not racers:
        raise ValueError("racers: give at least one racer")
    if len(racers) > MAX_RACERS:
        raise ValueError(f"racers: {len(racers)} racers; MAX_RACERS is {MAX_RACERS} in one race")
    if len(racers) * steps > MAX_RACE_STEPS:
        raise ValueError(
            f"racers: {len(racers)} racers x {steps} steps is more than MAX_RACE_STEPS = {MAX_RACE_STEPS}"
        )
    parsed = tuple([Racer.from_spec(r) for r in racers])
    n = bucket(steps)
    prog = race_program(surf, parsed, n, batch)
    xi, rows = race_draws(surf, n, sigma, seed, batch)
    values = [*x0.tolist(), sigma, float(steps), *({**surf.params, **sp}.values())]
    for r in parsed:
        values += r.numbers
    table, dead = prog.fn(np.asarray(values, dtype=np.float64), xi, rows)
    # Every result array is a read-only view of the program's output, with no copy: a copy of the
    # table (half a megabyte for 8 racers x 1000 steps) took longer than the Python around the
    # program, and results are values, not buffers to write into.
    table = np.asarray(table)[: steps + 1]
    dead = np.asarray(dead)
    R, dim, m = len(parsed), surf.dim, steps + 1
    return RaceResult(
        surface=surf,
        racers=parsed,
        params=table[:, : R * dim].reshape(m, R, dim).transpose(1, 0, 2),
        loss=table[:, R * dim : R * (dim + 1)].T,
        lr=table[1:, R * (dim + 1) : R * (dim + 2)].T,
        diverged_at=np.where(dead <= steps, dead, -1),
        table=table,
        layout=prog.states,
        momentum_columns=prog.momentum,
    )


_F64 = np.dtype(np.float64)


def _column(table: np.ndarray, a: int, b: int, shape: tuple, dtype) -> np.ndarray:
    """Columns a:b of the table as one state's (steps + 1, *shape) array: a view for the usual
    float64 scalars and vectors, with no reshape or cast to pay for (a race shows every step)."""
    if not shape:
        x = table[:, a]
    elif len(shape) == 1:
        x = table[:, a:b]
    else:
        x = table[:, a:b].reshape((table.shape[0], *shape))
    return x if dtype == _F64 else x.astype(dtype)


def _batched_run(
    surf,
    racer: Racer,
    starts: np.ndarray,
    hp_over: Mapping[str, np.ndarray],
    steps,
    noise,
    seed,
    sp,
    batch,
):
    """Run B copies of one racer at once (vmap): B starts and/or B values per swept name."""
    B = starts.shape[0]
    args = racer_args(
        racer, surf, starts[0], steps, noise, seed, sp, draws(surf, bucket(steps), noise, seed, batch)
    )
    args["start"] = starts
    hp = {k: np.broadcast_to(v, (B,)).copy() if k != "inner" else v for k, v in args["hp"].items()}
    if "inner" in hp:
        hp["inner"] = {k: np.broadcast_to(v, (B,)).copy() for k, v in hp["inner"].items()}
    base_lr = np.broadcast_to(args["base_lr"], (B,)).copy()
    owner_is_inner = racer.inner is not None
    for name, values in hp_over.items():
        target = hp["inner"] if owner_is_inner and name in hp["inner"] else hp
        target[name] = values
        if name == racer.lr_owner.optimizer.lr_name:
            base_lr = values
    args["hp"], args["base_lr"] = hp, base_lr
    fn = program(surf, racer, bucket(steps), batch, record=False, batched=True)
    p_end, loss_end, dead_at = jax.device_get(fn(*(args[k] for k in ARG_ORDER)))
    dead = (dead_at >= 0) & (dead_at <= steps)
    return p_end, loss_end, dead


def sweep(
    surface: str | Surface,
    racer: Mapping[str, Any] | str,
    over: Mapping[str, Sequence[float]],
    steps: int = 500,
    start=None,
    noise: float = 0.0,
    seed: int = 0,
    batch_size: int | None = None,
    surface_params: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Final loss of `racer` for each value of one hyperparameter, in one vmapped call.

    `over` maps one hyperparameter name to its values, e.g. {"lr": np.logspace(-4, 0, 64)}.
    Returns a float64 array of the final losses; a run that diverged gives inf.
    The racer's steps must fit its step bucket (a prefix is read as in `race`).
    """
    surf, steps, x0, sigma, seed, batch, sp = _check_inputs(
        surface, steps, start, noise, seed, batch_size, surface_params
    )
    r = Racer.from_spec(racer)
    if not isinstance(over, Mapping) or len(over) != 1:
        raise ValueError("over: give exactly one hyperparameter and its values, e.g. {'lr': [0.001, 0.01]}")
    ((name, values),) = over.items()
    owner = r.inner if (r.inner is not None and name in r.inner.hp) else r
    spec_names = [h.name for h in owner.optimizer.hparams if not h.static]
    if name not in spec_names:
        raise ValueError(
            f"over: {owner.optimizer.name} has no numeric hyperparameter {shown(name)}; "
            f"allowed: {', '.join(spec_names)}"
        )
    if isinstance(values, np.ndarray):
        values = values.reshape(-1)
    elif not isinstance(values, (list, tuple, range)):
        raise ValueError(f"over: {name}: give a list of values, not {shown(values)}")
    if len(values) > MAX_SWEEP_VALUES:
        raise ValueError(f"over: {name}: {len(values)} values; MAX_SWEEP_VALUES is {MAX_SWEEP_VALUES}")
    _check_work("over", len(values), steps, surf.cost)
    opt, spec = owner.optimizer, owner.optimizer.spec(name)
    checked = []
    for v in values:
        # Each value is validated as the racer's own would be (its spec, then the optimizer's
        # cross-field checks), so a sweep accepts what race accepts; the racer is parsed once.
        x = check_value(opt.name, spec, v)
        opt.validate({**opt.defaults, **owner.hp, **owner.static, name: x})
        checked.append(x)
    if not checked:
        raise ValueError("over: give at least one value")
    vals = np.asarray(checked, dtype=np.float64)
    starts = np.broadcast_to(x0, (len(vals), surf.dim)).copy()
    _, loss_end, dead = _batched_run(surf, r, starts, {name: vals}, steps, sigma, seed, sp, batch)
    return np.where(dead, np.inf, loss_end)


def basins(
    surface: str | Surface,
    racer: Mapping[str, Any] | str,
    grid: int = 64,
    steps: int = 300,
    noise: float = 0.0,
    seed: int = 0,
    surface_params: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Where each start of an n x n grid over the surface's domain ends, in one vmapped call.

    Returns (grid, grid, dim) end points: row i is y = linspace(domain y)[i], column j is
    x = linspace(domain x)[j], as an image. For one-variable surfaces, (grid, 1). Diverged: NaN.
    """
    surf = resolve_surface(surface)
    steps = _check_steps(steps)
    if not _is_int(grid) or not 2 <= grid <= MAX_GRID:
        raise ValueError(
            f"grid = {shown(grid)} is not allowed; use an integer from 2 to {MAX_GRID} (MAX_GRID)"
        )
    grid = int(grid)
    _check_work("grid", grid**surf.dim, steps, surf.cost)
    sigma, seed = _check_noise_seed(noise, seed)
    sp = check_surface_params(surf, surface_params)
    r = Racer.from_spec(racer)
    axes = [np.linspace(lo, hi, grid) for lo, hi in surf.domain]
    if surf.dim == 1:
        starts = axes[0][:, None]
    else:
        X, Y = np.meshgrid(axes[0], axes[1])
        starts = np.stack([X.ravel(), Y.ravel()], axis=-1)
    p_end, _, dead = _batched_run(surf, r, starts, {}, steps, sigma, seed, sp, None)
    p_end = np.where(dead[:, None], np.nan, p_end)
    return p_end.reshape((grid, grid, surf.dim) if surf.dim == 2 else (grid, 1))
