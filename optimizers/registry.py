"""The registries: every optimizer and schedule by name. Each family module lists its rules in `ALL`.

A module of its own, so that what needs the registry (the racer parser, the package's namespace)
imports it, rather than reaching back into the package.
"""

from . import (
    adabelief,
    adadelta,
    adagrad,
    adam,
    asgd,
    ftrl,
    lion,
    lookahead,
    newton,
    rmsprop,
    rprop,
    schedules,
    sgd,
    yogi,
)
from .spec import Optimizer, Schedule

__all__ = ["OPTIMIZERS", "SCHEDULES"]

_FAMILIES = (
    sgd,
    adagrad,
    adadelta,
    rmsprop,
    adam,
    asgd,
    rprop,
    lion,
    lookahead,
    ftrl,
    newton,
    adabelief,
    yogi,
)

OPTIMIZERS: dict[str, Optimizer] = {o.name: o for fam in _FAMILIES for o in fam.ALL}
SCHEDULES: dict[str, Schedule] = {s.name: s for s in schedules.ALL}
