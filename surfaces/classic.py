"""Textbook test functions for optimization."""

from .base import Surface


def _quadratic(x, kappa):
    return 0.5 * (x[0] ** 2 + kappa * x[1] ** 2)


QUADRATIC = Surface(
    name="quadratic",
    title="Ill-conditioned quadratic",
    fn=_quadratic,
    dim=2,
    domain=((-10.0, 10.0), (-4.0, 4.0)),
    minima=((0.0, 0.0),),
    start=(-9.0, 3.0),
    formula=r"f(x, y) = \tfrac{1}{2}\left(x^2 + \kappa\, y^2\right)",
    description=(
        "A bowl stretched into a ravine: the condition number kappa is the ratio of its curvatures. "
        "Plain SGD zig-zags across the steep direction while crawling along the flat one; momentum "
        "and adaptive methods cut through."
    ),
    params={"kappa": 20.0},
    param_docs={"kappa": "condition number: curvature along y over curvature along x"},
)


def _rosenbrock(x):
    return (1.0 - x[0]) ** 2 + 100.0 * (x[1] - x[0] ** 2) ** 2


ROSENBROCK = Surface(
    name="rosenbrock",
    title="Rosenbrock",
    fn=_rosenbrock,
    dim=2,
    domain=((-2.0, 2.0), (-1.0, 3.0)),
    minima=((1.0, 1.0),),
    start=(-1.5, 2.0),
    formula=r"f(x, y) = (1 - x)^2 + 100\,(y - x^2)^2",
    description=(
        "A long, curved, nearly flat valley. Finding the valley is easy; following it to the "
        "minimum at (1, 1) is hard, and separates momentum and adaptive methods from plain SGD."
    ),
    log_scale=True,
)


def _beale(x):
    u, v = x[0], x[1]
    return (1.5 - u + u * v) ** 2 + (2.25 - u + u * v**2) ** 2 + (2.625 - u + u * v**3) ** 2


BEALE = Surface(
    name="beale",
    title="Beale",
    fn=_beale,
    dim=2,
    domain=((-4.5, 4.5), (-4.5, 4.5)),
    minima=((3.0, 0.5),),
    start=(-1.0, 1.5),
    formula=(r"f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2"),
    description=(
        "Flat plateaus beside walls that climb as y^6: gradients span many orders of magnitude, "
        "so a fixed learning rate is either too timid on the plateau or explodes on the walls. "
        "Adaptive methods rescale each coordinate and cope."
    ),
    log_scale=True,
)


def _parabola(x):
    return x[0] ** 2 - 4.0 * x[0] + 3.0


PARABOLA = Surface(
    name="parabola",
    title="Parabola x² − 4x + 3",
    fn=_parabola,
    dim=1,
    domain=((-1.0, 5.0),),
    minima=((2.0,),),
    start=(0.0,),
    formula=r"f(x) = x^2 - 4x + 3",
    description=(
        "Gradient descent by hand: from x = 0 with lr 0.3 the iterates are 0, 1.2, 1.68, ... "
        "Each step is smaller than the last because the slope f'(x) = 2x - 4 shrinks near x = 2."
    ),
)
