"""Engine figures: our race against torch.optim in a Python loop and against optax in one jitted scan.

Run as `optirace bench` or `python benchmarks/engine.py`. torch and optax are only the peers here
(test extras); without them their lines say "not installed" and the rest still runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["main", "run", "add_arguments", "bench", "ENTRIES", "FULL", "QUICK"]

SURFACE = "rosenbrock"


@dataclass(frozen=True)
class Sizes:
    race_steps: int
    sweep: tuple[int, int]  # values, steps
    basins: tuple[int, int]  # grid, steps
    verdicts: bool  # the targets hold for the full sizes only


FULL = Sizes(race_steps=1000, sweep=(64, 500), basins=(128, 300), verdicts=True)
QUICK = Sizes(race_steps=100, sweep=(16, 100), basins=(16, 100), verdicts=False)


def _rosenbrock(x0, x1):
    return (1.0 - x0) ** 2 + 100.0 * (x1 - x0**2) ** 2


@dataclass(frozen=True)
class Entry:
    """One optimizer as each contestant spells it.

    `ours` lists racer dicts in order of preference: the first one the registry accepts races, so
    the benchmark runs whatever families are registered. `optax` is (function name, keyword args).
    """

    label: str
    ours: tuple[dict[str, Any], ...]
    torch: Callable[[Any, list], Any]  # (torch module, params) -> torch.optim optimizer
    optax: tuple[str, dict[str, Any]]
    same_as_torch: bool = True  # our rule follows torch's convention, so the end points must agree


ENTRIES = (
    Entry(
        "sgd",
        ({"optimizer": "sgd", "lr": 1e-4},),
        lambda t, ps: t.optim.SGD(ps, lr=1e-4),
        ("sgd", {"learning_rate": 1e-4}),
    ),
    Entry(
        "sgd+momentum",
        ({"optimizer": "sgd", "lr": 1e-4, "momentum": 0.9},),
        lambda t, ps: t.optim.SGD(ps, lr=1e-4, momentum=0.9),
        ("sgd", {"learning_rate": 1e-4, "momentum": 0.9}),
    ),
    Entry(
        "nesterov",
        ({"optimizer": "sgd", "lr": 1e-4, "momentum": 0.9, "nesterov": True},),
        lambda t, ps: t.optim.SGD(ps, lr=1e-4, momentum=0.9, nesterov=True),
        ("sgd", {"learning_rate": 1e-4, "momentum": 0.9, "nesterov": True}),
    ),
    Entry(
        "adagrad",
        ({"optimizer": "adagrad", "lr": 0.1},),
        lambda t, ps: t.optim.Adagrad(ps, lr=0.1),
        ("adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.0, "eps": 1e-10}),
    ),
    Entry(
        "rmsprop",
        ({"optimizer": "rmsprop", "lr": 1e-3},),
        lambda t, ps: t.optim.RMSprop(ps, lr=1e-3),
        ("rmsprop", {"learning_rate": 1e-3, "decay": 0.99, "eps": 1e-8, "eps_in_sqrt": False}),
    ),
    Entry(
        "adam",
        ({"optimizer": "adam", "lr": 0.01},),
        lambda t, ps: t.optim.Adam(ps, lr=0.01),
        ("adam", {"learning_rate": 0.01}),
    ),
    Entry(
        "adamw",
        (
            {"optimizer": "adamw", "lr": 0.01, "weight_decay": 0.01},
            {"optimizer": "adam", "lr": 0.01, "weight_decay": 0.01, "decoupled_weight_decay": True},
        ),
        lambda t, ps: t.optim.AdamW(ps, lr=0.01, weight_decay=0.01),
        ("adamw", {"learning_rate": 0.01, "weight_decay": 0.01}),
    ),
    Entry(
        "nadam",
        ({"optimizer": "nadam", "lr": 0.01},),
        lambda t, ps: t.optim.NAdam(ps, lr=0.01),
        ("nadam", {"learning_rate": 0.01}),
    ),
)

# Stand-ins while a family above is not registered, so the race still has eight racers; their
# conventions differ from torch's and optax's, which only matters for the agreement figure.
FALLBACKS = (
    Entry(
        "gd",
        ({"optimizer": "gd", "lr": 1e-4},),
        lambda t, ps: t.optim.SGD(ps, lr=1e-4),
        ("sgd", {"learning_rate": 1e-4}),
    ),
    Entry(
        "momentum (averaged)",
        ({"optimizer": "momentum", "lr": 1e-3, "beta": 0.9},),
        lambda t, ps: t.optim.SGD(ps, lr=1e-3, momentum=0.9, dampening=0.9),
        ("sgd", {"learning_rate": 1e-4, "momentum": 0.9}),
        same_as_torch=False,
    ),
    Entry(
        "nag",
        ({"optimizer": "nag", "lr": 1e-4, "momentum": 0.9},),
        lambda t, ps: t.optim.SGD(ps, lr=1e-4, momentum=0.9, nesterov=True),
        ("sgd", {"learning_rate": 1e-4, "momentum": 0.9, "nesterov": True}),
        same_as_torch=False,
    ),
)


def _available(n: int = 8) -> list[tuple[Entry, dict[str, Any]]]:
    """Up to n (entry, racer dict) pairs the registry accepts, preferring ENTRIES."""
    from optimizers import Racer

    chosen = []
    for entry in ENTRIES + FALLBACKS:
        for spec in entry.ours:
            try:
                Racer.from_spec(spec)
            except ValueError:
                continue
            chosen.append((entry, spec))
            break
        if len(chosen) == n:
            break
    return chosen


def _median_time(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm: compile and first-touch
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _paired(
    ours: Callable[[], Any], peer: Callable[[], Any], repeats: int, rounds: int = 7, peer_repeats: int = 0
):
    """(our median, its median, median of the per-round ratios its / ours), timed in alternating rounds.

    This machine's speed drifts by a third from one second to the next; timing each side in the
    same round keeps a drift out of their ratio.
    """
    ours_t, peer_t, ratios = [], [], []
    for _ in range(rounds):
        a, b = _median_time(ours, repeats), _median_time(peer, peer_repeats or repeats)
        ours_t.append(a)
        peer_t.append(b)
        ratios.append(b / a)
    return statistics.median(ours_t), statistics.median(peer_t), statistics.median(ratios)


# --- peers -----------------------------------------------------------------------------------------


def _torch_race(torch, entries: Sequence[Entry], start, steps: int) -> np.ndarray:
    """What a user writes: autograd for the gradient, opt.step() in a Python loop, points recorded.

    torch keeps scalar state (NAdam's mu_product, step counts) in the default dtype: float64 here,
    as ours, or the end points differ by float32 rounding (1e-10 after 10 NAdam steps).
    """
    torch.set_default_dtype(torch.float64)
    finals = []
    for entry in entries:
        x = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        opt = entry.torch(torch, [x])
        path = [x.detach().clone()]
        for _ in range(steps):
            opt.zero_grad()
            loss = _rosenbrock(x[0], x[1])
            loss.backward()
            opt.step()
            path.append(x.detach().clone())
        finals.append(path[-1].numpy())
    return np.stack(finals)


def _optax_program(entries: Sequence[Entry], steps: int, injected: bool = False, outputs: str = "points"):
    """Every optax chain in one jitted lax.scan: the peer written as an optax user would.

    injected=True wraps each in optax.inject_hyperparams, so (as in our engine) the numbers are
    traced values in the state instead of constants folded into the program.

    outputs="points" records each step's points and losses only. "race" records what `race()`
    returns: points, losses, each racer's lr and its floating-point state (moments; not optax's
    integer step counts, which race() does not record either), and freezes a racer whose point
    leaves the surface's bounds or whose loss is not finite, as race() does; each output is a scan
    output of its own. "packed" is "race" with each step's outputs packed into one row, the layout
    our engine uses (XLA's CPU loop writes one row much faster than many small arrays).
    """
    import jax
    import jax.numpy as jnp
    import optax

    import surfaces

    surf = surfaces.SURFACES[SURFACE]
    center, bound = jnp.asarray(surf.center), surf.bound

    def make(name, kwargs):
        fn = getattr(optax, name)
        return optax.inject_hyperparams(fn)(**kwargs) if injected or outputs != "points" else fn(**kwargs)

    txs = [make(*entry.optax) for entry in entries]

    def f(p):
        return _rosenbrock(p[0], p[1])

    def moments(state):
        return [x for x in jax.tree.leaves(state.inner_state) if jnp.issubdtype(x.dtype, jnp.floating)]

    def run(start):
        carry0 = ([start] * len(txs), [tx.init(start) for tx in txs], jnp.zeros(len(txs), bool))

        def body(carry, _):
            ps, states, dead = carry
            new_ps, new_states, new_dead = [], [], []
            for i, (tx, p, s) in enumerate(zip(txs, ps, states, strict=True)):
                u, s_new = tx.update(jax.grad(f)(p), s, p)
                p_new = optax.apply_updates(p, u)
                if outputs != "points":
                    bad = ~(jnp.all(jnp.abs(p_new - center) <= bound) & (jnp.abs(f(p_new)) < jnp.inf))
                    d = dead[i] | bad
                    p_new = jnp.where(d, p, p_new)
                    s_new = jax.tree.map(lambda new, old, d=d: jnp.where(d, old, new), s_new, s)
                    new_dead.append(d)
                new_ps.append(p_new)
                new_states.append(s_new)
            points = jnp.stack(new_ps)
            ys = (points, jax.vmap(f)(points))
            dead = jnp.stack(new_dead) if new_dead else dead
            if outputs != "points":
                lrs = jnp.stack([s.hyperparams["learning_rate"] for s in new_states])
                states_out = [moments(s) for s in new_states]
                if outputs == "packed":
                    leaves = [ys[0], ys[1], lrs, *(x for st in states_out for x in st)]
                    ys = jnp.concatenate([jnp.ravel(x).astype(jnp.float64) for x in leaves])
                else:
                    ys = (*ys, lrs, states_out)
            return (new_ps, new_states, dead), ys

        return jax.lax.scan(body, carry0, None, length=steps)[1]

    return jax.jit(run)


def _programs_only(specs, steps: int):
    """The race's XLA program alone, arguments prepared: race() minus its Python work."""
    import jax

    import optimizers
    from optimizers.engine import bucket, race_draws, race_program, resolve_surface

    surf = resolve_surface(SURFACE)
    racers = tuple(optimizers.Racer.from_spec(spec) for spec in specs)
    n = bucket(steps)
    prog = race_program(surf, racers, n, None)
    values = np.asarray([*surf.start, 0.0, float(steps), *(x for r in racers for x in r.numbers)])
    xi, rows = race_draws(surf, n, 0.0, 0, None)
    return lambda: jax.block_until_ready(prog.fn(values, xi, rows))


def _cold_compile(specs: list[dict[str, Any]], steps: int) -> dict[str, float]:
    """Import and first race in a fresh interpreter, so no cache of this process helps."""
    code = (
        "import json, time\n"
        "t0 = time.perf_counter()\n"
        "import optimizers\n"
        "t1, c1 = time.perf_counter(), time.process_time()\n"
        f"optimizers.race({SURFACE!r}, {specs!r}, steps={steps})\n"
        "t2, c2 = time.perf_counter(), time.process_time()\n"
        f"optimizers.race({SURFACE!r}, {specs!r}, steps={steps})\n"
        "t3 = time.perf_counter()\n"
        "print(json.dumps({'import': t1 - t0, 'first': t2 - t1, 'first_cpu': c2 - c1, 'warm': t3 - t2}))\n"
    )
    root = str(Path(importlib.util.find_spec("optimizers").origin).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    env["JAX_ENABLE_COMPILATION_CACHE"] = "false"  # a persistent cache would make it warm
    for name in ("JAX_COMPILATION_CACHE_DIR", "OPTIRACE_JAX_CACHE"):
        env.pop(name, None)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=600
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the table -------------------------------------------------------------------------------------


@dataclass
class Line:
    figure: str
    value: float | None
    unit: str  # "s" or "x"
    target: str = ""
    ok: bool | None = None
    note: str = ""


def _fmt_value(line: Line) -> str:
    if line.value is None:
        return "-"
    if line.unit == "s":
        v = line.value
        return f"{v * 1e3:.2f} ms" if v < 1 else f"{v:.2f} s"
    return f"{line.value:,.2f}x" if line.value < 100 else f"{line.value:,.0f}x"


def table(lines: Sequence[Line]) -> str:
    rows = [("figure", "value", "target", "result", "")]
    for ln in lines:
        result = "" if ln.ok is None else ("PASS" if ln.ok else "MISS")
        rows.append((ln.figure, _fmt_value(ln), ln.target, result, ln.note))
    widths = [max(len(r[j]) for r in rows) for j in range(4)]
    out = []
    for i, r in enumerate(rows):
        out.append(
            f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]:<{widths[3]}}  {r[4]}"
        )
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in out)


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


