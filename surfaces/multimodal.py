"""Multimodal test functions: several minima, and the start decides which one a racer finds.

Stationary points that are not on simple grid points were solved to 50 digits and rounded to
float64; the tests check that a Newton step from each moves it by no more than rounding.
"""

import jax.numpy as jnp

from .base import Surface


def _himmelblau(x):
    return (x[0] ** 2 + x[1] - 11.0) ** 2 + (x[0] + x[1] ** 2 - 7.0) ** 2


HIMMELBLAU = Surface(
    name="himmelblau",
    title="Himmelblau",
    fn=_himmelblau,
    dim=2,
    domain=((-5.0, 5.0), (-5.0, 5.0)),
    minima=(
        (3.0, 2.0),
        (-2.805118086952745, 3.131312518250573),
        (-3.779310253377747, -3.2831859912861696),
        (3.5844283403304917, -1.8481265269644036),
    ),
    # One saddle on each ridge between neighbouring basins.
    saddles=(
        (3.385154183607021, 0.07385187983774928),
        (0.08667750455539636, 2.884254701174776),
        (-3.0730257507643897, -0.08135304428796751),
        (-0.12796134673068008, -1.9537149802445763),
    ),
    start=(0.0, 0.0),
    formula=r"f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2",
    description=(
        "Four global minima, all with value 0, around a central peak. Every racer finds a minimum, "
        "but which one depends on its path: from the same start, different optimizers (or learning "
        "rates) end in different basins."
    ),
    log_scale=True,
)


def _rastrigin(x):
    a = 10.0
    return a * x.shape[0] + jnp.sum(x**2 - a * jnp.cos(2.0 * jnp.pi * x))


# Per coordinate, the stationary points solve x + 10 pi sin(2 pi x) = 0: minima near the integers,
# maxima near the half-integers.
_R_MIN = 0.9949586376523348
_R_MAX = 0.5025460365546747

RASTRIGIN = Surface(
    name="rastrigin",
    title="Rastrigin",
    fn=_rastrigin,
    dim=2,
    domain=((-5.12, 5.12), (-5.12, 5.12)),
    minima=((0.0, 0.0),),
    # The nearest ring of the egg-box: values about 0.995 on the axes and 1.99 on the diagonals.
    local_minima=(
        (_R_MIN, 0.0),
        (0.0, _R_MIN),
        (-_R_MIN, 0.0),
        (0.0, -_R_MIN),
        (_R_MIN, _R_MIN),
        (-_R_MIN, _R_MIN),
        (-_R_MIN, -_R_MIN),
        (_R_MIN, -_R_MIN),
    ),
    saddles=((_R_MAX, 0.0), (0.0, _R_MAX), (-_R_MAX, 0.0), (0.0, -_R_MAX)),
    start=(-3.6, 2.9),
    formula=r"f(\mathbf{x}) = 10\,n + \sum_{i=1}^{n} \left(x_i^2 - 10\cos(2\pi x_i)\right),\quad n = 2",
    description=(
        "A bowl covered in an egg-box of over a hundred local minima. Plain gradient descent stops "
        "in the nearest dimple; momentum, noise and large steps can hop across several before "
        "settling. Reaching the global minimum at the origin is luck more than skill."
    ),
)


def _ackley(x):
    r2 = 0.5 * jnp.sum(x**2)
    # The cone term is not differentiable at the origin; 0 is a subgradient there. The double
    # `where` keeps the untaken branch finite, so jax.grad gives exactly 0 at the minimum and the
    # usual derivative everywhere else.
    pos = r2 > 0.0
    r = jnp.where(pos, jnp.sqrt(jnp.where(pos, r2, 1.0)), 0.0)
    waves = 0.5 * jnp.sum(jnp.cos(2.0 * jnp.pi * x))
    return -20.0 * jnp.exp(-0.2 * r) - jnp.exp(waves) + jnp.e + 20.0


_A_AXIS = 0.9521665459501717
_A_DIAG = 0.9684776587077244
_A_SADDLE = 0.6257806168564638

ACKLEY = Surface(
    name="ackley",
    title="Ackley",
    fn=_ackley,
    dim=2,
    domain=((-5.0, 5.0), (-5.0, 5.0)),
    minima=((0.0, 0.0),),
    local_minima=(
        (_A_AXIS, 0.0),
        (0.0, _A_AXIS),
        (-_A_AXIS, 0.0),
        (0.0, -_A_AXIS),
        (_A_DIAG, _A_DIAG),
        (-_A_DIAG, _A_DIAG),
        (-_A_DIAG, -_A_DIAG),
        (_A_DIAG, -_A_DIAG),
    ),
    saddles=((_A_SADDLE, 0.0), (0.0, _A_SADDLE), (-_A_SADDLE, 0.0), (0.0, -_A_SADDLE)),
    start=(-4.5, 2.5),
    formula=(r"f(x, y) = -20\,e^{-0.2\sqrt{(x^2 + y^2)/2}} - e^{(\cos 2\pi x + \cos 2\pi y)/2} + e + 20"),
    description=(
        "A nearly flat, rippled plain around a sharp funnel at the origin. Far out the ripples trap "
        "plain gradient descent in a local minimum; near the centre the cone's slope is the same "
        "size at every distance, so fixed-step methods rattle around the tip."
    ),
)


def _six_hump_camel(x):
    u, v = x[0], x[1]
    return (4.0 - 2.1 * u**2 + u**4 / 3.0) * u**2 + u * v + (-4.0 + 4.0 * v**2) * v**2


SIX_HUMP_CAMEL = Surface(
    name="six_hump_camel",
    title="Six-hump camel",
    fn=_six_hump_camel,
    dim=2,
    domain=((-2.0, 2.0), (-1.0, 1.0)),
    minima=((0.08984201310031806, -0.7126564030207396), (-0.08984201310031806, 0.7126564030207396)),
    local_minima=(
        (1.703606714969981, -0.7960835686726251),
        (-1.703606714969981, 0.7960835686726251),
        (1.6071047529201972, 0.5686514548841314),
        (-1.6071047529201972, -0.5686514548841314),
    ),
    # The origin separates the two global minima; the others separate global from local basins.
    saddles=(
        (0.0, 0.0),
        (1.1092053368047865, -0.7682680925095399),
        (-1.1092053368047865, 0.7682680925095399),
    ),
    start=(-1.9, -0.45),
    formula=r"f(x, y) = \left(4 - 2.1x^2 + \tfrac{x^4}{3}\right)x^2 + xy + (4y^2 - 4)\,y^2",
    description=(
        "Two global minima, mirror images of each other, and four local ones on the flanks: six "
        "humps in all. Small changes of start or learning rate send a racer to a different basin."
    ),
)
