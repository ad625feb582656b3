"""The app's state: a `param.Parameterized` that knows nothing of Panel.

It holds what the user chose (surface, racers, start, budget, noise) and the race computed from it.
Any change of a race input recomputes the whole race in one call; the playback position (`step`)
is kept, so the animation goes on from where it was. Only `reset()` goes back to step 0.
"""

from __future__ import annotations

import collections
import copy
import math
import time
from typing import Any

import numpy as np
import param

from optimizers import OPTIMIZERS, SCHEDULES, Racer, racer_to_string
from optimizers.optax_racers import is_optax_name, optax_optimizer
from optimizers.race import RaceResult
from optimizers.schedules import momentum_name
from optirace.defaults import default_racers, default_spec, suggested_lr
from optirace.figures import PALETTE  # the racers wear the figures' colours
from optirace.scene import (
    FORMULA,
    MAX_LABEL,
    MAX_RACERS,
    MAX_STEPS,
    STATE,
    SURFACE_PARAMS,
    Scene,
    formula_domain,
)
from surfaces import from_formula

__all__ = ["RaceState", "LIMITS", "PALETTE"]

# Per-session limits: they keep one session's work bounded so a class shares a server fairly. They
# are tighter than the engine's (optimizers/limits.py) and checked first, so the app's own message
# is the one a user sees; a link is held to the same ones (they are the Scene's bounds).
LIMITS = {"racers": MAX_RACERS, "steps": MAX_STEPS, "label": MAX_LABEL}
TOLERANCE = 1e-6
# A new formula compiles for about a second on the server every session shares: one session may
# type this many new ones a minute, so it cannot keep the others waiting.
FORMULAS_PER_MINUTE = 6


