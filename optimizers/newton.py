"""Damped Newton's method with the exact Hessian: `newton`."""

import jax.numpy as jnp

from . import hparams as H
from .spec import HParam, Optimizer


def newton_update(p, g, state, hp, ctx):
    r"""Damped Newton: solve with the exact Hessian, shifted by damping * I.

    .. math:: \theta_t = \theta_{t-1} - \eta\,\left(\nabla^2 f(\theta_{t-1}) + \mu I\right)^{-1} g_t

    Source: Newton-Raphson applied to the gradient; the damping is Levenberg's (1944) shift.
    Convention: the Hessian is exact (autodiff, never finite differences) and noise-free; g is the
    observed gradient. With lr = 1 and damping = 0 a quadratic is solved in one step whatever its
    conditioning. Newton heads for any stationary point, saddles included; where H + mu I is
    singular the solve gives inf or NaN and the racer is flagged as diverged.
    """
    h = ctx.hess(p) + hp["damping"] * jnp.eye(p.shape[0], dtype=p.dtype)
    return p - ctx.lr * jnp.linalg.solve(h, g), state


NEWTON = Optimizer(
    name="newton",
    title="Newton (damped)",
    hparams=(
        H.lr(1.0, lo=1e-3, hi=1.0),
        HParam(
            "damping",
            0.0,
            0.0,
            100.0,
            symbol=r"\mu",
            doc="added to the Hessian's diagonal (Levenberg damping)",
            min=0.0,
        ),
    ),
    init=lambda p, hp: {},
    update=newton_update,
    latex=r"\theta_t = \theta_{t-1} - \eta\,\left(\nabla^2 f(\theta_{t-1}) + \mu I\right)^{-1}\nabla f(\theta_{t-1})",
    source="Newton-Raphson; Levenberg 1944 (damping)",
    convention="Exact Hessian by autodiff; singular H + mu I gives non-finite steps, flagged as diverged.",
)

ALL = (NEWTON,)
