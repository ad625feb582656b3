"""NAdam: Adam with Nesterov momentum and torch's momentum-decay schedule (torch.optim.NAdam)."""

import jax.numpy as jnp

from . import hparams as H
from .common import adam_grad, bias_correction, ema_sq, lerp, power
from .spec import HParam, Optimizer

__all__ = ["NADAM", "nadam_init", "nadam_update"]


def nadam_init(p, hp):
    z = jnp.zeros_like(p)
    return {"exp_avg": z, "exp_avg_sq": z, "mu_product": jnp.ones((), dtype=p.dtype)}


def _mu(beta1, t, psi):
    """Dozat's warming momentum: mu_t = beta1 (1 - 0.96^(t psi) / 2)."""
    return beta1 * (1.0 - 0.5 * power(0.96, t * psi))


def nadam_update(p, g, state, hp, ctx):
    r"""torch.optim.NAdam, with its momentum schedule, (decoupled) weight decay and maximize.

    .. math::
        \mu_t = \beta_1\big(1 - \tfrac12\, 0.96^{t\psi}\big),\quad
        \Pi_t = \prod_{i \le t}\mu_i,\quad
        \hat v_t = \frac{v_t}{1-\beta_2^t} \\
        \theta_t = \theta_{t-1}
            - \eta\,\frac{1-\mu_t}{1-\Pi_t}\,\frac{g_t}{\sqrt{\hat v_t}+\epsilon}
            - \eta\,\frac{\mu_{t+1}}{1-\Pi_t\,\mu_{t+1}}\,\frac{m_t}{\sqrt{\hat v_t}+\epsilon}

    Source: Dozat, "Incorporating Nesterov Momentum into Adam" (2016); torch.optim.NAdam.
    Convention: psi is torch's `momentum_decay`; the product Pi_t of the momentum schedule is kept
    in the state as `mu_product` (starting at 1); m_t is the plain EMA (beta1, not mu_t) and is
    debiased through Pi; eps is added after the square root; the step count starts at 1.
    """
    g, p = adam_grad(g, p, hp, ctx.lr)
    beta1, psi, t = hp["beta1"], hp["momentum_decay"], ctx.t
    mu = _mu(beta1, t, psi)
    mu_next = _mu(beta1, t + 1.0, psi)
    mu_product = state["mu_product"] * mu
    m = lerp(state["exp_avg"], g, 1.0 - beta1)
    v = ema_sq(state["exp_avg_sq"], g, hp["beta2"])
    denom = jnp.sqrt(v / bias_correction(hp["beta2"], t)) + hp["eps"]
    p = p + (-ctx.lr * (1.0 - mu) / (1.0 - mu_product)) * g / denom
    p = p + (-ctx.lr * mu_next / (1.0 - mu_product * mu_next)) * m / denom
    return p, {"exp_avg": m, "exp_avg_sq": v, "mu_product": mu_product}


NADAM = Optimizer(
    name="nadam",
    title="NAdam",
    hparams=(
        H.lr(0.002),
        H.beta1(),
        H.beta2(),
        H.eps(1e-8),
        H.weight_decay(doc="L2 penalty added to the gradient, or decay rate of theta if decoupled"),
        HParam(
            "momentum_decay",
            0.004,
            0.0,
            0.1,
            symbol=r"\psi",
            doc="how fast the momentum schedule mu_t warms up to beta1",
            min=0.0,
        ),
        H.decoupled_weight_decay(),
        H.maximize(),
    ),
    init=nadam_init,
    update=nadam_update,
    latex=(
        r"\mu_t = \beta_1(1 - \tfrac12 0.96^{t\psi}),\quad "
        r"\theta_t = \theta_{t-1} - \eta\Big(\frac{1-\mu_t}{1-\Pi_t} g_t "
        r"+ \frac{\mu_{t+1}}{1-\Pi_{t+1}} m_t\Big) \Big/ \big(\sqrt{v_t/(1-\beta_2^t)} + \epsilon\big)"
    ),
    source="Dozat 2016; torch.optim.NAdam",
    convention="torch's momentum schedule mu_t with momentum_decay psi; Pi_t kept as mu_product; "
    "eps after the square root; step count from 1.",
    state_doc={
        "exp_avg": "first moment m_t",
        "exp_avg_sq": "second moment v_t",
        "mu_product": "product of the momentum schedule mu_1 ... mu_t",
    },
)

ALL = (NADAM,)
