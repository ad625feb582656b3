"""The loss surfaces that optimizers race across.

`SURFACES` maps each key to a `Surface`. Every surface is a pure jnp function of a point
x of shape `(dim,)`, differentiable with `jax.grad`, plus its domain, minima, default start, LaTeX
formula and a sentence on what it teaches.
"""

import sys

import jax

jax.config.update("jax_enable_x64", True)

from .base import Dataset, Surface, short_repr  # noqa: E402
from .catalogue import SURFACES  # noqa: E402
from .formula_surface import FormulaSurface, from_formula  # noqa: E402
from .theory import theory  # noqa: E402

__all__ = [
    "SURFACES",
    "Surface",
    "Dataset",
    "FormulaSurface",
    "from_formula",
    "get",
    "PLUGIN_PROBLEMS",
    "theory",
]


def get(name_or_surface) -> Surface:
    """A surface by key (or the surface itself); ValueError naming the known keys otherwise."""
    if isinstance(name_or_surface, Surface):
        return name_or_surface
    try:
        return SURFACES[name_or_surface]
    except (KeyError, TypeError):
        known = ", ".join(sorted(SURFACES))
        raise ValueError(f"surface: unknown surface {short_repr(name_or_surface)}; known: {known}") from None


# Last: a plug-in's module imports this package (surfaces.Surface), which is complete by now. While
# `optimizers` is importing (it imports this package first), the plug-ins load at its end instead:
# a plug-in's module may import both packages.
from .plugins import PROBLEMS as PLUGIN_PROBLEMS  # noqa: E402
from .plugins import load_surfaces  # noqa: E402

load_surfaces(SURFACES, now=getattr(sys.modules.get("optimizers"), "PLUGINS_PENDING", False) is not True)
