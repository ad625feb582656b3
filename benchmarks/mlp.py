"""The network's benchmark: `python benchmarks/mlp.py [--repeats 5]`.

- landscape: the mlp_landscape surface's grid as the app draws it (240 x 240). Cold is the first
  grid of a new process (started for each measure, timed from after its imports), three ways:
  without a compilation cache (theta* trained, directions drawn, the grid program compiled and run);
  with an empty cache directory (the same, and both written there); and with the directory an
  earlier process filled (theta* and the compiled programs read back: a restarted server).
  Budget 2 s.
- training: `optimizers.train` of 6 optimizers x 500 steps (one jitted call). Budget 5 s. Its peers,
  measured in the same run on the same 6 racers: a plain per-racer loop (the engine's same step,
  jitted alone and called once per step from Python, racer after racer), and torch.optim on the same
  network where torch is importable.

Prints the median and the range over the repeats, and each peer's time over ours.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).absolute().parent.parent))
import timing  # noqa: E402

RACERS = [
    {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9},
    {"optimizer": "adam", "lr": 0.01},
    {"optimizer": "rmsprop", "lr": 0.003},
    {"optimizer": "adagrad", "lr": 0.1},
    {"optimizer": "adamw", "lr": 0.01, "weight_decay": 0.01},
    {"optimizer": "nadam", "lr": 0.01},
]
STEPS, GRID = 500, 240
BUDGET = {"landscape": 2.0, "training": 5.0}


def plain_loop(racers, steps: int):
    """Each racer alone, the engine's step jitted on its own and called from Python every step."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from optimizers import Racer
    from optimizers.engine import _stepper, racer_args
    from surfaces import mlp

    start = mlp.flatten(mlp.init_layers(0))
    held_out = jax.jit(lambda theta: mlp.flat_loss(theta, *mlp.HELD_OUT))
    xi, rows = jnp.zeros(mlp.DIM), jnp.zeros((0,), jnp.int64)
    out = []
    for spec in racers:
        r = Racer.from_spec(spec)
        a = racer_args(r, mlp.TRAINING, start, steps, 0.0, 0, None, shared_draws={})
        args = (a["hp"], a["shp"], a["base_lr"], a["clip"], np.float64(steps))
        begin = _stepper(mlp.TRAINING, r, None)

        def first(p, hp, shp, base_lr, clip, n, begin=begin):
            return begin(p, hp, shp, base_lr, clip, 0.0, n, {})[0]

        def step(carry, t, hp, shp, base_lr, clip, n, begin=begin):
            return begin(carry[0], hp, shp, base_lr, clip, 0.0, n, {})[1](carry, t, xi, rows)[0]

        first, step = jax.jit(first), jax.jit(step)
        carry = first(start, *args)
        train, held = [float(carry[1])], [float(held_out(carry[0]))]
        for t in range(steps):
            carry = step(carry, np.int64(t), *args)
            train.append(carry[1])
            held.append(held_out(carry[0]))
        out.append((np.asarray(jax.device_get(train)), np.asarray(jax.device_get(held))))
    return out


def torch_loop(racers, steps: int):
    """The same network, data and racers in torch.optim (float64, full batch, autograd)."""
    import numpy as np
    import torch

    from surfaces import mlp

    # One thread, as our programs run: on tensors this small torch's thread pool only adds waits.
    torch.set_num_threads(1)
    classes = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop,
               "adagrad": torch.optim.Adagrad, "adamw": torch.optim.AdamW, "nadam": torch.optim.NAdam}  # fmt: skip
    X, y = (torch.from_numpy(a) for a in mlp.TRAIN)
    Xo, yo = (torch.from_numpy(a) for a in mlp.HELD_OUT)
    out = []
    for spec in racers:
        layers, modules = mlp.init_layers(0), []
        for i, (W, b) in enumerate(layers):
            lin = torch.nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W))
                lin.bias.copy_(torch.from_numpy(b))
            modules += [lin] + ([torch.nn.Tanh()] if i < len(layers) - 1 else [])
        net = torch.nn.Sequential(*modules)

        def loss(X, y, net=net):
            z = net(X)[:, 0]
            decay = sum((m.weight**2).sum() for m in net if isinstance(m, torch.nn.Linear))
            return torch.nn.functional.binary_cross_entropy_with_logits(z, y) + 0.5 * mlp.WEIGHT_DECAY * decay

        opt = classes[spec["optimizer"]](
            net.parameters(), **{k: v for k, v in spec.items() if k != "optimizer"}
        )
        train, held = [], []
        for _ in range(steps):
            opt.zero_grad()
            value = loss(X, y)
            value.backward()
            opt.step()
            train.append(float(value.detach()))
            with torch.no_grad():
                held.append(float(loss(Xo, yo)))
        out.append((np.asarray(train), np.asarray(held)))
    return out


