"""Property tests: any registered optimizer, on any surface, from anywhere near it, with any
slider-range hyperparameters, races 50 steps without raising and returns finite points."""

import math

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import optimizers
import surfaces
from optimizers.spec import HParam

STEPS = 50  # fixed, so each (optimizer, schedule, surface) structure compiles once
INNER = {"optimizer": "sgd", "lr": 1e-3}  # one inner racer for wrappers keeps the structures few


def value(h: HParam):
    """A value from the hyperparameter's display range, drawn the way its slider spans it."""
    if h.kind == "bool":
        return st.booleans()
    if h.kind == "choice":
        return st.sampled_from(h.choices)
    if h.kind == "int":
        return st.integers(math.ceil(h.lo), math.floor(h.hi))
    if h.kind != "float":
        return st.just(h.default)  # e.g. int lists: the default is a legal value
    if h.log and h.lo > 0:
        return st.floats(math.log10(h.lo), math.log10(h.hi)).map(lambda e: 10.0**e)
    return st.floats(h.lo, h.hi)


@st.composite
def racer(draw):
    name = draw(st.sampled_from(sorted(optimizers.OPTIMIZERS)))
    opt = optimizers.OPTIMIZERS[name]
    spec = {"optimizer": name, **{h.name: draw(value(h)) for h in opt.hparams}}
    if opt.wrapper:
        spec["inner"] = dict(INNER)
    sched_name = draw(st.sampled_from(sorted(optimizers.SCHEDULES)))
    sched = optimizers.SCHEDULES[sched_name]
    spec["schedule"] = {"name": sched_name, **{h.name: draw(value(h)) for h in sched.hparams}}
    return spec


@st.composite
def start(draw, surface):
    """A finite point inside the surface's domain blown up 10x about its centre."""
    point = []
    for lo, hi in surface.domain:
        c, half = (lo + hi) / 2, (hi - lo) / 2
        point.append(draw(st.floats(c - 10 * half, c + 10 * half)))
    return tuple(point)


@st.composite
def case(draw):
    name = draw(st.sampled_from(sorted(surfaces.SURFACES)))
    surface = surfaces.SURFACES[name]
    return name, draw(racer()), draw(start(surface))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case())
def test_any_legal_racer_races_and_stays_finite(c):
    surface, spec, x0 = c
    try:
        optimizers.Racer.from_spec(spec)
    except ValueError:
        assume(False)  # a cross-field rule (e.g. nesterov needs momentum) rejected the draw: fine
    res = optimizers.race(surface, [spec], start=x0, steps=STEPS)
    assert res.params.shape == (1, STEPS + 1, surfaces.SURFACES[surface].dim)
    assert np.all(np.isfinite(res.params))
    d = int(res.diverged_at[0])
    assert -1 <= d <= STEPS
    if d != 0:  # d == 0: the start itself overflows the loss, and the racer never moves
        assert np.all(np.isfinite(res.loss[0]))  # after a divergence: copies of the last good loss
    if d > 0:
        assert np.all(res.params[0, d:] == res.params[0, d - 1])
    assert np.all(np.isfinite(res.lr[0]))
