"""Surfaces defined by a data set: the loss of a model as a function of its parameters."""

import jax.numpy as jnp
import numpy as np

from .base import Dataset, Surface

_N = 64


def _line_data() -> tuple[np.ndarray, np.ndarray]:
    """64 points near the line y = 1.5 x - 1, with fixed trigonometric "noise".

    Built from linspace, sin and cos rather than a random generator, so the data (and hence the
    minimum) do not depend on any RNG's version. The features x span [-1, 3], off-centre on
    purpose: slope and intercept are then correlated and the loss is a tilted, elongated bowl.
    """
    i = np.arange(_N, dtype=np.float64)
    x = np.linspace(-1.0, 3.0, _N)
    noise = 0.5 * np.sin(2.3 * i * i + 0.7) + 0.3 * np.cos(5.1 * i)
    y = 1.5 * x - 1.0 + noise
    X = np.stack([x, np.ones_like(x)], axis=1)  # the column of ones carries the intercept b
    return X, y


def _mse(theta, X, y):
    r = X @ theta - y
    return jnp.mean(r * r)


_X, _Y = _line_data()
LINE_DATA = Dataset(X=_X, y=_Y, loss=_mse)
_OLS = tuple(float(v) for v in np.linalg.lstsq(_X, _Y, rcond=None)[0])


def _least_squares(x):
    # numpy constants, not jnp: creating a jax array at import would start XLA's backend before
    # optimizers.engine sets its flags (see engine.compile_loops_as_one_kernel).
    return _mse(x, _X, _Y)


LEAST_SQUARES = Surface(
    name="least_squares",
    variables=("w", "b"),  # the fitted line's slope and intercept
    title="Least squares (linear regression)",
    fn=_least_squares,
    dim=2,
    domain=((-1.5, 4.5), (-4.0, 2.0)),
    minima=(_OLS,),
    start=(-1.0, 1.5),
    formula=r"L(w, b) = \frac{1}{N}\sum_{i=1}^{N} \left(w\,x_i + b - y_i\right)^2,\quad N = 64",
    description=(
        "Fitting a line y = w x + b to 64 points: the parameters are the axes and the loss is the mean "
        "squared error. Full-batch gradient descent glides to the least-squares solution; with a "
        "batch size, each step sees only a random mini-batch of rows, so the path jitters around it "
        "as in real SGD training."
    ),
    data=LINE_DATA,
)