def cold_grid() -> dict:
    """In a new process (`--cold-grid`): the first grid, timed from after the imports."""
    import optimizers  # noqa: F401  (sets the compilation cache from the environment, as the app does)
    from surfaces import SURFACES, mlp
    from surfaces.grid import grid_values

    # CPU seconds beside the wall clock: on a shared machine the wall clock of a one-off runs long.
    t, c = time.perf_counter(), time.process_time()
    mlp.landscape()
    fit = time.perf_counter() - t
    grid_values(SURFACES["mlp_landscape"], GRID)
    return {"wall": time.perf_counter() - t, "cpu": time.process_time() - c, "theta": fit}


def cold_runs(cache: str | None, repeats: int) -> list[dict]:
    """`repeats` new processes; cache "" is a new empty directory each time, None none at all."""
    out = []
    for _ in range(repeats):
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("OPTIRACE_JAX_CACHE", "JAX_COMPILATION_CACHE_DIR")
        }
        with tempfile.TemporaryDirectory() as empty:
            if cache is not None:
                env["OPTIRACE_JAX_CACHE"] = cache or empty
            done = subprocess.run([sys.executable, __file__, "--cold-grid"], env=env, check=True,
                                  capture_output=True, text=True)  # fmt: skip
        out.append(json.loads(done.stdout.splitlines()[-1]))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--cold-grid", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.cold_grid:
        print(json.dumps(cold_grid()))
        return 0
    colds = {"no compilation cache": cold_runs(None, args.repeats),
             "empty cache directory": cold_runs("", args.repeats)}  # fmt: skip
    with tempfile.TemporaryDirectory() as kept:
        cold_runs(kept, 1)  # fills it
        colds["cache an earlier process filled"] = cold_runs(kept, args.repeats)

    import optimizers
    from surfaces import SURFACES, mlp
    from surfaces.grid import grid_values

    surface = SURFACES["mlp_landscape"]
    grid_values(surface, GRID)
    warm = timing.times(lambda _i: grid_values(surface, GRID), args.repeats)

    t, c = time.perf_counter(), time.process_time()
    ours = optimizers.train(RACERS, steps=STEPS)
    train_cold, train_cold_cpu = time.perf_counter() - t, time.process_time() - c
    train_warm = timing.times(lambda _i: optimizers.train(RACERS, steps=STEPS), args.repeats)

    t = time.perf_counter()
    plain_loop(RACERS, STEPS)
    plain_cold = time.perf_counter() - t
    plain_warm = timing.times(lambda _i: plain_loop(RACERS, STEPS), max(1, args.repeats // 2))
    peers = [("plain per-racer loop (same step, jitted alone)", plain_warm)]
    try:
        import torch  # noqa: F401
    except ImportError:
        torch_note = "torch.optim: not importable here (it is in the Python 3.11 job)"
    else:
        torch_note = ""
        peers.append(
            (
                "torch.optim, same network and data",
                timing.times(lambda _i: torch_loop(RACERS, STEPS), args.repeats),
            )
        )

    def row(name, times):
        return f"{name:56} {statistics.median(times):8.3f} {min(times):8.3f} {max(times):8.3f}  s"

    print(f"mlp: landscape grid {GRID} x {GRID}; training {len(RACERS)} optimizers x {STEPS} steps, "
          f"{mlp.DIM} parameters, full batch; {args.repeats} repeats")  # fmt: skip
    print(f"{'':56} {'median':>8} {'min':>8} {'max':>8}")
    for name, runs in colds.items():
        print(
            row(f"landscape grid, cold: {name}", [r["wall"] for r in runs])
            + f"   (CPU {statistics.median(r['cpu'] for r in runs):.2f} s;"
            f" theta* {statistics.median(r['theta'] for r in runs):.3f} s of it)"
        )
    print(row("landscape grid, warm", warm))
    print(row("optimizers.train, cold (compile + run)", [train_cold]) + f"   (CPU {train_cold_cpu:.2f} s)")
    print(row("optimizers.train, warm", train_warm))
    print(row("plain per-racer loop, cold", [plain_cold]))
    for name, times in peers:
        print(row(name, times) + f"   {statistics.median(times) / statistics.median(train_warm):6.1f}x ours")
    if torch_note:
        print(torch_note)

    def met(seconds):
        return "met" if seconds <= BUDGET["landscape"] else "NOT met"

    print(f"budget landscape <= {BUDGET['landscape']} s: warm {met(statistics.median(warm))}; cold, "
          + "; ".join(f"{name} {met(statistics.median(r['wall'] for r in runs))}" for name, runs in colds.items()))  # fmt: skip
    verdict = "met" if statistics.median(train_warm) <= BUDGET["training"] else "NOT met"
    print(
        f"budget training <= {BUDGET['training']} s: warm {verdict}; cold {'met' if train_cold <= BUDGET['training'] else 'NOT met'}"
    )
    assert ours.train_loss.shape == (len(RACERS), STEPS + 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
