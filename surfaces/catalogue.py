"""The catalogue: every surface with its key. Explicit, so nothing is discovered by magic."""

from .classic import BEALE, PARABOLA, QUADRATIC, ROSENBROCK

SURFACES = {s.name: s for s in (QUADRATIC, ROSENBROCK, BEALE, PARABOLA)}
