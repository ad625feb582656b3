"""Gradient descent and its momentum forms: `gd`, `sgd` (torch.optim.SGD), `momentum`, `nag`."""

import jax.numpy as jnp

from . import hparams as H
from .common import torch_grad
from .spec import HParam, Optimizer, flag


def gd_update(p, g, state, hp, ctx):
    r"""Plain gradient descent, :math:`\theta \leftarrow \theta - \eta \nabla f(\theta)`.

    Source: Cauchy (1847). On f = x^2 - 4x + 3 from x0 = 0 with lr 0.3 it goes 0 -> 1.2 -> 1.68.
    Same as torch.optim.SGD with every option off.
    """
    return p - ctx.lr * g, state


GD = Optimizer(
    name="gd",
    title="Gradient descent",
    hparams=(H.lr(0.01),),
    init=lambda p, hp: {},
    update=gd_update,
    latex=r"\theta_{t} = \theta_{t-1} - \eta\, \nabla f(\theta_{t-1})",
    source="Cauchy 1847 (Comptes rendus de l'Académie des sciences 25, 536-538); torch.optim.SGD",
    convention="The textbook rule; identical to torch.optim.SGD(lr) with no options.",
)


def _sgd_check(hp):
    if hp["nesterov"] and (hp["momentum"] <= 0 or hp["dampening"] != 0):
        raise ValueError(
            "sgd: nesterov = true needs momentum > 0 and dampening = 0 (as torch.optim.SGD requires)"
        )


def sgd_update(p, g, state, hp, ctx):
    r"""torch.optim.SGD, with momentum, dampening, Nesterov, weight decay and maximize.

    .. math::
        g_t = \nabla f(\theta_{t-1}) + \lambda\theta_{t-1},\quad
        b_t = \mu b_{t-1} + (1-\tau) g_t \;(b_1 = g_1),\quad
        \theta_t = \theta_{t-1} - \eta\,(g_t + \mu b_t \text{ if nesterov else } b_t)

    Source: torch.optim.SGD (Sutskever et al. 2013 for the momentum, reparametrised).
    Convention: the buffer sums raw gradients (v <- mu v + g, not the averaged form), and the first
    step sets b_1 = g_1 without dampening. With `nesterov`, the plotted point is torch's, i.e. the
    look-ahead point of Sutskever's form (see `nag`).
    """
    g = torch_grad(g, p, hp)
    mu = hp["momentum"]
    first = ctx.t == 1.0
    b = jnp.where(first, g, mu * state["momentum_buffer"] + (1.0 - hp["dampening"]) * g)
    use_momentum = mu != 0.0
    d = jnp.where(flag(hp["nesterov"]), g + mu * b, b)
    d = jnp.where(use_momentum, d, g)
    b = jnp.where(use_momentum, b, state["momentum_buffer"])
    return p - ctx.lr * d, {"momentum_buffer": b}


SGD = Optimizer(
    name="sgd",
    title="SGD (torch.optim)",
    hparams=(
        H.lr(0.001),
        H.momentum(0.0),
        HParam("dampening", 0.0, 0.0, 0.99, symbol=r"\tau", doc="dampening for momentum"),
        H.weight_decay(),
        H.boolean("nesterov", False, "Nesterov momentum (torch's reparametrised form)"),
        H.maximize(),
    ),
    init=lambda p, hp: {"momentum_buffer": jnp.zeros_like(p)},
    update=sgd_update,
    latex=(
        r"b_t = \mu b_{t-1} + (1-\tau)\, g_t,\quad "
        r"\theta_t = \theta_{t-1} - \eta\,\big(g_t + \mu b_t \text{ (nesterov)}\quad\text{or}\quad b_t\big)"
    ),
    source="torch.optim.SGD",
    convention="Momentum buffer sums raw gradients (v <- mu v + g); b_1 = g_1; lr multiplies the buffer.",
    check=_sgd_check,
    state_doc={"momentum_buffer": "velocity b_t"},
)


def momentum_update(p, g, state, hp, ctx):
    r"""Polyak's heavy-ball momentum in the averaged (exponential moving average) form.

    .. math:: v_t = \beta v_{t-1} + (1-\beta)\nabla f(\theta_{t-1}),\quad \theta_t = \theta_{t-1} - \eta v_t

    Source: Polyak (1964); optax.ema(decay=beta, debias=False) then -lr.
    Convention: v_0 = 0 and no bias correction, so early steps are (1 - beta) times shorter than
    torch's SGD momentum, whose buffer sums raw gradients.
    """
    v = hp["beta"] * state["velocity"] + (1.0 - hp["beta"]) * g
    return p - ctx.lr * v, {"velocity": v}


MOMENTUM = Optimizer(
    name="momentum",
    title="Momentum (averaged)",
    hparams=(
        H.lr(0.01),
        HParam(
            "beta",
            0.9,
            0.0,
            0.999,
            symbol=r"\beta",
            doc="velocity decay (averaging weight)",
            min=0.0,
            max=1.0,
            max_open=True,
        ),
    ),
    init=lambda p, hp: {"velocity": jnp.zeros_like(p)},
    update=momentum_update,
    latex=r"v_t = \beta v_{t-1} + (1-\beta)\nabla f(\theta_{t-1}),\quad \theta_t = \theta_{t-1} - \eta v_t",
    source="Polyak 1964 (heavy ball), averaged form; optax.ema(debias=False)",
    convention="Averaged form: v <- beta v + (1 - beta) g, v_0 = 0.",
    state_doc={"velocity": "velocity v_t"},
)


def nag_update(p, g, state, hp, ctx):
    r"""Nesterov accelerated gradient in Sutskever's look-ahead form.

    .. math:: v_t = \mu v_{t-1} - \eta\nabla f(\theta_{t-1} + \mu v_{t-1}),\quad \theta_t = \theta_{t-1} + v_t

    Source: Sutskever, Martens, Dahl, Hinton (2013), eq. 3-4: look ahead, then
    correct. Convention: the plotted point is theta, and the gradient is taken at the look-ahead
    point theta + mu v. torch's `SGD(nesterov=True)` is the same algorithm reparametrised: its
    point is our theta + mu v (this is checked in the tests).
    """
    ahead = p + hp["momentum"] * state["velocity"]
    v = hp["momentum"] * state["velocity"] - ctx.lr * ctx.grad(ahead)
    return p + v, {"velocity": v}


NAG = Optimizer(
    name="nag",
    title="Nesterov (look-ahead)",
    hparams=(H.lr(0.001), H.momentum(0.9)),
    init=lambda p, hp: {"velocity": jnp.zeros_like(p)},
    update=nag_update,
    latex=(
        r"v_t = \mu v_{t-1} - \eta\,\nabla f(\theta_{t-1} + \mu v_{t-1}),\quad "
        r"\theta_t = \theta_{t-1} + v_t"
    ),
    source="Sutskever et al. 2013, ICML",
    convention="Gradient at the look-ahead point; the plotted point is theta, not the look-ahead.",
    state_doc={"velocity": "velocity v_t"},
)

ALL = (GD, SGD, MOMENTUM, NAG)
