"""The catalogue: every surface with its key. Explicit, so nothing is discovered by magic."""

from .classic import PARABOLA, QUADRATIC, ROSENBROCK

SURFACES = {s.name: s for s in (QUADRATIC, ROSENBROCK, PARABOLA)}
