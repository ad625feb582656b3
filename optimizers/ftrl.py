"""FTRL-Proximal, per coordinate: `ftrl` (McMahan et al. 2013, Algorithm 1)."""

import jax.numpy as jnp

from .spec import HParam, Optimizer


def ftrl_update(p, g, state, hp, ctx):
    r"""FTRL-Proximal with L1 and L2 regularisation, per coordinate.

    .. math::
        n_t = n_{t-1} + g_t^2,\quad \sigma_t = \frac{\sqrt{n_t} - \sqrt{n_{t-1}}}{\alpha},\quad
        z_t = z_{t-1} + g_t - \sigma_t\theta_{t-1} \\
        \theta_t = \begin{cases} 0 & |z_t| \le \lambda_1 \\
            -\dfrac{z_t - \operatorname{sign}(z_t)\lambda_1}{(\beta + \sqrt{n_t})/\alpha + \lambda_2}
            & \text{otherwise} \end{cases}

    Source: McMahan et al., "Ad Click Prediction: a View from the Trenches" (KDD 2013),
    Algorithm 1. Convention: z_0 = n_0 = 0 and the gradient is taken at the plotted point
    theta_{t-1}. The proximal terms centre on past iterates, so the start only enters through
    sigma_1 theta_0 at step 1 (with beta = l1 = l2 = 0 the rule is exactly Adagrad without eps).
    The schedule scales alpha (the lr curve shows alpha); it is read at each step, so sigma_t and
    the denominator use the current alpha. A coordinate whose |z_t| stays within l1 sits at exactly 0.
    """
    alpha = ctx.lr
    n_old = state["n"]
    n = n_old + g * g
    sigma = (jnp.sqrt(n) - jnp.sqrt(n_old)) / alpha
    z = state["z"] + g - sigma * p
    l1 = hp["l1"]
    denom = (hp["beta"] + jnp.sqrt(n)) / alpha + hp["l2"]
    # Where |z| <= l1 the other branch may divide 0 by 0 (n = 0, beta = 0); it is never selected.
    w = -(z - jnp.sign(z) * l1) / jnp.where(denom == 0.0, 1.0, denom)
    return jnp.where(jnp.abs(z) <= l1, 0.0, w), {"z": z, "n": n}


FTRL = Optimizer(
    name="ftrl",
    title="FTRL-Proximal",
    hparams=(
        HParam(
            "alpha",
            0.1,
            1e-4,
            10.0,
            log=True,
            symbol=r"\alpha",
            doc="per-coordinate learning rate scale alpha / (beta + sqrt(n))",
            min=0.0,
            min_open=True,
        ),
        HParam("beta", 1.0, 0.0, 10.0, symbol=r"\beta", doc="smoothing added to sqrt(n)", min=0.0),
        HParam(
            "l1", 0.0, 0.0, 10.0, symbol=r"\lambda_1", doc="L1 strength: pins small coordinates at 0", min=0.0
        ),
        HParam("l2", 0.0, 0.0, 10.0, symbol=r"\lambda_2", doc="L2 strength", min=0.0),
    ),
    init=lambda p, hp: {"z": jnp.zeros_like(p), "n": jnp.zeros_like(p)},
    update=ftrl_update,
    latex=(
        r"z_t = z_{t-1} + g_t - \sigma_t\theta_{t-1},\quad "
        r"\theta_t = -\frac{z_t - \operatorname{sign}(z_t)\lambda_1}{(\beta + \sqrt{n_t})/\alpha + \lambda_2}"
        r"\ \big(0 \text{ if } |z_t| \le \lambda_1\big)"
    ),
    source="McMahan et al. 2013 (KDD), Algorithm 1",
    convention="Per coordinate; z_0 = n_0 = 0; gradient at the plotted point; the start enters only "
    "through sigma_1 theta_0; the schedule scales alpha.",
    lr_name="alpha",
    state_doc={"z": "accumulated (gradient - sigma theta) z_t", "n": "sum of squared gradients n_t"},
)

ALL = (FTRL,)
