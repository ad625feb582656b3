"""The race engine: every racer's whole trajectory in one jitted `lax.scan`.

One XLA program is compiled per (surface, racer structure, step bucket, batch size) and cached for
the life of the process, so every session of the app shares it. Everything numeric is a traced
argument: learning rates, betas, the start point, schedule values, clipping, noise, seed and the
surface's shape parameters. Moving a slider therefore never recompiles.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import surfaces as _surfaces
from surfaces import Surface

from .limits import MAX_STEPS
from .racer import Racer
from .schedules import momentum_name
from .spec import StepContext, flag
from .transforms import clip_grad
from .xla import SMALL_LOOP_FLAG, compile_loops_as_one_kernel, compiler_options, current_device  # noqa: F401

__all__ = [
    "program",
    "race_program",
    "bucket",
    "racer_args",
    "draws",
    "race_draws",
    "MAX_STEPS",
    "ARG_ORDER",
]

# Positional order of a program's traced arguments (vmap needs positions).
ARG_ORDER = (
    "start",
    "hp",
    "shp",
    "base_lr",
    "clip",
    "noise",
    "steps",
    "sparams",
    "draws",
)
_MIN_BUCKET = 64


def bucket(steps: int) -> int:
    """The scan length compiled for `steps`: the next power of two (at least 64).

    A race of 300 steps and one of 500 share the 512-step program and read a prefix.
    """
    n = _MIN_BUCKET
    while n < steps:
        n *= 2
    return n


def _grad_fn(surface: Surface, batch_size: int | None):
    """x, sparams, rows -> raw gradient of the objective at x.

    For data surfaces with a batch size, the gradient is that of the step's mini-batch `rows`
    (true SGD); otherwise `rows` is empty and ignored.
    """
    if batch_size is None or surface.data is None:

        def grad(x, sparams, rows):
            return jax.grad(surface.fn)(x, **sparams)

        return grad
    data = surface.data

    def grad(x, sparams, rows):
        # Made inside the trace, so they land on the device the program is compiled for.
        X, y = jnp.asarray(data.X), jnp.asarray(data.y)
        return jax.grad(lambda w: data.loss(w, X[rows], y[rows]))(x)

    return grad


@functools.cache
def _normal_draws(n: int, dim: int):
    # Step t's draw is normal(fold_in(key(seed), t)); vmapped, so threefry runs vectorised.
    def draw(seed):
        key = jax.random.key(seed)
        return jax.vmap(lambda t: jax.random.normal(jax.random.fold_in(key, t), (dim,), jnp.float64))(
            jnp.arange(n)
        )

    return jax.jit(draw)


@functools.cache
def _batch_draws(n: int, rows: int, batch_size: int):
    # seed + 1 keeps the mini-batches independent of the gradient noise.
    def draw(seed):
        key = jax.random.key(seed + 1)
        return jax.vmap(
            lambda t: jax.random.choice(jax.random.fold_in(key, t), rows, (batch_size,), replace=False)
        )(jnp.arange(n))

    return jax.jit(draw)


def draws(surface: Surface, n: int, noise: float, seed: int, batch_size: int | None) -> dict:
    """The random draws of a race's n steps, shared by all its racers (a fair race).

    xi: (n, dim) standard normals, scaled by the noise sigma in the program (zeros if sigma is 0);
    rows: (n, batch_size) mini-batch row indices for data surfaces (else (n, 0)). They are drawn
    here, by small programs of their own, rather than inside every racer's scan: there the RNG
    took most of each racer's compile time and, for mini-batches (a sort), kept XLA from
    compiling the loop as one kernel.
    """
    if noise > 0:
        xi = np.asarray(_normal_draws(n, surface.dim)(np.uint32(seed)))
    else:
        xi = np.zeros((n, surface.dim))
    if batch_size is not None and surface.data is not None:
        rows = np.asarray(_batch_draws(n, surface.data.n, batch_size)(np.uint32(seed)))
    else:
        rows = np.zeros((n, 0), dtype=np.int64)
    return {"xi": xi, "rows": rows}


_DRAWS: dict[tuple, tuple] = {}
_DRAWS_KEPT = 16


def race_draws(surface: Surface, n: int, noise: float, seed: int, batch_size: int | None) -> tuple:
    """`draws` as device arrays (xi, rows), kept for the last few races so a slider move reuses them."""
    batch = batch_size if surface.data is not None else None
    device = current_device()
    key = (surface, n, seed if noise > 0 else None, None if batch is None else (batch, seed), device)
    out = _DRAWS.get(key)
    if out is None:
        d = draws(surface, n, noise, seed, batch)
        # Uncommitted, on the default device (the key's): programs then follow jax.default_device.
        out = (jax.device_put(d["xi"]), jax.device_put(d["rows"]))
        with _LOCK:
            while len(_DRAWS) >= _DRAWS_KEPT:
                _DRAWS.pop(next(iter(_DRAWS)))
            _DRAWS[key] = out
    return out


def _rule(racer: Racer):
    """(init, update) of the racer's optimizer, with the inner rule bound for wrappers."""
    opt = racer.optimizer
    if racer.inner is None:
        return opt.init, opt.update
    bare_init, bare_update = _rule(racer.inner)
    # The inner racer's choices are static (not in the traced hp tree): put them back here.
    inner_static = dict(racer.inner.static)

    def inner_init(p, hp):
        return bare_init(p, {**hp, **inner_static})

    def inner_update(p, g, state, hp, ctx):
        return bare_update(p, g, state, {**hp, **inner_static}, ctx)

    def init(p, hp):
        return opt.init(p, hp, inner=(inner_init, inner_update))

    def update(p, g, state, hp, ctx):
        return opt.update(p, g, state, hp, ctx, inner=(inner_init, inner_update))

    return init, update


