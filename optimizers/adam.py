"""The Adam family: `adam`, `adamw` and `amsgrad` here; `adamax`, `nadam` and `radam` in their own files.

This module's `ALL` lists the whole family, so the registry needs only this one module.
"""

import jax.numpy as jnp

from . import hparams as H
from .adamax import ADAMAX
from .common import adam_grad, bias_correction, ema_sq, lerp
from .nadam import NADAM
from .radam import RADAM
from .spec import Optimizer, flag

__all__ = ["ADAM", "ADAMW", "AMSGRAD", "ADAMAX", "NADAM", "RADAM", "ALL", "adam_init", "adam_update"]


def adam_init(p, hp):
    z = jnp.zeros_like(p)
    return {"exp_avg": z, "exp_avg_sq": z, "max_exp_avg_sq": z}


EPS_FORM = H.convention(
    "eps_form",
    "where eps enters the denominator",
    (
        "outside",
        "√v̂ + ε, after debiasing (torch.optim.Adam, optax.adam): ε only matters where √v̂ is as small "
        "as ε itself.",
    ),
    (
        "inside",
        "√(v̂ + ε) (optax's eps_root with eps = 0): ε is added to a squared quantity, so it damps "
        "steps wherever v̂ is below ε, and flat regions are crossed more slowly.",
    ),
    (
        "keras",
        "√v + ε before debiasing, the ε̂ of Kingma & Ba's Algorithm 1 note (Keras, TensorFlow): "
        "the effective ε is ε/√(1−β₂ᵗ), about 32 ε at step 1 with β₂ = 0.999, so the first steps "
        "are damped and the path parts early when gradients are small.",
    ),
)


def adam_update(p, g, state, hp, ctx):
    r"""torch.optim.Adam, with AMSGrad, coupled or decoupled weight decay and maximize.

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\quad
        \hat v_t = \max(\hat v_{t-1}, v_t) \text{ (amsgrad) or } v_t \\
        \theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\,
            \frac{m_t}{\sqrt{\hat v_t}/\sqrt{1-\beta_2^t} + \epsilon}

    Source: Kingma & Ba (2015); Reddi, Kale & Kumar (2018) for AMSGrad; Loshchilov & Hutter (2019)
    for decoupled decay; torch.optim.Adam. Convention: eps is added *outside* the square root and
    *after* debiasing the second moment; the step count starts at 1; AMSGrad keeps the maximum of
    the raw (not debiased) v_t. Decoupled decay shrinks theta by 1 - lr * weight_decay first.

    Other conventions (`eps_form`): 'inside' divides m_t by sqrt(v_hat_t / (1 - beta2^t) + eps),
    optax.scale_by_adam's eps_root with eps = 0; 'keras' adds eps to sqrt(v_hat_t) before
    debiasing, theta_t = theta_{t-1} - lr sqrt(1 - beta2^t) / (1 - beta1^t) m_t / (sqrt(v_hat_t) + eps),
    the efficient form at the end of Kingma & Ba's section 2 and keras.optimizers.Adam (Keras 3,
    keras/src/optimizers/adam.py, whose default eps is 1e-7).
    """
    g, p = adam_grad(g, p, hp, ctx.lr)
    beta1, beta2 = hp["beta1"], hp["beta2"]
    m = lerp(state["exp_avg"], g, 1.0 - beta1)
    v = ema_sq(state["exp_avg_sq"], g, beta2)
    amsgrad = flag(hp["amsgrad"])
    v_max = jnp.where(amsgrad, jnp.maximum(state["max_exp_avg_sq"], v), state["max_exp_avg_sq"])
    v_hat = jnp.where(amsgrad, v_max, v)
    bc2, bc1 = bias_correction(beta2, ctx.t), bias_correction(beta1, ctx.t)
    if hp["eps_form"] == "keras":
        # Keras's order: one scalar step size, then m over (sqrt(v) + eps).
        p = p - m * (ctx.lr * jnp.sqrt(bc2) / bc1) / (jnp.sqrt(v_hat) + hp["eps"])
    else:
        if hp["eps_form"] == "inside":
            denom = jnp.sqrt(v_hat / bc2 + hp["eps"])
        else:
            denom = jnp.sqrt(v_hat) / jnp.sqrt(bc2) + hp["eps"]
        p = p - ctx.lr / bc1 * m / denom
    return p, {"exp_avg": m, "exp_avg_sq": v, "max_exp_avg_sq": v_max}