class RaceState(Scene):
    """The scene the user shapes (its fields are declared once, in optirace/scene.py), and its race."""

    result = param.Parameter(default=None, doc="the RaceResult of the current inputs", metadata=STATE)
    error = param.String(default="", doc="why the last change was refused ('' if it was not)", metadata=STATE)
    notices = param.List(default=[], doc="what was ignored from the URL", metadata=STATE)
    ghost = param.Parameter(default=None, metadata=STATE,
                            doc="(race, colours) before the last change, drawn faint; None on a new surface or after a reset")  # fmt: skip

    def __init__(self, **params):
        super().__init__(**params)
        self._frac = 0.0
        self._clock = time.monotonic
        self._formulas_at: collections.deque = collections.deque()
        if not self.racers:
            self.racers = default_racers(self.surface)  # the watcher races them
        else:
            self.recompute()

    # ----- inputs -------------------------------------------------------------------------------
    @property
    def surface_obj(self):
        return self.surface_object()

    @param.depends("surface", watch=True)
    def _surface_changed(self):
        # A new surface is a new race: its own start, its own sensible racers' learning rates.
        with param.parameterized.batch_call_watchers(self):
            self.start = None
            self.step = 0
            if self.surface != FORMULA:  # a formula's text and domain go with the formula surface
                self.param.update(formula=None, domain=None)
            if self.surface_obj.data is None:
                self.batch_size = None
            for name in SURFACE_PARAMS:
                if name not in self.surface_obj.params:
                    setattr(self, name, None)
            self.racers = [self._retune(r) for r in self.racers]
        # Where nothing set above changed (two surfaces that suggest the same learning rates, both
        # from their default start), no watcher ran the race: run it here, on the new surface. (The
        # page kept the last surface's race, and its settings raised on a one-variable race.)
        if self.surface != FORMULA and (self.result is None or self.result.surface.name != self.surface):
            self.recompute()

    def _retune(self, spec: dict) -> dict:
        """Keep the racer's optimizer and options, take the surface's suggested learning rate."""
        suggested = default_spec(spec["optimizer"], self.surface)
        out = dict(spec)
        lr_name = OPTIMIZERS[spec["optimizer"]].lr_name
        if lr_name and lr_name in suggested:
            out[lr_name] = suggested[lr_name]
        if "inner" in spec and "inner" in suggested:
            inner_lr = OPTIMIZERS[spec["inner"]["optimizer"]].lr_name
            if inner_lr == "lr":
                out["inner"] = {**spec["inner"], "lr": suggested["inner"].get("lr", spec["inner"].get("lr"))}
            elif inner_lr:  # an inner optimizer whose lr has another name (optax's learning_rate)
                own = default_spec(spec["inner"]["optimizer"], self.surface)
                out["inner"] = {**spec["inner"], inner_lr: own.get(inner_lr, spec["inner"].get(inner_lr))}
        return out

    @param.depends("formula", "domain", watch=True)
    def _formula_changed(self):
        if self.surface == FORMULA:  # a new formula on the formula surface: a new race from its start
            with param.parameterized.batch_call_watchers(self):
                self.param.update(start=None, step=0)
            self.recompute()

    def set_formula(self, text: str, domain=None) -> bool:
        """Race on a typed formula (over `domain`, xmin,xmax[,ymin,ymax]); refused with `error` set."""
        try:
            flat = None if domain in (None, "") else formula_domain(domain)
            new = (text.strip(), flat) != (self.formula, self.domain)
            now = self._clock()
            while self._formulas_at and now - self._formulas_at[0] >= 60:
                self._formulas_at.popleft()
            if new and len(self._formulas_at) >= FORMULAS_PER_MINUTE:
                wait = math.ceil(60 - (now - self._formulas_at[0]))
                raise ValueError(f"formula: {FORMULAS_PER_MINUTE} new formulas a minute at most; "
                                 f"try again in {wait} s")  # fmt: skip
            from_formula(text, flat)
        except ValueError as e:
            self.error = str(e)
            return False
        if new:
            self._formulas_at.append(now)
        self.param.update(formula=text.strip(), domain=flat)
        if self.surface != FORMULA:
            self.surface = FORMULA
        return True

    @param.depends("racers", "start", "steps", "noise", "seed", "batch_size", *SURFACE_PARAMS, watch=True)
    def recompute(self) -> None:
        """Race every racer again; keep the playback position. A refused input keeps the last race."""
        try:
            res = self.run()
        except ValueError as e:
            self.error = str(e)
            return
        self.error = ""
        self.step = min(self.step, res.steps)
        self.param.update(ghost=self._ghost_before(res), result=res)
        self._raced_colors = self.colors()

    def _ghost_before(self, res: RaceResult):
        """What `res` replaces, as the ghost: the last race, on the same surface; an equal race (the
        same inputs raced again) keeps the ghost there was."""
        where, self._raced_on = getattr(self, "_raced_on", None), (self.surface, self.formula, self.domain)
        old = self.result
        if old is None or where != self._raced_on:
            return None
        if old.params.shape == res.params.shape and np.array_equal(old.params, res.params, equal_nan=True):
            return self.ghost
        return (old, self._raced_colors)

    def add_racer(self, optimizer: str) -> None:
        if optimizer not in OPTIMIZERS:
            self.error = f"unknown optimizer {optimizer!r}"
            if is_optax_name(optimizer):
                try:
                    optax_optimizer(optimizer)
                except ValueError as e:  # optax's own reason: unknown alias (and the known ones), or why not
                    self.error = str(e)
            return
        if len(self.racers) >= LIMITS["racers"]:
            self.error = f"at most {LIMITS['racers']} racers in one race"
            return
        slots = self._color_slots()
        self._slots = [*slots, min(set(range(len(slots) + 1)) - set(slots))]
        self.racers = [*self.racers, default_spec(optimizer, self.surface)]

    def remove_racer(self, index: int) -> None:
        if len(self.racers) <= 1 or not 0 <= index < len(self.racers):
            self.error = "a race needs at least one racer"
            return
        self._slots = [c for i, c in enumerate(self._color_slots()) if i != index]
        self.racers = [r for i, r in enumerate(self.racers) if i != index]

    def _color_slots(self) -> list[int]:
        # A racer keeps its palette slot while others come and go; a race replaced wholesale (a
        # link, a new count of racers) starts again from the palette's order.
        slots = getattr(self, "_slots", None)
        if slots is None or len(slots) != len(self.racers):
            slots = self._slots = list(range(len(self.racers)))
        return slots

    def slots(self) -> list[int]:
        """Each racer's palette slot: the colour it wears and the figure's layers it is drawn in."""
        return list(self._color_slots())

    def color(self, index: int) -> str:
        """The racer's colour: its own palette slot, kept when other racers are removed."""
        return PALETTE[self._color_slots()[index] % len(PALETTE)]

    def colors(self) -> list[str]:
        return [self.color(i) for i in range(len(self.racers))]

    def update_racer(self, index: int, **changes: Any) -> bool:
        """Change one racer's settings; refused (with `error` set) if the optimizer would refuse them."""
        spec = copy.deepcopy(self.racers[index])
        for k, v in changes.items():
            if k.startswith("schedule."):
                sched = spec.get("schedule") or {"name": "constant"}
                sched = {"name": sched} if isinstance(sched, str) else dict(sched)
                sched[k[len("schedule.") :]] = v
                spec["schedule"] = sched
            elif k == "schedule":
                spec["schedule"] = {"name": v}
                if self._cycles_no_momentum(spec) and "schedule.cycle_momentum" not in changes:
                    # torch's default cycles a momentum this optimizer lacks, and would be refused.
                    spec["schedule"]["cycle_momentum"] = False
            elif k == "inner.optimizer":
                spec["inner"] = self._new_inner(spec.get("inner") or {}, v)
            elif k.startswith("inner."):
                spec["inner"] = {**spec.get("inner", {}), k[len("inner.") :]: v}
            elif k == "optimizer":
                spec = default_spec(v, self.surface)
            else:
                spec[k] = v
        label = spec.get("label")
        if isinstance(label, str) and len(label) > LIMITS["label"]:
            self.error = f"label: at most {LIMITS['label']} characters"
            return False
        try:
            racer = Racer.from_spec(spec)
        except ValueError as e:
            self.error = str(e)
            return False
        self.parsed_as(spec, racer)  # the race that follows uses it: parsed once
        racers = list(self.racers)
        racers[index] = spec
        self.racers = racers
        return True

    @staticmethod
    def _cycles_no_momentum(spec: dict) -> bool:
        """A schedule that cycles momentum (cyclic, onecycle), on an optimizer without any."""
        sched = SCHEDULES.get(spec["schedule"]["name"])
        owner = (spec.get("inner") or spec) if OPTIMIZERS[spec["optimizer"]].wrapper else spec
        opt = OPTIMIZERS.get(owner.get("optimizer"))
        return (
            sched is not None
            and sched.momentum is not None
            and opt is not None
            and momentum_name(opt) is None
        )

    def _new_inner(self, old: dict, optimizer: str) -> dict:
        """A wrapper's new inner optimizer starts from its own defaults: the old one's settings may
        not exist in it. Its learning rate is kept when it means the same thing (same scale)."""
        inner = default_spec(optimizer, self.surface)
        if optimizer not in OPTIMIZERS or old.get("optimizer") not in OPTIMIZERS:
            return inner
        old_lr, new_lr = OPTIMIZERS[old["optimizer"]].lr_name, OPTIMIZERS[optimizer].lr_name
        same_scale = suggested_lr(old["optimizer"], self.surface) == suggested_lr(optimizer, self.surface)
        if old_lr and new_lr and old_lr in old and same_scale:
            inner[new_lr] = old[old_lr]
        return inner

    def set_start(self, *point: float) -> None:
        s = self.surface_obj
        if len(point) != s.dim or not all(math.isfinite(float(v)) for v in point):
            self.error = f"start: {s.name} needs {s.dim} finite coordinate(s)"
            return
        self.start = tuple(float(v) for v in point)

    # ----- playback -----------------------------------------------------------------------------
    @property
    def steps_done(self) -> int:
        return self.result.steps if self.result is not None else 0

    def advance(self, dt: float) -> int:
        """Move playback on by dt seconds at `speed`; returns the new step. Stops at the end."""
        self._frac += self.speed * dt
        whole = int(self._frac)
        if whole:
            self._frac -= whole
            self.step = min(self.step + whole, self.steps_done)
        if self.step >= self.steps_done:
            if self.loop:
                self.step = 0
            else:
                self.playing = False
        return self.step

    def step_once(self, delta: int = 1) -> None:
        self.playing = False
        self.step = max(0, min(self.step + delta, self.steps_done))

    def reset(self) -> None:
        self.playing = False
        self._frac = 0.0
        self.step = 0
        self.ghost = None  # a reset starts the story again: no "before"

    def toggle(self) -> None:
        if not self.playing and self.step >= self.steps_done:
            self.step = 0
        self.playing = not self.playing

    # ----- what the views show ------------------------------------------------------------------
    def leaderboard(self) -> list[dict[str, Any]]:
        """Per racer at the shown step: loss, distance to the nearest marked minimum (global or
        local) and which one it is, first step within
        tolerance of the minimum's value, and status: how the race ended for the racer (converged or
        diverged at a step, or stopped at the step budget), or "running" before the budget is spent."""
        res: RaceResult = self.result
        k = self.step
        first = res.first_within(TOLERANCE)
        dist, nearest = self._nearest_minima(res.surface, res.params[:, k])
        rows = []
        for i in range(len(res.racers)):
            d = int(res.diverged_at[i])
            if 0 <= d <= k:
                status = f"diverged at step {d}"
            elif 0 <= first[i] <= k:
                status = f"converged at step {int(first[i])}"
            elif k >= res.steps:
                status = "stopped at the step budget"
            else:
                status = "running"
            rows.append(
                {
                    "racer": self.label(i),
                    "color": self.color(i),
                    "loss": float(res.loss[i, k]),
                    "distance": float(dist[i]),
                    "nearest": nearest[i],
                    "first": int(first[i]) if 0 <= first[i] <= k else None,
                    "status": status,
                }
            )
        return rows

    @staticmethod
    def _nearest_minima(surface, points) -> tuple[np.ndarray, list[str]]:
        """Distance from each point to the nearest minimum the surface marks, global or local, and
        which one it is (e.g. "local minimum (0.995, 0)")."""
        best = surface.minimum_label.removesuffix(" minimum")  # "global", or "estimated" for a formula
        marked = [(m, best) for m in surface.minima] + [(m, "local") for m in surface.local_minima]
        where = np.asarray([m for m, _ in marked], dtype=np.float64)
        d = np.linalg.norm(np.asarray(points, dtype=np.float64)[:, None, :] - where, axis=-1)
        best = np.argmin(d, axis=1)
        names = [f"{marked[j][1]} minimum ({', '.join(f'{v:.3g}' for v in marked[j][0])})" for j in best]
        return d[np.arange(len(best)), best], names

    def label(self, index: int) -> str:
        """A racer's name in legends: its own label, or its racer string (unique and readable)."""
        spec = self.racers[index]
        return spec.get("label") or racer_to_string(spec)

    # ----- URL ----------------------------------------------------------------------------------
    def to_query(self, skip=("step", "playing")) -> dict[str, str]:
        """The live link: the scene without the playback position (a link opens at step 0)."""
        return super().to_query(skip=skip)

    def apply_query(self, query: dict[str, Any]) -> None:
        """Restore a state from URL parameters; what is refused is listed in `notices`."""
        fields, notices = self.read_query(query)
        autoplay = fields.pop("playing", False)
        step = fields.pop("step", None)
        surface = fields.pop("surface", self.surface)
        racers = fields.pop("racers", None)
        if "formula" in fields:  # before the surface: the formula surface needs its text
            self.param.update(formula=fields.pop("formula"), domain=fields.pop("domain", None))
        if surface != self.surface:
            self.surface = surface  # first: a new surface resets the start and retunes the racers
        with param.parameterized.batch_call_watchers(self):
            if racers is not None:
                self.racers = racers
            self.param.update(**fields)
        self.notices = notices
        self.recompute()
        self.ghost = None  # a link opens a scene; the defaults raced before it are no "before"
        if step is not None and not self.error:
            self.step = min(step, self.steps_done)
        if autoplay:
            self.playing = True
        if self.error:
            # The restored combination is refused as a whole (e.g. batch size on a surface without
            # data): fall back to the defaults rather than showing nothing.
            self.notices = [*notices, f"link refused ({self.error}): showing the defaults"]
            with param.parameterized.batch_call_watchers(self):
                self.param.update(start=None, batch_size=None, noise=0.0, steps=Scene.steps)
                self.param.update(**dict.fromkeys(SURFACE_PARAMS))
                self.racers = default_racers(self.surface)
            self.recompute()

    @staticmethod
    def schedule_names() -> list[str]:
        return list(SCHEDULES)
