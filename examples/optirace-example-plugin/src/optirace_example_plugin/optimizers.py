"""signSGD as an OptiRace optimizer."""

import jax.numpy as jnp

from optimizers import Optimizer, hparams


def signsgd_update(p, g, state, hp, ctx):
    r"""signSGD: step every coordinate by the learning rate, in the direction of its gradient's sign.

    .. math::
        \theta_t = \theta_{t-1} - \eta\,\operatorname{sign}(g_t)

    Source: Bernstein, Wang, Azizzadenesheli & Anandkumar, "signSGD: Compressed Optimisation for
    Non-Convex Problems" (ICML 2018); optax.sign_sgd. Convention: sign(0) = 0 (a zero gradient
    component does not move), as jnp.sign and optax have it.
    """
    return p - ctx.lr * jnp.sign(g), state


SIGNSGD = Optimizer(
    name="signsgd",
    title="signSGD",
    hparams=(hparams.lr(0.05),),
    init=lambda p, hp: {},
    update=signsgd_update,
    latex=r"\theta_t = \theta_{t-1} - \eta\,\operatorname{sign}(g_t)",
    source="Bernstein et al. 2018 (ICML), signSGD; optax.sign_sgd",
    convention="sign(0) = 0; the step is lr in every coordinate whatever the gradient's size.",
)
