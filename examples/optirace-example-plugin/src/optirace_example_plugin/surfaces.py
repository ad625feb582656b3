"""The three-hump camel function as an OptiRace surface."""

from surfaces import Surface


def _three_hump_camel(x):
    return 2.0 * x[0] ** 2 - 1.05 * x[0] ** 4 + x[0] ** 6 / 6.0 + x[0] * x[1] + x[1] ** 2


# Stationary points lie on y = -x/2 with x (3.5 - 4.2 x^2 + x^4) = 0: x^2 = 2.1 +- sqrt(0.91).
_X_MIN, _X_SADDLE = 1.7475523458302888, 1.07054229182366

THREE_HUMP_CAMEL = Surface(
    name="three_hump_camel",
    title="Three-hump camel",
    fn=_three_hump_camel,
    dim=2,
    domain=((-5.0, 5.0), (-5.0, 5.0)),
    minima=((0.0, 0.0),),
    local_minima=((_X_MIN, -_X_MIN / 2), (-_X_MIN, _X_MIN / 2)),
    saddles=((_X_SADDLE, -_X_SADDLE / 2), (-_X_SADDLE, _X_SADDLE / 2)),
    start=(2.5, -2.0),
    formula=r"f(x, y) = 2x^2 - 1.05x^4 + \frac{x^6}{6} + xy + y^2",
    description=(
        "Three humps along a valley: the global minimum 0 at the origin between two local minima of "
        "value 0.2986. Source: Surjanovic & Bingham, Virtual Library of Simulation Experiments "
        "(three-hump camel function), after Dixon & Szegö (1978)."
    ),
    log_scale=True,
)
