"""Small pieces of update rules that several torch.optim rules share, written once."""

import jax.numpy as jnp

from .spec import flag


def torch_grad(g, p, hp):
    """torch.optim's gradient preamble: negate for `maximize`, then add coupled L2 weight decay.

    Every torch rule does exactly this, in this order, before its own update.
    """
    g = jnp.where(flag(hp["maximize"]), -g, g)
    return g + hp["weight_decay"] * p


def adam_grad(g, p, hp, lr):
    """Adam-family preamble: `maximize`, then weight decay either coupled (added to g) or decoupled
    (p <- p * (1 - lr * weight_decay), torch's AdamW convention: decay is multiplied by lr).

    Returns (g, p) to continue the update with.
    """
    g = jnp.where(flag(hp["maximize"]), -g, g)
    decoupled = flag(hp["decoupled_weight_decay"])
    g = jnp.where(decoupled, g, g + hp["weight_decay"] * p)
    p = jnp.where(decoupled, p * (1.0 - lr * hp["weight_decay"]), p)
    return g, p


def lerp(a, b, w):
    """a + w (b - a), evaluated as torch's `lerp` does so moving averages round the same way.

    torch switches to b - (b - a)(1 - w) when |w| >= 0.5, which is exact at w = 1.
    """
    return jnp.where(jnp.abs(w) < 0.5, a + w * (b - a), b - (b - a) * (1.0 - w))


def ema_sq(v, g, beta2):
    """The second-moment average v <- beta2 v + (1 - beta2) g^2 of Adam, RMSprop and Adadelta."""
    return v * beta2 + (1.0 - beta2) * g * g


def power(beta, t):
    """beta^t for 0 <= beta < 1 and t >= 1, as exp(t log beta) (0 for beta = 0).

    Why not `beta**t`: XLA calls libm's pow for it every step, which was 40% of a race's time; log
    beta is loop-invariant, so the step pays one vectorised exp. The result differs from pow (what
    torch and optax use) by a few ulps, far inside every parity tolerance.
    """
    return jnp.exp(t * jnp.log(beta))


def bias_correction(beta, t):
    """1 - beta^t: the Adam-family debiasing factor for step t (counted from 1)."""
    return 1.0 - power(beta, t)
