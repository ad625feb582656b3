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
