"""Learning-rate schedules with torch.optim.lr_scheduler's semantics and keyword names.

Each schedule is stepped once per optimizer step: step t (1-based) uses the lr torch's scheduler
reports after t - 1 calls of `scheduler.step()`. The racer's `lr` is the base lr (torch's
`initial_lr`), except where a schedule says otherwise in its docstring.
"""

import jax.numpy as jnp

from .spec import Schedule

_EMPTY = ()


def _constant_lr(s, base, hp):
    """No schedule: every step uses the base lr."""
    return base


CONSTANT = Schedule(
    name="constant",
    title="Constant",
    hparams=_EMPTY,
    init=lambda base, hp, steps: {"epoch": jnp.zeros(())},
    lr=_constant_lr,
    step=lambda s, base, hp, loss: {"epoch": s["epoch"] + 1.0},
    torch_name="(none)",
    latex=r"\eta_t = \eta",
)

ALL = (CONSTANT,)
