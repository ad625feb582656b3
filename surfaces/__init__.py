"""The loss surfaces that optimizers race across.

`SURFACES` maps each key to a `Surface`. Every surface is a pure jnp function of a point
x of shape `(dim,)`, differentiable with `jax.grad`, plus its domain, minima, default start, LaTeX
formula and a sentence on what it teaches.
"""

import jax

jax.config.update("jax_enable_x64", True)

from .base import Dataset, Surface, short_repr  # noqa: E402
from .catalogue import SURFACES  # noqa: E402
from .theory import theory  # noqa: E402

__all__ = ["SURFACES", "Surface", "Dataset", "get", "theory"]


def get(name_or_surface) -> Surface:
    """A surface by key (or the surface itself); ValueError naming the known keys otherwise."""
    if isinstance(name_or_surface, Surface):
        return name_or_surface
    try:
        return SURFACES[name_or_surface]
    except (KeyError, TypeError):
        known = ", ".join(sorted(SURFACES))
        raise ValueError(f"surface: unknown surface {short_repr(name_or_surface)}; known: {known}") from None
