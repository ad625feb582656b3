"""RAdam: Adam with the variance of its adaptive step rectified (torch.optim.RAdam).

`RADAM`, `radam_init`, `radam_update` and `RADAM_HPARAMS` are what Ranger builds on.
"""

import jax.numpy as jnp

from . import hparams as H
from .common import adam_grad, bias_correction, ema_sq, lerp, power
from .spec import Optimizer

__all__ = ["RADAM", "RADAM_HPARAMS", "radam_init", "radam_update", "RHO_THRESHOLD", "RHO_THRESHOLDS"]

# torch switches the adaptive step on once the SMA length exceeds 5 (as the authors' code does);
# the paper's Algorithm 2 does at 4.
RHO_THRESHOLDS = {"torch": 5.0, "paper": 4.0}
RHO_THRESHOLD = RHO_THRESHOLDS["torch"]

RHO_THRESHOLD_SPEC = H.convention(
    "rho_threshold",
    "the length ρ_t of the approximated moving average above which the adaptive step starts",
    (
        "torch",
        "ρ_t > 5 (torch.optim.RAdam, the authors' code): the first steps are debiased momentum SGD "
        "one step longer.",
    ),
    (
        "paper",
        "ρ_t > 4 (Liu et al. 2020, Algorithm 2): the adaptive step starts as soon as its variance is "
        "finite, with r_t still far below 1; with β₂ = 0.999 that is step 5 instead of 6, and the "
        "paths part there.",
    ),
)


def radam_init(p, hp):
    z = jnp.zeros_like(p)
    return {"exp_avg": z, "exp_avg_sq": z}


def radam_update(p, g, state, hp, ctx):
    r"""torch.optim.RAdam, with (decoupled) weight decay and maximize.

    .. math::
        \rho_\infty = \frac{2}{1-\beta_2} - 1,\quad
        \rho_t = \rho_\infty - \frac{2t\beta_2^t}{1-\beta_2^t},\quad
        \hat m_t = \frac{m_t}{1-\beta_1^t} \\
        \theta_t = \theta_{t-1} - \eta\,\hat m_t\,
            \begin{cases} r_t\,\dfrac{\sqrt{1-\beta_2^t}}{\sqrt{v_t}+\epsilon} & \rho_t > 5 \\
            1 & \text{otherwise} \end{cases},\quad
        r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}}

    Source: Liu et al., "On the Variance of the Adaptive Learning Rate and Beyond" (2020);
    torch.optim.RAdam. Convention: torch's threshold rho_t > 5; until then the step is momentum SGD
    on the debiased m_t; eps is added to sqrt(v_t) before debiasing; step count from 1.
    `rho_threshold` = 'paper' rectifies from rho_t > 4, as the paper's Algorithm 2 writes it.
    """
    g, p = adam_grad(g, p, hp, ctx.lr)
    beta1, beta2, t = hp["beta1"], hp["beta2"], ctx.t
    m = lerp(state["exp_avg"], g, 1.0 - beta1)
    v = ema_sq(state["exp_avg_sq"], g, beta2)
    bc2 = bias_correction(beta2, t)
    m_hat = m / bias_correction(beta1, t)
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    rho_t = rho_inf - 2.0 * t * power(beta2, t) / bc2
    rectified = rho_t > RHO_THRESHOLDS[hp["rho_threshold"]]
    # Below the threshold r_t may be the root of a negative number; that branch is never taken.
    r = jnp.sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
    adaptive = jnp.sqrt(bc2) / (jnp.sqrt(v) + hp["eps"])
    step = jnp.where(rectified, m_hat * ctx.lr * adaptive * r, m_hat * ctx.lr)
    return p - step, {"exp_avg": m, "exp_avg_sq": v}


RADAM_HPARAMS = (
    H.lr(0.001),
    H.beta1(),
    H.beta2(),
    H.eps(1e-8),
    H.weight_decay(doc="L2 penalty added to the gradient, or decay rate of theta if decoupled"),
    H.decoupled_weight_decay(),
    H.maximize(),
    RHO_THRESHOLD_SPEC,
)

RADAM = Optimizer(
    name="radam",
    title="RAdam",
    hparams=RADAM_HPARAMS,
    init=radam_init,
    update=radam_update,
    latex=(
        r"\rho_t = \rho_\infty - \frac{2t\beta_2^t}{1-\beta_2^t},\quad "
        r"\theta_t = \theta_{t-1} - \eta\,\hat m_t\cdot"
        r"\begin{cases} r_t \sqrt{1-\beta_2^t}/(\sqrt{v_t}+\epsilon) & \rho_t > 5 \\ 1 & \text{else}\end{cases}"
    ),
    source="Liu et al. 2020 (ICLR); torch.optim.RAdam",
    convention="torch's threshold rho_t > 5 (rho_threshold = 'paper': 4); un-rectified steps are "
    "debiased momentum SGD; eps added to sqrt(v_t); step count from 1.",
    state_doc={"exp_avg": "first moment m_t", "exp_avg_sq": "second moment v_t"},
)

ALL = (RADAM,)
