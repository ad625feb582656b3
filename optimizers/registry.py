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
from .optax_racers import is_optax_name, optax_optimizer
from .spec import Optimizer, Schedule

__all__ = ["OPTIMIZERS", "SCHEDULES", "BUILT_IN", "Registry"]

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


class Registry(dict):
    """The optimizers by name: the built-in ones and the plug-ins' (optimizers/plugins.py) are its
    entries; an `optax:ALIAS` name is looked up in optax as well (optimizers/optax_racers.py), so
    `OPTIMIZERS["optax:yogi"]` and `"optax:yogi" in OPTIMIZERS` work, while iterating lists only
    the entries (the app's menus, the reference)."""

    def __missing__(self, name: str) -> Optimizer:
        if is_optax_name(name):
            return optax_optimizer(name)  # ValueError for an unknown alias, as a racer reports it
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        if dict.__contains__(self, name):
            return True
        if not is_optax_name(name):
            return False
        try:
            optax_optimizer(name)
        except ValueError:
            return False
        return True

    def get(self, name, default=None):
        if name in self:  # dict.get would skip __missing__
            return self[name]
        return default


OPTIMIZERS: Registry = Registry((o.name, o) for fam in _FAMILIES for o in fam.ALL)
BUILT_IN: frozenset[str] = frozenset(OPTIMIZERS)
SCHEDULES: dict[str, Schedule] = {s.name: s for s in schedules.ALL}
