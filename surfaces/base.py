"""The `Surface` type: an objective, its minima, its domain and how to draw it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import jax.numpy as jnp
import numpy as np

__all__ = ["Surface", "Dataset", "short_repr"]


def short_repr(value: Any) -> str:
    """A value quoted in a message: short whatever it is (surfaces load before the optimizers)."""
    if isinstance(value, (str, float, bool, type(None))) or (
        isinstance(value, int) and value.bit_length() < 128
    ):
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "..."
    if isinstance(value, int):
        return f"<an integer of {value.bit_length()} bits>"
    return f"<a {type(value).__name__}>"


@dataclass(frozen=True, eq=False)
class Dataset:
    """A fixed data set for data surfaces (least squares): rows of features and targets.

    `loss(x, X, y)` is the mean loss over the given rows; the surface's `f` is it over all rows, and
    a race with `batch_size` takes its gradient over seeded mini-batches of rows.
    """

    X: np.ndarray
    y: np.ndarray
    loss: Callable[[Any, Any, Any], Any]

    @property
    def n(self) -> int:
        return int(self.X.shape[0])


@dataclass(frozen=True, eq=False)
class Surface:
    """A loss surface: a pure jnp function of x (shape `(dim,)`) plus its metadata.

    `fn(x, **params)` is the objective; `params` holds the defaults of its shape parameters (such
    as the quadratic's condition number), which a race may override as traced values.
    Surfaces compare and hash by identity, so each one keys its own compiled programs.
    """

    name: str
    title: str
    fn: Callable[..., Any]
    dim: int
    domain: tuple[tuple[float, float], ...]
    minima: tuple[tuple[float, ...], ...]
    start: tuple[float, ...]
    formula: str
    description: str
    local_minima: tuple[tuple[float, ...], ...] = ()
    saddles: tuple[tuple[float, ...], ...] = ()
    log_scale: bool = False
    params: Mapping[str, float] = field(default_factory=dict)
    param_docs: Mapping[str, str] = field(default_factory=dict)
    data: Dataset | None = None
    bound_factor: float = 1e3
    variables: tuple[str, ...] = ("x", "y")  # the coordinates' names, for axes and hover (first `dim`)
    minimum_label: str = "global minimum"  # "estimated minimum" where the minima are not exact
    # What one gradient here costs, in gradients of a closed-form surface: the engine's bounds on
    # vmapped work (basin maps, sweeps, maps) divide by it, so no request is costlier than theirs.
    cost: float = 1.0

    def checked_params(self, values: Any) -> dict[str, float]:
        """Validate overrides of the shape parameters: a mapping of this surface's parameter names
        to finite numbers. Raises ValueError naming `surface_params` and the parameter otherwise."""
        if values is None:
            return {}
        if not isinstance(values, Mapping):
            raise ValueError(
                f"surface_params: give a mapping of parameter names to numbers, e.g. {{'kappa': 100}}, "
                f"not a {type(values).__name__}"
            )
        allowed = ", ".join(self.params) or "none"
        out = {}
        for k, v in values.items():
            if not isinstance(k, str) or k not in self.params:
                raise ValueError(
                    f"surface_params: {self.name} has no parameter {short_repr(k)}; allowed: {allowed}"
                )
            if isinstance(v, (bool, np.bool_, np.ndarray)) or (isinstance(v, str) and len(v) > 100):
                raise ValueError(f"surface_params: {k} = {short_repr(v)} is not a number")
            try:
                x = float(v)
            except (TypeError, ValueError, OverflowError):
                raise ValueError(f"surface_params: {k} = {short_repr(v)} is not a number") from None
            if not np.isfinite(x):
                raise ValueError(f"surface_params: {k} = {short_repr(v)} must be finite")
            out[k] = x
        return out

    def f(self, x, **params) -> Any:
        """The objective at x with the default shape parameters (overridable by keyword)."""
        return self.fn(jnp.asarray(x, dtype=jnp.float64), **{**self.params, **params})

    @property
    def center(self) -> tuple[float, ...]:
        return tuple(0.5 * (lo + hi) for lo, hi in self.domain)

    @property
    def bound(self) -> float:
        """Distance from the domain's centre beyond which a racer counts as diverged.

        Far outside anything drawn, so only runaway racers hit it (lr = 1e6 on Rosenbrock does).
        """
        half = max(0.5 * (hi - lo) for lo, hi in self.domain)
        return self.bound_factor * half

    @cached_property
    def min_value(self) -> float:
        """f at the global minima (they share one value). Cached: a JAX call each time was 8% of a
        loaded server's time (the leaderboard asks for it twice a second per session)."""
        return float(self.f(jnp.asarray(self.minima[0])))

    def nearest_minimum(self, x) -> tuple[np.ndarray, np.ndarray]:
        """For points x (..., dim): the nearest global minimum and the distance to it."""
        x = np.asarray(x, dtype=np.float64)
        m = np.asarray(self.minima, dtype=np.float64)  # (k, dim)
        d = np.linalg.norm(x[..., None, :] - m, axis=-1)  # (..., k)
        i = np.argmin(d, axis=-1)
        return m[i], np.take_along_axis(d, i[..., None], axis=-1)[..., 0]
