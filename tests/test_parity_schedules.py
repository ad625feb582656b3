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

import optimizers
from optimizers.racer import Racer, parse_racer

# torch is only the oracle. The Python 3.11 job (scripts/test_py311.sh) installs it: there
# `pip install torch==2.13.0` is a CPU-only wheel, while for Python 3.12 the package index has only CUDA
# builds of several GB, so the primary stack skips these tests, saying why.
torch = pytest.importorskip(
    "torch",
    reason="torch (the parity oracle) is installed only in the Python 3.11 job: bash scripts/test_py311.sh",
)
L = torch.optim.lr_scheduler

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


# --- torch's own keywords ---------------------------------------------------------------------------

# Keyword cases beyond the ones above: torch's base_lr / max_lr given (they win over the racer's lr),
# and OneCycleLR's cycle length given as epochs * steps_per_epoch.
KEYWORDS = {
    "cyclic_base_lr_given": (
        {"name": "cyclic", "base_lr": 0.01, "max_lr": 0.2, "step_size_up": 40, "cycle_momentum": False},
        lambda o: L.CyclicLR(o, 0.01, 0.2, step_size_up=40, cycle_momentum=False),
    ),
    "onecycle_max_lr_given": (
        {"name": "onecycle", "max_lr": 0.2, "total_steps": STEPS, "cycle_momentum": False},
        lambda o: L.OneCycleLR(o, 0.2, total_steps=STEPS, cycle_momentum=False),
    ),
    "onecycle_epochs": (
        {"name": "onecycle", "epochs": 4, "steps_per_epoch": 90, "pct_start": 0.2, "cycle_momentum": False},
        lambda o: L.OneCycleLR(o, LR, epochs=4, steps_per_epoch=90, pct_start=0.2, cycle_momentum=False),
    ),
    "cyclic_scale_mode_ignored_without_scale_fn": (
        {
            "name": "cyclic",
            "max_lr": 0.2,
            "step_size_up": 30,
            "mode": "triangular2",
            "scale_mode": "iterations",
        },
        lambda o: L.CyclicLR(o, LR, 0.2, step_size_up=30, mode="triangular2", scale_mode="iterations"),
    ),
}


@pytest.mark.parametrize("case", list(KEYWORDS))
def test_torch_keywords_set_the_lr_as_in_torch(case):
    spec, factory = KEYWORDS[case]
    # The racer's lr differs from torch's base_lr / max_lr: the schedule's value must win.
    res = optimizers.race("quadratic", [{"optimizer": "sgd", "lr": LR, "schedule": spec}], steps=STEPS)
    ref = torch_lrs(factory, LR, STEPS)
    assert rel_err(res.lr[0], ref) <= RTOL
    assert ref.max() > 1.01 * ref.min()


def test_every_keyword_of_torchs_schedulers_is_accepted():
    """Each schedule takes every keyword of its torch scheduler, under torch's name; the one
    exception is CyclicLR's scale_fn, a Python function, which a racer (data) cannot carry."""
    import inspect

    for name, sched in optimizers.SCHEDULES.items():
        if name == "constant":
            continue
        torch_cls = getattr(L, sched.torch_name)
        given = set(inspect.signature(torch_cls.__init__).parameters) - {"self", "optimizer"}
        if sched.torch_name == "CyclicLR":
            given -= {"scale_fn"}
        ours = {h.name for h in sched.hparams}
        assert given <= ours, f"{name}: torch's {sorted(given - ours)} are refused"


# --- last_epoch: resuming a schedule ------------------------------------------------------------------

