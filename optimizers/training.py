"""Real training: the MLP of surfaces/mlp.py trained at full dimension with each racer's own rule.

`train(racers, steps=500, seed=0)` trains the network (337 parameters, full batch, 128 points of two
moons) once per racer, from the one initialisation `seed` draws, and returns each racer's training
and held-out loss after every step. All racers step in one jitted loop.

One code path with the race: the network's loss over its flattened parameter vector
(jax.flatten_util.ravel_pytree) is a `Surface` of 337 dimensions (surfaces.mlp.TRAINING), and each
racer steps it with the race engine's own step (engine._stepper): the same update rule, schedule,
gradient clipping and divergence test as on a 2-D surface. Only rules that need the full Hessian
(Newton: a 337 x 337 solve at every step) are refused.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from surfaces import mlp

from .engine import _hp_tree, _rule, _stepper, bucket, racer_args
from .racer import Racer
from .spec import StepContext, shown
from .xla import compiler_options, current_device

__all__ = ["Training", "train", "MAX_TRAINING_RACERS", "MAX_TRAINING_STEPS"]

MAX_TRAINING_RACERS = 8  # one palette colour each, as in a race on the page
MAX_TRAINING_STEPS = 2000  # each step is a pass over the data per racer: about a second per 1000 for 6 racers


@dataclass(frozen=True)
class Training:
    """What `train` returns; arrays are numpy float64.

    train_loss     (n_racers, steps + 1): the loss on the 128 training points after each step
                   (column 0: at the initialisation)
    held_out_loss  (n_racers, steps + 1): the same loss on the 128 held-out points
    diverged_at    (n_racers,): the first step whose parameters or loss were non-finite or beyond
                   |theta_i| = 1000 (the racer is frozen from there on); -1 if none
    params         (n_racers, 337): each racer's parameter vector after the last step
    """

    racers: tuple[Racer, ...]
    seed: int
    train_loss: np.ndarray
    held_out_loss: np.ndarray
    diverged_at: np.ndarray
    params: np.ndarray

    @property
    def steps(self) -> int:
        return self.train_loss.shape[1] - 1


class _NeedsHessianError(Exception):
    pass


_CHECKED: dict[tuple, bool] = {}


def _check_trainable(racer: Racer) -> None:
    """Refuse a rule that asks for the Hessian: found by tracing one update (no compile)."""
    needs = _CHECKED.get(racer.key)
    if needs is None:
        init, update = _rule(racer)
        hp = {**_hp_tree(racer), **racer.static}

        def hess(x):
            raise _NeedsHessianError

        def probe(p):
            ctx = StepContext(lr=jnp.float64(1.0), t=jnp.float64(1.0), loss=jnp.float64(0.0),
                              grad=lambda x: x, hess=hess)  # fmt: skip
            return update(p, p, init(p, hp), hp, ctx)

        try:
            jax.eval_shape(probe, jax.ShapeDtypeStruct((mlp.DIM,), jnp.float64))
            needs = False
        except _NeedsHessianError:
            needs = True
        _CHECKED[racer.key] = needs
    if needs:
        raise ValueError(
            f"racers: {racer.label} needs the full Hessian ({mlp.DIM} x {mlp.DIM}) at every step; "
            "real training takes first-order optimizers only"
        )


_PROGRAMS: dict[tuple, Any] = {}
_PROGRAMS_KEPT = 64
_LOCK = threading.Lock()


def _program(racers: tuple[Racer, ...], n: int):
    """One jitted loop stepping every racer's copy of the network, compiled once per set of racer
    structures and step bucket (numbers are traced: a new learning rate never recompiles)."""
    device = current_device()
    key = (tuple(r.key for r in racers), n, device.platform)
    with _LOCK:
        fn = _PROGRAMS.get(key)
    if fn is not None:
        return fn
    surface = mlp.TRAINING
    begins = [_stepper(surface, r, None) for r in racers]
    X_out, y_out = mlp.HELD_OUT

    def held_out(theta):
        return mlp.flat_loss(theta, X_out, y_out)

    def run(start, args, steps):
        xi = jnp.zeros(surface.dim)  # no gradient noise: full-batch gradients
        rows = jnp.zeros((0,), jnp.int64)
        carries, bodies = [], []
        for begin, (hp, shp, base_lr, clip) in zip(begins, args, strict=True):
            carry0, body = begin(start, hp, shp, base_lr, clip, jnp.float64(0.0), steps, {})
            carries.append(carry0)
            bodies.append(body)
        R = len(racers)
        train0 = jnp.stack([c[1] for c in carries])
        table = jnp.zeros((n + 1, 2 * R)).at[0].set(jnp.concatenate([train0, jnp.full(R, held_out(start))]))

        def step(t, loop):
            carries, table = loop
            carries = [body(c, t, xi, rows)[0] for body, c in zip(bodies, carries, strict=True)]
            row = jnp.concatenate(
                [jnp.stack([c[1] for c in carries]), jnp.stack([held_out(c[0]) for c in carries])]
            )
            return carries, table.at[t + 1].set(row)

        carries, table = jax.lax.fori_loop(jnp.int64(0), steps.astype(jnp.int64), step, (carries, table))
        return table, jnp.stack([c[5] for c in carries]), jnp.stack([c[0] for c in carries])

    fn = jax.jit(run, compiler_options=compiler_options(device))
    with _LOCK:
        while len(_PROGRAMS) >= _PROGRAMS_KEPT:
            _PROGRAMS.pop(next(iter(_PROGRAMS)))
        fn = _PROGRAMS.setdefault(key, fn)
    return fn


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def train(racers: Sequence[Mapping[str, Any] | str | Racer], steps: int = 500, seed: int = 0) -> Training:
    """Train the MLP once per racer, full batch, from the initialisation `seed` draws (torch.nn.Linear's
    scheme, surfaces.mlp.init_layers), for `steps` steps of each racer's optimizer, learning rate,
    schedule and clipping. Racers are what `optimizers.race` takes; steps from 1 to
    MAX_TRAINING_STEPS, at most MAX_TRAINING_RACERS racers, seed from 0 to 2**32 - 1."""
    if isinstance(racers, (str, Mapping, Racer)) or not isinstance(racers, Sequence):
        raise ValueError("racers: give a list of racers, e.g. [{'optimizer': 'adam', 'lr': 0.01}]")
    if not racers:
        raise ValueError("racers: give at least one racer")
    if len(racers) > MAX_TRAINING_RACERS:
        raise ValueError(f"racers: {len(racers)} racers; real training takes at most {MAX_TRAINING_RACERS}")
    if not _is_int(steps) or not 1 <= steps <= MAX_TRAINING_STEPS:
        raise ValueError(
            f"steps = {shown(steps)} is not allowed; use an integer from 1 to {MAX_TRAINING_STEPS}"
        )
    if not _is_int(seed) or not 0 <= seed < 2**32:
        raise ValueError(f"seed = {shown(seed)} is not allowed; use an integer from 0 to 2**32 - 1")
    parsed = tuple(Racer.from_spec(r) for r in racers)
    for r in parsed:
        _check_trainable(r)
    steps, seed = int(steps), int(seed)
    start = mlp.flatten(mlp.init_layers(seed))
    args = []
    for r in parsed:
        a = racer_args(r, mlp.TRAINING, start, steps, 0.0, 0, None, shared_draws={})
        args.append((a["hp"], a["shp"], a["base_lr"], a["clip"]))
    fn = _program(parsed, bucket(steps))
    table, dead, params = jax.device_get(fn(start, args, np.asarray(steps, dtype=np.float64)))
    table = np.asarray(table)[: steps + 1]
    R = len(parsed)
    dead = np.asarray(dead)
    return Training(
        racers=parsed,
        seed=seed,
        train_loss=np.ascontiguousarray(table[:, :R].T),
        held_out_loss=np.ascontiguousarray(table[:, R:].T),
        diverged_at=np.where((dead >= 0) & (dead <= steps), dead, -1),
        params=np.asarray(params),
    )
