"""Lion (EvoLved Sign Momentum): `lion`, as optax.lion."""

import jax.numpy as jnp

from . import hparams as H
from .spec import Optimizer


def lion_update(p, g, state, hp, ctx):
    r"""Lion: the sign of an interpolation between momentum and gradient, with decoupled decay.

    .. math::
        c_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
        \theta_t = \theta_{t-1} - \eta\,\big(\operatorname{sign}(c_t) + \lambda\theta_{t-1}\big),\quad
        m_t = \beta_2 m_{t-1} + (1-\beta_2) g_t

    Source: Chen et al., "Symbolic Discovery of Optimization Algorithms" (2023), Program 1;
    optax.lion. Convention: m_0 = 0; the update direction interpolates with beta1 but the stored
    momentum with beta2; sign(0) = 0; weight decay is decoupled and multiplied by the lr (optax's
    default weight_decay = 1e-3); no bias correction.
    """
    b1, b2 = hp["beta1"], hp["beta2"]
    m = state["exp_avg"]
    direction = jnp.sign((1.0 - b1) * g + b1 * m) + hp["weight_decay"] * p
    return p - ctx.lr * direction, {"exp_avg": (1.0 - b2) * g + b2 * m}


LION = Optimizer(
    name="lion",
    title="Lion",
    hparams=(
        H.lr(1e-4),
        H.beta1(0.9, doc="weight of the momentum in the signed update direction"),
        H.beta2(0.99, doc="decay rate of the stored momentum"),
        H.weight_decay(1e-3, doc="decoupled weight decay, multiplied by the lr"),
    ),
    init=lambda p, hp: {"exp_avg": jnp.zeros_like(p)},
    update=lion_update,
    latex=(
        r"\theta_t = \theta_{t-1} - \eta\big(\operatorname{sign}(\beta_1 m_{t-1} + (1-\beta_1) g_t)"
        r" + \lambda\theta_{t-1}\big),\quad m_t = \beta_2 m_{t-1} + (1-\beta_2) g_t"
    ),
    source="Chen et al. 2023 (Lion); optax.lion",
    convention="Sign of the beta1 interpolation; momentum kept with beta2; decoupled decay times lr; "
    "lr default 1e-4 (the paper: 3-10x below AdamW's).",
    state_doc={"exp_avg": "momentum m_t"},
)

ALL = (LION,)
