"""A scene: the race inputs and view options, declared once.

`Scene` is the one declaration of every field a race is made of (surface and its shape parameters,
or a typed formula and its domain; racers, start, steps, noise, seed, batch size) and of how it is shown (speed, loop, play, theme,
present, embed, step): type, bounds, default and doc. Every other form is derived from it:

- the app's link, `?surface=rosenbrock&r0=adam:lr=0.01&start=-1.5,2&steps=300&theme=dark&play=1`
  (`Scene.from_query`, `Scene.to_query`): what is not understood becomes a notice naming its key;
- the scene JSON of `optirace export --scene` and the app's Export menu (`Scene.from_json`,
  `Scene.to_json`): understood whole, or a ValueError naming the field;
- the command line, `--surface --racer --start --steps ...` (`add_arguments`, `from_args`);
- the app's state (`optirace/app/state.py` `RaceState` is a `Scene`).

A field's spellings (URL key, JSON key, CLI flag) are its name unless its param `metadata` says
otherwise; how a value is read from text follows from its param type. Racers use the racer syntax
of `optimizers.parse_racer` / `racer_to_string`, so a link, a scene file and a command line say the
same thing.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import param

from optimizers import Racer, parse_racer, race, racer_to_string
from optimizers.race import RaceResult
from optimizers.spec import as_float, shown
from surfaces import SURFACES, from_formula
from surfaces.formula import parse as parse_formula
from surfaces.formula_surface import read_domain

from .defaults import default_racers

__all__ = [
    "Scene",
    "Raced",
    "FORMS",
    "RACE_INPUTS",
    "STATE",
    "VIEW",
    "MAX_RACERS",
    "MAX_LABEL",
    "MAX_STEPS",
    "SURFACE_PARAMS",
]

MAX_RACERS = 8  # one palette colour each
MAX_LABEL = 60  # tighter than the engine's MAX_LABEL: a legend has room for so much
MAX_STEPS = 5000  # per session: keeps one session's work bounded so a class shares a server fairly
SEED_MAX = 2**32 - 1

# Metadata of a param that holds what is derived from the scene (its race, errors), not a field.
STATE = {"state": True}
# Metadata of a field about how the race is shown rather than what is raced.
VIEW = {"view": True}

# Shape parameters of any surface (kappa of the quadratic, ...): each becomes a field of its own.
SURFACE_PARAMS: tuple[str, ...] = tuple(sorted({p for s in SURFACES.values() for p in s.params}))
FORMULA = "formula"  # the surface key of a typed formula (the `formula` field holds its text)


def _formula_text(v: Any) -> str:
    """A formula the grammar reads (surfaces/formula.py), stripped; its ValueError names the column."""
    if not isinstance(v, str):
        raise ValueError(f"expected text, not {shown(v)}")
    parse_formula(v.strip())
    return v.strip()


def formula_domain(v: Any) -> tuple[float, ...]:
    """A formula's domain as xmin,xmax[,ymin,ymax] (text or a list of numbers), flat."""
    return tuple(x for pair in read_domain(v) for x in pair)


