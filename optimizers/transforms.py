"""Per-racer gradient transforms, applied to the observed gradient before the update rule."""

import jax.numpy as jnp


def clip_norm(g, max_norm):
    """torch.nn.utils.clip_grad_norm_: scale g by min(1, max_norm / (||g|| + 1e-6)).

    The 1e-6 is torch's; max_norm = inf leaves g untouched.
    """
    total = jnp.sqrt(jnp.sum(g * g))
    coef = jnp.minimum(max_norm / (total + 1e-6), 1.0)
    return g * coef


def clip_value(g, limit):
    """torch.nn.utils.clip_grad_value_: clamp every component to [-limit, limit]."""
    return jnp.clip(g, -limit, limit)
