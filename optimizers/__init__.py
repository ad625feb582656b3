"""Optimizers as pure, jitted JAX update rules, their schedules, and the race engine.

`OPTIMIZERS` and `SCHEDULES` are explicit registries (optimizers/registry.py): each family module
lists its rules in `ALL`.
"""

import jax

jax.config.update("jax_enable_x64", True)
# Plug-ins load at the end of this file, once both packages are complete (surfaces/__init__.py).
PLUGINS_PENDING = True

from . import xla  # noqa: E402,F401,I001  (first: XLA's backend options must precede its start)
from .cache import cache_dir as _cache_dir  # noqa: E402,F401  (importing switches the compile cache on)
from .race import RaceResult, basins, race, sweep  # noqa: E402
from .racer import Racer, parse_racer, racer_to_string  # noqa: E402
from .registry import OPTIMIZERS, SCHEDULES  # noqa: E402
from .memory import Memory, memory  # noqa: E402
from .tune import Sweep, Tuned, tune  # noqa: E402
from .cloud import Cloud, cloud  # noqa: E402
from .training import Training, train  # noqa: E402
from .spec import HParam, Optimizer, Schedule  # noqa: E402
from .plugins import PROBLEMS as PLUGIN_PROBLEMS, load_optimizers  # noqa: E402

# Last: a plug-in's module may import from this package (optimizers.Optimizer, optimizers.hparams).
PLUGINS_PENDING = False
load_optimizers(OPTIMIZERS)  # and the surfaces' plug-ins, if surfaces' own import left them to us

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "HParam",
    "Optimizer",
    "Schedule",
    "Racer",
    "RaceResult",
    "parse_racer",
    "racer_to_string",
    "race",
    "sweep",
    "basins",
    "tune",
    "Tuned",
    "Sweep",
    "cloud",
    "Cloud",
    "memory",
    "Memory",
    "Training",
    "train",
    "PLUGIN_PROBLEMS",
]
