"""The engine's upper bounds on work, in one place.

Every public call (`race`, `sweep`, `basins`, `Racer.from_spec`, `parse_racer`) checks these before
it compiles or runs anything, so a request beyond them fails at once with a ValueError that names
the limit. They are generous for teaching (a 1024 x 1024 basin map of 300 steps, a sweep of 64
values x 5000 steps) and keep any one call to minutes of work. The web app and the CLI apply their
own, tighter limits first (optirace/app/state.py's LIMITS).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "MAX_RACERS",
    "MAX_STEPS",
    "MAX_RACE_STEPS",
    "MAX_GRID",
    "MAX_RUN_STEPS",
    "MAX_SWEEP_VALUES",
    "MAX_NESTING",
    "MAX_SPEC_ITEMS",
    "MAX_TEXT",
    "MAX_LABEL",
    "MAX_MILESTONES",
    "DOCS",
    "check_spec_size",
]

MAX_RACERS = 32  # racers in one race, compiled as one program (32 distinct: 10-20 s here; 64: about 2 min)
MAX_STEPS = 100_000  # steps of one race, sweep or basin map
MAX_RACE_STEPS = 1_000_000  # racers x steps in one race: the recorded table grows with both
MAX_GRID = 1024  # basins: starts per side of the grid
MAX_RUN_STEPS = 2**29  # basins: grid^2 x steps; sweeps: values x steps (1024^2 x 512)
MAX_SWEEP_VALUES = 1024  # values of the one swept hyperparameter
MAX_NESTING = 8  # dicts and lists inside one racer spec (a wrapper's inner racer is one level)
MAX_SPEC_ITEMS = 256  # keys and list entries in one racer spec, counted through every level
MAX_TEXT = 1000  # characters of a racer string, and of any text inside a racer spec
MAX_LABEL = 100  # characters of a racer's label
MAX_MILESTONES = 8  # entries of a milestone list (the engine traces 8 numbers)


# What each limit bounds, for the reference (docs/reference.md is generated from this).
DOCS: dict[str, str] = {
    "MAX_RACERS": "racers in one `race` (each distinct racer adds to the one program's compile time)",
    "MAX_STEPS": "`steps` of a race, sweep or basin map",
    "MAX_RACE_STEPS": "racers x steps in one `race` (the recorded trajectories grow with both)",
    "MAX_GRID": "`grid` of `basins`: starts per side",
    "MAX_RUN_STEPS": "`basins`: grid^2 x steps (1024^2 x 512, so 1024^2 x 300 runs); `sweep`: values x steps",
    "MAX_SWEEP_VALUES": "values of the swept hyperparameter in `sweep`",
    "MAX_NESTING": "levels of dicts and lists in one racer spec (a wrapper's `inner` racer is one)",
    "MAX_SPEC_ITEMS": "keys and list entries in one racer spec, through every level",
    "MAX_TEXT": "characters of a racer string, and of any text inside a racer spec",
    "MAX_LABEL": "characters of a racer's `label`",
    "MAX_MILESTONES": "entries of a `milestones` list",
}


def check_spec_size(spec: Any, owner: str = "racer") -> None:
    """Refuse a racer spec nested deeper than MAX_NESTING, with more than MAX_SPEC_ITEMS entries, a
    label longer than MAX_LABEL or other text longer than MAX_TEXT, before anything walks it
    recursively or hashes it. The message names the key under which the excess sits.

    Iterative, and it stops at the first excess: a hostile spec costs at most MAX_SPEC_ITEMS steps.
    """
    todo: list[tuple[Any, int, str]] = [(spec, 1, owner)]
    items = 0
    while todo:
        value, depth, where = todo.pop()
        if isinstance(value, str):
            label = where.endswith(": label")
            limit, name = (MAX_LABEL, "MAX_LABEL") if label else (MAX_TEXT, "MAX_TEXT")
            if len(value) > limit:
                field = "label" if label else "text"
                raise ValueError(f"{where}: {field} of {len(value)} characters; {name} is {limit}")
            continue
        if not isinstance(value, (Mapping, list, tuple)):
            continue
        if depth > MAX_NESTING:
            raise ValueError(f"{where}: nested more than {MAX_NESTING} levels deep (MAX_NESTING)")
        items += len(value)
        if items > MAX_SPEC_ITEMS:
            raise ValueError(f"{where}: more than {MAX_SPEC_ITEMS} entries (MAX_SPEC_ITEMS)")
        if isinstance(value, Mapping):
            for k, v in value.items():
                name = k if isinstance(k, str) and len(k) <= 40 else "a key"
                todo += [(k, depth + 1, where), (v, depth + 1, f"{where}: {name}")]
        else:
            todo += [(v, depth + 1, where) for v in value]