def _with_decoupled(update):
    """AdamW is Adam with decoupled decay always on (torch.optim.AdamW has no switch for it)."""

    def adamw_update(p, g, state, hp, ctx):
        return update(p, g, state, {**hp, "decoupled_weight_decay": 1.0}, ctx)

    adamw_update.__doc__ = r"""torch.optim.AdamW: Adam whose weight decay acts on theta, scaled by lr.

    .. math::
        \theta' = \theta_{t-1}(1 - \eta\lambda),\quad
        \theta_t = \theta' - \frac{\eta}{1-\beta_1^t}\,
            \frac{m_t}{\sqrt{\hat v_t}/\sqrt{1-\beta_2^t} + \epsilon}

    Source: Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (2019); torch.optim.AdamW.
    Convention: the decay is multiplied by the (scheduled) lr, as in torch, not by lr / lr_0 as in
    the paper's schedule multiplier; the decay is applied before the Adam step, which uses the
    gradient at the undecayed theta. Moments, eps and AMSGrad as in `adam`.
    """
    return adamw_update


_ADAM_LATEX = (
    r"m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\quad "
    r"\theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\,\frac{m_t}{\sqrt{v_t/(1-\beta_2^t)} + \epsilon}"
)
_ADAM_STATE_DOC = {
    "exp_avg": "first moment m_t (mean of gradients)",
    "exp_avg_sq": "second moment v_t (mean of squared gradients)",
    "max_exp_avg_sq": "running maximum of v_t (AMSGrad only; zero otherwise)",
}
_ADAM_CONVENTION = (
    "eps outside the square root, after debiasing; step count from 1; bias-corrected. eps_form races "
    "eps inside the root (optax's eps_root) and Keras's eps before debiasing."
)


def _adam_hparams(amsgrad: bool, weight_decay: float = 0.0, decoupled: bool | None = False):
    wd_doc = (
        "decay rate of theta, multiplied by lr (decoupled)"
        if decoupled is None
        else "L2 penalty added to the gradient, or decay rate of theta if decoupled"
    )
    specs = (
        H.lr(0.001),
        H.beta1(),
        H.beta2(),
        H.eps(1e-8),
        H.weight_decay(weight_decay, doc=wd_doc),
        H.boolean("amsgrad", amsgrad, "normalise by the running maximum of v_t (AMSGrad)"),
    )
    if decoupled is not None:
        specs += (H.decoupled_weight_decay(decoupled),)
    return specs + (H.maximize(), EPS_FORM)


ADAM = Optimizer(
    name="adam",
    title="Adam",
    hparams=_adam_hparams(amsgrad=False),
    init=adam_init,
    update=adam_update,
    latex=_ADAM_LATEX,
    source="Kingma & Ba 2015; torch.optim.Adam",
    convention=_ADAM_CONVENTION,
    state_doc=_ADAM_STATE_DOC,
)

ADAMW = Optimizer(
    name="adamw",
    title="AdamW",
    hparams=_adam_hparams(amsgrad=False, weight_decay=0.01, decoupled=None),
    init=adam_init,
    update=_with_decoupled(adam_update),
    latex=(
        r"\theta' = \theta_{t-1}(1 - \eta\lambda),\quad "
        r"\theta_t = \theta' - \frac{\eta}{1-\beta_1^t}\,\frac{m_t}{\sqrt{v_t/(1-\beta_2^t)} + \epsilon}"
    ),
    source="Loshchilov & Hutter 2019; torch.optim.AdamW",
    convention="Decay multiplied by lr and applied to theta before the Adam step; " + _ADAM_CONVENTION,
    state_doc=_ADAM_STATE_DOC,
)

AMSGRAD = Optimizer(
    name="amsgrad",
    title="AMSGrad",
    hparams=_adam_hparams(amsgrad=True),
    init=adam_init,
    update=adam_update,
    latex=(
        r"\hat v_t = \max(\hat v_{t-1}, v_t),\quad "
        r"\theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\,"
        r"\frac{m_t}{\sqrt{\hat v_t/(1-\beta_2^t)} + \epsilon}"
    ),
    source="Reddi, Kale & Kumar 2018; torch.optim.Adam(amsgrad=True)",
    convention="torch's form: the maximum is over the raw v_t, debiased by the current step's factor; "
    + _ADAM_CONVENTION,
    state_doc=_ADAM_STATE_DOC,
)

ALL = (ADAM, ADAMW, AMSGRAD, ADAMAX, NADAM, RADAM)
