"""RMSprop: steps divided by a running root-mean-square of the gradient (torch.optim.RMSprop)."""

import jax.numpy as jnp

from . import hparams as H
from .common import ema_sq, lerp, torch_grad
from .spec import HParam, Optimizer, flag

__all__ = ["RMSPROP", "rmsprop_init", "rmsprop_update"]


def rmsprop_init(p, hp):
    z = jnp.zeros_like(p)
    return {"square_avg": z, "grad_avg": z, "momentum_buffer": z}


EPS_FORM = H.convention(
    "eps_form",
    "where eps enters the denominator",
    (
        "outside",
        "√v + ε (torch.optim.RMSprop): ε only matters where √v is as small as ε itself.",
    ),
    (
        "inside",
        "√(v + ε) (Keras, TensorFlow): ε is added to a squared quantity, so it damps steps wherever "
        "v is below ε (1e-7 damps gradients below about 3e-4), and flat regions are crossed more slowly.",
    ),
)

MOMENTUM_FORM = H.convention(
    "momentum_form",
    "what the momentum buffer holds (momentum > 0)",
    (
        "torch",
        "b ← μb + g/d, θ ← θ − ηb (torch.optim.RMSprop): the buffer holds normalised gradients and "
        "the current lr multiplies all of it.",
    ),
    (
        "sutskever",
        "b ← μb + ηg/d, θ ← θ − b (Keras, TensorFlow): each step enters the buffer with the lr of "
        "its own step, so the path is torch's at a constant lr and parts from it when a schedule "
        "moves the lr.",
    ),
)


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

    Other conventions: eps_form 'inside' divides by sqrt(v_t + eps) (sqrt(v_t - g_avg^2 + eps)
    centered); momentum_form 'sutskever' accumulates b_t = mu b_{t-1} + lr g_t / d_t and steps
    theta_t = theta_{t-1} - b_t. Both together, with alpha = 0.9 and eps = 1e-7, are
    keras.optimizers.RMSprop (Keras 3, keras/src/optimizers/rmsprop.py), TensorFlow's form.
    """
    g = torch_grad(g, p, hp)
    alpha, mu = hp["alpha"], hp["momentum"]
    v = ema_sq(state["square_avg"], g, alpha)
    centered = flag(hp["centered"])
    g_avg = jnp.where(centered, lerp(state["grad_avg"], g, 1.0 - alpha), state["grad_avg"])
    spread = jnp.where(centered, v - g_avg * g_avg, v)
    inside = hp["eps_form"] == "inside"
    d = jnp.sqrt(spread + hp["eps"]) if inside else jnp.sqrt(spread) + hp["eps"]
    use_momentum = mu > 0.0
    if hp["momentum_form"] == "sutskever":
        # Keras's order: the lr-scaled increment first, then into the buffer.
        step = ctx.lr * g / d
        buf = jnp.where(use_momentum, state["momentum_buffer"] * mu + step, state["momentum_buffer"])
        p = jnp.where(use_momentum, p - buf, p - step)
    else:
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
        EPS_FORM,
        MOMENTUM_FORM,
    ),
    init=rmsprop_init,
    update=rmsprop_update,
    latex=(
        r"v_t = \alpha v_{t-1} + (1-\alpha) g_t^2,\quad "
        r"b_t = \mu b_{t-1} + \frac{g_t}{\sqrt{v_t - c\,\bar g_t^2} + \epsilon},\quad "
        r"\theta_t = \theta_{t-1} - \eta\, b_t,\quad c = 1 \text{ if centered, else } 0"
    ),
    source="Hinton 2012 (lecture 6e); Graves 2013; torch.optim.RMSprop",
    convention="eps outside the square root; no bias correction; momentum buffer of normalised gradients. "
    "eps_form = 'inside' with momentum_form = 'sutskever' (and alpha = 0.9, eps = 1e-7) is Keras's RMSprop.",
    state_doc={
        "square_avg": "running average of squared gradients v_t",
        "grad_avg": "running average of gradients (centered only; zero otherwise)",
        "momentum_buffer": "momentum buffer b_t (momentum > 0 only; zero otherwise; lr inside it in "
        "Sutskever's form)",
    },
)

ALL = (RMSPROP,)