class Scene(param.Parameterized):
    """What one race is and how it is shown. Fields not given keep these defaults."""

    surface = param.Selector(
        default="rosenbrock", objects=[*SURFACES, FORMULA], doc="the loss surface", metadata={"unknown": True}
    )
    racers = param.List(
        default=[],
        item_type=dict,
        doc="racer specs, as optimizers.race takes them; none means the app's default racers",
        metadata={"url": "r", "cli": "--racer"},
    )
    start = param.Parameter(
        default=None,
        doc="start point, comma-separated; not given: the surface's own start",
        metadata={"cli_metavar": "X,Y"},
    )
    steps = param.Integer(default=300, bounds=(1, MAX_STEPS), doc="optimizer steps per racer")
    noise = param.Number(default=0.0, bounds=(0.0, None), doc="sigma of Gaussian gradient noise")
    seed = param.Integer(default=0, bounds=(0, SEED_MAX), doc="seed of the noise and mini-batches")
    batch_size = param.Integer(
        default=None, allow_None=True, bounds=(1, None), doc="mini-batch size, for data surfaces only"
    )

    step = param.Integer(default=0, bounds=(0, MAX_STEPS), doc="the step shown", metadata=VIEW)
    playing = param.Boolean(
        default=False,
        doc="playing; in a link: start playing on load",
        metadata={**VIEW, "url": "play", "json": "play", "cli": "--play"},
    )
    speed = param.Number(
        default=60.0, bounds=(1.0, 500.0), doc="playback speed in steps per second", metadata=VIEW
    )
    loop = param.Boolean(default=False, doc="start again from step 0 at the end (for slides)", metadata=VIEW)

    theme = param.Selector(default="light", objects=["light", "dark"], doc="the colour theme", metadata=VIEW)
    present = param.Boolean(default=False, doc="presentation mode: large fonts, thick lines", metadata=VIEW)
    embed = param.Boolean(default=False, doc="plots and playback only, for an iframe", metadata=VIEW)
    formula = param.String(
        default=None, allow_None=True, doc="your own surface, e.g. 'x^2 + 3y^2' (implies --surface formula)",
        metadata={"read": _formula_text, "what": "a formula", "cli_metavar": "F", "example": "x^2 + 3y^2"},
    )  # fmt: skip
    domain = param.Parameter(
        default=None, doc="a formula's domain, xmin,xmax[,ymin,ymax] (default -3,3 on each axis)",
        metadata={"read": formula_domain, "what": "a domain", "cli_metavar": "XMIN,XMAX[,YMIN,YMAX]",
                  "example": (-2.0, 2.0, -1.0, 1.0), "with": {"formula": "x^2 + 3y^2"}},
    )  # fmt: skip

    def __init__(self, **params: Any) -> None:
        if params.get("formula") is not None and "surface" not in params:
            params["surface"] = FORMULA  # a formula is its own surface
        super().__init__(**params)

    # ----- the derived forms -------------------------------------------------------------------
    @classmethod
    def forms(cls) -> dict[str, Form]:
        """Each field's spellings and reading, derived from its declaration (cached per class).
        A subclass's own params are fields too, unless they hold derived state (metadata STATE)."""
        forms = _FORMS.get(cls)
        if forms is None:
            forms = _FORMS[cls] = {
                name: _form(name, p)
                for name, p in cls.param.objects("existing").items()
                if name != "name" and not (p.metadata or {}).get("state")
            }
        return forms

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        return tuple(cls.forms())

    @classmethod
    def read_query(cls, query: Mapping[Any, Any]) -> tuple[dict[str, Any], list[str]]:
        """URL parameters -> (the fields understood, by name; a notice for every part refused).

        Each field is checked on its own, so one bad racer costs that racer, not the whole link. A
        value may be of any type (Panel reads query values as JSON): what is not understood becomes
        a notice naming its key, never an exception. Notices quote values short (`shown`).
        """
        out: dict[str, Any] = {}
        notices: list[str] = []
        for name, form in cls.forms().items():
            if name == "racers":
                racers, said = _racers_from_query(query)
                notices += said
                if racers:
                    out[name] = racers
                continue
            v = query.get(form.url)
            if v is None:
                continue
            try:
                out[name] = form.read(v, form.url, brief=True)
            except ValueError as e:
                notices.append(f"{e}: {form.fallback}")
        if "step" in out and out["step"] > out.get("steps", cls.steps):
            notices.append(f"step {out.pop('step')} is beyond the race's steps: showing step 0")
        try:
            _formula_fields(out)
        except ValueError as e:  # a link's formula fields that do not fit: the default surface
            notices.append(f"{e}: showing the default surface")
            for name in ("surface", "formula", "domain"):
                out.pop(name, None)
        return out, notices

    @classmethod
    def from_query(cls, query: Mapping[Any, Any]) -> tuple[Scene, list[str]]:
        fields, notices = cls.read_query(query)
        return cls(**fields), notices

    def to_query(self, skip: Iterable[str] = ()) -> dict[str, str]:
        """URL parameters: the fields that differ from their defaults (surface and steps always)."""
        q: dict[str, str] = {}
        for name, form in self.forms().items():
            v = getattr(self, name)
            if name in skip or (v == form.default and not form.always):
                continue
            if name == "racers":
                q.update({f"r{i}": racer_to_string(r) for i, r in enumerate(v)})
            elif v is not None:
                q[form.url] = form.text(v)
        return q

    @classmethod
    def from_json(cls, data: Any) -> Scene:
        """A scene from its JSON object; ValueError naming the first field not understood."""
        return cls(**cls.read_json(data))

    @classmethod
    def read_json(cls, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise ValueError('expected a JSON object such as {"surface": "rosenbrock", ...}')
        forms = cls.forms()
        by_key = {f.json: name for name, f in forms.items()}
        unknown = [k for k in data if k not in by_key]
        if unknown:
            raise ValueError(f"unknown field {shown(unknown[0])}; fields are {', '.join(by_key)}")
        out: dict[str, Any] = {}
        for key, v in data.items():
            name = by_key[key]
            if v is None:
                continue  # null: the field's default
            out[name] = _racers_from_json(v) if name == "racers" else forms[name].read(v, key)
        steps = out.get("steps", cls.steps)
        if out.get("step", 0) > steps:
            raise ValueError(f"step {out['step']} is not an integer from 0 to {steps}")
        return _formula_fields(out)

    def to_json(self) -> dict[str, Any]:
        """The scene as a JSON object: every field, racers as racer strings, null fields left out."""
        out: dict[str, Any] = {}
        for name, form in self.forms().items():
            v = getattr(self, name)
            if v is None:
                continue
            if name == "racers":
                v = [racer_to_string(r) for r in v]
            elif name in ("start", "domain"):
                v = [float(x) for x in v]
            out[form.json] = v
        return out

    @classmethod
    def add_arguments(
        cls,
        parser: argparse._ActionsContainer,
        fields: Iterable[str] | None = None,
        helps: Mapping[str, str] | None = None,
    ) -> None:
        """Add a flag for each field (all of them unless `fields` picks some) to an argparse parser.
        Flags left out read as None, so `from_args` knows what was given. `helps` replaces a
        field's help where a command gives it its own meaning (e.g. its own default racers)."""
        for name in cls.fields() if fields is None else fields:
            form = cls.forms()[name]
            kw: dict[str, Any] = {"dest": name, "default": None, "help": (helps or {}).get(name, _help(form))}
            if name == "racers":
                kw.update(action="append", metavar="SPEC")
            elif form.kind is bool:
                kw.update(action=argparse.BooleanOptionalAction)
            else:
                kw.update(type=form.kind, metavar=form.metavar)
            parser.add_argument(form.flag, **kw)

    @classmethod
    def read_args(cls, args: argparse.Namespace) -> dict[str, Any]:
        """The fields given on a command line, checked; ValueError naming the flag."""
        out: dict[str, Any] = {}
        for name, form in cls.forms().items():
            v = getattr(args, name, None)
            if v is None:
                continue
            if name == "racers":
                out[name] = [_racer_from_text(t, f"{form.flag} {shown(t)}") for t in v]
            else:
                out[name] = form.read(v, form.flag)
        return _formula_fields(out)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Scene:
        return cls(**cls.read_args(args))

    def surface_object(self):
        """The scene's Surface: a catalogue surface, or the typed formula over its domain."""
        if self.surface == FORMULA:
            return from_formula(self.formula or "", self.domain)
        if self.formula is not None or self.domain is not None:
            raise ValueError(f"formula and domain go with surface 'formula', not {shown(self.surface)}")
        return SURFACES[self.surface]

    def run(self):
        """The scene's race: every racer, every step, in one call (ValueError for refused inputs)."""
        return race(self.surface_object(), self.parsed_racers(), start=self.start, steps=self.steps, noise=self.noise,
                    seed=self.seed, batch_size=self.batch_size, surface_params=self.surface_params())  # fmt: skip

    def parsed_racers(self) -> tuple[Racer, ...]:
        """The racers as `race` takes them: each spec is parsed once, here or where it was checked
        (`parsed_as`), and `race` then uses the Racer as it is. A spec is replaced, never changed in
        place (an edit works on a copy), so its Racer is found by the spec's identity."""
        known: dict[int, tuple[dict, Racer]] = getattr(self, "_parsed", {})
        out, kept = [], {}
        for spec in self.racers:
            hit = known.get(id(spec))
            racer = hit[1] if hit is not None and hit[0] is spec else Racer.from_spec(spec)
            kept[id(spec)] = (spec, racer)
            out.append(racer)
        self._parsed = kept  # only the current specs: old ones are not kept alive
        return tuple(out)

    def parsed_as(self, spec: dict, racer: Racer) -> None:
        """Record that `spec` was checked and parsed to `racer`, before it goes into `racers`."""
        self._parsed = {**getattr(self, "_parsed", {}), id(spec): (spec, racer)}

    def surface_params(self) -> dict[str, float] | None:
        given = {k: getattr(self, k) for k in SURFACE_PARAMS if getattr(self, k) is not None}
        return given or None


for _name in SURFACE_PARAMS:
    _owners = ", ".join(s.name for s in SURFACES.values() if _name in s.params)
    Scene.param.add_parameter(
        _name,
        param.Number(default=None, allow_None=True, doc=f"shape parameter {_name} of: {_owners}"),
    )


# ----- reading values of any type ---------------------------------------------------------------
_FLAGS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False,
          "off": False, "": False}  # fmt: skip
