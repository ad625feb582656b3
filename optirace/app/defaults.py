"""Moved to optirace/defaults.py (the export and the CLI need the default racers too)."""

from optirace.defaults import (
    DEFAULT_RACE,
    GRADIENT_SCALED,
    OWN_SCALE,
    SURFACE_LR,
    default_racers,
    default_spec,
    suggested_lr,
)

__all__ = [
    "DEFAULT_RACE",
    "GRADIENT_SCALED",
    "OWN_SCALE",
    "SURFACE_LR",
    "default_racers",
    "default_spec",
    "suggested_lr",
]
