"""The catalogue: every surface with its key. Explicit, so nothing is discovered by magic."""

from .classic import BEALE, BOOTH, GOLDSTEIN_PRICE, QUADRATIC, ROSENBROCK
from .data import LEAST_SQUARES
from .mlp import MLP_LANDSCAPE
from .multimodal import ACKLEY, HIMMELBLAU, RASTRIGIN, SIX_HUMP_CAMEL
from .teaching import DOUBLE_WELL_1D, PARABOLA, SADDLE, TWO_BASINS

SURFACES = {
    s.name: s
    for s in (
        QUADRATIC,
        ROSENBROCK,
        BEALE,
        PARABOLA,
        SADDLE,
        HIMMELBLAU,
        RASTRIGIN,
        ACKLEY,
        GOLDSTEIN_PRICE,
        BOOTH,
        SIX_HUMP_CAMEL,
        TWO_BASINS,
        DOUBLE_WELL_1D,
        LEAST_SQUARES,
        MLP_LANDSCAPE,
    )
}
