"""The racer editor: one card per racer, its controls generated from the optimizer's specs."""

from __future__ import annotations

import math

import panel as pn

from optimizers import OPTIMIZERS, SCHEDULES
from optimizers.optax_racers import CURATED
from optimizers.optax_racers import PREFIX as OPTAX_PREFIX
from optimizers.racer import CLIP_NORM
from optirace.text import as_html

from .state import LIMITS, RaceState
from .styles import CARD_SHEET, live_html
from .urlstate import racer_to_string
from .widgets import hparam_widget


def _schedule_of(spec: dict) -> dict:
    s = spec.get("schedule") or {"name": "constant"}
    return {"name": s} if isinstance(s, str) else dict(s)


def summary(spec: dict) -> str:
    """A racer's settings in a few words for its card's header: `adam · lr 0.02`, then whatever
    differs from the optimizer's defaults and the schedule if it is not constant."""
    opt = OPTIMIZERS[spec["optimizer"]]
    parts = [opt.name]
    if opt.wrapper:
        inner = spec.get("inner", {"optimizer": "sgd"})
        parts.append(f"{inner['optimizer']} {summary(inner).partition(' · ')[2]}".strip())
    # The learning rate always, and first: it is what a racer is most often told apart by.
    shown = [h for h in opt.hparams if h.name == opt.lr_name or spec.get(h.name, h.default) != h.default]
    shown.sort(key=lambda h: h.name != opt.lr_name)
    parts += [f"{h.name} {_short(spec.get(h.name, h.default))}" for h in shown]
    sched = _schedule_of(spec)["name"]
    if sched != "constant":
        parts.append(sched)
    if spec.get("clip_norm") is not None and math.isfinite(spec["clip_norm"]):
        parts.append(f"clip {_short(spec['clip_norm'])}")
    return " · ".join(parts)


def _choices(current: str | None = None) -> list[str]:
    """The optimizer menu: the registry's (built-in and plug-ins), a few optax ones, and the racer's
    own if it is none of those (an optax optimizer typed by name)."""
    names = sorted(OPTIMIZERS) + [n for n in CURATED if n in OPTIMIZERS]
    return names if current is None or current in names else [*names, current]


# A card's column of sliders takes no room of its own: its widgets sit exactly where they would as
# the card's own children (the page's design gives every child of a card a margin, this column too).
_PART_SHEET = ":host { margin: 0 !important; } div:not(.scroll-button) { margin: 10px; }"


