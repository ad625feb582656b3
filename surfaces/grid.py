"""Surface values on a grid and gradients at many points, jitted once per surface per process.

The app draws contours from these for every session; compiling them once (not per session) is why
they live here and not in app code.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from .base import Surface

__all__ = ["grid_values", "gradients", "values", "forget"]

_CACHE: dict[tuple, object] = {}
_LOCK = threading.Lock()
# Typed formulas add surfaces at run time: their entries go when `forget` is told the formula left
# the formula cache, and this cap holds even if one is drawn after that (catalogue: 2 per surface).
_KEPT = 160
_CHUNK = 256


def _jitted(surface: Surface, kind: str):
    key = (surface, kind)
    with _LOCK:
        fn = _CACHE.get(key)
        if fn is None:
            one = (
                (lambda x, sp: surface.fn(x, **sp))
                if kind == "value"
                else jax.grad(lambda x, sp: surface.fn(x, **sp))
            )
            # In chunks of _CHUNK points rather than one vmap over all of them: a surface that is a
            # network's loss (mlp_landscape) holds every point's activations at once under a plain
            # vmap (about half a gigabyte per layer for 240 x 240), and ran 3x slower for the memory traffic.
            fn = jax.jit(lambda pts, sp, one=one: jax.lax.map(lambda x: one(x, sp), pts, batch_size=_CHUNK))
            while len(_CACHE) >= _KEPT:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = fn
    return fn


def forget(surface: Surface) -> None:
    """Drop the compiled functions of a surface (a typed formula no longer cached)."""
    with _LOCK:
        for key in [k for k in _CACHE if k[0] == surface]:
            del _CACHE[key]


def _sp(surface: Surface, params: Mapping[str, float] | None) -> dict:
    return {k: jnp.asarray(v, dtype=jnp.float64) for k, v in {**surface.params, **(params or {})}.items()}


def grid_values(surface: Surface, n: int = 200, params: Mapping[str, float] | None = None):
    """(axes, values) over the surface's domain: for 2D, values[i, j] = f(x_j, y_i); for 1D, f(x_j)."""
    axes = [np.linspace(lo, hi, n) for lo, hi in surface.domain]
    if surface.dim == 1:
        pts = axes[0][:, None]
    else:
        X, Y = np.meshgrid(axes[0], axes[1])
        pts = np.stack([X.ravel(), Y.ravel()], axis=-1)
    vals = np.asarray(_jitted(surface, "value")(jnp.asarray(pts), _sp(surface, params)))
    return axes, vals.reshape((n, n) if surface.dim == 2 else (n,))


def gradients(surface: Surface, points, params: Mapping[str, float] | None = None) -> np.ndarray:
    """The gradient of f at each point of `points` (..., dim)."""
    return _at(surface, points, params, "grad")


def values(surface: Surface, points, params: Mapping[str, float] | None = None) -> np.ndarray:
    """f at each point of `points` (..., dim)."""
    return _at(surface, points, params, "value")


def _at(surface: Surface, points, params: Mapping[str, float] | None, kind: str) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    flat = pts.reshape(-1, surface.dim)
    n = flat.shape[0]
    # Pad to a power of two so varying point counts share a handful of compiled shapes.
    m = 64
    while m < n:
        m *= 2
    padded = np.concatenate([flat, np.zeros((m - n, surface.dim))]) if m > n else flat
    out = np.asarray(_jitted(surface, kind)(jnp.asarray(padded), _sp(surface, params)))[:n]
    return out.reshape(pts.shape if kind == "grad" else pts.shape[:-1])
