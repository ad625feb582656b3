"""The optimizer and schedule reference, generated from their specs (the single source of truth).

    python -m optirace.docs > docs/reference.md

tests/test_docs.py fails when docs/reference.md is out of date.
"""

from __future__ import annotations

import math

from optimizers import OPTIMIZERS, SCHEDULES, limits
from optimizers.optax_racers import NOT_RACEABLE
from optimizers.registry import BUILT_IN
from optimizers.spec import HParam


def _default(h: HParam) -> str:
    d = h.default
    if isinstance(d, bool) or h.kind == "bool":
        return "true" if d else "false"
    if isinstance(d, float) and math.isinf(d):
        return "inf"
    return f"`{d}`" if isinstance(d, str) else f"{d:g}" if isinstance(d, float) else str(d)


def _table(hparams) -> list[str]:
    if not hparams:
        return ["(no hyperparameters)", ""]
    rows = ["| name | default | legal values | meaning |", "|---|---|---|---|"]
    for h in hparams:
        meaning = h.doc + "".join(f"<br>`{c}`: {h.choice_doc(c)}" for c in h.choices if h.choice_doc(c))
        rows.append(f"| `{h.name}` | {_default(h)} | {h.legal_text()} | {meaning} |")
    return [*rows, ""]


def reference() -> str:
    out = [
        "# Reference: optimizers and schedules",
        "",
        "Generated from the hyperparameter specs by `python -m optirace.docs`; the same specs drive the app's",
        "sliders and the validation of every racer. Names follow torch.optim (tuples split: `betas` ->",
        "`beta1`, `beta2`). Legal values are what torch.optim (or the paper) accepts; the app's sliders",
        "show a smaller display range.",
        "",
        "## Optimizers",
        "",
    ]
    # The built-in optimizers only: installed plug-ins document themselves.
    for name, opt in ((n, o) for n, o in OPTIMIZERS.items() if n in BUILT_IN):
        out += [f"### `{name}`: {opt.title}", "", f"$${opt.latex}$$", ""]
        out += [f"- Source: {opt.source}", f"- Convention: {opt.convention}"]
        if opt.wrapper:
            out.append(
                "- Wrapper: takes an `inner` racer, e.g. `{'optimizer': 'lookahead', 'inner': {'optimizer': 'sgd', 'lr': 0.01}}`."
            )
        if opt.state_doc:
            out.append("- State shown: " + "; ".join(f"`{k}` ({v})" for k, v in opt.state_doc.items()))
        out += ["", *_table(opt.hparams)]
    out += [
        "### `optax:NAME`: any optax optimizer",
        "",
        "`{'optimizer': 'optax:yogi', 'learning_rate': 0.1}` races `optax.yogi` itself (racer text",
        "`optax:yogi:learning_rate=0.1`). Its hyperparameters are the alias's keyword arguments that",
        "have a number as default, under optax's names and defaults (`learning_rate`, `b1`, `b2`, `eps`,",
        "...; `learning_rate` starts at 0.01 where optax requires it); the others keep optax's default.",
        "The values are traced (`optax.inject_hyperparams`), so changing them never recompiles, and the",
        "racer's schedule drives `learning_rate`. Aliases that cannot race: "
        + "; ".join(f"`{k}` ({v})" for k, v in NOT_RACEABLE.items())
        + ".",
        "",
        "## Schedules",
        "",
        "Racer key `schedule`, e.g. `{'name': 'step', 'step_size': 100, 'gamma': 0.5}`.",
        "",
        "Each schedule takes its torch.optim.lr_scheduler class's keywords, with torch's meaning and",
        "defaults (CyclicLR's `scale_fn`, a Python function, is the one a racer cannot carry). The",
        "schedule steps once per optimizer step.",
        "",
        "- **Which lr wins.** Where torch's scheduler sets the learning rate itself (CyclicLR's",
        "  `base_lr`, OneCycleLR's `max_lr`), the schedule's value wins over the racer's `lr` when it",
        "  is given, as in torch, where the scheduler overwrites the optimizer's lr. Left at -1 (the",
        "  default), the racer's `lr` plays that part.",
        "- **Momentum cycling.** `cyclic` and `onecycle` cycle the momentum by default, as torch does",
        "  (`cycle_momentum = true`): the optimizer's `beta1` (Adam family, and the others with",
        "  betas) or `momentum` (SGD, RMSprop, NAG) takes the cycled value at every step, moving",
        "  inversely to the lr between `base_momentum` and `max_momentum`, whatever the racer set.",
        "  An optimizer with neither is refused while it is on, as torch refuses it. The values used",
        "  are in the race result's `momentum` (NaN where nothing is cycled).",
        "- **Resuming.** `last_epoch` is the index of the last step the schedule has seen: the race's",
        "  first step uses the schedule at last_epoch + 1, as a fresh run would after last_epoch + 1",
        "  steps. -1 (the default) starts it fresh.",
        "",
    ]
    for name, s in SCHEDULES.items():
        out += [f"### `{name}`: {s.title} ({s.torch_name})", ""]
        if s.latex:
            out += [f"$${s.latex}$$", ""]
        out += _table(s.hparams)
    out += [
        "## Limits",
        "",
        "Upper bounds on the work one call of `race`, `sweep`, `basins` or `Racer.from_spec` may ask for",
        "(named constants in `optimizers/limits.py`). A request beyond one is refused before anything",
        "compiles, with a ValueError naming the limit. The web app and `optirace export` apply their own,",
        "tighter limits first (8 racers, 5000 steps, labels of 60 characters: `LIMITS` in `optirace/app/state.py`).",
        "",
        "| limit | value | bounds |",
        "|---|---|---|",
        *(f"| `{name}` | {getattr(limits, name):,} | {what} |" for name, what in limits.DOCS.items()),
        "",
    ]
    out += _basins_entry()
    return "\n".join(out).rstrip() + "\n"


def _basins_entry() -> list[str]:
    from .figures.basins import DEFAULT_GRID, MAX_GRID, MIN_GRID, NO_MINIMUM

    return [
        "## `optirace basins`",
        "",
        "`optirace basins --surface S --racer SPEC --grid N --steps N --out map.png` races one racer from",
        "every start of an N x N grid over the surface's domain (one vmapped call, `optimizers.basins`) and",
        "colours each start by where it ends: at a listed minimum (within 2% of the domain's longer side;",
        "each global and local minimum its own colour, numbered on the map and in the legend), at none of",
        f"them ('{NO_MINIMUM}'), or diverged.",
        f"`--grid` is {MIN_GRID} to {MAX_GRID} (default {DEFAULT_GRID}); `--formula F [--domain ...]`",
        "maps a typed formula instead of a catalogue surface; `--out` takes .png, .svg, .pdf (1280x720) or",
        ".html (standalone). The shares of the starts are printed. In the app: the Basins card.",
        "",
    ]


if __name__ == "__main__":
    print(reference(), end="")
