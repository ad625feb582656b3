"""Lookahead, a wrapper around any inner racer (`lookahead`), and Ranger = RAdam inside Lookahead."""

import jax.numpy as jnp

from .radam import RADAM_HPARAMS, radam_init, radam_update
from .spec import HParam, Optimizer


def _k(default):
    return HParam(
        "k",
        default,
        1.0,
        20.0,
        kind="int",
        symbol="k",
        doc="fast steps between two synchronisations with the slow weights",
        min=1.0,
    )


def _alpha():
    return HParam(
        "alpha",
        0.5,
        0.0,
        1.0,
        symbol=r"\alpha",
        doc="slow step size: how far the slow weights move toward the fast ones",
        min=0.0,
        max=1.0,
    )


def _sync(fast, slow, hp, ctx):
    """After every k-th fast step: slow <- slow + alpha (fast - slow), and fast restarts there."""
    due = jnp.mod(ctx.t, hp["k"]) == 0.0
    moved = slow + hp["alpha"] * (fast - slow)
    return jnp.where(due, moved, fast), jnp.where(due, moved, slow)


def lookahead_init(p, hp, *, inner):
    inner_init, _ = inner
    return {"slow": p, "inner": inner_init(p, hp["inner"])}


def lookahead_update(p, g, state, hp, ctx, *, inner):
    r"""Lookahead: k fast steps of the inner optimizer, then pull the slow weights toward them.

    .. math::
        \phi_t = \text{inner}(\phi_{t-1}, g_t);\quad \text{if } k \mid t:\
        \theta^{slow} \leftarrow \theta^{slow} + \alpha(\phi_t - \theta^{slow}),\ \phi_t \leftarrow \theta^{slow}

    Source: Zhang, Lucas, Hinton & Ba, "Lookahead Optimizer: k steps forward, 1 step back" (2019);
    optax.lookahead(sync_period=k, slow_step_size=alpha, reset_state=False).
    Convention: the plotted point is the fast weights phi (where gradients are taken); the slow
    weights live in the state as `slow`, starting at the start point; the inner optimizer's state
    is kept across synchronisations (not reset) and its step count runs on every fast step. The
    schedule scales the inner racer's lr.
    """
    _, inner_update = inner
    fast, inner_state = inner_update(p, g, state["inner"], hp["inner"], ctx)
    fast, slow = _sync(fast, state["slow"], hp, ctx)
    return fast, {"slow": slow, "inner": inner_state}


LOOKAHEAD = Optimizer(
    name="lookahead",
    title="Lookahead",
    hparams=(_k(5.0), _alpha()),
    init=lookahead_init,
    update=lookahead_update,
    latex=(
        r"\phi_t = \text{inner}(\phi_{t-1}),\quad k \mid t:\ "
        r"\theta \leftarrow \theta + \alpha(\phi_t - \theta),\ \phi_t \leftarrow \theta"
    ),
    source="Zhang et al. 2019 (NeurIPS); optax.lookahead",
    convention="Plotted point = fast weights; slow weights in the state; inner state never reset; "
    "sync after steps k, 2k, ...",
    lr_name=None,
    wrapper=True,
    state_doc={"slow": "slow weights theta", "inner": "the inner optimizer's state"},
)

_RADAM_NAMES = ("lr", "beta1", "beta2", "eps", "weight_decay")


def ranger_init(p, hp):
    return {**radam_init(p, hp), "slow": p}


def ranger_update(p, g, state, hp, ctx):
    r"""Ranger: RAdam as the fast optimizer of Lookahead, as one optimizer.

    .. math::
        \phi_t = \text{RAdam}(\phi_{t-1}, g_t);\quad \text{if } k \mid t:\
        \theta^{slow} \leftarrow \theta^{slow} + \alpha(\phi_t - \theta^{slow}),\ \phi_t \leftarrow \theta^{slow}

    Source: Wright, "Ranger" (2019), combining Liu et al.'s RAdam (2020) with Zhang et al.'s
    Lookahead (2019). Convention: the RAdam step is torch.optim.RAdam's (rho_t > 5 threshold, coupled
    weight decay); lookahead as in `lookahead` (plotted point = fast weights, RAdam state never
    reset). Defaults are torch's RAdam ones with Ranger's k = 6, alpha = 0.5 (the original Ranger
    used beta1 = 0.95 and eps = 1e-5).
    """
    inner_hp = {**hp, "decoupled_weight_decay": 0.0, "maximize": 0.0, "rho_threshold": "torch"}
    inner_state = {k: v for k, v in state.items() if k != "slow"}
    fast, inner_state = radam_update(p, g, inner_state, inner_hp, ctx)
    fast, slow = _sync(fast, state["slow"], hp, ctx)
    return fast, {**inner_state, "slow": slow}


RANGER = Optimizer(
    name="ranger",
    title="Ranger (RAdam + Lookahead)",
    hparams=tuple(h for h in RADAM_HPARAMS if h.name in _RADAM_NAMES) + (_k(6.0), _alpha()),
    init=ranger_init,
    update=ranger_update,
    latex=(
        r"\phi_t = \text{RAdam}(\phi_{t-1}),\quad k \mid t:\ "
        r"\theta \leftarrow \theta + \alpha(\phi_t - \theta),\ \phi_t \leftarrow \theta"
    ),
    source="Wright 2019 (Ranger); Liu et al. 2020 (RAdam); Zhang et al. 2019 (Lookahead)",
    convention="torch.optim.RAdam fast steps (rho_t > 5); plotted point = fast weights; slow weights "
    "in the state; sync after steps k, 2k, ...",
    state_doc={
        "exp_avg": "RAdam first moment m_t",
        "exp_avg_sq": "RAdam second moment v_t",
        "slow": "slow weights theta",
    },
)

ALL = (LOOKAHEAD, RANGER)