# --- the run ---------------------------------------------------------------------------------------


def bench(sizes: Sizes = FULL, repeats: int = 5, cold: bool = True, torch_repeats: int = 3) -> list[Line]:
    import optimizers
    import surfaces

    def verdict(ok: bool) -> bool | None:
        return ok if sizes.verdicts else None

    chosen = _available()
    entries = [e for e, _ in chosen]
    specs = [s for _, s in chosen]
    steps = sizes.race_steps
    start = surfaces.SURFACES[SURFACE].start
    print(
        f"{len(entries)} racers on {SURFACE} from {start}: {', '.join(e.label for e in entries)}", flush=True
    )

    lines: list[Line] = []

    def race():
        return optimizers.race(SURFACE, specs, steps=steps)

    rounds = 7 if sizes.verdicts else 1
    t_ours, t_prog, _ = _paired(race, _programs_only(specs, steps), repeats, rounds)
    lines.append(Line(f"race {len(specs)} racers x {steps} steps (warm, median)", t_ours, "s"))
    lines.append(Line("  of which the race's XLA program", t_prog, "s", note="dispatch + compute"))

    if _have("torch"):
        import torch

        def peer():
            return _torch_race(torch, entries, start, steps)

        # One torch race per round (a second each), between blocks of ours.
        _, t_torch, speedup = _paired(race, peer, repeats, torch_repeats, peer_repeats=1)
        # Agreement over a horizon short of chaos: past ~900 steps RMSprop's oscillation across the
        # valley doubles any rounding difference every few steps.
        k = min(300, steps)
        same = [e.same_as_torch for e in entries]
        ours = optimizers.race(SURFACE, specs, steps=k).params[:, -1]
        gap = (
            float(np.max(np.abs(_torch_race(torch, entries, start, k) - ours)[same]))
            if any(same)
            else math.nan
        )
        note = f"max |ours - torch| after {k} steps = {gap:.1e}"
        lines.append(Line("torch.optim, Python loop + autograd", t_torch, "s", note=note))
        lines.append(
            Line("  speedup ours vs torch.optim", speedup, "x", ">= 1000x", verdict(speedup >= 1000))
        )
    else:
        lines.append(Line("torch.optim peer", None, "s", note="torch not installed"))

    if _have("optax"):
        import jax

        x0 = jax.numpy.asarray(start, dtype=jax.numpy.float64)
        peers = (
            (
                False,
                "points",
                "optax scan, points + losses (constants)",
                "it records less: points + losses only",
            ),
            (
                True,
                "points",
                "optax scan, points + losses (inject_hyperparams)",
                "it records less: points + losses only",
            ),
            (
                True,
                "race",
                "optax scan, the same outputs as race()",
                "points, losses, lr, moments; divergence freeze",
            ),
            (True, "packed", "  the same, each step packed in one row", "the row layout our engine uses"),
        )
        for injected, outputs, label, what in peers:
            prog = _optax_program(entries, steps, injected, outputs)
            _, t_optax, ratio = _paired(
                race, lambda prog=prog: jax.device_get(prog(x0)), repeats, rounds
            )  # host arrays, as ours
            lines.append(Line(label, t_optax, "s", note=what))
            # The target compares like with like: a scan that returns what race() returns.
            target, ok = (">= 0.8x", verdict(ratio >= 0.8)) if outputs == "race" else ("", None)
            lines.append(Line("  speed ours vs it", ratio, "x", target, ok))
    else:
        lines.append(Line("optax peer", None, "s", note="optax not installed"))

    if cold:
        c = _cold_compile(specs, steps)
        compile_s = c["first"] - c["warm"]
        note = f"fresh process: import {c['import']:.2f} s; first race {c['first']:.2f} s, CPU {c['first_cpu']:.2f} s"
        lines.append(
            Line(
                f"cold compile, {len(specs)}-racer race",
                compile_s,
                "s",
                "<= 1.5 s",
                verdict(compile_s <= 1.5),
                note,
            )
        )

    # One racer for the vmapped figures: adam when registered, else sgd with momentum.
    solo = next((s for s in specs if s["optimizer"] == "adam"), specs[min(1, len(specs) - 1)])
    n, sweep_steps = sizes.sweep
    lrs = np.logspace(-5, -1, n)
    t_sweep = _median_time(
        lambda: optimizers.sweep(SURFACE, solo, over={"lr": lrs}, steps=sweep_steps), repeats
    )
    figure = f"lr sweep {n} values x {sweep_steps} steps (warm)"
    lines.append(Line(figure, t_sweep, "s", "<= 0.3 s", verdict(t_sweep <= 0.3), solo["optimizer"]))
    g, basin_steps = sizes.basins
    t_basins = _median_time(
        lambda: optimizers.basins(SURFACE, solo, grid=g, steps=basin_steps), max(1, repeats // 2)
    )
    figure = f"basin map {g}x{g} x {basin_steps} steps (warm)"
    lines.append(Line(figure, t_basins, "s", "<= 1 s", verdict(t_basins <= 1.0), solo["optimizer"]))
    return lines


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repeats", type=int, default=5, help="timed repeats per figure; the median is shown")
    p.add_argument("--no-cold", action="store_true", help="skip the cold-compile subprocess")
    p.add_argument(
        "--quick", action="store_true", help="small sizes, no cold compile, no verdicts (a smoke run)"
    )


def run(args: argparse.Namespace) -> int:
    if args.repeats < 1:
        raise ValueError(f"--repeats = {args.repeats} is not allowed; use an integer >= 1")
    sizes = QUICK if args.quick else FULL
    lines = bench(sizes, repeats=args.repeats, cold=not (args.no_cold or args.quick))
    print(table(lines))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="optirace bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))
