"""The app's state: a `param.Parameterized` that knows nothing of Panel.

It holds what the user chose (surface, racers, start, budget, noise) and the race computed from it.
Any change of a race input recomputes the whole race in one call; the playback position (`step`)
is kept, so the animation goes on from where it was. Only `reset()` goes back to step 0.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import param

from optimizers import OPTIMIZERS, SCHEDULES, Racer, race
from optimizers.race import RaceResult
from optimizers.spec import shown
from surfaces import SURFACES

from .defaults import default_racers, default_spec
from .urlstate import MAX_URL_LABEL, MAX_URL_RACERS, decode, encode, racer_to_string

__all__ = ["RaceState", "LIMITS", "PALETTE"]

# Okabe & Ito's colour-blind-safe palette, reordered so the first racers get the most distinct hues.
from optirace.figures import PALETTE  # noqa: E402 (the racers wear the figures' colours)

# Per-session limits: they keep one session's work bounded so a class shares a server fairly. They
# are tighter than the engine's (optimizers/limits.py) and checked first, so the app's own message
# is the one a user sees; a link is held to the same ones (urlstate's MAX_URL_*).
LIMITS = {"racers": MAX_URL_RACERS, "steps": 5000, "label": MAX_URL_LABEL}
TOLERANCE = 1e-6


class RaceState(param.Parameterized):
    surface = param.Selector(default="rosenbrock", objects=list(SURFACES), doc="the loss surface")
    racers = param.List(default=[], item_type=dict, doc="racer specs, as optimizers.race takes them")
    start = param.Parameter(default=None, doc="start point; None means the surface's default")
    steps = param.Integer(default=300, bounds=(1, LIMITS["steps"]), doc="step budget for every racer")
    noise = param.Number(default=0.0, bounds=(0.0, None), doc="sigma of Gaussian gradient noise")
    seed = param.Integer(default=0, bounds=(0, 2**32 - 1), doc="seed of the noise and mini-batches")
    batch_size = param.Integer(default=None, allow_None=True, doc="mini-batch size on data surfaces")
    kappa = param.Number(default=None, allow_None=True, doc="condition number (quadratic only)")

    step = param.Integer(default=0, bounds=(0, None), doc="the step shown")
    playing = param.Boolean(default=False)
    speed = param.Number(default=60.0, bounds=(1.0, 500.0), doc="playback speed in steps per second")
    loop = param.Boolean(default=False, doc="start again from step 0 at the end (for slides)")

    theme = param.Selector(default="light", objects=["light", "dark"])
    present = param.Boolean(default=False, doc="presentation mode: large fonts, thick lines")
    embed = param.Boolean(default=False, doc="plots and playback only, for an iframe")

    result = param.Parameter(default=None, doc="the RaceResult of the current inputs")
    error = param.String(default="", doc="why the last change was refused ('' if it was not)")
    notices = param.List(default=[], doc="what was ignored from the URL")

    def __init__(self, **params):
        super().__init__(**params)
        self._frac = 0.0
        if not self.racers:
            self.racers = default_racers(self.surface)  # the watcher races them
        else:
            self.recompute()

    # ----- inputs -------------------------------------------------------------------------------
    @property
    def surface_obj(self):
        return SURFACES[self.surface]

    @param.depends("surface", watch=True)
    def _surface_changed(self):
        # A new surface is a new race: its own start, its own sensible racers' learning rates.
        with param.parameterized.batch_call_watchers(self):
            self.start = None
            self.step = 0
            if self.surface_obj.data is None:
                self.batch_size = None
            if self.surface != "quadratic":
                self.kappa = None
            self.racers = [self._retune(r) for r in self.racers]

    def _retune(self, spec: dict) -> dict:
        """Keep the racer's optimizer and options, take the surface's suggested learning rate."""
        suggested = default_spec(spec["optimizer"], self.surface)
        out = dict(spec)
        lr_name = OPTIMIZERS[spec["optimizer"]].lr_name
        if lr_name and lr_name in suggested:
            out[lr_name] = suggested[lr_name]
        if "inner" in spec and "inner" in suggested:
            out["inner"] = {**spec["inner"], "lr": suggested["inner"].get("lr", spec["inner"].get("lr"))}
        return out

    @param.depends("racers", "start", "steps", "noise", "seed", "batch_size", "kappa", watch=True)
    def recompute(self) -> None:
        """Race every racer again; keep the playback position. A refused input keeps the last race."""
        try:
            res = race(
                self.surface,
                self.racers,
                start=self.start,
                steps=self.steps,
                noise=self.noise,
                seed=self.seed,
                batch_size=self.batch_size,
                surface_params={"kappa": self.kappa} if self.kappa is not None else None,
            )
        except ValueError as e:
            self.error = str(e)
            return
        self.error = ""
        self.step = min(self.step, res.steps)
        self.result = res

    def add_racer(self, optimizer: str) -> None:
        if optimizer not in OPTIMIZERS:
            self.error = f"unknown optimizer {optimizer!r}"
            return
        if len(self.racers) >= LIMITS["racers"]:
            self.error = f"at most {LIMITS['racers']} racers in one race"
            return
        self.racers = [*self.racers, default_spec(optimizer, self.surface)]

    def remove_racer(self, index: int) -> None:
        if len(self.racers) <= 1 or not 0 <= index < len(self.racers):
            self.error = "a race needs at least one racer"
            return
        self.racers = [r for i, r in enumerate(self.racers) if i != index]

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
            Racer.from_spec(spec)
        except ValueError as e:
            self.error = str(e)
            return False
        racers = list(self.racers)
        racers[index] = spec
        self.racers = racers
        return True

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

    def toggle(self) -> None:
        if not self.playing and self.step >= self.steps_done:
            self.step = 0
        self.playing = not self.playing

    # ----- what the views show ------------------------------------------------------------------
    def leaderboard(self) -> list[dict[str, Any]]:
        """Per racer at the shown step: loss, distance to the nearest minimum, first step within
        tolerance of the minimum's value, and status (running, converged or diverged)."""
        res: RaceResult = self.result
        k = self.step
        first = res.first_within(TOLERANCE)
        dist = res.surface.nearest_minimum(res.params[:, k])[1]
        rows = []
        for i in range(len(res.racers)):
            d = int(res.diverged_at[i])
            if 0 <= d <= k:
                status = f"diverged at step {d}"
            elif 0 <= first[i] <= k:
                status = "converged"
            else:
                status = "running"
            rows.append(
                {
                    "racer": self.label(i),
                    "color": PALETTE[i % len(PALETTE)],
                    "loss": float(res.loss[i, k]),
                    "distance": float(dist[i]),
                    "first": int(first[i]) if 0 <= first[i] <= k else None,
                    "status": status,
                }
            )
        return rows

    def label(self, index: int) -> str:
        """A racer's name in legends: its own label, or its racer string (unique and readable)."""
        spec = self.racers[index]
        return spec.get("label") or racer_to_string(spec)

    # ----- URL ----------------------------------------------------------------------------------
    def to_query(self) -> dict[str, str]:
        return encode(
            {
                "surface": self.surface,
                "racers": self.racers,
                "start": self.start,
                "steps": self.steps,
                "noise": self.noise or None,
                "seed": self.seed or None,
                "batch_size": self.batch_size,
                "kappa": self.kappa,
                "speed": self.speed if self.speed != 60.0 else None,
                "theme": self.theme if self.theme != "light" else None,
                "present": self.present,
                "embed": self.embed,
                "loop": self.loop,
            }
        )

    def apply_query(self, query: dict[str, Any]) -> None:
        """Restore a state from URL parameters; what is refused is listed in `notices`."""
        fields, notices = decode(query)
        clean: dict[str, Any] = {}
        bounds = {"steps": (1, LIMITS["steps"]), "seed": (0, 2**32 - 1), "speed": (1.0, 500.0)}
        for k, v in fields.items():
            if k in bounds and not bounds[k][0] <= v <= bounds[k][1]:
                lo, hi = bounds[k]
                notices.append(f"{k} {shown(v)} is outside {lo}..{hi}: using the default")
                continue
            if k == "noise" and v < 0:
                notices.append("noise must be >= 0: using 0")
                continue
            clean[k] = v
        autoplay = clean.pop("play", False)
        surface = clean.pop("surface", self.surface)
        racers = clean.pop("racers", None)
        if surface != self.surface:
            self.surface = surface  # first: a new surface resets the start and retunes the racers
        with param.parameterized.batch_call_watchers(self):
            if racers is not None:
                self.racers = racers
            self.param.update(**clean)
        self.notices = notices
        self.recompute()
        if autoplay:
            self.playing = True
        if self.error:
            # The restored combination is refused as a whole (e.g. batch size on a surface without
            # data): fall back to the defaults rather than showing nothing.
            self.notices = [*notices, f"link refused ({self.error}): showing the defaults"]
            with param.parameterized.batch_call_watchers(self):
                self.param.update(start=None, batch_size=None, kappa=None, noise=0.0, steps=300)
                self.racers = default_racers(self.surface)
            self.recompute()

    @staticmethod
    def schedule_names() -> list[str]:
        return list(SCHEDULES)