def _hp_tree(racer: Racer) -> dict:
    """The racer's traced numbers as a pytree of float64 arrays (inner racers nested)."""
    tree = {k: np.asarray(v, dtype=np.float64) for k, v in racer.hp.items()}
    if racer.inner is not None:
        tree["inner"] = _hp_tree(racer.inner)
    return tree


def racer_args(
    racer: Racer, surface: Surface, start, steps, noise, seed, surface_params, shared_draws=None
) -> dict:
    """The traced arguments of a racer's program, as numpy float64/int arrays.

    `shared_draws` are the race's `draws` (computed here, without mini-batches, if not given).
    """
    sp = {**surface.params, **(surface_params or {})}
    if shared_draws is None:
        shared_draws = draws(surface, bucket(steps), noise, seed, None)
    return dict(
        start=np.asarray(start, dtype=np.float64),
        hp=_hp_tree(racer),
        shp={k: np.asarray(v, dtype=np.float64) for k, v in racer.schedule_hp.items()},
        base_lr=np.asarray(racer.base_lr, dtype=np.float64),
        clip=np.asarray([racer.clip_norm, racer.clip_value], dtype=np.float64),
        noise=np.asarray(noise, dtype=np.float64),
        steps=np.asarray(steps, dtype=np.float64),
        sparams={k: np.asarray(v, dtype=np.float64) for k, v in sp.items()},
        draws=shared_draws,
    )


def _pack(tree) -> jax.Array:
    """A step's recorded values as one float64 vector, so the scan writes one output per step.

    Recording the state leaves as separate scan outputs made XLA's CPU loop several times slower.
    """
    return jnp.concatenate([jnp.ravel(x).astype(jnp.float64) for x in jax.tree.leaves(tree)])


_LAYOUTS: dict[tuple, Any] = {}


