"""AdaMax: Adam with the infinity norm in place of the second moment (torch.optim.Adamax)."""

import jax.numpy as jnp

from . import hparams as H
from .common import bias_correction, lerp, torch_grad
from .spec import Optimizer

__all__ = ["ADAMAX", "adamax_init", "adamax_update"]


def adamax_init(p, hp):
    z = jnp.zeros_like(p)
    return {"exp_avg": z, "exp_inf": z}


def adamax_update(p, g, state, hp, ctx):
    r"""torch.optim.Adamax, with weight decay and maximize.

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
        u_t = \max(\beta_2 u_{t-1},\ |g_t| + \epsilon),\quad
        \theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\,\frac{m_t}{u_t}

    Source: Kingma & Ba (2015), section 7.1; torch.optim.Adamax. Convention: torch's eps sits
    inside the maximum (|g| + eps), so u_t never reaches 0; only the first moment is debiased
    (the infinity norm needs no correction); the step count starts at 1.
    """
    g = torch_grad(g, p, hp)
    m = lerp(state["exp_avg"], g, 1.0 - hp["beta1"])
    u = jnp.maximum(state["exp_inf"] * hp["beta2"], jnp.abs(g) + hp["eps"])
    clr = ctx.lr / bias_correction(hp["beta1"], ctx.t)
    return p - clr * m / u, {"exp_avg": m, "exp_inf": u}


ADAMAX = Optimizer(
    name="adamax",
    title="AdaMax",
    hparams=(
        H.lr(0.002),
        H.beta1(),
        H.beta2(doc="decay rate of the infinity norm (running max of |g|)"),
        H.eps(1e-8, doc="added to |g| inside the maximum, so the denominator is never 0"),
        H.weight_decay(),
        H.maximize(),
    ),
    init=adamax_init,
    update=adamax_update,
    latex=(
        r"u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon),\quad "
        r"\theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\,\frac{m_t}{u_t}"
    ),
    source="Kingma & Ba 2015 (sec. 7.1); torch.optim.Adamax",
    convention="eps inside the max (|g| + eps); only m_t is debiased; step count from 1.",
    state_doc={"exp_avg": "first moment m_t", "exp_inf": "infinity norm u_t (decayed max of |g|)"},
)

ALL = (ADAMAX,)
