"""Textbook test functions with a single basin of interest: bowls, valleys and plateaus."""

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
    # On the line x = 0 the function is constant, so (0, 1) is a saddle with a flat ridge through it.
    saddles=((0.0, 1.0), (0.10053793732415836, -2.644513585023125)),
    start=(1.0, 1.5),
    formula=r"f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
    description=(
        "Flat plateaus beside walls that climb as y^6: gradients span many orders of magnitude, "
        "so a fixed learning rate is either too timid on the plateau or explodes on the walls. "
        "Adaptive methods rescale each coordinate and cope."
    ),
    log_scale=True,
)


def _booth(x):
    return (x[0] + 2.0 * x[1] - 7.0) ** 2 + (2.0 * x[0] + x[1] - 5.0) ** 2


BOOTH = Surface(
    name="booth",
    title="Booth",
    fn=_booth,
    dim=2,
    domain=((-10.0, 10.0), (-10.0, 10.0)),
    minima=((1.0, 3.0),),
    start=(-8.0, -6.0),
    formula=r"f(x, y) = (x + 2y - 7)^2 + (2x + y - 5)^2",
    description=(
        "A tilted convex bowl (curvatures 2 and 18, condition number 9): every method converges, so "
        "it shows pure speed and the cost of a learning rate tuned for the steep direction."
    ),
    log_scale=True,
)


def _goldstein_price(x):
    u, v = x[0], x[1]
    a = 1.0 + (u + v + 1.0) ** 2 * (19.0 - 14.0 * u + 3.0 * u**2 - 14.0 * v + 6.0 * u * v + 3.0 * v**2)
    b = 30.0 + (2.0 * u - 3.0 * v) ** 2 * (
        18.0 - 32.0 * u + 12.0 * u**2 + 48.0 * v - 36.0 * u * v + 27.0 * v**2
    )
    return a * b


GOLDSTEIN_PRICE = Surface(
    name="goldstein_price",
    title="Goldstein–Price",
    fn=_goldstein_price,
    dim=2,
    domain=((-2.0, 2.0), (-2.0, 2.0)),
    minima=((0.0, -1.0),),
    # Every stationary point has coordinates in fifths (checked exactly with sympy): these decimals
    # are the points themselves, rounded to float64.
    local_minima=((-0.6, -0.4), (1.8, 0.2), (1.2, 0.8)),
    saddles=((-0.4, -0.6), (1.2, -0.2), (1.4, 0.6), (0.6, 0.4)),
    start=(-1.5, -1.2),
    formula=(
        r"f(x, y) = \big[1 + (x + y + 1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)\big]"
        r"\big[30 + (2x - 3y)^2 (18 - 32x + 12x^2 + 48y - 36xy + 27y^2)\big]"
    ),
    description=(
        "Values from 3 to about a million, with a narrow valley and three local minima (30, 84, 840) "
        "beside the global one (3 at (0, -1)): which basin a racer ends in depends on its start and "
        "its step size, and unnormalised methods need a tiny learning rate to survive the walls."
    ),
    log_scale=True,
)
