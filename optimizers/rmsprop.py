"""RMSprop: steps divided by a running root-mean-square of the gradient (torch.optim.RMSprop)."""

import jax.numpy as jnp

from . import hparams as H
from .common import ema_sq, lerp, torch_grad
from .spec import HParam, Optimizer, flag

__all__ = ["RMSPROP", "rmsprop_init", "rmsprop_update"]


def rmsprop_init(p, hp):
    z = jnp.zeros_like(p)
    return {"square_avg": z, "grad_avg": z, "momentum_buffer": z}


def rmsprop_update(p, g, state, hp, ctx):
    r"""torch.optim.RMSprop, with centering, momentum, weight decay and maximize.

    .. math::
        v_t = \alpha v_{t-1} + (1-\alpha) g_t^2,\quad
        \bar g_t = \alpha \bar g_{t-1} + (1-\alpha) g_t \text{ (centered)},\quad
        d_t = \sqrt{v_t - \bar g_t^2} + \epsilon \text{ (centered) or } \sqrt{v_t} + \epsilon \\
        b_t = \mu b_{t-1} + g_t / d_t,\quad
        \theta_t = \theta_{t-1} - \eta\, b_t \;\; (\mu > 0) \text{ or } \theta_{t-1} - \eta\, g_t / d_t

    Source: Hinton, Coursera lecture 6e (2012); Graves (2013) for the centered form;
    torch.optim.RMSprop. Convention: eps outside the square root; no bias correction (v_0 = 0, so
    the first steps are large, about 1/sqrt(1 - alpha) times lr); the momentum buffer holds
    normalised gradients and lr multiplies it.
    """
    g = torch_grad(g, p, hp)
    alpha, mu = hp["alpha"], hp["momentum"]
    v = ema_sq(state["square_avg"], g, alpha)
    centered = flag(hp["centered"])
    g_avg = jnp.where(centered, lerp(state["grad_avg"], g, 1.0 - alpha), state["grad_avg"])
    d = jnp.where(centered, jnp.sqrt(v - g_avg * g_avg), jnp.sqrt(v)) + hp["eps"]
    use_momentum = mu > 0.0
    buf = jnp.where(use_momentum, state["momentum_buffer"] * mu + g / d, state["momentum_buffer"])
    p = jnp.where(use_momentum, p - ctx.lr * buf, p - ctx.lr * g / d)
    return p, {"square_avg": v, "grad_avg": g_avg, "momentum_buffer": buf}


RMSPROP = Optimizer(
    name="rmsprop",
    title="RMSprop",
    hparams=(
        H.lr(0.01),
        HParam(
            "alpha",
            0.99,
            0.0,
            0.999,
            symbol=r"\alpha",
            doc="smoothing constant of the squared-gradient average",
            min=0.0,
        ),
        H.eps(1e-8),
        H.weight_decay(),
        H.momentum(0.0, doc="momentum on the normalised step"),
        H.boolean("centered", False, "divide by the gradient's estimated variance instead of its raw RMS"),
        H.maximize(),
    ),
    init=rmsprop_init,
    update=rmsprop_update,
    latex=(
        r"v_t = \alpha v_{t-1} + (1-\alpha) g_t^2,\quad "
        r"b_t = \mu b_{t-1} + \frac{g_t}{\sqrt{v_t - c\,\bar g_t^2} + \epsilon},\quad "
        r"\theta_t = \theta_{t-1} - \eta\, b_t,\quad c = 1 \text{ if centered, else } 0"
    ),
    source="Hinton 2012 (lecture 6e); Graves 2013; torch.optim.RMSprop",
    convention="eps outside the square root; no bias correction; momentum buffer of normalised gradients.",
    state_doc={
        "square_avg": "running average of squared gradients v_t",
        "grad_avg": "running average of gradients (centered only; zero otherwise)",
        "momentum_buffer": "momentum buffer b_t (momentum > 0 only; zero otherwise)",
    },
)

ALL = (RMSPROP,)
