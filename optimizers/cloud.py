"""`cloud`: one race run with many seeds at once, to show what the noise does.

A noisy race (gradient noise, or mini-batches on a data surface) is one draw of a random path: a
second seed gives another. `cloud` runs the same race for `seeds` consecutive seeds in one
vmapped, jitted call of the race's own program (engine.race_program), so seed s of the cloud is
the race `race(..., seed=seed + s)` would give, and a figure can draw the spread of the paths and
of the loss rather than one path of it.

    c = optimizers.cloud("rosenbrock", ["adam:lr=0.01"], steps=300, noise=0.5, seeds=32)
    c.params[0]      # (32, 301, 2): racer 0's path for each seed
    c.mean_path()    # (1, 301, 2)
    c.loss_quantiles()  # (3, 1, 301): the 25th, 50th and 75th percentile of the loss per step
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

import surfaces as _surfaces

from .engine import _batch_draws, _normal_draws, bucket, race_program
from .limits import MAX_RACE_STEPS, MAX_RACERS
from .race import _check_inputs, _is_int
from .racer import Racer
from .spec import shown
from .xla import compiler_options, current_device

if TYPE_CHECKING:
    from surfaces import Surface

__all__ = ["Cloud", "cloud", "MAX_SEEDS"]

MAX_SEEDS = 64  # seeds of one cloud: enough for a spread to read as one, and one vmapped call


@dataclass(frozen=True)
class Cloud:
    """What `cloud` returns (numpy float64 arrays).

    seeds        (n_seeds,) the seed of each run: seed, seed + 1, ...
    params       (n_racers, n_seeds, steps + 1, dim): racer i's path for each seed is params[i]
    loss         (n_racers, n_seeds, steps + 1)
    diverged_at  (n_racers, n_seeds): first step that diverged (the run is frozen from there), -1 if none
    """

    surface: Surface
    racers: tuple[Racer, ...]
    seeds: np.ndarray
    params: np.ndarray
    loss: np.ndarray
    diverged_at: np.ndarray
    noise: float
    batch_size: int | None

    @property
    def steps(self) -> int:
        return self.params.shape[2] - 1

    def mean_path(self) -> np.ndarray:
        """(n_racers, steps + 1, dim): each racer's path averaged over the seeds, step by step."""
        return self.params.mean(axis=1)

    def spread(self) -> np.ndarray:
        """(n_racers, steps + 1, dim): the seeds' standard deviation of each coordinate, step by step."""
        return self.params.std(axis=1)

    def loss_quantiles(self, q: Sequence[float] = (0.25, 0.5, 0.75)) -> np.ndarray:
        """(len(q), n_racers, steps + 1): quantiles of the loss over the seeds, step by step."""
        return np.quantile(self.loss, np.asarray(q, dtype=np.float64), axis=1)


_PROGRAMS: dict[tuple, Any] = {}
_KEPT = 64  # vmapped race programs kept compiled (as engine._RACES, fewer: each is a separate compile)
_LOCK = threading.Lock()


def _vmapped(key: tuple, fn):
    """The race program run over a leading axis of seeds' draws, compiled once per race program."""
    with _LOCK:
        out = _PROGRAMS.get(key)
    if out is None:
        device = current_device()
        out = jax.jit(jax.vmap(fn, in_axes=(None, 0, 0)), compiler_options=compiler_options(device))
        with _LOCK:
            while len(_PROGRAMS) >= _KEPT:
                _PROGRAMS.pop(next(iter(_PROGRAMS)))
            out = _PROGRAMS.setdefault(key, out)
    return out


def _forget(surface: Surface) -> None:
    """Drop the clouds' programs of a typed formula that left the formula cache, as the engine does."""
    with _LOCK:
        for key in [k for k in _PROGRAMS if k[0] == surface]:
            del _PROGRAMS[key]


_surfaces.formula_surface.on_evict(_forget)