RESUME_AT = 57
# schedule spec -> factory(optimizer, last_epoch) of the torch scheduler with the same settings.
RESUMED = {
    "step": (
        {"name": "step", "step_size": 25, "gamma": 0.5},
        lambda o, k: L.StepLR(o, 25, 0.5, last_epoch=k),
    ),
    "multistep": (
        {"name": "multistep", "milestones": "0;40;90;90;200", "gamma": 0.5},
        lambda o, k: L.MultiStepLR(o, [0, 40, 90, 90, 200], 0.5, last_epoch=k),
    ),
    "exponential": (
        {"name": "exponential", "gamma": 0.99},
        lambda o, k: L.ExponentialLR(o, 0.99, last_epoch=k),
    ),
    "cosine": (
        {"name": "cosine", "T_max": 100, "eta_min": 0.001},
        lambda o, k: L.CosineAnnealingLR(o, 100, 0.001, last_epoch=k),
    ),
    "cosine_restarts": (
        {"name": "cosine_restarts", "T_0": 5, "T_mult": 2, "eta_min": 1e-4},
        lambda o, k: L.CosineAnnealingWarmRestarts(o, 5, 2, 1e-4, last_epoch=k),
    ),
    "cosine_restarts_mult1": (
        {"name": "cosine_restarts", "T_0": 20},
        lambda o, k: L.CosineAnnealingWarmRestarts(o, 20, last_epoch=k),
    ),
    "cyclic": (
        {"name": "cyclic", "max_lr": 0.2, "step_size_up": 30, "mode": "exp_range", "gamma": 0.998},
        lambda o, k: L.CyclicLR(o, LR, 0.2, step_size_up=30, mode="exp_range", gamma=0.998, last_epoch=k),
    ),
    "onecycle": (
        {"name": "onecycle", "total_steps": 500, "three_phase": True},
        lambda o, k: L.OneCycleLR(o, LR, total_steps=500, three_phase=True, last_epoch=k),
    ),
    "linear": (
        {"name": "linear", "start_factor": 0.1, "total_iters": 150},
        lambda o, k: L.LinearLR(o, 0.1, 1.0, 150, last_epoch=k),
    ),
    "polynomial": (
        {"name": "polynomial", "total_iters": 300, "power": 2.0},
        lambda o, k: L.PolynomialLR(o, 300, 2.0, last_epoch=k),
    ),
}
# torch's constructor sets CosineAnnealingWarmRestarts' T_cur to last_epoch, a fresh run's T_cur only
# within the first cycle: there the race follows the fresh run. (A MultiStepLR milestone at
# last_epoch + 1 would be applied a second time to the loaded lr, so none sits there.)
FRESH_RUN_ONLY = {"cosine_restarts", "cosine_restarts_mult1"}


def torch_run_lrs(factory, n):
    """lr and momentum torch's SGD(momentum=0.9) uses at each of n steps, and the optimizer."""
    p = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=LR, momentum=0.9)
    sched = factory(opt)
    lrs, moms = [], []
    for _ in range(n):
        lrs.append(float(opt.param_groups[0]["lr"]))
        moms.append(float(opt.param_groups[0]["momentum"]))
        opt.step()
        sched.step()
    return np.asarray(lrs), np.asarray(moms), opt


@pytest.fixture(scope="module")
def resumed_race():
    racers = [
        {"optimizer": "sgd", "lr": LR, "momentum": 0.9, "schedule": {**spec, "last_epoch": RESUME_AT}}
        for spec, _ in RESUMED.values()
    ]
    return optimizers.race("quadratic", racers, start=(1.0, 0.1), steps=200)


@pytest.mark.parametrize("i, case", list(enumerate(RESUMED)))
def test_last_epoch_resumes_the_schedule_as_torch_does(resumed_race, i, case):
    spec, factory = RESUMED[case]
    n = resumed_race.steps
    k = RESUME_AT
    # 1) a fresh torch run: the race is its tail from epoch last_epoch + 1
    lrs, moms, _ = torch_run_lrs(lambda o: factory(o, -1), k + 1 + n)
    assert rel_err(resumed_race.lr[i], lrs[k + 1 :]) <= RTOL
    assert lrs[k + 1 :].max() > 1.01 * lrs[k + 1 :].min()
    # 2) torch's own resume from a checkpoint: an optimizer holding the state of a run whose
    # scheduler reached epoch last_epoch + 1, and a scheduler built with last_epoch (torch's
    # constructor steps once, to last_epoch + 1, keeping the loaded lr)
    _, _, stopped = torch_run_lrs(lambda o: factory(o, -1), k + 1)
    p = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=LR, momentum=0.9)
    opt.load_state_dict(stopped.state_dict())
    sched = factory(opt, k)
    if case in FRESH_RUN_ONLY:
        return
    m = n
    theirs, their_moms = [], []
    for _ in range(m):
        theirs.append(float(opt.param_groups[0]["lr"]))
        their_moms.append(float(opt.param_groups[0]["momentum"]))
        opt.step()
        sched.step()
    assert rel_err(resumed_race.lr[i, :m], theirs) <= RTOL
    if case in ("cyclic", "onecycle"):  # these cycle SGD's momentum by default
        assert rel_err(resumed_race.momentum[i], moms[k + 1 :]) <= 1e-9
        assert rel_err(resumed_race.momentum[i, :m], their_moms) <= 1e-9
    else:
        assert np.all(np.isnan(resumed_race.momentum[i]))


# --- momentum cycling ---------------------------------------------------------------------------------