_RACER_KEY = re.compile(r"r[0-9]{1,6}")


def _number(v: Any) -> float:
    """A finite float from a number or numeric text; ValueError for anything else."""
    x = as_float(v)
    if not math.isfinite(x):
        raise ValueError
    return x


def _integer(v: Any) -> int:
    """An int from an int, a whole finite float, or text of one; ValueError for anything else
    (300.5 is refused rather than cut to 300)."""
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lstrip("+-").isdigit() and len(v) < 100:
        return int(v)
    x = _number(v)
    if not x.is_integer():
        raise ValueError
    return int(x)


def _flag(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in _FLAGS:
        return _FLAGS[v.strip().lower()]
    raise ValueError


def _point(v: Any) -> tuple[float, ...]:
    """A start point: "x,y" text or a list of numbers (a link's JSON form of it)."""
    if isinstance(v, str) and len(v) <= 200:
        items: Any = v.split(",")
    elif isinstance(v, (list, tuple)) and len(v) <= 3:
        items = v
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        items = [v]  # a one-variable surface's start, read by Panel as a number
    else:
        raise ValueError
    return tuple(_number(x) for x in items)


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, (list, tuple)):
        return ",".join(_fmt(float(x)) for x in v)
    return str(v)


@dataclass(frozen=True)
class Form:
    """One field's spellings and reading, derived from its param declaration."""

    name: str
    url: str
    json: str
    flag: str
    kind: type  # what argparse reads the flag's text as
    metavar: str | None
    default: Any
    always: bool  # written to a link even at its default
    fallback: str  # what the app does instead of a refused value
    doc: str
    view: bool  # how the race is shown, not what is raced
    parse: Callable[[Any], Any]
    bounds: tuple[Any, Any] | None
    what: str  # what a value is, for messages
    choices: tuple[str, ...] = ()  # a selector's objects
    explains: bool = False  # the reader's messages are shown as they are

    def read(self, v: Any, label: str, brief: bool = False) -> Any:
        """A value of this field from any JSON value or text; ValueError naming `label`. `brief`
        leaves out the list of choices (a link's notice: the page's menu shows them)."""
        try:
            x = self.parse(v)
        except ValueError as e:
            if self.explains:  # the reader's own message says what and where (a formula's column)
                raise ValueError(f"{label}: {e}") from None
            if str(e).startswith("unknown "):
                if brief:
                    raise
                raise ValueError(f"{label}: {e}; known: {', '.join(self.choices)}") from None
            raise ValueError(f"{label} {shown(v)} is not {self.what}") from None
        if self.bounds is not None and x is not None:
            lo, hi = self.bounds
            if (lo is not None and x < lo) or (hi is not None and x > hi):
                if brief:  # a link's notice: short, as the page has always put it
                    span = f"outside {lo}..{hi}" if hi is not None else f"below {lo}"
                    raise ValueError(f"{self.name} {shown(x)} is {span}")
                use = f"{lo} <= {self.name}" + (f" <= {hi}" if hi is not None else "")
                raise ValueError(f"{self.name} = {shown(x)} is not allowed; use {use}")
        return x

    def text(self, v: Any) -> str:
        return _fmt(v)


