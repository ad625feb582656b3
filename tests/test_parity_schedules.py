"""Parity with torch.optim.lr_scheduler: every schedule, several settings, 360 steps.

Each case races an SGD racer with the schedule; torch then builds the same scheduler on a dummy
float64 parameter and records `opt.param_groups[0]['lr']` before each `opt.step(); sched.step()`.
ReduceLROnPlateau is fed our own losses, and its whole SGD trajectory is also replayed in torch.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as L

import optimizers
from optimizers.racer import Racer, parse_racer

STEPS = 360
RTOL = 1e-6
LR = 0.05

# id -> (schedule spec, torch scheduler factory); the racer is SGD with lr LR on the quadratic.
CASES = {
    "step": ({"name": "step", "step_size": 30, "gamma": 0.5}, lambda o: L.StepLR(o, 30, 0.5)),
    "step_growth": ({"name": "step", "step_size": 7, "gamma": 1.1}, lambda o: L.StepLR(o, 7, 1.1)),
    "multistep": (
        {"name": "multistep", "milestones": "50;120;120;200", "gamma": 0.5},
        lambda o: L.MultiStepLR(o, [50, 120, 120, 200], 0.5),
    ),
    "multistep_zero_unsorted": (
        {"name": "multistep", "milestones": [250, 0, 30], "gamma": 0.3},
        lambda o: L.MultiStepLR(o, [250, 0, 30], 0.3),
    ),
    "exponential": ({"name": "exponential", "gamma": 0.99}, lambda o: L.ExponentialLR(o, 0.99)),
    "cosine_past_tmax": (
        {"name": "cosine", "T_max": 100, "eta_min": 0.001},
        lambda o: L.CosineAnnealingLR(o, 100, 0.001),
    ),
    "cosine_odd": ({"name": "cosine", "T_max": 37}, lambda o: L.CosineAnnealingLR(o, 37)),
    "cosine_race_steps": ({"name": "cosine"}, lambda o: L.CosineAnnealingLR(o, STEPS)),
    "restarts_mult2": (
        {"name": "cosine_restarts", "T_0": 20, "T_mult": 2, "eta_min": 1e-4},
        lambda o: L.CosineAnnealingWarmRestarts(o, 20, 2, 1e-4),
    ),
    "restarts_mult1": (
        {"name": "cosine_restarts", "T_0": 50},
        lambda o: L.CosineAnnealingWarmRestarts(o, 50),
    ),
    "restarts_mult3": (
        {"name": "cosine_restarts", "T_0": 1, "T_mult": 3, "eta_min": 0.01},
        lambda o: L.CosineAnnealingWarmRestarts(o, 1, 3, 0.01),
    ),
    "cyclic_triangular": (
        {"name": "cyclic", "max_lr": 0.2, "step_size_up": 40},
        lambda o: L.CyclicLR(o, LR, 0.2, step_size_up=40, cycle_momentum=False),
    ),
    "cyclic_triangular2": (
        {"name": "cyclic", "max_lr": 0.2, "step_size_up": 30, "step_size_down": 50, "mode": "triangular2"},
        lambda o: L.CyclicLR(
            o, LR, 0.2, step_size_up=30, step_size_down=50, mode="triangular2", cycle_momentum=False
        ),
    ),
    "cyclic_exp_range": (
        {
            "name": "cyclic",
            "max_lr": 0.2,
            "step_size_up": 25,
            "step_size_down": 10,
            "mode": "exp_range",
            "gamma": 0.995,
        },
        lambda o: L.CyclicLR(
            o,
            LR,
            0.2,
            step_size_up=25,
            step_size_down=10,
            mode="exp_range",
            gamma=0.995,
            cycle_momentum=False,
        ),
    ),
    "cyclic_sawtooth": (
        {"name": "cyclic", "max_lr": 0.01, "step_size_up": 33, "step_size_down": 0},
        lambda o: L.CyclicLR(o, LR, 0.01, step_size_up=33, step_size_down=0, cycle_momentum=False),
    ),
    "onecycle_cos": (
        {"name": "onecycle", "total_steps": STEPS},
        lambda o: L.OneCycleLR(o, LR, total_steps=STEPS, cycle_momentum=False),
    ),
    "onecycle_race_steps_linear": (
        {"name": "onecycle", "anneal_strategy": "linear", "pct_start": 0.25, "div_factor": 10.0},
        lambda o: L.OneCycleLR(
            o,
            LR,
            total_steps=STEPS,
            pct_start=0.25,
            anneal_strategy="linear",
            div_factor=10.0,
            cycle_momentum=False,
        ),
    ),
    "onecycle_cos_three_phase": (
        {"name": "onecycle", "total_steps": STEPS, "three_phase": True, "final_div_factor": 100.0},
        lambda o: L.OneCycleLR(
            o, LR, total_steps=STEPS, three_phase=True, final_div_factor=100.0, cycle_momentum=False
        ),
    ),
    "onecycle_linear_three_phase": (
        {"name": "onecycle", "total_steps": STEPS, "anneal_strategy": "linear", "three_phase": True},
        lambda o: L.OneCycleLR(
            o, LR, total_steps=STEPS, anneal_strategy="linear", three_phase=True, cycle_momentum=False
        ),
    ),
    "onecycle_no_warmup": (
        {"name": "onecycle", "total_steps": STEPS, "pct_start": 0.0},
        lambda o: L.OneCycleLR(o, LR, total_steps=STEPS, pct_start=0.0, cycle_momentum=False),
    ),
    "linear_warmup": (
        {"name": "linear", "start_factor": 0.25, "total_iters": 100},
        lambda o: L.LinearLR(o, 0.25, 1.0, 100),
    ),
    "linear_decay": (
        {"name": "linear", "start_factor": 1.0, "end_factor": 0.1, "total_iters": 150},
        lambda o: L.LinearLR(o, 1.0, 0.1, 150),
    ),
    "linear_zero_iters": (
        {"name": "linear", "start_factor": 0.5, "total_iters": 0},
        lambda o: L.LinearLR(o, 0.5, 1.0, 0),
    ),
    "polynomial_square": (
        {"name": "polynomial", "total_iters": 200, "power": 2.0},
        lambda o: L.PolynomialLR(o, 200, 2.0),
    ),
    "polynomial_sqrt": (
        {"name": "polynomial", "total_iters": 100, "power": 0.5},
        lambda o: L.PolynomialLR(o, 100, 0.5),
    ),
}

# Plateau racers run SGD on Rosenbrock, whose loss stalls, so the lr depends on the losses.
PLATEAU = {
    "plateau_rel": ({"name": "plateau", "patience": 5, "threshold": 0.02, "factor": 0.5}, 1e-3),
    "plateau_abs_cooldown": (
        {
            "name": "plateau",
            "patience": 3,
            "threshold": 5e-3,
            "threshold_mode": "abs",
            "cooldown": 10,
            "factor": 0.3,
            "min_lr": 2e-4,
        },
        1.5e-3,
    ),
    "plateau_max": ({"name": "plateau", "mode": "max", "patience": 20, "factor": 0.7, "eps": 1e-5}, 1e-3),
}


def rel_err(ours, ref) -> float:
    """Largest |ours - ref| / |ref|; an exact zero in ref must be matched exactly."""
    ours, ref = np.asarray(ours), np.asarray(ref)
    zero = ref == 0.0
    assert np.all(ours[zero] == 0.0), "torch's lr is exactly 0 where ours is not"
    return float(np.max(np.abs(ours[~zero] - ref[~zero]) / np.abs(ref[~zero]), initial=0.0))


def torch_lrs(factory, lr, n, metrics=None):
    p = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = factory(opt)
    out = []
    for t in range(n):
        out.append(float(opt.param_groups[0]["lr"]))
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(float(metrics[t]))
    return np.asarray(out)


@pytest.fixture(scope="module")
def scheduled():
    racers = [{"optimizer": "sgd", "lr": LR, "schedule": spec, "label": k} for k, (spec, _) in CASES.items()]
    res = optimizers.race("quadratic", racers, start=(1.0, 0.1), steps=STEPS)
    return {k: res.lr[i] for i, k in enumerate(CASES)}


@pytest.mark.parametrize("case", list(CASES))
def test_lr_matches_torch(scheduled, case):
    _, factory = CASES[case]
    ref = torch_lrs(factory, LR, STEPS)
    assert rel_err(scheduled[case], ref) <= RTOL
    # the schedule must actually move the lr, or the comparison proves little
    assert ref.max() > 1.01 * ref.min() or case == "linear_zero_iters"


def test_onecycle_holds_its_last_lr_past_the_cycle():
    total = 200
    res = optimizers.race(
        "quadratic",
        [{"optimizer": "sgd", "lr": LR, "schedule": {"name": "onecycle", "total_steps": total}}],
        steps=STEPS,
    )
    ref = torch_lrs(lambda o: L.OneCycleLR(o, LR, total_steps=total, cycle_momentum=False), LR, total)
    lr = res.lr[0]
    assert rel_err(lr[:total], ref) <= RTOL
    assert np.all(lr[total:] == lr[total - 1])
    assert lr[total - 1] == pytest.approx(LR / 25.0 / 1e4, rel=1e-12)


def torch_rosenbrock(x):
    return (1.0 - x[0]) ** 2 + 100.0 * (x[1] - x[0] ** 2) ** 2


@pytest.fixture(scope="module")
def plateau_race():
    racers = [{"optimizer": "sgd", "lr": lr, "schedule": spec} for spec, lr in PLATEAU.values()]
    return optimizers.race("rosenbrock", racers, start=(-1.5, 2.0), steps=STEPS)


@pytest.mark.parametrize("i, case", list(enumerate(PLATEAU)))
def test_plateau_lr_and_trajectory_match_torch(plateau_race, i, case):
    spec, lr = PLATEAU[case]
    kw = {k: v for k, v in spec.items() if k != "name"}
    res = plateau_race
    # 1) the scheduler alone, fed our losses
    ref = torch_lrs(lambda o: L.ReduceLROnPlateau(o, **kw), lr, STEPS, metrics=res.loss[i])
    assert rel_err(res.lr[i], ref) <= RTOL
    assert len(np.unique(ref)) >= 3, "the case should reduce the lr at least twice"
    # 2) torch's own SGD + ReduceLROnPlateau run on the same surface
    p = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = L.ReduceLROnPlateau(opt, **kw)
    points, lrs = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = torch_rosenbrock(p)
        loss.backward()
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step(loss.item())
        points.append(p.detach().numpy().copy())
    points = np.asarray(points)
    ours = res.params[i, 1:]
    err = np.linalg.norm(ours - points, axis=1) / np.linalg.norm(points, axis=1)
    assert err.max() <= RTOL
    assert rel_err(res.lr[i], lrs) <= RTOL


def test_milestone_syntax_and_padding():
    a = Racer.from_spec(parse_racer("sgd:lr=0.1,schedule=multistep,schedule.milestones=300;100;100"))
    assert a.schedule_hp["milestones"] == (300.0, 100.0, 100.0) + (math.inf,) * 5
    b = Racer.from_spec(parse_racer("sgd:lr=0.1,schedule=multistep,schedule.milestones=40"))
    assert b.schedule_hp["milestones"] == (40.0,) + (math.inf,) * 7
    # the normalised form validates to itself, and an empty list is torch's constant schedule
    again = {"optimizer": "sgd", "schedule": {"name": "multistep", "milestones": a.schedule_hp["milestones"]}}
    assert Racer.from_spec(again).schedule_hp["milestones"] == a.schedule_hp["milestones"]
    empty = Racer.from_spec({"optimizer": "sgd", "schedule": {"name": "multistep", "milestones": ""}})
    assert empty.schedule_hp["milestones"] == (math.inf,) * 8


@pytest.mark.parametrize(
    "spec, field",
    [
        ({"name": "multistep", "milestones": "1;2;3;4;5;6;7;8;9"}, "milestones"),
        ({"name": "multistep", "milestones": "10;2.5"}, "milestones"),
        ({"name": "multistep", "milestones": [10, "x"]}, "milestones"),
        ({"name": "step", "step_size": 0}, "step_size"),
        ({"name": "cosine", "T_max": 1.5}, "T_max"),
        ({"name": "cosine_restarts", "T_0": 0}, "T_0"),
        ({"name": "cosine_restarts", "T_0": 10, "T_mult": 0}, "T_mult"),
        ({"name": "cyclic", "mode": "sine"}, "mode"),
        ({"name": "cyclic", "step_size_up": 0}, "step_size_up"),
        ({"name": "cyclic", "step_size_down": -2}, "step_size_down"),
        ({"name": "onecycle", "pct_start": 1.5}, "pct_start"),
        ({"name": "onecycle", "total_steps": 10, "pct_start": 0.1}, "pct_start"),
        ({"name": "onecycle", "anneal_strategy": "cosine"}, "anneal_strategy"),
        ({"name": "linear", "start_factor": 0.0}, "start_factor"),
        ({"name": "linear", "end_factor": 1.5}, "end_factor"),
        ({"name": "polynomial", "power": -1.0}, "power"),
        ({"name": "plateau", "factor": 1.0}, "factor"),
        ({"name": "plateau", "threshold_mode": "relative"}, "threshold_mode"),
        ({"name": "plateau", "gamma": 0.5}, "gamma"),
    ],
)
def test_illegal_values_name_the_field(spec, field):
    with pytest.raises(ValueError, match=field):
        Racer.from_spec({"optimizer": "sgd", "schedule": spec})


def test_torch_rejects_what_we_reject_at_construction():
    """Spot-check that the ranges above are torch's own (where torch checks)."""
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for make in (
            lambda o: L.CosineAnnealingWarmRestarts(o, 0),
            lambda o: L.CosineAnnealingWarmRestarts(o, 10, 0),
            lambda o: L.OneCycleLR(o, 0.1, total_steps=10, pct_start=1.5),
            lambda o: L.OneCycleLR(o, 0.1, total_steps=10, pct_start=0.1),
            lambda o: L.LinearLR(o, 0.0),
            lambda o: L.LinearLR(o, 0.5, 1.5),
            lambda o: L.ReduceLROnPlateau(o, factor=1.0),
        ):
            with pytest.raises((ValueError, ZeroDivisionError)):
                make(torch.optim.SGD([p], lr=0.1))