def _seed_draws(surf: Surface, n: int, sigma: float, seeds: np.ndarray, batch: int | None):
    """engine.draws for every seed at once: (seeds, n, dim) normals and (seeds, n, batch) rows.
    The same small programs vmapped, so seed s draws what a single race of seed s draws."""
    S = len(seeds)
    keys = np.asarray(seeds, dtype=np.uint32)
    xi = jax.vmap(_normal_draws(n, surf.dim))(keys) if sigma > 0 else np.zeros((S, n, surf.dim))
    no_rows = np.zeros((S, n, 0), dtype=np.int64)
    rows = jax.vmap(_batch_draws(n, surf.data.n, batch))(keys) if batch is not None else no_rows
    return xi, rows


def cloud(
    surface: str | Surface,
    racers: Sequence[Mapping[str, Any] | str | Racer],
    steps: int = 500,
    start=None,
    noise: float = 0.0,
    seeds: int = 32,
    batch_size: int | None = None,
    seed: int = 0,
    surface_params: Mapping[str, float] | None = None,
) -> Cloud:
    """The race of `racers` run with `seeds` seeds (seed, seed + 1, ...), in one vmapped call.

    It needs randomness: noise > 0, or a batch_size on a data surface. 1 <= seeds <= MAX_SEEDS,
    and seeds x racers x steps may not exceed MAX_RACE_STEPS (every seed's table is kept).
    """
    surf, steps, x0, sigma, seed, batch, sp = _check_inputs(
        surface, steps, start, noise, seed, batch_size, surface_params
    )
    if not _is_int(seeds) or not 1 <= seeds <= MAX_SEEDS:
        raise ValueError(
            f"seeds = {shown(seeds)} is not allowed; use an integer from 1 to {MAX_SEEDS} (MAX_SEEDS)"
        )
    seeds = int(seeds)
    if seed + seeds - 1 >= 2**32:
        raise ValueError(f"seed = {seed} with {seeds} seeds passes 2**32 - 1; use a smaller seed")
    if sigma == 0 and batch is None:
        raise ValueError("a cloud needs randomness: give noise > 0, or a batch_size on a data surface")
    if isinstance(racers, (str, Mapping, Racer)) or not isinstance(racers, Sequence):
        raise ValueError("racers: give a list of racers, e.g. [{'optimizer': 'adam', 'lr': 0.01}]")
    if not racers:
        raise ValueError("racers: give at least one racer")
    if len(racers) > MAX_RACERS:
        raise ValueError(f"racers: {len(racers)} racers; MAX_RACERS is {MAX_RACERS} in one race")
    if seeds * len(racers) * steps > MAX_RACE_STEPS:
        raise ValueError(
            f"seeds: {seeds} seeds x {len(racers)} racers x {steps} steps is more than "
            f"MAX_RACE_STEPS = {MAX_RACE_STEPS}; use fewer seeds or fewer steps"
        )
    parsed = tuple([Racer.from_spec(r) for r in racers])
    n = bucket(steps)
    prog = race_program(surf, parsed, n, batch)
    key = (surf, tuple(r.key for r in parsed), n, batch, current_device().platform)
    run = _vmapped(key, prog.fn)
    all_seeds = np.arange(seed, seed + seeds, dtype=np.int64)
    xi, rows = _seed_draws(surf, n, sigma, all_seeds, batch)
    # The values vector exactly as `race` builds it: start, noise, steps, surface params, racers.
    values = [*x0.tolist(), sigma, float(steps), *({**surf.params, **sp}.values())]
    for r in parsed:
        values += r.numbers
    R, dim, m = len(parsed), surf.dim, steps + 1
    table, dead = jax.device_get(run(np.asarray(values, dtype=np.float64), xi, rows))
    table = np.asarray(table)[:, :m, : R * (dim + 1)]
    dead = np.asarray(dead)
    params = table[:, :, : R * dim].reshape(seeds, m, R, dim).transpose(2, 0, 1, 3)
    loss = table[:, :, R * dim :].transpose(2, 0, 1)
    return Cloud(
        surface=surf,
        racers=parsed,
        seeds=all_seeds,
        params=np.ascontiguousarray(params),
        loss=np.ascontiguousarray(loss),
        diverged_at=np.where(dead <= steps, dead, -1).T.copy(),
        noise=sigma,
        batch_size=batch,
    )