def _form(name: str, p: param.Parameter) -> Form:
    meta = p.metadata or {}
    bounds = getattr(p, "bounds", None)
    kind: type = str
    if "read" in meta:
        parse, what, fallback = meta["read"], meta["what"], "using the default"
    elif isinstance(p, param.Boolean):
        parse, what, kind, fallback = _flag, "1 or 0", bool, "left off"
    elif isinstance(p, param.Integer):
        parse, what, kind, fallback = _integer, "a whole number", int, "using the default"
    elif isinstance(p, param.Number):
        parse, what, kind, fallback = _number, "a finite number", float, "using the default"
    elif isinstance(p, param.Selector):
        objects = list(p.objects)

        # A long list (surfaces) is named after the value; a short one (themes) in the sentence.
        unknown = bool(meta.get("unknown"))

        def parse(v: Any, objects=objects, unknown=unknown) -> str:
            if isinstance(v, str) and v in objects:
                return v
            if unknown:
                raise ValueError(f"unknown {name} {shown(v)}")
            raise ValueError

        what, fallback = " or ".join(objects), "showing the default"
    elif name == "start":
        parse, what, fallback = _point, "a point", "using the surface's default"
    elif name == "racers":
        parse, what, fallback = list, "a list of racers such as 'adam:lr=0.01'", "ignored"
    else:
        raise TypeError(f"Scene.{name}: no reading declared for {type(p).__name__}")
    return Form(
        name=name,
        url=meta.get("url", name),
        json=meta.get("json", name),
        flag=meta.get("cli", "--" + name.replace("_", "-")),
        kind=kind,
        metavar=meta.get("cli_metavar", {int: "N", float: "X"}.get(kind, "NAME")),
        default=p.default,
        always=name in ("surface", "racers", "steps"),
        fallback=fallback,
        doc=p.doc or "",
        view=bool(meta.get("view")),
        parse=parse,
        bounds=bounds if isinstance(p, param.Number) else None,
        what=what,
        choices=tuple(p.objects) if isinstance(p, param.Selector) else (),
        explains="read" in meta,
    )


