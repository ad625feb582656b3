"""Optimizer plug-ins (entry-point group `optirace.optimizers`): see surfaces/plugins.py for the
contract they share with surface plug-ins, and for `PROBLEMS`, where skipped plug-ins are listed."""

from __future__ import annotations

from collections.abc import MutableMapping

import jax
import jax.numpy as jnp

from surfaces.plugins import PROBLEMS, load

from .spec import HParam, Optimizer, StepContext

__all__ = ["OPTIMIZER_GROUP", "PROBLEMS", "load_optimizers"]

OPTIMIZER_GROUP = "optirace.optimizers"


def _check_optimizer(opt: Optimizer) -> str:
    if not isinstance(opt.hparams, tuple) or not all(isinstance(h, HParam) for h in opt.hparams):
        return "its hparams must be a tuple of optimizers.HParam"
    names = [h.name for h in opt.hparams]
    if len(set(names)) != len(names):
        return "two of its hyperparameters share a name"
    if not callable(opt.init) or not callable(opt.update):
        return "its init and update must be functions"
    if opt.lr_name is not None and opt.lr_name not in names:
        return f"its lr_name {opt.lr_name!r} is none of its hyperparameters"
    if opt.wrapper:
        return ""  # a wrapper's rule needs an inner racer to run; the race checks it
    # One traced step on a 2-d point (jax.eval_shape: nothing compiles), as the engine calls it.
    hp = {h.name: jnp.float64(0.0 if h.kind == "choice" else float(h.default)) for h in opt.hparams}
    hp.update({h.name: h.default for h in opt.hparams if h.kind == "choice"})

    def step(p):
        state = opt.init(p, hp)
        ctx = StepContext(
            lr=jnp.float64(hp.get(opt.lr_name, 0.01) if opt.lr_name else 0.01),
            t=jnp.float64(1.0),
            loss=jnp.sum(p * p),
            grad=lambda x: 2.0 * x,
            hess=lambda x: 2.0 * jnp.eye(x.shape[0]),
        )
        return opt.update(p, 2.0 * p, state, hp, ctx)

    p_new, state = jax.eval_shape(step, jax.ShapeDtypeStruct((2,), jnp.float64))
    if p_new.shape != (2,) or not isinstance(state, dict):
        return "its update must return (new params of the same shape, a dict state)"
    return ""


def load_optimizers(registry: MutableMapping[str, Optimizer]) -> None:
    """Add the installed optimizer plug-ins that keep the contract to `registry` (optimizers.OPTIMIZERS)."""
    load(OPTIMIZER_GROUP, registry, Optimizer, _check_optimizer)
