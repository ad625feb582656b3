"""Rprop: per-coordinate step sizes driven by gradient signs only (torch.optim.Rprop, iRprop-)."""

import jax.numpy as jnp

from . import hparams as H
from .spec import HParam, Optimizer, flag

__all__ = ["RPROP", "rprop_init", "rprop_update"]


def rprop_init(p, hp):
    return {"prev": jnp.zeros_like(p), "step_size": jnp.full_like(p, hp["lr"])}


def rprop_update(p, g, state, hp, ctx):
    r"""torch.optim.Rprop, which is iRprop-: a sign change shrinks the step and skips the move.

    .. math::
        s_t = \mathrm{clip}\big(s_{t-1}\cdot\{\eta^+ \text{ if } g_t g_{t-1} > 0;\ \eta^- \text{ if } < 0;\
            1 \text{ else}\},\ s_{\min},\ s_{\max}\big) \\
        g_t \leftarrow 0 \text{ where } g_t g_{t-1} < 0,\quad
        \theta_t = \theta_{t-1} - \mathrm{sign}(g_t)\, s_t

    Source: Riedmiller & Braun (1993); Igel & Huesken (2000) for iRprop-; torch.optim.Rprop.
    Convention: s_0 = lr (the lr the first step sees; later schedule changes do not reach Rprop);
    on a sign change the stored gradient becomes 0, so that coordinate does not move this step and
    its next step is neither grown nor shrunk. The gradient's size is never used, only its sign.
    """
    g = jnp.where(flag(hp["maximize"]), -g, g)
    # torch fills the step sizes with the lr of the first step (after any scheduler has set it).
    s = jnp.where(ctx.t == 1.0, jnp.full_like(p, ctx.lr), state["step_size"])
    sign = jnp.sign(g * state["prev"])
    factor = jnp.where(sign > 0, hp["eta_plus"], jnp.where(sign < 0, hp["eta_minus"], 1.0))
    # max then min, as torch's clamp: if step_size_min > step_size_max the max wins.
    s = jnp.minimum(jnp.maximum(s * factor, hp["step_size_min"]), hp["step_size_max"])
    g = jnp.where(sign < 0, 0.0, g)
    return p - jnp.sign(g) * s, {"prev": g, "step_size": s}


RPROP = Optimizer(
    name="rprop",
    title="Rprop (iRprop-)",
    hparams=(
        H.lr(0.01, hi=10.0),
        HParam(
            "eta_minus",
            0.5,
            0.05,
            0.95,
            symbol=r"\eta^-",
            doc="step-size factor after a sign change",
            min=0.0,
            max=1.0,
            min_open=True,
            max_open=True,
        ),
        HParam(
            "eta_plus",
            1.2,
            1.01,
            3.0,
            symbol=r"\eta^+",
            doc="step-size factor while the sign holds",
            min=1.0,
            min_open=True,
        ),
        HParam("step_size_min", 1e-6, 1e-9, 1e-1, log=True, symbol=r"s_{\min}", doc="smallest step size"),
        HParam("step_size_max", 50.0, 1e-3, 100.0, log=True, symbol=r"s_{\max}", doc="largest step size"),
        H.maximize(),
    ),
    init=rprop_init,
    update=rprop_update,
    latex=(
        r"s_t = \mathrm{clip}(s_{t-1}\,\eta^{\pm},\, s_{\min},\, s_{\max}),\quad "
        r"\theta_t = \theta_{t-1} - \mathrm{sign}(g_t)\, s_t,\ \ g_t := 0 \text{ on a sign change}"
    ),
    source="Riedmiller & Braun 1993; Igel & Huesken 2000 (iRprop-); torch.optim.Rprop",
    convention="iRprop-: a sign change shrinks the step, zeroes the stored gradient and skips the move; "
    "s_0 = lr.",
    state_doc={
        "prev": "previous gradient (0 where the sign just changed)",
        "step_size": "per-coordinate step size s_t",
    },
)

ALL = (RPROP,)
