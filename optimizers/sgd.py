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


MOMENTUM_FORM = H.convention(
    "momentum_form",
    "how the momentum buffer is written (momentum > 0)",
    (
        "torch",
        "b ← μb + (1−τ)g, θ ← θ − ηb (torch.optim.SGD, optax.sgd): the buffer sums raw gradients, "
        "so on a steady slope the steps grow to 1/(1−μ) times η g.",
    ),
    (
        "averaged",
        "b ← μb + (1−μ)g, θ ← θ − ηb (Polyak's heavy ball as an average, optax.ema): the buffer is a "
        "mean of gradients, so every step is (1−μ) times torch's and the path falls behind it.",
    ),
    (
        "sutskever",
        "v ← μv − ηg, θ ← θ + v (Sutskever et al. 2013, Keras SGD): the lr enters the velocity when "
        "a gradient does, so at a constant lr the path is torch's, and it parts from torch's when a "
        "schedule moves the lr (torch rescales all past steps at once).",
    ),
)

NESTEROV_FORM = H.convention(
    "nesterov_form",
    "how Nesterov momentum is written (nesterov = true)",
    (
        "torch",
        "the gradient at θ and the step g + μb (torch.optim.SGD, and Keras in Sutskever's form; "
        "Bengio et al. 2013's rewrite): the plotted point is the look-ahead point itself, a momentum "
        "step ahead of the look-ahead form's θ.",
    ),
    (
        "lookahead",
        "the gradient at the look-ahead point θ − ημb (θ + μv in Sutskever's form), then a plain "
        "momentum step (Nesterov 1983; Sutskever et al. 2013, eq. 3-4): the same algorithm, but the "
        "plotted point is θ, which trails the point the gradient is taken at.",
    ),
)


def _sgd_check(hp):
    if hp["nesterov"] and (hp["momentum"] <= 0 or hp["dampening"] != 0):
        raise ValueError(
            "sgd: nesterov = true needs momentum > 0 and dampening = 0 (as torch.optim.SGD requires)"
        )
    if hp["dampening"] != 0 and hp["momentum_form"] != "torch":
        raise ValueError(
            f"sgd: dampening = {hp['dampening']:g} is torch's; momentum_form = "
            f"{hp['momentum_form']!r} has none (use dampening = 0, or momentum_form = 'torch')"
        )
    if hp["nesterov_form"] != "torch" and not hp["nesterov"]:
        raise ValueError(f"sgd: nesterov_form = {hp['nesterov_form']!r} needs nesterov = true")


def sgd_update(p, g, state, hp, ctx):
    r"""torch.optim.SGD, with momentum, dampening, Nesterov, weight decay and maximize, and the
    momentum and Nesterov forms of other papers and frameworks.

    .. math::
        g_t = \nabla f(\theta_{t-1}) + \lambda\theta_{t-1},\quad
        b_t = \mu b_{t-1} + (1-\tau) g_t \;(b_1 = g_1),\quad
        \theta_t = \theta_{t-1} - \eta\,(g_t + \mu b_t \text{ if nesterov else } b_t)

    Source: torch.optim.SGD (Sutskever et al. 2013 for the momentum, reparametrised).
    Convention (the default, momentum_form = nesterov_form = 'torch'): the buffer sums raw
    gradients (v <- mu v + g, not the averaged form), and the first step sets b_1 = g_1 without
    dampening. With `nesterov`, the plotted point is torch's, i.e. the look-ahead point of
    Sutskever's form (see `nag`).

    Other conventions (`momentum_form`, `nesterov_form`):

    - 'averaged': b_t = mu b_{t-1} + (1 - mu) g_t, theta_t = theta_{t-1} - lr b_t; Polyak (1964) as
      an exponential average, optax.ema(decay=mu, debias=False); Nesterov as (1 - mu) g_t + mu b_t.
    - 'sutskever': v_t = mu v_{t-1} - lr g_t, theta_t = theta_{t-1} + v_t; Sutskever, Martens, Dahl
      & Hinton (2013), eq. 1-2, and keras.optimizers.SGD, whose Nesterov step mu v_t - lr g_t
      (Bengio, Boulanger-Lewandowski & Pascanu 2013, eq. 7) is nesterov_form 'torch' here.
    - nesterov_form 'lookahead': the gradient at the point momentum alone would reach,
      theta - lr mu b (theta + mu v in Sutskever's form), then the plain momentum step; Nesterov
      (1983) as Sutskever et al. (2013) write it, eq. 3-4. The plotted point is theta.
    """
    form, mu, b_old = hp["momentum_form"], hp["momentum"], state["momentum_buffer"]
    nesterov = flag(hp["nesterov"])
    lookahead = hp["nesterov_form"] == "lookahead"

    def move(b):
        # Sutskever's velocity is the displacement itself (lr inside); the others hold gradients.
        return b if form == "sutskever" else -ctx.lr * b

    if lookahead:
        # The gradient where momentum alone would carry theta (ctx.grad: this step's noise and
        # clipping at another point), with weight decay at that point too.
        at = jnp.where(nesterov, p + move(mu * b_old), p)
        g = torch_grad(ctx.grad(at), at, hp)
    else:
        g = torch_grad(g, p, hp)
    if form == "torch":
        new = g  # torch adds the raw gradient to the Nesterov step, dampening or not
        b = jnp.where(ctx.t == 1.0, g, mu * b_old + (1.0 - hp["dampening"]) * g)
    else:
        new = (1.0 - mu) * g if form == "averaged" else -ctx.lr * g
        b = mu * b_old + new
    use_momentum = mu != 0.0
    d = b if lookahead else jnp.where(nesterov, new + mu * b, b)
    step = jnp.where(use_momentum, move(d), -ctx.lr * g)
    b = jnp.where(use_momentum, b, b_old)
    return p + step, {"momentum_buffer": b}


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
        MOMENTUM_FORM,
        NESTEROV_FORM,
    ),
    init=lambda p, hp: {"momentum_buffer": jnp.zeros_like(p)},
    update=sgd_update,
    latex=(
        r"b_t = \mu b_{t-1} + (1-\tau)\, g_t,\quad "
        r"\theta_t = \theta_{t-1} - \eta\,\big(g_t + \mu b_t \text{ (nesterov)}\quad\text{or}\quad b_t\big)"
    ),
    source="torch.optim.SGD",
    convention="Momentum buffer sums raw gradients (v <- mu v + g); b_1 = g_1; lr multiplies the buffer; "
    "Nesterov plots torch's point. momentum_form and nesterov_form race the averaged, Sutskever "
    "(Keras) and look-ahead forms.",
    check=_sgd_check,
    state_doc={"momentum_buffer": "velocity b_t (Sutskever's form: the displacement v_t, lr inside)"},
)


def momentum_update(p, g, state, hp, ctx):
    r"""Polyak's heavy-ball momentum in the averaged (exponential moving average) form.

    .. math:: v_t = \beta v_{t-1} + (1-\beta)\nabla f(\theta_{t-1}),\quad \theta_t = \theta_{t-1} - \eta v_t

    Source: Polyak (1964); optax.ema(decay=beta, debias=False) then -lr.
    Convention: v_0 = 0 and no bias correction, so early steps are (1 - beta) times shorter than
    torch's SGD momentum, whose buffer sums raw gradients. The same rule as
    `sgd` with momentum_form = 'averaged' (which adds weight decay and Nesterov).
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
    point is our theta + mu v (this is checked in the tests). The same rule as `sgd` with
    momentum_form = 'sutskever', nesterov = true and nesterov_form = 'lookahead'.
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