MOMENTUM_STEPS = 300
# (optimizer kwargs, schedule spec, torch scheduler factory); torch's optimizer is SGD or Adam with
# the same kwargs. The racer's own momentum / beta1 is off the cycle, so a cycle that failed to
# reach the rule would show.
CYCLED = {
    "cyclic_sgd": (
        ("sgd", {"lr": 1e-4, "momentum": 0.5}),
        {
            "name": "cyclic",
            "base_lr": 2e-4,
            "max_lr": 1e-3,
            "step_size_up": 20,
            "step_size_down": 30,
            "mode": "triangular2",
        },
        lambda o: L.CyclicLR(o, 2e-4, 1e-3, step_size_up=20, step_size_down=30, mode="triangular2"),
    ),
    "cyclic_sgd_nesterov_own_momenta": (
        ("sgd", {"lr": 3e-4, "momentum": 0.5, "nesterov": True}),
        {"name": "cyclic", "max_lr": 1e-3, "step_size_up": 25, "base_momentum": 0.6, "max_momentum": 0.95},
        lambda o: L.CyclicLR(o, 3e-4, 1e-3, step_size_up=25, base_momentum=0.6, max_momentum=0.95),
    ),
    "cyclic_adam": (
        ("adam", {"lr": 0.01, "beta1": 0.5}),
        {"name": "cyclic", "max_lr": 0.05, "step_size_up": 15, "mode": "exp_range", "gamma": 0.995},
        lambda o: L.CyclicLR(o, 0.01, 0.05, step_size_up=15, mode="exp_range", gamma=0.995),
    ),
    "cyclic_adam_off": (
        ("adam", {"lr": 0.01, "beta1": 0.5}),
        {"name": "cyclic", "max_lr": 0.05, "step_size_up": 15, "cycle_momentum": False},
        lambda o: L.CyclicLR(o, 0.01, 0.05, step_size_up=15, cycle_momentum=False),
    ),
    "cyclic_sgd_off": (
        ("sgd", {"lr": 1e-4, "momentum": 0.5}),
        {"name": "cyclic", "max_lr": 1e-3, "step_size_up": 20, "cycle_momentum": False},
        lambda o: L.CyclicLR(o, 1e-4, 1e-3, step_size_up=20, cycle_momentum=False),
    ),
    "onecycle_sgd": (
        ("sgd", {"lr": 5e-4, "momentum": 0.3}),
        {"name": "onecycle", "max_lr": 1e-3, "total_steps": MOMENTUM_STEPS},
        lambda o: L.OneCycleLR(o, 1e-3, total_steps=MOMENTUM_STEPS),
    ),
    "onecycle_sgd_three_phase_linear": (
        ("sgd", {"lr": 1e-3, "momentum": 0.0}),
        {"name": "onecycle", "three_phase": True, "anneal_strategy": "linear", "base_momentum": 0.7},
        lambda o: L.OneCycleLR(
            o, 1e-3, total_steps=MOMENTUM_STEPS, three_phase=True, anneal_strategy="linear", base_momentum=0.7
        ),
    ),
    "onecycle_adam": (
        ("adam", {"lr": 0.05, "beta1": 0.5, "amsgrad": True}),
        {"name": "onecycle", "pct_start": 0.4, "max_momentum": 0.9, "base_momentum": 0.8},
        lambda o: L.OneCycleLR(
            o, 0.05, total_steps=MOMENTUM_STEPS, pct_start=0.4, max_momentum=0.9, base_momentum=0.8
        ),
    ),
    "onecycle_adam_off": (
        ("adam", {"lr": 0.05, "beta1": 0.5}),
        {"name": "onecycle", "cycle_momentum": False},
        lambda o: L.OneCycleLR(o, 0.05, total_steps=MOMENTUM_STEPS, cycle_momentum=False),
    ),
    "onecycle_sgd_off": (
        ("sgd", {"lr": 1e-3, "momentum": 0.9}),
        {"name": "onecycle", "total_steps": MOMENTUM_STEPS, "cycle_momentum": False},
        lambda o: L.OneCycleLR(o, 1e-3, total_steps=MOMENTUM_STEPS, cycle_momentum=False),
    ),
}


@pytest.fixture(scope="module")
def cycled_race():
    racers = [{"optimizer": opt, **kw, "schedule": spec} for (opt, kw), spec, _ in CYCLED.values()]
    return optimizers.race("rosenbrock", racers, start=(-1.5, 2.0), steps=MOMENTUM_STEPS)


def torch_cycled(opt_name, kw, factory, start, n):
    """torch's trajectory with the scheduler, fed the JAX gradient at its own point each step,
    and the lr and momentum (SGD) or beta1 (Adam) each step used."""
    import jax

    import surfaces

    grad = jax.jit(jax.grad(surfaces.SURFACES["rosenbrock"].f))
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    if opt_name == "sgd":
        opt = torch.optim.SGD([p], **kw)
    else:
        beta1 = kw.pop("beta1")
        kw = {**kw, "betas": (beta1, 0.999)}
        opt = torch.optim.Adam([p], **kw)
    sched = factory(opt)
    points, lrs, moms = [], [], []
    for _ in range(n):
        group = opt.param_groups[0]
        lrs.append(float(group["lr"]))
        moms.append(float(group["momentum"] if opt_name == "sgd" else group["betas"][0]))
        p.grad = torch.from_numpy(np.array(grad(p.detach().numpy())))
        opt.step()
        sched.step()
        points.append(p.detach().numpy().copy())
    return np.asarray(points), np.asarray(lrs), np.asarray(moms)


