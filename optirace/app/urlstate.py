"""The app's link as fields, and back: a thin view of optirace/scene.py, where every field is declared.

Format: `?surface=rosenbrock&r0=adam:lr=0.01&r1=sgd:lr=0.001,momentum=0.9&start=-1.5,2&steps=300`
`&noise=0&seed=0&speed=60&theme=dark&present=1&embed=1&loop=1&play=1`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from optimizers import racer_to_string
from optirace.scene import FORMS, MAX_LABEL, MAX_RACERS, Scene

__all__ = ["racer_to_string", "decode", "MAX_URL_RACERS", "MAX_URL_LABEL"]

MAX_URL_RACERS = MAX_RACERS
MAX_URL_LABEL = MAX_LABEL


def decode(query: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Query parameters -> (the fields understood, by URL key, racers under "racers"; notices)."""
    fields, notices = Scene.read_query(query)
    return {(k if k == "racers" else FORMS[k].url): v for k, v in fields.items()}, notices