def _help(form: Form) -> str:
    default = form.default
    if form.name == "racers":
        return "a racer, e.g. 'adam:lr=0.01'; repeat for more (default: the app's racers)"
    if default is None or default == []:
        return form.doc
    return f"{form.doc} (default: {_fmt(default) if not isinstance(default, bool) else str(default).lower()})"


_FORMS: dict[type, dict[str, Form]] = {}
# The derived forms of every field of the Scene, in declaration order.
FORMS: dict[str, Form] = Scene.forms()

# The fields that make the race (a command line's race flags); the rest say how it is shown.
RACE_INPUTS: tuple[str, ...] = tuple(name for name, f in FORMS.items() if not f.view)


def _formula_fields(out: dict[str, Any]) -> dict[str, Any]:
    """A formula implies the formula surface; the formula surface needs a formula, and only it
    takes one (or a domain). ValueError otherwise."""
    if out.get("formula") is not None and "surface" not in out:
        out["surface"] = FORMULA
    if out.get("domain") is not None and out.get("formula") is None:
        raise ValueError("a domain goes with a formula, e.g. formula=x^2+3y^2&domain=-2,2,-1,1")
    if out.get("surface") == FORMULA and out.get("formula") is None:
        raise ValueError("surface 'formula' needs a formula, e.g. formula=x^2+3y^2")
    if out.get("surface", FORMULA) != FORMULA and (out.get("formula") or out.get("domain")) is not None:
        raise ValueError(f"formula and domain go with surface 'formula', not {shown(out['surface'])}")
    if out.get("surface") == FORMULA:
        from_formula(out["formula"], out.get("domain"))  # the grammar's word, and finite somewhere
    return out


