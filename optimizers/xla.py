"""XLA settings that depend on the backend and the JAX version, applied only where XLA takes them.

Two settings make races faster on XLA's CPU backend, and neither is portable:
- a backend option (`XLA_FLAGS`) that lets the CPU backend compile a whole race loop into one
  kernel; XLA reads it once, when its backend starts, so it is set at import, before any
  computation;
- per-program compile options, which a backend (or a newer XLA) may not know: XLA then refuses the
  whole program ("No such compile option"). Each option is tried once per platform on a tiny
  program, and kept only if that platform's compiler accepts it.
"""

from __future__ import annotations

import os
import threading
from importlib import metadata

SMALL_LOOP_FLAG = "xla_cpu_small_while_loop_byte_threshold"

# jaxlib versions whose XLA was measured to take `--xla_backend_extra_options` (an unknown
# `XLA_FLAGS` entry aborts the process, so an untested XLA does without the speed-up).
_EXTRA_OPTIONS_TESTED = ((0, 10), (0, 13))

__all__ = ["SMALL_LOOP_FLAG", "compile_loops_as_one_kernel", "compiler_options", "current_device"]


def _jaxlib_version() -> tuple[int, ...] | None:
    try:
        text = metadata.version("jaxlib")
    except metadata.PackageNotFoundError:
        return None
    parts = []
    for piece in text.split(".")[:2]:
        digits = "".join(c for c in piece if c.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def compile_loops_as_one_kernel(env=os.environ, jaxlib: tuple[int, ...] | None = None) -> None:
    """Let XLA's CPU backend compile a whole race loop into one kernel, unless the user chose.

    By default XLA runs a while loop op by op unless its body touches under 1 kB; a race body is a
    little larger, and then each step pays a dispatch per operation: 3-8x slower races and 2-3x
    slower compiles (see benchmarks/engine.py). Other backends ignore the option. `jaxlib` is the
    installed version (read from its metadata when not given): outside the tested range the flag is
    left out, since an XLA that dropped `--xla_backend_extra_options` would abort at start-up.
    """
    flags = env.get("XLA_FLAGS", "")
    if SMALL_LOOP_FLAG in flags:
        return
    version = _jaxlib_version() if jaxlib is None else jaxlib
    lo, hi = _EXTRA_OPTIONS_TESTED
    if version is None or not lo <= version[:2] < hi:
        return
    option = f"{SMALL_LOOP_FLAG}={1 << 30}"
    parts = flags.split()
    for i, part in enumerate(parts):
        if part.startswith("--xla_backend_extra_options="):
            parts[i] = f"{part},{option}"
            break
    else:
        parts.append(f"--xla_backend_extra_options={option}")
    env["XLA_FLAGS"] = " ".join(parts)


compile_loops_as_one_kernel()

import jax  # noqa: E402
import numpy as np  # noqa: E402

# Options worth having, per platform. XLA's newer CPU fusion emitters take twice the compile time
# on a race loop, for the same results (bit for bit) and the same speed; XLA from jaxlib 0.11 has
# no switch for them any more.
WANTED: dict[str, dict[str, object]] = {"cpu": {"xla_cpu_use_fusion_emitters": False}}

_ACCEPTED: dict[str, dict[str, object]] = {}
_LOCK = threading.Lock()


def current_device() -> jax.Device:
    """The device a computation started now runs on: `jax.default_device`'s, else the first of the
    default backend."""
    chosen = jax.config.jax_default_device
    if chosen is None:
        return jax.devices()[0]
    if isinstance(chosen, str):
        return jax.devices(chosen)[0]
    return chosen


def _probe(x):
    return x + 1.0


def compiler_options(device: jax.Device | None = None) -> dict[str, object]:
    """The compile options of `WANTED` that the device's compiler accepts (tried once per platform)."""
    device = current_device() if device is None else device
    platform = device.platform
    with _LOCK:
        known = _ACCEPTED.get(platform)
    if known is not None:
        return known
    accepted = {}
    for name, value in WANTED.get(platform, {}).items():
        try:
            with jax.default_device(device):
                jax.jit(_probe, compiler_options={name: value}).lower(np.float64(0.0)).compile()
        except jax.errors.JaxRuntimeError:
            continue
        accepted[name] = value
    with _LOCK:
        return _ACCEPTED.setdefault(platform, accepted)
