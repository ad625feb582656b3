"""Adadelta: steps in the units of theta, from two running averages (torch.optim.Adadelta)."""

import jax.numpy as jnp

from . import hparams as H
from .common import ema_sq, torch_grad
from .spec import HParam, Optimizer

__all__ = ["ADADELTA", "adadelta_init", "adadelta_update"]


def adadelta_init(p, hp):
    z = jnp.zeros_like(p)
    return {"square_avg": z, "acc_delta": z}


def adadelta_update(p, g, state, hp, ctx):
    r"""torch.optim.Adadelta, with weight decay, maximize and torch's lr multiplier.

    .. math::
        v_t = \rho v_{t-1} + (1-\rho) g_t^2,\quad
        \Delta_t = \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t,\quad
        u_t = \rho u_{t-1} + (1-\rho)\Delta_t^2,\quad
        \theta_t = \theta_{t-1} - \eta\,\Delta_t

    Source: Zeiler, "ADADELTA: An Adaptive Learning Rate Method" (2012); torch.optim.Adadelta.
    Convention: eps inside both square roots (it also sets the size of the very first steps, since
    u_0 = 0); the step uses u_{t-1}, then u_t is updated; torch's lr (default 1, the paper's rule)
    scales the step.
    """
    g = torch_grad(g, p, hp)
    rho, eps = hp["rho"], hp["eps"]
    v = ema_sq(state["square_avg"], g, rho)
    delta = jnp.sqrt(state["acc_delta"] + eps) / jnp.sqrt(v + eps) * g
    u = ema_sq(state["acc_delta"], delta, rho)
    return p - ctx.lr * delta, {"square_avg": v, "acc_delta": u}


ADADELTA = Optimizer(
    name="adadelta",
    title="Adadelta",
    hparams=(
        H.lr(1.0, lo=1e-3, hi=100.0),
        HParam(
            "rho",
            0.9,
            0.0,
            0.999,
            symbol=r"\rho",
            doc="decay rate of both running averages",
            min=0.0,
            max=1.0,
        ),
        H.eps(1e-6, doc="inside both square roots; sets the size of the first steps"),
        H.weight_decay(),
        H.maximize(),
    ),
    init=adadelta_init,
    update=adadelta_update,
    latex=(
        r"\Delta_t = \frac{\sqrt{u_{t-1}+\epsilon}}{\sqrt{v_t+\epsilon}}\, g_t,\quad "
        r"u_t = \rho u_{t-1} + (1-\rho)\Delta_t^2,\quad \theta_t = \theta_{t-1} - \eta\,\Delta_t"
    ),
    source="Zeiler 2012; torch.optim.Adadelta",
    convention="eps inside both square roots; lr (default 1) multiplies the paper's step.",
    state_doc={
        "square_avg": "running average of squared gradients v_t",
        "acc_delta": "running average of squared updates u_t",
    },
)

ALL = (ADADELTA,)