def _short(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


class RacerEditor:
    """An "add racer" row above the cards, then a card for every racer. Cards are rebuilt only when
    the racers change from outside a card (a new surface retunes learning rates, a URL restores a
    race); a card's header follows its sliders as they move.

    `busy(work)` runs work that may take a while (adding or removing a racer races them all again)
    with the page's busy indicator shown; by default it just runs it."""

    def __init__(self, state: RaceState, busy=None) -> None:
        self.state = state
        self.busy = busy or (lambda work: work())
        self.cards = pn.Column(sizing_mode="stretch_width")
        names = _choices()
        # At the top of the list and wide enough to read: a long list of cards must not hide it.
        self.new_optimizer = pn.widgets.Select(
            label="new racer's optimizer", options=names, value="adam" if "adam" in names else names[0],
            sizing_mode="stretch_width", min_width=120,
        )  # fmt: skip
        # Any other optax optimizer by name (optimizers/optax_racers.py); when given, it is added.
        self.any_optax = pn.widgets.TextInput(label="or any optax optimizer", placeholder="e.g. optax:adan",
                                              max_length=100, sizing_mode="stretch_width",
                                              css_classes=["any-optax"])  # fmt: skip
        self.add = pn.widgets.Button(label="Add racer", color="primary", width=110, align="end")
        self.add.on_click(lambda e: self.busy(self._add_new))
        self._editing = False
        self._headers: dict[int, pn.pane.Bokeh] = {}
        # Per card, the widgets that outlive a change of its controls (see `_refill`).
        self._kept: dict[int, dict[str, pn.widgets.Widget]] = {}
        state.param.watch(self._on_racers, ["racers"])
        self._rebuild()
        self.add.disabled = len(state.racers) >= LIMITS["racers"]

    def __panel__(self):
        return pn.Column(pn.Row(self.new_optimizer, self.add, sizing_mode="stretch_width", css_classes=["add-racer"]),
                         self.any_optax, self.cards, sizing_mode="stretch_width")  # fmt: skip

    def _add_new(self) -> None:
        count = len(self.state.racers)
        self.state.add_racer(self._new_name())
        if len(self.state.racers) > count:
            self.any_optax.value = ""  # added: the menu's choice is the next one again

    def _new_name(self) -> str:
        typed = self.any_optax.value.strip()
        if not typed:
            return self.new_optimizer.value
        return typed if typed.startswith(OPTAX_PREFIX) else OPTAX_PREFIX + typed

    def _on_racers(self, *_):
        if not self._editing:
            self._rebuild()
        self.add.disabled = len(self.state.racers) >= LIMITS["racers"]

    def _rebuild(self):
        self._headers, self._kept = {}, {}
        self.cards.objects = [self._card(i, spec) for i, spec in enumerate(self.state.racers)]

    def _refill(self, index: int) -> None:
        """A card's controls for its new optimizer, schedule or clipping, in place. The card's own
        children never change: its selects, label field, checkbox and Remove button stay the same
        elements in the page, and only the columns of sliders between them are refilled. A keyboard
        user moving through a select's options with the arrow keys keeps the focus on it, and the
        next key changes the racer again. (A rebuilt card replaced the select under the user's keys;
        and a layout whose children change puts each child's element in again, which takes the
        focus from it.)"""
        if index >= len(self.cards.objects):
            return self._rebuild()
        self._widgets(index, self.state.racers[index])

    def _set(self, index: int, key: str, value, widget=None):
        if self._current(index, key) == value:
            return
        # Everything one edit changes (the race, the card's header, the explain panel, the link)
        # goes to the page in one message: Bokeh writes each message against every model of the
        # session, which made a slider move cost the server ten times its race.
        with pn.io.unlocked():
            self._apply(index, key, value, widget)

    def _apply(self, index: int, key: str, value, widget=None):
        self._editing = True
        try:
            ok = self.state.update_racer(index, **{key: value})
        finally:
            self._editing = False
        if ok and index in self._headers:
            self._headers[index].object.text = self._header(index)
        if not ok and widget is not None:
            self._rebuild()  # a refused value: the field shows the old one again
        elif key in ("optimizer", "schedule", "inner.optimizer"):
            self._refill(index)  # the set of controls changed

    def _relabel(self, index: int, text: str, widget=None) -> None:
        if "," in text:
            # A link writes a racer's fields comma-separated: such a label could not be shared.
            self.state.error = "a label cannot hold a comma"
            self._rebuild()  # the field shows its last accepted value again
            return
        # Accepted, the card's header shows it (`_apply`) in the same message as the race. The cards
        # are not rebuilt: a rebuild arriving after that message replaced the fields under the
        # user's next keystrokes, and what they typed was lost.
        self._set(index, "label", text.strip() or None, widget)

    def _current(self, index: int, key: str):
        spec = self.state.racers[index]
        if key.startswith("schedule."):
            return _schedule_of(spec).get(key[len("schedule.") :])
        if key.startswith("inner."):
            return spec.get("inner", {}).get(key[len("inner.") :])
        return spec.get(key)

    def _controls(self, index: int, specs, values: dict, prefix: str = ""):
        out = []
        for h in specs:
            widget, convert = hparam_widget(h, values.get(h.name, h.default), prefix="")
            key = f"{prefix}{h.name}"

            def changed(*events, key=key, convert=convert, widget=widget):
                self._set(index, key, convert(events[-1].new), widget)

            # Sliders report drags as `value` and keyboard moves only as `value_throttled`;
            # listen to both (a repeated value is ignored in _set). When both change in one update,
            # param passes both events as positional arguments: hence *events, and keyword-only
            # defaults that an event can never land in.
            widget.param.watch(
                changed, ["value", "value_throttled"] if "value_throttled" in widget.param else "value"
            )
            out.append(widget)
        return out

    def _kept_widget(self, index: int, key: str, make, value=None):
        """The card's widget for `key`, made once per card (until the cards are rebuilt)."""
        kept = self._kept.setdefault(index, {})
        if key not in kept:
            kept[key] = make()
        elif value is not None and kept[key].value != value:
            kept[key].value = value  # the same value the racer has: `_set` ignores it
        return kept[key]

    def _part(self, index: int, key: str, objects: list) -> pn.Column:
        """The card's column `key`, holding `objects`; hidden, with a spacer in it, when there are
        none (Bokeh flags an empty layout). Refilled only when its objects are other objects."""
        part = self._kept_widget(
            index, key, lambda: pn.Column(sizing_mode="stretch_width", stylesheets=[_PART_SHEET])
        )
        if not objects:
            if not (len(part.objects) == 1 and isinstance(part.objects[0], pn.Spacer)):
                part.objects = [pn.Spacer(height=0, margin=0)]
        elif [id(o) for o in part.objects] != [id(o) for o in objects]:
            part.objects = objects
        part.visible = bool(objects)
        return part

    def _widgets(self, index: int, spec: dict) -> list:
        """The card's children, the same objects every time (see `_refill`), with their columns of
        sliders filled for `spec`."""
        opt = OPTIMIZERS[spec["optimizer"]]

        def make_select():
            w = pn.widgets.Select(label="optimizer", options=_choices(opt.name), value=opt.name)
            w.param.watch(lambda e: self._set(index, "optimizer", e.new), "value")
            return w

        def make_remove():
            w = pn.widgets.Button(label="Remove", color="light", width=90,
                                  disabled=len(self.state.racers) <= 1)  # fmt: skip
            w.on_click(lambda e: self.busy(lambda: self.state.remove_racer(index)))
            return w

        def make_label():
            w = pn.widgets.TextInput(
                label="label", value=spec.get("label") or "", css_classes=["racer-label"]
            )
            w.param.watch(lambda e: self._relabel(index, e.new, w), "value")
            return w

        select = self._kept_widget(index, "optimizer", make_select, opt.name)
        label = self._kept_widget(index, "label", make_label)
        # The legend's name for the racer; empty means its racer string.
        label.placeholder = racer_to_string({k: v for k, v in spec.items() if k != "label"})
        inner_objects, inner_controls = [], []
        if opt.wrapper:
            inner = spec.get("inner", {"optimizer": "sgd"})
            inner_opt = OPTIMIZERS[inner["optimizer"]]

            def make_inner():
                w = pn.widgets.Select(
                    label="inner optimizer",
                    options=[n for n in _choices(inner_opt.name) if not OPTIMIZERS[n].wrapper],
                    value=inner_opt.name,
                )
                w.param.watch(lambda e: self._set(index, "inner.optimizer", e.new), "value")
                return w

            inner_objects = [self._kept_widget(index, "inner.optimizer", make_inner, inner_opt.name)]
            inner_controls = self._controls(index, inner_opt.hparams, inner, "inner.")
        sched = _schedule_of(spec)

        def make_schedule():
            w = pn.widgets.Select(label="lr schedule", options=list(SCHEDULES), value=sched["name"])
            w.param.watch(lambda e: self._set(index, "schedule", e.new), "value")
            return w

        clip = spec.get("clip_norm")
        clipped = clip is not None and math.isfinite(clip)

        def make_clip():
            w = pn.widgets.Checkbox(label="clip gradient norm", value=clipped)
            w.param.watch(
                lambda e: (self._set(index, "clip_norm", 1.0 if e.new else None), self._refill(index)),
                "value",
            )
            return w

        clip_objects = []
        if clipped:
            w, convert = hparam_widget(CLIP_NORM, clip)
            w.param.watch(lambda e: self._set(index, "clip_norm", convert(e.new)), "value")
            clip_objects.append(w)
        schedule_controls = self._controls(index, SCHEDULES[sched["name"]].hparams, sched, prefix="schedule.")
        return [
            select,
            label,
            self._part(index, "inner", inner_objects),
            self._part(index, "inner.controls", inner_controls),
            self._part(index, "controls", self._controls(index, opt.hparams, spec)),
            self._kept_widget(index, "schedule", make_schedule, sched["name"]),
            self._part(index, "schedule.controls", schedule_controls),
            self._kept_widget(index, "clip", make_clip, clipped),
            self._part(index, "clip.controls", clip_objects),
            self._kept_widget(index, "remove", make_remove),
        ]

    def _card(self, index: int, spec: dict) -> pn.Card:
        widgets = self._widgets(index, spec)
        color = self.state.color(index)
        header = live_html(self._header(index), margin=(2, 5), sizing_mode="stretch_width", min_width=0)
        self._headers[index] = header
        return pn.Card(*widgets, header=header, collapsed=index > 1, sizing_mode="stretch_width",
                       styles={"border-left": f"5px solid {color}"}, css_classes=["racer-card"],
                       stylesheets=[CARD_SHEET])  # fmt: skip

    def _header(self, index: int) -> str:
        """The racer's colour, its label if it has one, and its settings: a collapsed card says
        which racer it is without being opened."""
        spec = self.state.racers[index]
        label, text = spec.get("label"), as_html(summary(spec))
        # A label gets the first line to itself; the settings follow on a second.
        first = (
            f"<span class='racer-name'>{as_html(label)}</span>"
            if label
            else f"<span class='racer-settings'>{text}</span>"
        )
        second = f"<div class='racer-sub racer-settings'>{text}</div>" if label else ""
        return (f"<div class='racer-head' title='{text}'><span class='swatch' "
                f"style='background:{self.state.color(index)}'></span>{first}</div>{second}")  # fmt: skip