@pytest.mark.parametrize("i, case", list(enumerate(CYCLED)))
def test_momentum_cycles_as_in_torch_step_by_step(cycled_race, i, case):
    (opt_name, kw), spec, factory = CYCLED[case]
    res = cycled_race
    assert res.diverged_at[i] == -1
    points, lrs, moms = torch_cycled(opt_name, dict(kw), factory, (-1.5, 2.0), MOMENTUM_STEPS)
    ours = res.params[i, 1:]
    err = np.linalg.norm(ours - points, axis=1) / np.linalg.norm(points, axis=1)
    assert err.max() <= RTOL
    assert np.linalg.norm(ours[-1] - res.params[i, 0]) > 1e-2, "the racer should move"
    assert rel_err(res.lr[i], lrs) <= RTOL
    if spec.get("cycle_momentum", True):
        assert rel_err(res.momentum[i], moms) <= 1e-9
        assert moms.max() > moms.min() + 0.05, "the momentum should move"
    else:
        # torch leaves the optimizer's own value; ours is reported as not cycled
        assert np.all(moms == kw.get("momentum", kw.get("beta1")))
        assert np.all(np.isnan(res.momentum[i]))


def test_cycling_reaches_the_rule():
    """Cycling changes the trajectory: the same racer with cycle_momentum off goes elsewhere."""
    on, off = CYCLED["cyclic_adam"], CYCLED["cyclic_adam_off"]
    assert on[0] == off[0]
    res = optimizers.race(
        "rosenbrock",
        [
            {"optimizer": "adam", **on[0][1], "schedule": {**on[1], "cycle_momentum": c}}
            for c in (True, False)
        ],
        steps=100,
    )
    assert np.abs(res.params[0, -1] - res.params[1, -1]).max() > 1e-3


def test_lookahead_cycles_its_inner_racers_momentum():
    kw = {"lr": 1e-4, "momentum": 0.5}
    inner = {"optimizer": "sgd", **kw}
    res = optimizers.race(
        "rosenbrock",
        [
            {
                "optimizer": "lookahead",
                "inner": inner,
                "schedule": {"name": "cyclic", "max_lr": 1e-3, "step_size_up": 10},
            }
        ],
        steps=40,
    )
    _, _, moms = torch_cycled(
        "sgd", dict(kw), lambda o: L.CyclicLR(o, 1e-4, 1e-3, step_size_up=10), (-1.5, 2.0), 40
    )
    assert rel_err(res.momentum[0], moms) <= 1e-9


@pytest.mark.parametrize("optimizer", ["adagrad", "rprop", "gd", "adadelta"])
@pytest.mark.parametrize("schedule", ["cyclic", "onecycle"])
def test_cycle_momentum_without_momentum_is_torchs_error(optimizer, schedule):
    with pytest.raises(ValueError, match="cycle_momentum"):
        Racer.from_spec({"optimizer": optimizer, "schedule": schedule})
    # ...and off, the schedule races
    Racer.from_spec({"optimizer": optimizer, "schedule": {"name": schedule, "cycle_momentum": False}})


def test_torch_refuses_cycle_momentum_without_momentum_too():
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    for make in (lambda o: L.CyclicLR(o, 0.01, 0.1), lambda o: L.OneCycleLR(o, 0.1, total_steps=10)):
        with pytest.raises(ValueError, match="momentum"):
            make(torch.optim.Adagrad([p], lr=0.1))


@pytest.mark.parametrize(
    "spec, field",
    [
        ({"name": "cyclic", "base_lr": -0.5}, "base_lr"),
        ({"name": "onecycle", "max_lr": -2.0}, "max_lr"),
        ({"name": "onecycle", "epochs": 4}, "steps_per_epoch"),
        ({"name": "onecycle", "steps_per_epoch": 4}, "epochs"),
        ({"name": "onecycle", "epochs": 2.5, "steps_per_epoch": 4}, "epochs"),
        ({"name": "onecycle", "total_steps": 100, "last_epoch": 100}, "last_epoch"),
        ({"name": "step", "last_epoch": -2}, "last_epoch"),
        ({"name": "cosine", "last_epoch": 1.5}, "last_epoch"),
        ({"name": "cyclic", "base_momentum": -0.1}, "base_momentum"),
        ({"name": "cyclic", "scale_fn": "lambda x: x"}, "scale_fn"),
        ({"name": "cyclic", "scale_mode": "epochs"}, "scale_mode"),
    ],
)
def test_illegal_torch_keywords_name_the_field(spec, field):
    with pytest.raises(ValueError, match=field):
        Racer.from_spec({"optimizer": "sgd", "schedule": spec})
