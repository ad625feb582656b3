"""AdaBelief: Adam with the variance of the gradient around its prediction; `adabelief`, as optax."""

import jax.numpy as jnp

from . import hparams as H
from .common import bias_correction
from .spec import HParam, Optimizer


def adabelief_update(p, g, state, hp, ctx):
    r"""AdaBelief: step by the "belief" in the gradient, i.e. how far it strays from its EMA.

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
        s_t = \beta_2 s_{t-1} + (1-\beta_2)(g_t - m_t)^2 + \bar\epsilon \\
        \theta_t = \theta_{t-1} - \eta\,\frac{m_t/(1-\beta_1^t)}{\sqrt{s_t/(1-\beta_2^t)} + \epsilon}

    Source: Zhuang et al., "AdaBelief Optimizer" (NeurIPS 2020); optax.adabelief.
    Convention (optax's): eps_root is added to s_t itself every step (so it accumulates in the
    state), eps outside the square root after debiasing; m_0 = s_0 = 0; step count from 1. optax's
    defaults eps = eps_root = 1e-16 (the paper uses eps = 1e-8 and nothing inside).
    """
    b1, b2, t = hp["beta1"], hp["beta2"], ctx.t
    m = (1.0 - b1) * g + b1 * state["exp_avg"]
    s = (1.0 - b2) * (g - m) ** 2 + b2 * state["exp_avg_var"] + hp["eps_root"]
    m_hat = m / bias_correction(b1, t)
    s_hat = s / bias_correction(b2, t)
    return p - ctx.lr * (m_hat / (jnp.sqrt(s_hat) + hp["eps"])), {"exp_avg": m, "exp_avg_var": s}


ADABELIEF = Optimizer(
    name="adabelief",
    title="AdaBelief",
    hparams=(
        H.lr(1e-3),
        H.beta1(),
        H.beta2(0.999, doc="decay rate of the variance of the gradient around m_t"),
        H.eps(1e-16, doc="added to the square root of s_t (outside it)"),
        HParam(
            "eps_root",
            1e-16,
            0.0,
            1e-8,
            symbol=r"\bar\epsilon",
            doc="added to s_t every step (inside the square root)",
            min=0.0,
        ),
    ),
    init=lambda p, hp: {"exp_avg": jnp.zeros_like(p), "exp_avg_var": jnp.zeros_like(p)},
    update=adabelief_update,
    latex=(
        r"s_t = \beta_2 s_{t-1} + (1-\beta_2)(g_t - m_t)^2 + \bar\epsilon,\quad "
        r"\theta_t = \theta_{t-1} - \eta\,\frac{\hat m_t}{\sqrt{\hat s_t} + \epsilon}"
    ),
    source="Zhuang et al. 2020 (NeurIPS); optax.adabelief",
    convention="optax's: eps_root added to s_t each step, eps outside the root after debiasing; "
    "bias correction from t = 1.",
    state_doc={"exp_avg": "first moment m_t", "exp_avg_var": "belief s_t (variance of g around m)"},
)

ALL = (ADABELIEF,)
