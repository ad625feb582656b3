"""Adagrad: per-coordinate steps scaled by the root of the summed squared gradients (torch.optim.Adagrad)."""

import jax.numpy as jnp

from . import hparams as H
from .common import torch_grad
from .spec import HParam, Optimizer

__all__ = ["ADAGRAD", "adagrad_init", "adagrad_update"]


def adagrad_init(p, hp):
    return {"sum": jnp.full_like(p, hp["initial_accumulator_value"])}


def adagrad_update(p, g, state, hp, ctx):
    r"""torch.optim.Adagrad, with lr decay, an initial accumulator, weight decay and maximize.

    .. math::
        \tilde\eta_t = \frac{\eta}{1 + (t-1)\,\delta},\quad
        s_t = s_{t-1} + g_t^2,\quad
        \theta_t = \theta_{t-1} - \tilde\eta_t\,\frac{g_t}{\sqrt{s_t} + \epsilon}

    Source: Duchi, Hazan & Singer, "Adaptive Subgradient Methods" (JMLR 2011); torch.optim.Adagrad.
    Convention: s_0 = initial_accumulator_value; eps is added outside the square root; the lr decay
    delta (`lr_decay`) divides the (scheduled) lr by 1 + (t - 1) delta, with t counted from 1.
    """
    g = torch_grad(g, p, hp)
    clr = ctx.lr / (1.0 + (ctx.t - 1.0) * hp["lr_decay"])
    s = state["sum"] + g * g
    return p - clr * g / (jnp.sqrt(s) + hp["eps"]), {"sum": s}


ADAGRAD = Optimizer(
    name="adagrad",
    title="Adagrad",
    hparams=(
        H.lr(0.01, hi=10.0),
        HParam(
            "lr_decay",
            0.0,
            0.0,
            0.1,
            symbol=r"\delta",
            doc="the lr at step t is lr / (1 + (t - 1) lr_decay)",
            min=0.0,
        ),
        H.weight_decay(),
        HParam(
            "initial_accumulator_value",
            0.0,
            0.0,
            1.0,
            symbol="s_0",
            doc="starting value of the sum of squared gradients (damps the first steps)",
            min=0.0,
        ),
        H.eps(1e-10),
        H.maximize(),
    ),
    init=adagrad_init,
    update=adagrad_update,
    latex=(
        r"s_t = s_{t-1} + g_t^2,\quad "
        r"\theta_t = \theta_{t-1} - \frac{\eta}{1+(t-1)\delta}\,\frac{g_t}{\sqrt{s_t}+\epsilon}"
    ),
    source="Duchi, Hazan & Singer 2011; torch.optim.Adagrad",
    convention="eps outside the square root; s_0 = initial_accumulator_value; lr / (1 + (t-1) lr_decay).",
    state_doc={"sum": "sum of squared gradients s_t"},
)

ALL = (ADAGRAD,)