def _layout(racer: Racer, dim: int):
    """Where each recorded value sits in a packed row: (treedef, [(start, stop, shape, dtype)]).

    Found once per structure from the state's shapes (jax.eval_shape: no compile).
    """
    key = (racer.key, dim)
    with _LOCK:
        layout = _LAYOUTS.get(key)
    if layout is None:
        init, _ = _rule(racer)
        hp = {**_hp_tree(racer), **racer.static}
        shapes = jax.eval_shape(lambda p: init(p, hp), jax.ShapeDtypeStruct((dim,), jnp.float64))
        like = (jax.ShapeDtypeStruct((dim,), np.float64), 0.0, 0.0, shapes)
        leaves, treedef = jax.tree.flatten(like)
        fields, i = [], 0
        for x in leaves:
            shape, dtype = tuple(np.shape(x)), np.dtype(getattr(x, "dtype", np.float64))
            size = int(np.prod(shape, dtype=np.int64))
            fields.append((i, i + size, shape, dtype))
            i += size
        layout = (treedef, fields)
        with _LOCK:
            _LAYOUTS[key] = layout
    return layout


def cycled_momentum(racer: Racer) -> str | None:
    """The hyperparameter the racer's schedule may cycle (torch's cycle_momentum), or None."""
    if racer.schedule.momentum is None:
        return None
    return momentum_name(racer.lr_owner.optimizer)


def _with_momentum(racer: Racer, hp: dict, name: str, cycled, on) -> dict:
    """hp with the lr owner's momentum (or beta1) replaced by the cycled value while cycling is on."""
    if racer.inner is not None:
        inner = hp["inner"]
        return {**hp, "inner": {**inner, name: jnp.where(on, cycled, inner[name])}}
    return {**hp, name: jnp.where(on, cycled, hp[name])}


def _stepper(surface: Surface, racer: Racer, batch_size: int | None):
    """One racer's race, split so several racers can share one loop.

    Returns begin(start, hp, shp, base_lr, clip, noise, steps, sparams) -> (carry0, body), where
    body(carry, t, xi, rows) -> (carry, (params, loss, lr, state, momentum)) is step t + 1;
    momentum is the cycled momentum the step used (NaN while cycling is off), or None when the
    schedule cannot cycle it. carry[5] is the divergence step (-1 while none).
    """
    init, update = _rule(racer)
    target = cycled_momentum(racer)
    sched = racer.schedule
    sched_static = dict(racer.schedule_static)
    raw_grad = _grad_fn(surface, batch_size)
    center = np.asarray(surface.center, dtype=np.float64)
    bound = surface.bound

    def begin(start, hp, shp, base_lr, clip, noise, steps, sparams):
        hp_all = {**hp, **racer.static}
        shp_all = {**shp, **sched_static}

        def f(x):
            return surface.fn(x, **sparams)

        def grad_at(x, xi, rows):
            return clip_grad(raw_grad(x, sparams, rows) + noise * xi, clip)

        def bad(x, loss):
            # Non-finite or out of bounds. A NaN or inf coordinate fails |x - c| <= bound as a
            # finite far one does, so one comparison per coordinate covers all three.
            return ~(jnp.all(jnp.abs(x - center) <= bound) & (jnp.abs(loss) < jnp.inf))

        p0 = jnp.asarray(start)
        loss0 = f(p0)
        state0 = init(p0, hp_all)
        sstate0 = sched.init(base_lr, shp_all, steps)
        dead0 = bad(p0, loss0)
        dead_at0 = jnp.where(dead0, 0, -1)

        def body(carry, t, xi, rows):
            p, loss, state, sstate, dead, dead_at = carry
            g = grad_at(p, xi, rows)
            lr = sched.lr(sstate, base_lr, shp_all)
            hp_step, momentum = hp_all, None
            if target is not None:
                on = flag(shp_all["cycle_momentum"])
                cycled = sched.momentum(sstate, shp_all)
                hp_step = _with_momentum(racer, hp_all, target, cycled, on)
                momentum = jnp.where(on, cycled, jnp.nan)
            ctx = StepContext(
                lr=lr,
                t=(t + 1).astype(jnp.float64),
                loss=loss,
                grad=lambda x: grad_at(x, xi, rows),
                hess=lambda x: jax.hessian(f)(x),
            )
            p_new, state_new = update(p, g, state, hp_step, ctx)
            loss_new = f(p_new)
            # dead is dead_at >= 0 from the start (begin), so the incoming `dead` is not read:
            # dead_at alone carries it, and the divergence test has one consumer instead of two
            # (XLA copies a cheap expression into every consumer).
            dead_at = jnp.where((dead_at < 0) & bad(p_new, loss_new), t + 1, dead_at)
            dead = dead_at >= 0
            # A diverged racer freezes at its last good point: Distill's isFinite stop, scan-style.
            keep = lambda new, old: jnp.where(dead, old, new)  # noqa: E731
            p_new = keep(p_new, p)
            loss_new = keep(loss_new, loss)
            state_new = jax.tree.map(keep, state_new, state)
            sstate_new = sched.step(sstate, base_lr, shp_all, loss)
            carry = (p_new, loss_new, state_new, sstate_new, dead, dead_at)
            return carry, (p_new, loss_new, lr, state_new, momentum)

        return (p0, loss0, state0, sstate0, dead0, dead_at0), body

    return begin


