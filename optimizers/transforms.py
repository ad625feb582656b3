"""Per-racer gradient transforms, applied to the observed gradient before the update rule."""

import jax
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


def _unclipped(g, max_norm):
    """`clip_value(clip_norm(g, inf), inf)` without the square root and division.

    With both limits inf, clip_norm's factor is exactly 1 while the squared norm is finite; when it
    is not (an overflowing or non-finite gradient) the factor is inf / inf = NaN, and so is every
    component. clip_value with an inf limit is the identity. The factor is still multiplied in, and
    built from the traced limit so that the compiler keeps the product: it rounds as before (XLA's
    CPU code treats subnormal numbers as zero).
    """
    one = jnp.minimum(max_norm, 1.0)
    return g * jnp.where(jnp.isfinite(jnp.sum(g * g)), one, jnp.nan)


def clip_grad(g, limits):
    """`clip_value(clip_norm(g, limits[0]), limits[1])`, the same number for every input.

    The limits are traced values (a slider never recompiles), so whether clipping is on is a
    `lax.cond`: a racer without clipping, the usual case, skips the norm's square root and division
    on every step instead of multiplying by a factor of one.
    """
    return jax.lax.cond(
        jnp.isfinite(limits[0]) | jnp.isfinite(limits[1]),
        lambda g: clip_value(clip_norm(g, limits[0]), limits[1]),
        lambda g: _unclipped(g, limits[0]),
        g,
    )
