"""Hostile input to the engine's public calls: any JSON-like value, of any type, in any field.

Whatever arrives in a field (null, bools, ints beyond float's range, inf and nan, text, lists,
dicts, nesting hundreds deep), `race`, `sweep`, `basins`, `parse_racer` and `Racer.from_spec`
either work or raise a ValueError whose message names the field. And every limit of
optimizers/limits.py refuses what is beyond it by name, accepts what is at it, and refuses before
compiling anything.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from hostile import JSON, SCALARS
from hostile import nest as _nest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimizers
from optimizers import limits
from optimizers.limits import check_spec_size

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _refused_by_name(call, *names: str) -> None:
    """Run `call`; it may succeed, or raise a ValueError that names one of `names`."""
    try:
        call()
    except ValueError as e:
        msg = str(e)
        assert any(n in msg for n in names), f"{msg!r} names none of {names}"
        assert len(msg) < 1000, "a message quotes a hostile value short"


# --- race, sweep, basins: one hostile field at a time ---------------------------------------------

GD = {"optimizer": "gd", "lr": 0.01}
RACE = {"surface": "quadratic", "racers": [GD], "steps": 10}
RACE_FIELDS = ("surface", "racers", "start", "steps", "noise", "seed", "batch_size", "surface_params")


@SETTINGS
@given(st.sampled_from(RACE_FIELDS), JSON)
def test_race_takes_any_value_in_any_field(field, value):
    args = {**RACE, field: value}
    if field == "batch_size":
        args["surface"] = "least_squares"  # the one surface that takes a batch size
    names = ("racer", *optimizers.OPTIMIZERS) if field == "racers" else (field,)
    _refused_by_name(lambda: optimizers.race(args.pop("surface"), args.pop("racers"), **args), *names)


SWEEP = {"surface": "quadratic", "racer": GD, "over": {"lr": [0.01, 0.1]}, "steps": 10}
SWEEP_FIELDS = ("surface", "racer", "over", "lr values", "steps", "start", "noise", "seed", "surface_params")


@SETTINGS
@given(st.sampled_from(SWEEP_FIELDS), JSON)
def test_sweep_takes_any_value_in_any_field(field, value):
    args = dict(SWEEP)
    if field == "lr values":
        args["over"] = {"lr": value}
        names = ("lr", "over")
    else:
        args[field] = value
        names = ("racer", *optimizers.OPTIMIZERS) if field == "racer" else (field,)
    _refused_by_name(lambda: optimizers.sweep(args.pop("surface"), args.pop("racer"), **args), *names)


BASINS = {"surface": "quadratic", "racer": GD, "grid": 4, "steps": 10}
BASINS_FIELDS = ("surface", "racer", "grid", "steps", "noise", "seed", "surface_params")


@SETTINGS
@given(st.sampled_from(BASINS_FIELDS), JSON)
def test_basins_takes_any_value_in_any_field(field, value):
    if field == "grid" and isinstance(value, int) and not isinstance(value, bool) and 64 < value <= 1024:
        value = 1025  # every legal grid compiles its own program: keep the legal ones few
    args = {**BASINS, field: value}
    names = ("racer", *optimizers.OPTIMIZERS) if field == "racer" else (field,)
    _refused_by_name(lambda: optimizers.basins(args.pop("surface"), args.pop("racer"), **args), *names)


# --- racers: every key of a racer spec, of its schedule and of a wrapper's inner racer ------------

BASES = {
    "sgd": {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9},
    "adam": {"optimizer": "adam", "lr": 0.01},
    "rprop": {"optimizer": "rprop", "lr": 0.01},
    "ftrl": {"optimizer": "ftrl"},
    "lookahead": {"optimizer": "lookahead", "inner": {"optimizer": "sgd", "lr": 0.01}},
}
RESERVED = ("optimizer", "schedule", "clip_norm", "clip_value", "label")


def _keys(name: str) -> list[str]:
    return [*RESERVED, *(h.name for h in optimizers.OPTIMIZERS[name].hparams)]


RACER_FIELDS = [(name, key) for name in BASES for key in _keys(name)] + [("lookahead", "inner")]


@SETTINGS
@given(st.sampled_from(RACER_FIELDS), JSON)
def test_racer_takes_any_value_in_any_key(where, value):
    name, key = where
    spec = {**BASES[name], key: value}
    _refused_by_name(lambda: optimizers.Racer.from_spec(spec), key)


SCHEDULE_FIELDS = [(s, h.name) for s in sorted(optimizers.SCHEDULES) for h in optimizers.SCHEDULES[s].hparams]
SCHEDULE_FIELDS += [(s, "name") for s in ("step", "multistep")]


@SETTINGS
@given(st.sampled_from(SCHEDULE_FIELDS), JSON)
def test_schedule_takes_any_value_in_any_key(where, value):
    name, key = where
    spec = {"optimizer": "sgd", "lr": 0.1, "schedule": {"name": name, key: value}}
    _refused_by_name(lambda: optimizers.Racer.from_spec(spec), key, "schedule")


INNER_FIELDS = ["optimizer", "lr", "momentum", "nesterov", "schedule", "label", "inner"]


@SETTINGS
@given(st.sampled_from(INNER_FIELDS), JSON)
def test_inner_racer_takes_any_value_in_any_key(key, value):
    spec = {"optimizer": "lookahead", "inner": {"optimizer": "sgd", "lr": 0.01, key: value}}
    _refused_by_name(lambda: optimizers.Racer.from_spec(spec), "inner")


@SETTINGS
@given(JSON)
def test_a_racer_of_any_value_is_parsed_or_refused_by_name(value):
    _refused_by_name(lambda: optimizers.Racer.from_spec(value), "racer", *optimizers.OPTIMIZERS)
    _refused_by_name(lambda: optimizers.parse_racer(value), "racer")


@SETTINGS
@given(st.text(alphabet=st.sampled_from("adm:sgl=r,.0159e-;xinfa"), max_size=60) | SCALARS)
def test_racer_text_is_parsed_or_refused_by_name(text):
    try:
        parsed = optimizers.parse_racer(text)
    except ValueError as e:
        assert "racer" in str(e)
        return
    keys = [*parsed, *(parsed.get("schedule") or {}), *(parsed.get("inner") or {})]
    _refused_by_name(lambda: optimizers.Racer.from_spec(text), "racer", *keys)


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: optimizers.race("quadratic", [{"optimizer": "adam", "lr": 10**400}]), "lr"),
        (lambda: optimizers.race("quadratic", [GD], start=(10**400, 1)), "start"),
        (lambda: optimizers.race("quadratic", [GD], noise=10**400), "noise"),
        (lambda: optimizers.race("quadratic", [GD], surface_params={"kappa": 10**400}), "kappa"),
        (lambda: optimizers.race("quadratic", [GD], surface_params=[1]), "surface_params"),
        (lambda: optimizers.race("quadratic", [GD], surface_params="kappa"), "surface_params"),
        (lambda: optimizers.race("quadratic", [{"optimizer": ["adam"]}]), "optimizer"),
        (lambda: optimizers.race("quadratic", [{"optimizer": "sgd", "schedule": {"name": {}}}]), "schedule"),
        (
            lambda: optimizers.Racer.from_spec(
                {"optimizer": "sgd", "schedule": {"name": "multistep", "milestones": [10**400]}}
            ),
            "milestones",
        ),
        (lambda: optimizers.sweep("quadratic", GD, over={"lr": [0.1, 10**400]}), "lr"),
        (lambda: optimizers.Racer.from_spec(_nest(500, True)), "MAX_NESTING"),
        (lambda: optimizers.race("quadratic", [GD], steps=10**5000), "steps"),
        (lambda: optimizers.race("quadratic", [{"optimizer": "adam", "eps": 10**5000}]), "eps"),
    ],
)
def test_the_fuzzed_failures_of_the_issue_are_value_errors(call, field):
    with pytest.raises(ValueError, match=field):
        call()


# --- limits ---------------------------------------------------------------------------------------


_TRACED: list[str] = []
# JAX reports each function it traces or compiles; a refusal must come before any of that.
jax.monitoring.register_event_duration_secs_listener(
    lambda event, _secs, **_kw: _TRACED.append(event) if event.startswith("/jax/core/compile/") else None
)


def _instant(call, match: str) -> None:
    """The call is refused by the named limit, before JAX traces or compiles anything (how fast a
    refusal is, is the engine benchmark's to say; building a test's hostile input is not)."""
    before = len(_TRACED)
    with pytest.raises(ValueError, match=match):
        call()
    assert _TRACED[before:] == []


def test_racers_per_race():
    _instant(lambda: optimizers.race("quadratic", [GD] * (limits.MAX_RACERS + 1), steps=10), "MAX_RACERS")
    res = optimizers.race("quadratic", [GD] * limits.MAX_RACERS, steps=10)
    assert res.params.shape[0] == limits.MAX_RACERS


def test_racers_times_steps_per_race():
    steps = limits.MAX_RACE_STEPS // limits.MAX_STEPS
    over = [GD] * (steps + 1)
    _instant(lambda: optimizers.race("quadratic", over, steps=limits.MAX_STEPS), "MAX_RACE_STEPS")
    res = optimizers.race("quadratic", [GD] * steps, steps=limits.MAX_STEPS)
    assert res.params.shape == (steps, limits.MAX_STEPS + 1, 2)


def test_steps():
    _instant(lambda: optimizers.race("quadratic", [GD], steps=limits.MAX_STEPS + 1), "MAX_STEPS")
    _instant(lambda: optimizers.basins("quadratic", GD, grid=4, steps=limits.MAX_STEPS + 1), "MAX_STEPS")


def test_basin_grid_times_steps():
    n = limits.MAX_GRID
    _instant(lambda: optimizers.basins("quadratic", GD, grid=n + 1, steps=10), "MAX_GRID")
    _instant(lambda: optimizers.basins("quadratic", GD, grid=n, steps=100_000), "MAX_RUN_STEPS")
    over = limits.MAX_RUN_STEPS // (n * n) + 1
    _instant(lambda: optimizers.basins("quadratic", GD, grid=n, steps=over), "MAX_RUN_STEPS")
    # At the limit: 1024^2 starts x 512 steps (so 300 steps, as a later lesson needs) is accepted.
    # Running it takes about a minute; the check alone is what is tested here.
    assert n == 1024 and n * n * 512 <= limits.MAX_RUN_STEPS


def test_sweep_values_and_work():
    many = np.full(limits.MAX_SWEEP_VALUES + 1, 0.01)
    _instant(lambda: optimizers.sweep("quadratic", GD, over={"lr": many}, steps=10), "MAX_SWEEP_VALUES")
    _instant(lambda: optimizers.sweep("quadratic", GD, over={"lr": list(many)}, steps=10), "MAX_SWEEP_VALUES")
    at = optimizers.sweep("quadratic", GD, over={"lr": many[:-1]}, steps=10)
    assert at.shape == (limits.MAX_SWEEP_VALUES,)
    # The value and step limits bound a sweep's work within MAX_RUN_STEPS, and a teaching sweep
    # (64 values x 5000 steps) is well inside it.
    assert limits.MAX_SWEEP_VALUES * limits.MAX_STEPS <= limits.MAX_RUN_STEPS
    assert limits.MAX_RUN_STEPS >= 64 * 5000


def test_nesting_items_and_text():
    ok = {"optimizer": "lookahead", "inner": {"optimizer": "sgd", "lr": 0.01}}
    optimizers.Racer.from_spec(ok)
    _instant(lambda: optimizers.Racer.from_spec(_nest(limits.MAX_NESTING + 1, True)), "MAX_NESTING")
    _instant(lambda: optimizers.Racer.from_spec(_nest(100_000, False)), "MAX_NESTING")
    check_spec_size(_nest(limits.MAX_NESTING, False))  # at the limit: accepted by the size check
    _instant(
        lambda: optimizers.Racer.from_spec({"optimizer": "sgd", "x": list(range(10**6))}), "MAX_SPEC_ITEMS"
    )
    check_spec_size({"a": list(range(limits.MAX_SPEC_ITEMS - 1))})
    text = "sgd:lr=0.01," + "label=x," * 200
    _instant(lambda: optimizers.parse_racer(text + "x" * limits.MAX_TEXT), "MAX_TEXT")
    _instant(lambda: optimizers.Racer.from_spec("sgd:lr=0.01" + " " * limits.MAX_TEXT), "MAX_TEXT")
    optimizers.Racer.from_spec(("sgd:lr=0.01" + " " * limits.MAX_TEXT)[: limits.MAX_TEXT])


def test_label_length():
    label = "x" * limits.MAX_LABEL
    assert optimizers.Racer.from_spec({**GD, "label": label}).label == label
    _instant(lambda: optimizers.Racer.from_spec({**GD, "label": label + "x"}), "MAX_LABEL")
    _instant(lambda: optimizers.Racer.from_spec({**GD, "label": "x" * 60_000_000}), "MAX_LABEL")
    _instant(lambda: optimizers.Racer.from_spec(f"gd:lr=0.01,label={label}x"), "MAX_LABEL")


def test_milestones():
    def multistep(milestones):
        return {"optimizer": "sgd", "lr": 0.1, "schedule": {"name": "multistep", "milestones": milestones}}

    at = list(range(1, limits.MAX_MILESTONES + 1))
    optimizers.Racer.from_spec(multistep(at))
    _instant(lambda: optimizers.Racer.from_spec(multistep([*at, 99])), "MAX_MILESTONES")
    _instant(lambda: optimizers.Racer.from_spec(multistep(list(range(10**6)))), "MAX_SPEC_ITEMS")
