"""Yogi: Adam whose second moment moves additively toward g^2; `yogi`, as optax."""

import jax.numpy as jnp

from . import hparams as H
from .common import bias_correction
from .spec import Optimizer

# optax.yogi starts both accumulators here (scale_by_yogi's initial_accumulator_value).
INITIAL_ACCUMULATOR = 1e-6


def yogi_update(p, g, state, hp, ctx):
    r"""Yogi: the second moment changes by at most (1 - beta2) g^2 per step, in the sign's direction.

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
        v_t = v_{t-1} - (1-\beta_2)\,\operatorname{sign}(v_{t-1} - g_t^2)\, g_t^2 \\
        \theta_t = \theta_{t-1} - \eta\,\frac{m_t/(1-\beta_1^t)}{\sqrt{v_t/(1-\beta_2^t)} + \epsilon}

    Source: Zaheer et al., "Adaptive Methods for Nonconvex Optimization" (NeurIPS 2018); optax.yogi.
    Convention (optax's): m_0 = v_0 = 1e-6 (both accumulators), bias correction from t = 1 applied
    anyway, eps outside the square root; optax's default eps = 1e-3 (the paper's).
    """
    b1, b2, t = hp["beta1"], hp["beta2"], ctx.t
    m = (1.0 - b1) * g + b1 * state["exp_avg"]
    v = state["exp_avg_sq"]
    g2 = g * g
    v = v - (1.0 - b2) * jnp.sign(v - g2) * g2
    m_hat = m / bias_correction(b1, t)
    v_hat = v / bias_correction(b2, t)
    return p - ctx.lr * (m_hat / (jnp.sqrt(v_hat) + hp["eps"])), {"exp_avg": m, "exp_avg_sq": v}


def yogi_init(p, hp):
    start = jnp.full_like(p, INITIAL_ACCUMULATOR)
    return {"exp_avg": start, "exp_avg_sq": start}


YOGI = Optimizer(
    name="yogi",
    title="Yogi",
    hparams=(
        H.lr(1e-2),
        H.beta1(),
        H.beta2(),
        H.eps(1e-3, doc="added to the square root of v_t (outside it)"),
    ),
    init=yogi_init,
    update=yogi_update,
    latex=(
        r"v_t = v_{t-1} - (1-\beta_2)\operatorname{sign}(v_{t-1} - g_t^2)\,g_t^2,\quad "
        r"\theta_t = \theta_{t-1} - \eta\,\frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}"
    ),
    source="Zaheer et al. 2018 (NeurIPS); optax.yogi",
    convention="optax's: m_0 = v_0 = 1e-6, bias-corrected from t = 1, eps outside the root; "
    "lr default 1e-2 (the paper's).",
    state_doc={"exp_avg": "first moment m_t", "exp_avg_sq": "second moment v_t"},
)

ALL = (YOGI,)