def _make_run(surface: Surface, racer: Racer, n: int, batch_size: int | None, record: bool):
    """The un-jitted body: one racer, n steps. Returns trajectories (record) or final values."""
    begin = _stepper(surface, racer, batch_size)

    def run(start, hp, shp, base_lr, clip, noise, steps, sparams, draws):
        carry0, body = begin(start, hp, shp, base_lr, clip, noise, steps, sparams)
        if not record:
            # Sweeps and basin maps keep only the last carry, so they loop exactly `steps` times
            # (a traced bound), not the whole bucket.
            def step(t, carry):
                return body(carry, t, draws["xi"][t], draws["rows"][t])[0]

            carry = jax.lax.fori_loop(jnp.int64(0), steps.astype(jnp.int64), step, carry0)
            p_end, loss_end, _, _, _, dead_at = carry
            return p_end, loss_end, dead_at

        def scan_body(carry, xs):
            carry, out = body(carry, *xs)
            return carry, _pack(out[:4])

        carry, out = jax.lax.scan(scan_body, carry0, (jnp.arange(n), draws["xi"], draws["rows"]))
        p0, loss0, state0 = carry0[:3]
        return _pack((p0, loss0, base_lr, state0)), out, carry[5]

    return run


_CACHE: dict[tuple, Any] = {}
_LOCK = threading.Lock()


def program(
    surface: Surface,
    racer: Racer,
    n: int,
    batch_size: int | None,
    *,
    record: bool = True,
    batched: bool = False,
):
    """The jitted program for this structure, compiled once per process.

    record=True returns (row0, rows, dead_at): the values before step 1 and after each step,
    packed one row per step; `unpack` turns them into trajectories. batched=True vmaps over (start, hp) for sweeps and basin maps,
    and returns final values only.
    """
    key = (surface, racer.key, n, batch_size, record, batched)
    with _LOCK:
        fn = _CACHE.get(key)
        if fn is None:
            run = _make_run(surface, racer, n, batch_size, record)
            if batched:
                run = jax.vmap(run, in_axes=(0, 0, None, 0, None, None, None, None, None))
            fn = _CACHE[key] = jax.jit(run)
    return fn


def _number_slots(racer: Racer):
    """(hp, inner hp, schedule hp) as {name: (offset, shape)}, and the offset of the base lr (clip
    norm and clip value follow it), matching Racer.numbers."""
    i, trees = 0, []
    for tree in (racer.hp, racer.inner.hp if racer.inner is not None else {}, racer.schedule_hp):
        slots = {}
        for k, v in tree.items():
            size = len(v) if isinstance(v, tuple) else 1
            slots[k] = (i, (size,) if isinstance(v, tuple) else ())
            i += size
        trees.append(slots)
    return trees, i


