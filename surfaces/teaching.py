"""Small surfaces built to show one idea each: a step by hand, a saddle, a trap."""

from .base import Surface


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


def _saddle(x):
    return x[0] ** 2 + 0.25 * x[1] ** 4 - 0.5 * x[1] ** 2


SADDLE = Surface(
    name="saddle",
    title="Saddle point",
    fn=_saddle,
    dim=2,
    domain=((-3.0, 3.0), (-2.0, 2.0)),
    minima=((0.0, 1.0), (0.0, -1.0)),
    saddles=((0.0, 0.0),),
    # A hair off the saddle's stable manifold (the x axis): gradient descent at a small learning
    # rate rolls to the saddle and sits there; the unstable direction only grows by (1 + lr) a step.
    start=(-2.5, 1e-4),
    formula=r"f(x, y) = x^2 + \tfrac{1}{4}y^4 - \tfrac{1}{2}y^2",
    description=(
        "A saddle at the origin between two minima at (0, ±1). Started almost on the ridge, plain "
        "gradient descent slides to the saddle, where the gradient vanishes, and stalls; momentum "
        "and gradient noise amplify the tiny sideways component and escape."
    ),
)


def _two_basins(x):
    return (x[0] ** 2 - 4.0) ** 2 / 16.0 + 0.5 * x[0] + x[1] ** 2


# Along y = 0 the stationary points solve x^3 - 4x + 2 = 0 (50-digit roots rounded to float64).
_TB_GLOBAL = -2.2143197433775352
_TB_LOCAL = 1.6751308705666461
_TB_RIDGE = 0.5391888728108891

TWO_BASINS = Surface(
    name="two_basins",
    title="Two basins",
    fn=_two_basins,
    dim=2,
    domain=((-4.0, 4.0), (-3.0, 3.0)),
    minima=((_TB_GLOBAL, 0.0),),
    local_minima=((_TB_LOCAL, 0.0),),
    saddles=((_TB_RIDGE, 0.0),),
    start=(3.5, 2.0),
    formula=r"f(x, y) = \tfrac{1}{16}\left(x^2 - 4\right)^2 + \tfrac{1}{2}x + y^2",
    description=(
        "A shallow basin (f ≈ 0.93) on the starting side and a deep one (f ≈ -1.06) beyond a low "
        "ridge. Gradient descent rolls into the first basin and stays; momentum carries enough "
        "speed over the ridge to reach the global minimum."
    ),
)


def _double_well(x):
    # f'(x) = (x + 1)(x - 1/2)(x - 3/2): minima at -1 and 3/2, a maximum at 1/2.
    return x[0] ** 4 / 4.0 - x[0] ** 3 / 3.0 - 0.625 * x[0] ** 2 + 0.75 * x[0]


DOUBLE_WELL_1D = Surface(
    name="double_well_1d",
    title="Tilted double well (1D)",
    fn=_double_well,
    dim=1,
    domain=((-2.0, 2.75),),
    minima=((-1.0,),),
    local_minima=((1.5,),),
    start=(2.5,),
    formula=r"f(x) = \tfrac{1}{4}x^4 - \tfrac{1}{3}x^3 - \tfrac{5}{8}x^2 + \tfrac{3}{4}x",
    description=(
        "The simplest non-convex loss: a local minimum at x = 1.5 (f = -9/64) and the global one at "
        "x = -1 (f = -19/24), separated by a bump at x = 1/2. Where a racer ends depends on its "
        "learning rate and momentum, not only on where it starts."
    ),
)
