"""Closed-form theory of first-order methods on the quadratic f = ½(x² + κy²).

The Hessian is diag(1, κ): its eigenvalues are the curvatures μ (the smaller) and L (the larger),
and its eigen-directions are the coordinate axes. On such a function gradient descent and the
heavy ball are linear maps, so their rates of convergence are known exactly:

- gradient descent with step η shrinks the error along an eigen-direction with curvature λ by
  |1 − ηλ| per step; the best step is η = 2/(μ + L), with rate (κ − 1)/(κ + 1); steps above 2/L
  diverge (Polyak, "Introduction to Optimization", 1987, §1.4);
- the heavy ball θ_{t+1} = θ_t − α∇f(θ_t) + β(θ_t − θ_{t−1}) with α = 4/(√L + √μ)² and
  β = ((√κ − 1)/(√κ + 1))² has rate (√κ − 1)/(√κ + 1) (Polyak 1964, "Some methods of speeding up the
  convergence of iteration methods"; Goh, "Why Momentum Really Works", Distill 2017).

A rate ρ is the factor by which the error θ − θ* shrinks per step (asymptotically). The loss of a
quadratic is a quadratic form of the error, so it shrinks by ρ² per step: loss_t ≈ loss_0 ρ^(2t).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .base import Surface, short_repr

__all__ = ["theory", "has_theory", "curvatures", "eigen_directions", "linear_rate"]

# Surfaces with a theory: name -> the curvatures (μ, L) of their Hessian given the shape parameters.
_CURVATURES = {"quadratic": lambda p: (1.0, float(p["kappa"]))}


def has_theory(surface) -> bool:
    """Whether `theory(surface)` has closed forms for this surface (the quadratic only)."""
    return getattr(surface, "name", surface) in _CURVATURES


def _surface(surface) -> Surface:
    from . import get  # the package's lookup, with its message naming the known surfaces

    return get(surface)


def curvatures(surface, **params) -> tuple[float, float]:
    """(μ, L): the smallest and the largest curvature of the surface's Hessian. ValueError for a
    surface without a theory or shape parameters that do not make it strongly convex."""
    s = _surface(surface)
    if s.name not in _CURVATURES:
        known = ", ".join(sorted(_CURVATURES))
        raise ValueError(
            f"theory: {s.name} has no closed-form theory (its curvature is not constant); surfaces with one: {known}"
        )
    given = s.checked_params({k: v for k, v in params.items() if v is not None})
    values = {**s.params, **given}
    a, b = _CURVATURES[s.name](values)
    if not (a > 0 and b > 0):
        shown = ", ".join(f"{k} = {short_repr(v)}" for k, v in given.items()) or "the defaults"
        raise ValueError(f"theory: {s.name} with {shown} is not strongly convex; kappa must be > 0")
    return (min(a, b), max(a, b))


def theory(surface, **params) -> dict[str, float]:
    """Optimal settings and rates of gradient descent and the heavy ball on `surface` (the
    quadratic; shape parameters such as kappa by keyword). Keys: lr_limit (2/L), lr_gd (2/(μ+L)),
    rate_gd ((κ−1)/(κ+1)), lr_heavy_ball (4/(√L+√μ)²), momentum_heavy_ball (((√κ−1)/(√κ+1))²),
    rate_heavy_ball ((√κ−1)/(√κ+1)), and mu, L, kappa (= L/μ). ValueError for other surfaces."""
    mu, L = curvatures(surface, **params)
    kappa = L / mu
    root = math.sqrt(kappa)
    hb = (root - 1.0) / (root + 1.0)
    return {
        "lr_limit": 2.0 / L,
        "lr_gd": 2.0 / (mu + L),
        "rate_gd": (kappa - 1.0) / (kappa + 1.0),
        "lr_heavy_ball": 4.0 / (math.sqrt(L) + math.sqrt(mu)) ** 2,
        "momentum_heavy_ball": hb**2,
        "rate_heavy_ball": hb,
        "mu": mu,
        "L": L,
        "kappa": kappa,
    }


def eigen_directions(surface, **params) -> tuple[tuple[tuple[float, float], float, str], ...]:
    """The Hessian's eigen-directions as (unit direction, curvature, name): the flat one (μ) first."""
    mu, L = curvatures(surface, **params)
    s = _surface(surface)
    kappa = float({**s.params, **{k: v for k, v in params.items() if v is not None}}["kappa"])
    flat, steep = ((1.0, 0.0), (0.0, 1.0)) if kappa >= 1 else ((0.0, 1.0), (1.0, 0.0))
    return ((flat, mu, "μ"), (steep, L, "L"))


def linear_rate(
    lr: float, momentum: float, curvature: Mapping | tuple[float, ...], nesterov: bool = False
) -> float:
    """The exact asymptotic rate (spectral radius of the iteration) of the heavy ball (momentum = 0:
    gradient descent) or of Nesterov's method, with step `lr` and momentum `momentum`, on a quadratic
    whose Hessian has the eigenvalues `curvature`. Per eigenvalue λ the error (e_t, e_{t−1}) evolves
    by a 2×2 matrix; the slowest direction sets the rate. A rate ≥ 1 means no convergence."""
    lams = list(curvature.values()) if isinstance(curvature, Mapping) else list(curvature)
    worst = 0.0
    for lam in lams:
        a = 1.0 - lr * lam
        if nesterov:
            # Sutskever's form: v' = βv − ηλ(e + βv), e' = e + v' (e the error, v the velocity).
            M = np.array([[a, momentum * a], [-lr * lam, momentum * a]])
        else:
            # e_{t+1} = (1 + β − ηλ) e_t − β e_{t−1}
            M = np.array([[a + momentum, -momentum], [1.0, 0.0]])
        worst = max(worst, float(np.max(np.abs(np.linalg.eigvals(M)))))
    return worst