def _racer_from_text(text: Any, where: str) -> dict[str, Any]:
    """A checked racer spec from racer text; ValueError prefixed with `where`."""
    try:
        if not isinstance(text, str):
            raise ValueError(f"{shown(text)} is not a racer such as adam:lr=0.01")
        spec = parse_racer(text)
        if len(spec.get("label", "")) > MAX_LABEL:
            raise ValueError(f"label: at most {MAX_LABEL} characters")
        Racer.from_spec(spec)
    except ValueError as e:
        raise ValueError(f"{where}: {str(e)[:160]}") from None
    return spec


def _racers_from_query(query: Mapping[Any, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    keys = sorted(
        (k for k in query if isinstance(k, str) and _RACER_KEY.fullmatch(k)), key=lambda k: (int(k[1:]), k)
    )
    racers, notices = [], []
    for k in keys[:MAX_RACERS]:
        try:
            racers.append(_racer_from_text(query[k], f"racer {k} ignored"))
        except ValueError as e:
            notices.append(str(e))
    if len(keys) > MAX_RACERS:
        dropped = keys[MAX_RACERS:]
        named = ", ".join(dropped[:4]) + (", ..." if len(dropped) > 4 else "")
        notices.append(f"only the first {MAX_RACERS} racers were kept; ignored: {named}")
    return racers, notices


def _racers_from_json(v: Any) -> list[dict[str, Any]]:
    if not isinstance(v, (list, tuple)):
        raise ValueError(f"racers must be {FORMS['racers'].what} or racer objects")
    if len(v) > MAX_RACERS:
        raise ValueError(f"racers: at most {MAX_RACERS} racers in one race")
    out = []
    for i, r in enumerate(v):
        if isinstance(r, Mapping) and "optimizer" in r:
            try:
                Racer.from_spec(r)  # checked whole first: racer_to_string expects a valid racer
            except ValueError as e:
                raise ValueError(f"racers: {e}") from None
            r = racer_to_string(r)
        elif not isinstance(r, str):
            raise ValueError(f"racers: {shown(r)} is neither a racer string nor an object with 'optimizer'")
        out.append(_racer_from_text(r, f"racer r{i} ignored"))
    return out


# ----- a scene raced, without the app ------------------------------------------------------------
class Raced(Scene):
    """A scene and its race, for the export and the CLI: what they read of the app's state."""

    result = param.Parameter(default=None, doc="the RaceResult of the scene", metadata=STATE)
    error = param.String(default="", doc="why the race was refused ('' if it was not)", metadata=STATE)
    notices = param.List(default=[], doc="what was ignored", metadata=STATE)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if not self.racers:
            self.racers = default_racers(self.surface)
        try:
            self.result = self.run()
        except ValueError as e:
            self.error = str(e)
        else:
            self.step = min(self.step, self.result.steps)

    @property
    def steps_done(self) -> int:
        res: RaceResult | None = self.result
        return res.steps if res is not None else 0

    def label(self, index: int) -> str:
        """A racer's name in legends: its own label, or its racer string (unique and readable)."""
        spec = self.racers[index]
        return spec.get("label") or racer_to_string(spec)
