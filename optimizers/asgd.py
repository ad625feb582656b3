"""ASGD: SGD with a decaying step and a running (Polyak-Ruppert) average of the iterates (torch.optim.ASGD)."""

import jax.numpy as jnp

from . import hparams as H
from .common import torch_grad
from .spec import HParam, Optimizer

__all__ = ["ASGD", "asgd_init", "asgd_update"]


def asgd_init(p, hp):
    return {
        "ax": jnp.zeros_like(p),
        "eta": jnp.asarray(hp["lr"], dtype=p.dtype),
        "mu": jnp.ones((), dtype=p.dtype),
    }


def asgd_update(p, g, state, hp, ctx):
    r"""torch.optim.ASGD: decayed SGD steps, plus the averaged iterate kept beside the plotted point.

    .. math::
        \theta_t = \theta_{t-1}(1 - \lambda\eta_t) - \eta_t g_t,\quad
        \bar\theta_t = \bar\theta_{t-1} + \mu_t(\theta_t - \bar\theta_{t-1}) \\
        \eta_{t+1} = \frac{\eta}{(1 + \lambda\eta t)^{\alpha}},\quad
        \mu_{t+1} = \frac{1}{\max(1,\ t - t_0)}

    Source: Polyak & Juditsky (1992); Bottou, "Stochastic Gradient Descent Tricks" (2012), whose
    schedule torch.optim.ASGD implements. Convention: the plotted point is torch's param theta, not
    the average `ax`; eta_1 is the lr and each step computes the next eta and mu from the current
    (scheduled) lr and t; mu stays 1 (ax = theta) until t passes t0, which with torch's default
    t0 = 1e6 means no averaging within a race.
    """
    g = torch_grad(g, p, hp)
    lambd, t = hp["lambd"], ctx.t
    # torch creates eta from the lr the first step sees (after any scheduler has set it).
    eta = jnp.where(t == 1.0, ctx.lr, state["eta"])
    p = p * (1.0 - lambd * eta)
    p = p - eta * g
    mu = state["mu"]
    # mu == 1 copies theta exactly, as torch does; the blend would round differently.
    ax = jnp.where(mu == 1.0, p, state["ax"] + (p - state["ax"]) * mu)
    eta_next = ctx.lr / (1.0 + lambd * ctx.lr * t) ** hp["alpha"]
    mu_next = 1.0 / jnp.maximum(1.0, t - hp["t0"])
    return p, {"ax": ax, "eta": eta_next, "mu": mu_next}


ASGD = Optimizer(
    name="asgd",
    title="ASGD (averaged SGD)",
    hparams=(
        H.lr(0.01),
        HParam(
            "lambd",
            1e-4,
            1e-6,
            1.0,
            log=True,
            symbol=r"\lambda",
            doc="decay term: shrinks theta by 1 - lambd * eta and slows the step schedule",
        ),
        HParam("alpha", 0.75, 0.0, 2.0, symbol=r"\alpha", doc="power of the step-size decay eta_t"),
        HParam(
            "t0",
            1e6,
            1.0,
            1e6,
            log=True,
            symbol="t_0",
            doc="step after which averaging starts (torch's default 1e6: never, within a race)",
        ),
        H.weight_decay(),
        H.maximize(),
    ),
    init=asgd_init,
    update=asgd_update,
    latex=(
        r"\theta_t = \theta_{t-1}(1-\lambda\eta_t) - \eta_t g_t,\quad "
        r"\bar\theta_t = \bar\theta_{t-1} + \mu_t(\theta_t - \bar\theta_{t-1}),\quad "
        r"\eta_{t+1} = \eta/(1+\lambda\eta t)^{\alpha},\ \mu_{t+1} = 1/\max(1, t - t_0)"
    ),
    source="Polyak & Juditsky 1992; Bottou 2012; torch.optim.ASGD",
    convention="The plotted point is theta; the average ax lives in the state. eta and mu are computed "
    "after each step for the next one; averaging starts after t0 steps.",
    state_doc={
        "ax": "averaged iterate (torch's ax), the answer ASGD reports",
        "eta": "step size for the next step",
        "mu": "averaging weight for the next step",
    },
)

ALL = (ASGD,)