def _state_names(treedef) -> list[str]:
    """Dotted names of the state leaves of a `_layout` tree, in leaf order (nested state: "inner.m")."""
    tree = jax.tree.unflatten(treedef, list(range(treedef.num_leaves)))[3]
    names: list[tuple[int, str]] = []

    def walk(t, prefix):
        for k, v in t.items():
            if isinstance(v, Mapping):
                walk(v, f"{prefix}{k}.")
            else:
                names.append((v, f"{prefix}{k}"))

    walk(tree, "")
    return [name for _, name in sorted(names)]


class RaceProgram(NamedTuple):
    """A compiled race of a fixed set of racer structures, and where its outputs sit.

    fn(values, xi, rows) -> (table, dead_at): values is the float64 vector of start, noise, steps,
    surface parameters and every racer's `Racer.numbers`; table is (n + 1, width), row k the packed
    values after step k: every racer's params, then every racer's loss, then every racer's lr (the
    lr step k used; row 0 holds the base lr), then each racer's state, then the momentum (or beta1)
    step k used for each racer whose schedule can cycle it (NaN while it does not; row 0 NaN).
    dead_at is (n_racers,). states[i] lists racer i's (name, first column, stop column, shape,
    dtype); momentum[i] is racer i's momentum column, or None.
    """

    fn: Any
    width: int
    states: tuple[tuple[tuple[str, int, int, tuple, Any], ...], ...]
    momentum: tuple[int | None, ...] = ()


_RACES: dict[tuple, RaceProgram] = {}
_RACES_KEPT = 256  # racer sets kept compiled; a server sees many as racers come and go


def race_program(surface: Surface, racers: tuple[Racer, ...], n: int, batch_size: int | None) -> RaceProgram:
    """One jitted loop stepping every racer of a race, compiled once per set of structures.

    All racers share the loop and the race's draws; each keeps its own values and its own code,
    so one racer's divergence never touches another, and a racer steps bit for bit as it would
    alone. The loop runs exactly `steps` times (a traced bound).
    """
    # Compile options differ by platform, so each platform keeps its own program; jit itself
    # places the program on `jax.default_device`.
    device = current_device()
    key = (surface, tuple(r.key for r in racers), n, batch_size, device.platform)
    prog = _RACES.get(key)
    if prog is not None:
        return prog
    dim, R = surface.dim, len(racers)
    sp_names = tuple(surface.params)
    head = dim + 2 + len(sp_names)
    begins, slots, offsets, states = [], [], [], []
    off, col = head, (dim + 2) * R
    for r in racers:
        begins.append(_stepper(surface, r, batch_size))
        trees, tail = _number_slots(r)
        slots.append((trees, tail))
        offsets.append(off)
        off += tail + 3
        treedef, fields = _layout(r, dim)
        names = _state_names(treedef)
        st = []
        for name, (a, b, shape, dtype) in zip(names, fields[3:], strict=True):
            st.append((name, col + a - fields[3][0], col + b - fields[3][0], shape, dtype))
        col += fields[-1][1] - fields[3][0] if len(fields) > 3 else 0
        states.append(tuple(st))
    momentum_cols = []
    for r in racers:
        momentum_cols.append(col if cycled_momentum(r) is not None else None)
        col += momentum_cols[-1] is not None
    width = col

    def begin_all(values):
        """Every racer's (first carry, body) for the numbers in `values`."""
        start = values[:dim]
        noise, steps = values[dim], values[dim + 1]
        sparams = {k: values[dim + 2 + j] for j, k in enumerate(sp_names)}

        def take(base, tree):
            return {
                k: values[base + i : base + i + shape[0]] if shape else values[base + i]
                for k, (i, shape) in tree.items()
            }

        carries, bodies, base_lrs = [], [], []
        for begin, r, ((hp_s, inner_s, shp_s), tail), base in zip(
            begins, racers, slots, offsets, strict=True
        ):
            hp = take(base, hp_s)
            if r.inner is not None:
                hp["inner"] = take(base, inner_s)
            shp = take(base, shp_s)
            base_lr, clip = values[base + tail], values[base + tail + 1 : base + tail + 3]
            carry0, body = begin(start, hp, shp, base_lr, clip, noise, steps, sparams)
            carries.append(carry0)
            bodies.append(body)
            base_lrs.append(base_lr)
        return carries, bodies, base_lrs

    def run(values, xi, rows):
        carries, _, base_lrs = begin_all(values)
        row0 = jnp.concatenate(
            [
                *(c[0] for c in carries),
                jnp.stack([c[1] for c in carries]),
                jnp.stack(base_lrs),
                *(_pack(c[2]) for c in carries if jax.tree.leaves(c[2])),
                jnp.full(sum(c is not None for c in momentum_cols), jnp.nan),
            ]
        )
        table = jnp.zeros((n + 1, width), jnp.float64).at[0].set(row0)
        trees = [jax.tree.structure(c[2]) for c in carries]

        def step(t, loop):
            # Params, losses and states travel in the table's own row rather than as loop values
            # of their own: XLA's CPU loop hands each loop value (and each number the loop reads
            # from outside) to its kernel as a pointer, and past a few per racer those pointers
            # are spilled and reloaded on every step. For the same reason the racers' numbers come
            # in as the one `values` vector and are sliced inside the loop. `prev` is row t;
            # row t + 1 is written piece by piece.
            smalls, table, prev, values = loop
            _, bodies, _ = begin_all(values)
            out = []
            for i, (body, (sstate, dead, dead_at), st, tree, mcol) in enumerate(
                zip(bodies, smalls, states, trees, momentum_cols, strict=True)
            ):
                p, loss = prev[i * dim : (i + 1) * dim], prev[R * dim + i]
                state = jax.tree.unflatten(
                    tree, [prev[a:b].reshape(shape).astype(dtype) for _, a, b, shape, dtype in st]
                )
                carry, (p, loss, lr, state, momentum) = body(
                    (p, loss, state, sstate, dead, dead_at), t, xi[t], rows[t]
                )
                out.append(carry[3:])
                pieces = [(p, i * dim), (loss, R * dim + i), (lr, R * (dim + 1) + i)]
                pieces += [(leaf, a) for leaf, (_, a, *_) in zip(jax.tree.leaves(state), st, strict=True)]
                if mcol is not None:
                    pieces.append((momentum, mcol))
                for x, col in pieces:
                    x = jnp.reshape(x, (1, -1)).astype(jnp.float64)
                    table = jax.lax.dynamic_update_slice(table, x, (t + 1, jnp.int64(col)))
            return out, table, jax.lax.dynamic_index_in_dim(table, t + 1, keepdims=False), values

        smalls = [c[3:] for c in carries]
        steps = values[dim + 1].astype(jnp.int64)
        smalls, table, _, _ = jax.lax.fori_loop(jnp.int64(0), steps, step, (smalls, table, row0, values))
        return table, jnp.stack([c[2] for c in smalls])

    prog = RaceProgram(
        jax.jit(run, compiler_options=compiler_options(device)), width, tuple(states), tuple(momentum_cols)
    )
    with _LOCK:
        while len(_RACES) >= _RACES_KEPT:
            _RACES.pop(next(iter(_RACES)))
        prog = _RACES.setdefault(key, prog)
    return prog


def _forget(surface: Surface) -> None:
    """Drop the programs of a typed formula that left the formula cache (bounded server memory)."""
    with _LOCK:
        for cache in (_CACHE, _RACES, _DRAWS):
            for key in [k for k in cache if k[0] == surface]:
                del cache[key]


_surfaces.formula_surface.on_evict(_forget)


def resolve_surface(surface) -> Surface:
    return _surfaces.get(surface)


def check_surface_params(surface: Surface, surface_params: Mapping[str, Any] | None) -> dict:
    return surface.checked_params(surface_params)
