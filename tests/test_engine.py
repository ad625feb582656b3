"""The engine contract: shapes, exact worked examples, no recompiles, divergence, noise, clipping,
sweeps, basin maps and validation messages."""

import dataclasses
import math
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
from jax import monitoring

import optimizers
import surfaces
from optimizers import xla
from optimizers.engine import compile_loops_as_one_kernel
from optimizers.transforms import clip_grad, clip_norm, clip_value

ROOT = Path(__file__).resolve().parent.parent
COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
_compiles = [0]


def _count_compile(event: str, duration: float, **kwargs) -> None:
    if event == COMPILE_EVENT:
        _compiles[0] += 1


monitoring.register_event_duration_secs_listener(_count_compile)


def fresh(name: str) -> surfaces.Surface:
    """A copy of a surface: surfaces key programs by identity, so its programs are not compiled yet."""
    return dataclasses.replace(surfaces.SURFACES[name])


# --- the contract's shapes ------------------------------------------------------------------------


@pytest.mark.parametrize("surface", ["rosenbrock", "parabola"])
def test_result_shapes_and_dtypes(surface):
    s = surfaces.SURFACES[surface]
    racers = [
        {"optimizer": "sgd", "lr": 1e-3, "momentum": 0.9},
        {"optimizer": "adam", "lr": 0.01},
        {"optimizer": "gd", "lr": 1e-3},
    ]
    steps = 37
    res = optimizers.race(surface, racers, steps=steps)
    n, dim = len(racers), s.dim
    assert res.params.shape == (n, steps + 1, dim) and res.params.dtype == np.float64
    assert res.loss.shape == (n, steps + 1) and res.loss.dtype == np.float64
    assert res.lr.shape == (n, steps) and res.lr.dtype == np.float64
    assert res.diverged_at.shape == (n,) and np.issubdtype(res.diverged_at.dtype, np.integer)
    assert res.steps == steps
    np.testing.assert_array_equal(res.params[:, 0], np.broadcast_to(s.start, (n, dim)))
    # loss is f at every recorded point
    f = np.array([[float(s.f(p)) for p in row] for row in res.params])
    np.testing.assert_allclose(res.loss, f, rtol=1e-12, atol=1e-12)
    assert isinstance(res.state, list) and len(res.state) == n
    assert set(res.state[0]) == {"momentum_buffer"}
    assert set(res.state[1]) >= {"exp_avg", "exp_avg_sq"}
    assert res.state[2] == {}
    for st in res.state:
        for v in st.values():
            assert v.shape[0] == steps + 1 and v.dtype == np.float64
    np.testing.assert_array_equal(res.state[1]["exp_avg"][0], np.zeros(dim))  # row 0: the initial state


def test_seed_000_gradient_descent_by_hand():
    """f = x^2 - 4x + 3 from x = 0 with lr 0.3: 0 -> 1.2 -> 1.68 (seed 000)."""
    res = optimizers.race("parabola", [{"optimizer": "gd", "lr": 0.3}], start=(0.0,), steps=2)
    x = res.params[0, :, 0]
    assert x[0] == 0.0
    assert abs(x[1] - 1.2) < 1e-12
    assert abs(x[2] - 1.68) < 1e-12
    np.testing.assert_allclose(res.loss[0], [3.0, 1.2**2 - 4 * 1.2 + 3, 1.68**2 - 4 * 1.68 + 3], atol=1e-12)
    np.testing.assert_array_equal(res.lr[0], [0.3, 0.3])


# --- no recompiles --------------------------------------------------------------------------------


def _schedule_with_values():
    """A registered schedule with numeric values to change (step if present), and two value sets."""
    if "step" in optimizers.SCHEDULES:
        return {"name": "step", "step_size": 100, "gamma": 0.5}, {
            "name": "step",
            "step_size": 7,
            "gamma": 0.9,
        }
    for name, sched in optimizers.SCHEDULES.items():
        numeric = [h for h in sched.hparams if h.kind == "float"]
        if numeric:
            h = numeric[0]
            return {"name": name, h.name: h.lo}, {"name": name, h.name: h.hi}
    return {"name": "constant"}, {"name": "constant"}


def test_changing_values_never_recompiles_and_new_structures_do():
    surf = fresh("quadratic")
    sched_a, sched_b = _schedule_with_values()
    before = [
        {"optimizer": "sgd", "lr": 0.01, "momentum": 0.5, "nesterov": False, "schedule": sched_a},
        {"optimizer": "adam", "lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "amsgrad": False},
        {"optimizer": "lookahead", "k": 5, "alpha": 0.5, "inner": {"optimizer": "sgd", "lr": 0.01}},
    ]
    after = [
        {
            "optimizer": "sgd",
            "lr": 0.2,
            "momentum": 0.95,
            "dampening": 0.0,
            "nesterov": True,
            "weight_decay": 0.01,
            "maximize": False,
            "schedule": sched_b,
            "clip_norm": 1.0,
            "clip_value": 0.5,
        },
        {
            "optimizer": "adam",
            "lr": 0.3,
            "beta1": 0.0,
            "beta2": 0.5,
            "eps": 0.0,
            "amsgrad": True,
            "weight_decay": 0.1,
            "clip_norm": 3.0,
        },
        {
            "optimizer": "lookahead",
            "k": 2,
            "alpha": 0.9,
            "inner": {"optimizer": "sgd", "lr": 0.3, "momentum": 0.5},
        },
    ]
    # The first races compile each structure (and the noise draws); everything after only changes values.
    optimizers.race(surf, before, start=(-9.0, 3.0), steps=300, surface_params={"kappa": 20.0})
    optimizers.race(surf, before, start=(-9.0, 3.0), steps=300, noise=0.1, seed=1)
    optimizers.sweep(surf, before[1], over={"lr": [0.01, 0.02]}, steps=300)
    warm = _compiles[0]
    a = optimizers.race(
        surf, after, start=(4.0, -2.0), steps=500, noise=0.0, seed=7, surface_params={"kappa": 90.0}
    )
    b = optimizers.race(surf, after, start=(1.0, 1.0), steps=400, noise=0.7, seed=123)
    optimizers.sweep(surf, after[1], over={"lr": [0.5, 0.05]}, steps=500, start=(1.0, 2.0))
    assert _compiles[0] == warm, "changing values recompiled"
    # the values really changed the trajectories
    assert a.params.shape[1] == 501 and b.params.shape[1] == 401
    assert not np.allclose(a.params[0, :401], b.params[0])
    # ...while a new structure compiles, which proves the counter counts
    optimizers.race(surf, [{"optimizer": "nag", "lr": 0.01}], steps=300)
    assert _compiles[0] > warm


def test_changing_cycled_momentum_values_never_recompiles():
    """torch's cycle_momentum, base/max momentum, base_lr, max_lr and last_epoch are all traced."""
    surf = fresh("rosenbrock")

    def racers(a, b):
        return [
            {"optimizer": "adam", "lr": 0.01, "beta1": 0.5, "schedule": {"name": "cyclic", **a}},
            {"optimizer": "sgd", "lr": 1e-4, "momentum": 0.5, "schedule": {"name": "onecycle", **b}},
        ]

    first = racers(
        {"max_lr": 0.05, "step_size_up": 10},
        {"total_steps": 200},
    )
    optimizers.race(surf, first, steps=200)
    optimizers.sweep(surf, first[1], over={"lr": [1e-4, 2e-4]}, steps=200)
    warm = _compiles[0]
    moved = racers(
        {
            "base_lr": 0.02,
            "max_lr": 0.03,
            "step_size_up": 7,
            "base_momentum": 0.6,
            "max_momentum": 0.99,
            "last_epoch": 5,
        },
        {
            "max_lr": 5e-4,
            "base_momentum": 0.5,
            "max_momentum": 0.8,
            "cycle_momentum": False,
            "three_phase": True,
        },
    )
    a = optimizers.race(surf, first, steps=200)
    b = optimizers.race(surf, moved, steps=200)
    optimizers.sweep(surf, moved[1], over={"lr": [1e-4, 2e-4]}, steps=200)
    assert _compiles[0] == warm, "changing cycled values recompiled"
    # the values really reached the race
    assert np.nanmax(a.momentum[0]) == pytest.approx(0.9) and np.nanmax(b.momentum[0]) == pytest.approx(0.99)
    assert np.isfinite(a.momentum[1]).all() and np.isnan(b.momentum[1]).all()
    assert not np.allclose(a.params[1], b.params[1])


def test_momentum_is_nan_where_nothing_cycles():
    res = optimizers.race(
        "rosenbrock",
        [
            {"optimizer": "adam", "lr": 0.01},
            {"optimizer": "adagrad", "lr": 0.1, "schedule": {"name": "onecycle", "cycle_momentum": False}},
            {"optimizer": "sgd", "lr": 1e-4, "momentum": 0.9, "schedule": {"name": "cyclic", "max_lr": 1e-3}},
        ],
        steps=50,
    )
    assert res.momentum.shape == res.lr.shape == (3, 50) and res.momentum.dtype == np.float64
    assert np.isnan(res.momentum[:2]).all()
    assert res.momentum[2, 0] == 0.9 and res.momentum[2].min() < 0.9  # torch's default cycle: 0.9 -> 0.8
    assert not res.momentum.flags.writeable


def test_race_loops_compile_to_one_kernel():
    """The engine asks XLA to compile a whole race loop as one kernel (3-8x faster on CPU)."""
    code = (
        "import optimizers, surfaces\n"
        "from optimizers.engine import ARG_ORDER, bucket, program, racer_args\n"
        "s = surfaces.SURFACES['rosenbrock']\n"
        "r = optimizers.Racer.from_spec({'optimizer': 'adam', 'lr': 0.01})\n"
        "a = racer_args(r, s, s.start, 100, 0.0, 0, {})\n"
        "txt = program(s, r, bucket(100), None).lower(*(a[k] for k in ARG_ORDER)).compile().as_text()\n"
        "print('xla_cpu_small_call' in txt)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_race_program_loop_compiles_to_one_kernel():
    """The whole-race loop (every racer in one program) is one kernel too."""
    code = (
        "import numpy as np, optimizers, surfaces\n"
        "from optimizers.engine import race_draws, race_program\n"
        "s = surfaces.SURFACES['rosenbrock']\n"
        "rs = tuple(optimizers.Racer.from_spec(x) for x in ('adam:lr=0.01', 'sgd:lr=0.001'))\n"
        "v = np.asarray([*s.start, 0.0, 100.0, *rs[0].numbers, *rs[1].numbers])\n"
        "xi, rows = race_draws(s, 128, 0.0, 0, None)\n"
        "txt = race_program(s, rs, 128, None).fn.lower(v, xi, rows).compile().as_text()\n"
        "print('xla_cpu_small_call' in txt)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


@pytest.mark.parametrize(
    "before, after",
    [
        ("", "--xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold=1073741824"),
        (
            "--xla_force_host_platform_device_count=2",
            "--xla_force_host_platform_device_count=2 "
            "--xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold=1073741824",
        ),
        (
            "--xla_backend_extra_options=xla_cpu_fold_all_constants=1",
            "--xla_backend_extra_options=xla_cpu_fold_all_constants=1,"
            "xla_cpu_small_while_loop_byte_threshold=1073741824",
        ),
        (  # the user's own choice wins
            "--xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold=0",
            "--xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold=0",
        ),
    ],
)
def test_xla_flag_is_added_without_clobbering(before, after):
    env = {"XLA_FLAGS": before} if before else {}
    compile_loops_as_one_kernel(env)
    assert env["XLA_FLAGS"] == after


@pytest.mark.parametrize("version", [(0, 9), (0, 13), (1, 0)])
def test_xla_flag_is_left_out_on_an_untested_jaxlib(version):
    """An XLA that dropped --xla_backend_extra_options would abort at start-up: outside the tested
    jaxlib range the flag is not set."""
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    compile_loops_as_one_kernel(env, jaxlib=version)
    assert env == {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}


def _compiles_with(options) -> bool:
    try:
        jax.jit(lambda x: x * 3.0, compiler_options=options).lower(np.float64(1.0)).compile()
    except jax.errors.JaxRuntimeError:
        return False
    return True


def test_compile_options_are_kept_only_where_the_compiler_takes_them(monkeypatch):
    wanted = {"xla_cpu_use_fusion_emitters": False, "xla_no_such_option_anywhere": True}
    monkeypatch.setattr(xla, "WANTED", {"cpu": wanted})
    monkeypatch.setattr(xla, "_ACCEPTED", {})
    cpu = jax.devices("cpu")[0]
    kept = xla.compiler_options(cpu)
    assert "xla_no_such_option_anywhere" not in kept
    # the fusion switch is kept exactly where this XLA knows it (jaxlib 0.10), and what is kept compiles
    assert ("xla_cpu_use_fusion_emitters" in kept) == _compiles_with({"xla_cpu_use_fusion_emitters": False})
    assert _compiles_with(kept)
    assert not _compiles_with({"xla_no_such_option_anywhere": True})  # the probe can fail
    # asked again, the platform's answer is remembered (the probe runs once)
    assert xla.compiler_options(cpu) is kept


def test_races_sweeps_and_basins_run_on_the_default_device():
    """Two CPU devices stand in for a GPU: under jax.default_device(d1), the programs run and their
    draws live on d1, and the results are those of the first device."""
    code = """
import jax, numpy as np, optimizers, surfaces
from optimizers.engine import ARG_ORDER, bucket, draws, program, race_draws, race_program, racer_args
d0, d1 = jax.devices("cpu")
surf = surfaces.SURFACES["rosenbrock"]
spec = [{"optimizer": "adam", "lr": 0.02},
        {"optimizer": "sgd", "lr": 1e-3, "momentum": 0.9, "schedule": {"name": "onecycle"}}]
def everything():
    r = optimizers.race(surf, spec, steps=100, noise=0.1, seed=3)
    s = optimizers.sweep(surf, spec[1], over={"lr": [1e-3, 2e-3]}, steps=100)
    b = optimizers.basins(surf, spec[0], grid=4, steps=50)
    return r.params, r.momentum, s, b
ref = everything()
with jax.default_device(d0):
    on_d0 = everything()
with jax.default_device(d1):
    on_d1 = everything()
    xi, rows = race_draws(surf, bucket(100), 0.1, 3, None)
    assert xi.devices() == {d1} and rows.devices() == {d1}, xi.devices()
    racers = tuple(optimizers.Racer.from_spec(x) for x in spec)
    values = np.asarray([*surf.start, 0.1, 100.0, *racers[0].numbers, *racers[1].numbers])
    table, dead = race_program(surf, racers, bucket(100), None).fn(values, xi, rows)
    assert table.devices() == {d1}, table.devices()
    args = racer_args(racers[1], surf, np.asarray([surf.start] * 2), 100, 0.0, 0, {}, draws(surf, 128, 0.0, 0, None))
    args["hp"] = {k: np.full(2, v) for k, v in args["hp"].items()}
    args["base_lr"] = np.full(2, args["base_lr"])
    out = program(surf, racers[1], 128, None, record=False, batched=True)(*(args[k] for k in ARG_ORDER))
    assert out[0].devices() == {d1}, out[0].devices()
for a, b, c in zip(ref, on_d0, on_d1):
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
print("ok")
"""
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "ok"


# --- divergence -----------------------------------------------------------------------------------


def test_divergence_is_flagged_frozen_and_isolated():
    calm = {"optimizer": "adam", "lr": 0.01}
    wild = {"optimizer": "sgd", "lr": 1e6}
    mixed = optimizers.race("rosenbrock", [calm, wild, calm], steps=200)
    alone = optimizers.race("rosenbrock", [calm], steps=200)
    d = int(mixed.diverged_at[1])
    assert d >= 1
    assert np.all(np.isfinite(mixed.params[1]))
    assert np.all(np.isfinite(mixed.loss[1]))
    # frozen at the last good point from the divergence on
    np.testing.assert_array_equal(
        mixed.params[1, d:], np.broadcast_to(mixed.params[1, d - 1], mixed.params[1, d:].shape)
    )
    # the other racers are untouched
    for i in (0, 2):
        assert mixed.diverged_at[i] == -1
        np.testing.assert_array_equal(mixed.params[i], alone.params[0])
        np.testing.assert_array_equal(mixed.loss[i], alone.loss[0])


def _extreme(opt) -> dict:
    """lr = 1e6, eps = 0, beta1 = 0 wherever the optimizer has them: legal, and must race."""
    names = {h.name for h in opt.hparams}
    spec = {"optimizer": opt.name}
    for name, value in (("lr", 1e6), ("eps", 0.0), ("beta1", 0.0)):
        if name in names:
            spec[name] = value
    if opt.wrapper:
        spec["inner"] = {"optimizer": "sgd", "lr": 1e6}
    return spec


def test_extreme_legal_values_race_without_raising():
    specs = [_extreme(o) for o in optimizers.OPTIMIZERS.values()]
    res = optimizers.race("rosenbrock", specs, steps=50)
    assert np.all(np.isfinite(res.params))
    for i, spec in enumerate(specs):
        d = res.diverged_at[i]
        good = res.loss[i] if d < 0 else res.loss[i, :d]
        assert np.all(np.isfinite(good)), spec
    assert (res.diverged_at >= 1).any()  # lr = 1e6 does blow up somewhere


@pytest.mark.parametrize("bad", [(math.nan, 1.0), (1.0, math.inf), (-math.inf, 0.0)])
def test_non_finite_start_raises(bad):
    with pytest.raises(ValueError, match="start"):
        optimizers.race("rosenbrock", [{"optimizer": "gd"}], start=bad, steps=5)


# --- one program per race -------------------------------------------------------------------------

MIXED = [
    {"optimizer": "adam", "lr": 0.05, "amsgrad": True, "clip_norm": 2.0},
    {
        "optimizer": "lookahead",
        "k": 3,
        "alpha": 0.6,
        "inner": {"optimizer": "sgd", "lr": 0.01, "momentum": 0.5},
    },
    {"optimizer": "sgd", "lr": 0.02, "schedule": {"name": "multistep", "milestones": "10;30", "gamma": 0.3}},
    {"optimizer": "gd", "lr": 0.01, "clip_value": 0.7},
]


@pytest.mark.parametrize(
    "surface, kwargs", [("quadratic", {"surface_params": {"kappa": 7.0}}), ("parabola", {})]
)
@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_each_racer_of_a_race_runs_as_if_alone(surface, kwargs, noise):
    """Racers share one program and one vector of numbers: every racer reads its own values.

    Without noise a racer's trajectory is the same bit for bit whoever it races. With noise, the
    shared noise term (sigma * xi) may be fused into a multiply-add in one program and not in
    another, so they agree to rounding (measured: at most 1.2e-16 absolute over 60 steps).
    """
    s = surfaces.SURFACES[surface]
    start = (2.5, -1.5)[: s.dim]
    together = optimizers.race(surface, MIXED, start=start, steps=60, noise=noise, seed=5, **kwargs)
    tol = {"rtol": 1e-14, "atol": 1e-15} if noise else {"rtol": 0, "atol": 0}
    for i, spec in enumerate(MIXED):
        alone = optimizers.race(surface, [spec], start=start, steps=60, noise=noise, seed=5, **kwargs)
        np.testing.assert_allclose(together.params[i], alone.params[0], **tol)
        np.testing.assert_allclose(together.loss[i], alone.loss[0], **tol)
        np.testing.assert_array_equal(together.lr[i], alone.lr[0])
        assert together.diverged_at[i] == alone.diverged_at[0]
        assert together.state[i].keys() == alone.state[0].keys()
        for k, v in together.state[i].items():
            np.testing.assert_allclose(v, alone.state[0][k], **tol)
    assert set(together.state[1]) >= {"slow", "inner.momentum_buffer"}
    np.testing.assert_allclose(
        together.lr[2, [0, 9, 10, 29, 30]], [0.02, 0.02, 0.006, 0.006, 0.0018], rtol=1e-14
    )


def test_results_are_read_only_views_of_their_own_race():
    """Results are values: read-only views of the race's output (no copy of half a megabyte per race),
    so writing into one raises instead of silently changing what another view shows."""
    res = optimizers.race("rosenbrock", MIXED[:2], steps=20)
    for a in (res.params, res.loss, res.lr, *res.state[0].values()):
        assert not a.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        res.params[0, 1] = 99.0
    mine = res.params.copy()  # the way to get an array to change
    mine[0, 1] = 99.0
    again = optimizers.race("rosenbrock", MIXED[:2], steps=20)
    np.testing.assert_array_equal(again.params, res.params)
    assert again.params.base is not res.params.base  # each race has its own buffer


def test_a_new_set_of_racers_compiles_once():
    surf = fresh("quadratic")
    optimizers.race(surf, MIXED[:2], steps=50)
    before = _compiles[0]
    optimizers.race(surf, [MIXED[0], {**MIXED[1], "k": 7}], steps=64, start=(1.0, 1.0))
    assert _compiles[0] == before
    optimizers.race(surf, MIXED[:3], steps=50)  # a racer added: one new program
    assert _compiles[0] == before + 1
    optimizers.race(surf, [*MIXED[:2], {**MIXED[2], "lr": 0.5, "momentum": 0.3}], steps=40, start=(2.0, 0.0))
    optimizers.race(surf, MIXED[:2], steps=60)  # back to the first set: still compiled
    assert _compiles[0] == before + 1


def test_noise_with_seed_0_after_a_race_without_noise():
    plain = optimizers.race("quadratic", NOISY, steps=30, noise=0.0, seed=0)
    noisy = optimizers.race("quadratic", NOISY, steps=30, noise=0.5, seed=0)
    assert not np.allclose(plain.params[:, 1:], noisy.params[:, 1:])


def test_parsed_racers_are_reused_and_bad_specs_still_raise():
    spec = {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "schedule": {"name": "step", "step_size": 5}}
    assert optimizers.Racer.from_spec(spec) is optimizers.Racer.from_spec(dict(spec))
    # equal in Python, not as racer values: True == 1 == 1.0 and -0.0 == 0.0
    assert optimizers.Racer.from_spec({"optimizer": "sgd", "lr": 1}).hp["lr"] == 1.0
    for _ in range(2):
        with pytest.raises(ValueError, match=r"sgd: lr = True is not allowed"):
            optimizers.Racer.from_spec({"optimizer": "sgd", "lr": True})
        with pytest.raises(ValueError, match=r"sgd: lr = -0.1 is not allowed"):
            optimizers.Racer.from_spec({"optimizer": "sgd", "lr": -0.1})
    plus = optimizers.Racer.from_spec({"optimizer": "sgd", "weight_decay": 0.0})
    minus = optimizers.Racer.from_spec({"optimizer": "sgd", "weight_decay": -0.0})
    assert math.copysign(1.0, plus.hp["weight_decay"]) == 1.0
    assert math.copysign(1.0, minus.hp["weight_decay"]) == -1.0
    # a wrapper's inner racer is validated as an inner racer, cached outer spec or not
    bad = {"optimizer": "lookahead", "inner": {"optimizer": "sgd", "clip_norm": 1.0}}
    for _ in range(2):
        with pytest.raises(ValueError, match=r"put 'clip_norm' on the outer"):
            optimizers.Racer.from_spec(bad)


# --- noise ----------------------------------------------------------------------------------------

NOISY = [{"optimizer": "gd", "lr": 0.01}, {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9}]


def test_noise_reproducible_by_seed_and_different_across_seeds():
    a = optimizers.race("quadratic", NOISY, steps=100, noise=0.5, seed=3)
    b = optimizers.race("quadratic", NOISY, steps=100, noise=0.5, seed=3)
    c = optimizers.race("quadratic", NOISY, steps=100, noise=0.5, seed=4)
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.allclose(a.params[:, 1:], c.params[:, 1:])


def test_zero_noise_is_no_noise():
    plain = optimizers.race("quadratic", NOISY, steps=100)
    zero = optimizers.race("quadratic", NOISY, steps=100, noise=0.0, seed=99)
    np.testing.assert_array_equal(plain.params, zero.params)
    # and no noise is plain gradient descent, written out by hand
    s = surfaces.SURFACES["quadratic"]
    x = np.asarray(s.start, dtype=np.float64)
    kappa = s.params["kappa"]
    for t in range(100):
        x = x - 0.01 * np.array([x[0], kappa * x[1]])
        np.testing.assert_allclose(plain.params[0, t + 1], x, rtol=1e-13, atol=1e-15)


def test_noise_is_gaussian_with_sigma():
    """gd on the parabola: x' = x - lr (f'(x) + sigma xi), so xi can be read back from the path."""
    sigma, lr, steps = 0.3, 0.01, 4000
    res = optimizers.race("parabola", [{"optimizer": "gd", "lr": lr}], steps=steps, noise=sigma, seed=11)
    x = res.params[0, :, 0]
    xi = ((x[:-1] - x[1:]) / lr - (2 * x[:-1] - 4)) / sigma
    assert abs(xi.mean()) < 0.05  # standard error 0.016
    assert abs(xi.std() - 1.0) < 0.05  # standard error 0.011
    assert abs(np.corrcoef(xi[:-1], xi[1:])[0, 1]) < 0.06  # independent across steps


# --- clipping: torch is the oracle ----------------------------------------------------------------

VECTORS = [[3.0, 4.0], [1e-3, -2e-3], [-7.0, 0.5], [0.0, 0.0], [250.0, -1e-6]]
THRESHOLDS = [0.5, 1.0, 5.0, 1e3, math.inf]


def _torch_clip(g, how, limit):
    # only the clipping oracle needs it; installed only in the Python 3.11 job (scripts/test_py311.sh)
    torch = pytest.importorskip("torch", reason="torch (the oracle) is installed only in the Python 3.11 job")
    p = torch.zeros(len(g), dtype=torch.float64, requires_grad=True)
    p.grad = torch.tensor(g, dtype=torch.float64)
    if how == "norm":
        torch.nn.utils.clip_grad_norm_([p], limit)
    else:
        torch.nn.utils.clip_grad_value_([p], limit)
    return p.grad.numpy()


@pytest.mark.parametrize("limit", THRESHOLDS)
def test_clip_functions_match_torch(limit):
    for g in VECTORS + [[2.5], [-9.0]]:
        np.testing.assert_allclose(
            np.asarray(clip_norm(np.asarray(g), limit)), _torch_clip(g, "norm", limit), rtol=1e-14, atol=0
        )
        np.testing.assert_allclose(
            np.asarray(clip_value(np.asarray(g), limit)), _torch_clip(g, "value", limit), rtol=0, atol=0
        )


@pytest.mark.parametrize("how", ["norm", "value"])
def test_engine_clips_the_gradient_like_torch(how):
    """One gd step with lr = 1 moves by exactly the clipped gradient; on the quadratic that is
    clip((x, kappa y)), and on the parabola clip(2x - 4)."""
    quad = surfaces.SURFACES["quadratic"]
    kappa = quad.params["kappa"]
    key = "clip_norm" if how == "norm" else "clip_value"
    for limit in THRESHOLDS:
        racer = [{"optimizer": "gd", "lr": 1.0, key: limit}]
        for start in ([3.0, 0.2], [-0.5, 0.01], [1e-4, -1e-4]):
            res = optimizers.race("quadratic", racer, start=start, steps=1)
            g = [start[0], kappa * start[1]]
            np.testing.assert_allclose(
                res.params[0, 0] - res.params[0, 1], _torch_clip(g, how, limit), rtol=1e-12, atol=1e-15
            )
        res = optimizers.race("parabola", racer, start=(9.0,), steps=1)
        np.testing.assert_allclose(
            res.params[0, 0] - res.params[0, 1], _torch_clip([14.0], how, limit), rtol=1e-12
        )


# Zeros of both signs, an overflowing squared norm, inf and NaN: where a shortcut could differ.
EDGES = VECTORS + [[-0.0, 0.0], [0.0, -0.0], [1e200, 1.0], [-math.inf, 1.0], [math.nan, 2.0], [5e-324, -3.0]]


@pytest.mark.parametrize(
    "limits", [(math.inf, math.inf), (2.0, math.inf), (math.inf, 0.5), (1.0, 0.3), (1e300, 1e300)]
)
def test_clip_grad_gives_the_two_transforms_number_for_number(limits):
    """clip_grad skips both transforms when both limits are inf (a lax.cond on the traced limits);
    every input still gets what clip_value(clip_norm(g)) gives, down to NaNs and the sign of zero."""
    both = jax.jit(lambda g, lim: clip_value(clip_norm(g, lim[0]), lim[1]))
    step = jax.jit(clip_grad)
    for g in EDGES:
        g, lim = np.asarray(g, dtype=np.float64), np.asarray(limits)
        want, got = np.asarray(both(g, lim)), np.asarray(step(g, lim))
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got[~np.isnan(got)]), np.signbit(want[~np.isnan(want)]))


def test_no_clipping_moves_as_a_limit_never_reached():
    """Limits of inf take clip_grad's skipping branch, limits of 1e300 the clipping one (a factor of
    exactly 1): in one race, the two racers' trajectories and states agree bit for bit."""
    base = {"optimizer": "adam", "lr": 0.05, "amsgrad": True}
    far = {**base, "clip_norm": 1e300, "clip_value": 1e300}
    res = optimizers.race("rosenbrock", [base, far], steps=200, noise=0.3, seed=4)
    np.testing.assert_array_equal(res.params[0], res.params[1])
    np.testing.assert_array_equal(res.loss[0], res.loss[1])
    for k, v in res.state[0].items():
        np.testing.assert_array_equal(v, res.state[1][k])
    assert not np.array_equal(res.params[0, -1], res.params[0, 0])  # it moved


# --- sweeps and basin maps ------------------------------------------------------------------------


def test_sweep_of_64_learning_rates_matches_race():
    lrs = np.logspace(-5, 0, 64)
    racer = {"optimizer": "sgd", "momentum": 0.9}
    final = optimizers.sweep("rosenbrock", racer, over={"lr": lrs}, steps=300)
    assert final.shape == (64,) and final.dtype == np.float64
    assert not np.isnan(final).any()
    assert np.isinf(final).any() and np.isfinite(final).any()  # large lrs diverge, small ones do not
    # Two races of 32 racers (MAX_RACERS per race): the second reuses the first one's program.
    halves = [
        optimizers.race("rosenbrock", [{**racer, "lr": lr} for lr in part], steps=300)
        for part in (lrs[:32], lrs[32:])
    ]
    diverged = np.concatenate([r.diverged_at for r in halves]) >= 0
    last = np.concatenate([r.loss[:, -1] for r in halves])
    np.testing.assert_array_equal(np.isinf(final), diverged)
    # Separately compiled programs (vmapped vs one racer) fuse, and so round, differently: they agree
    # to rounding (measured: at most 5e-16 absolute, near the edge of stability), not bit for bit.
    np.testing.assert_allclose(final[~diverged], last[~diverged], rtol=1e-12, atol=1e-14)


def test_sweep_over_an_inner_racers_value():
    spec = {"optimizer": "lookahead", "inner": {"optimizer": "sgd", "lr": 1e-3}}
    lrs = [1e-4, 5e-4, 1e-3]
    final = optimizers.sweep("rosenbrock", spec, over={"lr": lrs}, steps=100)
    res = optimizers.race(
        "rosenbrock", [{**spec, "inner": {"optimizer": "sgd", "lr": lr}} for lr in lrs], steps=100
    )
    assert (res.diverged_at == -1).all()
    np.testing.assert_allclose(final, res.loss[:, -1], rtol=1e-12, atol=1e-14)
    assert len(set(final)) == 3  # the swept value reached the inner racer


def test_basins_shapes_and_starts_near_a_minimum_end_there():
    grid = 24
    ends = optimizers.basins("himmelblau", {"optimizer": "gd", "lr": 0.01}, grid=grid, steps=300)
    assert ends.shape == (grid, grid, 2)
    s = surfaces.SURFACES["himmelblau"]
    xs = np.linspace(*s.domain[0], grid)
    ys = np.linspace(*s.domain[1], grid)
    near = 0
    for m in s.minima:
        for i, y in enumerate(ys):
            for j, x in enumerate(xs):
                if math.hypot(x - m[0], y - m[1]) < 0.4:
                    near += 1
                    np.testing.assert_allclose(ends[i, j], m, atol=1e-6)
    assert near >= len(s.minima)
    one_d = optimizers.basins("parabola", {"optimizer": "gd", "lr": 0.1}, grid=16, steps=200)
    assert one_d.shape == (16, 1)
    np.testing.assert_allclose(one_d[:, 0], 2.0, atol=1e-9)


def test_basins_match_single_races():
    s = surfaces.SURFACES["beale"]
    grid = 5
    ends = optimizers.basins("beale", {"optimizer": "adam", "lr": 0.05}, grid=grid, steps=100)
    xs, ys = np.linspace(*s.domain[0], grid), np.linspace(*s.domain[1], grid)
    for i, j in ((0, 0), (2, 3), (4, 1)):
        res = optimizers.race("beale", [{"optimizer": "adam", "lr": 0.05}], start=(xs[j], ys[i]), steps=100)
        if res.diverged_at[0] >= 0:
            assert np.isnan(ends[i, j]).all()
        else:
            np.testing.assert_allclose(ends[i, j], res.params[0, -1], rtol=1e-12, atol=1e-12)


# --- validation -----------------------------------------------------------------------------------

GD = [{"optimizer": "gd", "lr": 0.1}]


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(surface="nowhere"), r"surface: unknown surface 'nowhere'; known: .*rosenbrock"),
        (dict(racers=[{"optimizer": "adamm"}]), r"unknown optimizer 'adamm'; known: .*adam"),
        (
            dict(racers=[{"optimizer": "adam", "betas": 0.9}]),
            r"adam: unknown hyperparameter 'betas'; allowed: .*beta1",
        ),
        (
            dict(racers=[{"optimizer": "sgd", "schedule": {"name": "sawtooth"}}]),
            r"schedule: unknown schedule 'sawtooth'",
        ),
        (dict(racers=[{"optimizer": "sgd", "lr": -0.1}]), r"sgd: lr = -0.1 is not allowed; use .*0 <= lr"),
        (dict(racers=[{"optimizer": "sgd", "lr": math.nan}]), r"sgd: lr = nan is not allowed"),
        (
            dict(racers=[{"optimizer": "adam", "beta1": 1.0}]),
            r"adam: beta1 = 1.0 is not allowed; use .*beta1 < 1",
        ),
        (dict(steps=0), r"steps = 0 is not allowed"),
        (dict(start=(1.0, 2.0, 3.0)), r"start = .*rosenbrock needs 2 coordinate"),
        (dict(noise=-0.1), r"noise = -0.1 is not allowed"),
        (dict(batch_size=8), r"batch_size: rosenbrock is not a data surface"),
        (dict(racers=[{"optimizer": "sgd", "clip_norm": 0.0}]), r"sgd: clip_norm = 0.0 is not allowed"),
    ],
)
def test_validation_errors_name_the_field(kwargs, field):
    args = {"surface": "rosenbrock", "racers": GD, "steps": 10, **kwargs}
    with pytest.raises(ValueError, match=field):
        optimizers.race(args.pop("surface"), args.pop("racers"), **args)


def test_sweep_and_basins_validate_too():
    with pytest.raises(ValueError, match=r"sgd: lr = -1.0 is not allowed"):
        optimizers.sweep("rosenbrock", {"optimizer": "sgd"}, over={"lr": [0.1, -1.0]})
    with pytest.raises(ValueError, match=r"over: sgd has no numeric hyperparameter 'beta1'"):
        optimizers.sweep("rosenbrock", {"optimizer": "sgd"}, over={"beta1": [0.1]})
    with pytest.raises(ValueError, match=r"grid = 1 is not allowed"):
        optimizers.basins("rosenbrock", {"optimizer": "sgd"}, grid=1)


def test_a_sweep_parses_its_racer_once_and_checks_each_value_as_race_would():
    from optimizers import racer as racer_module

    spec = {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "nesterov": True}
    optimizers.sweep("rosenbrock", spec, over={"lr": [0.001]}, steps=20)
    kept = len(racer_module._PARSED)
    values = np.linspace(1e-4, 1e-3, 300)
    final = optimizers.sweep("rosenbrock", spec, over={"lr": values}, steps=20)
    assert len(racer_module._PARSED) == kept, "each swept value was parsed as a racer of its own"
    assert final.shape == (300,)
    # the optimizer's cross-field checks still apply to the swept value, with race's message
    with pytest.raises(ValueError, match="nesterov = true needs momentum > 0") as swept:
        optimizers.sweep("rosenbrock", spec, over={"momentum": [0.5, 0.0]}, steps=20)
    with pytest.raises(ValueError) as raced:
        optimizers.race("rosenbrock", [{**spec, "momentum": 0.0}], steps=20)
    assert str(swept.value) == str(raced.value)
    # and an inner racer's value is checked as the inner racer's
    with pytest.raises(ValueError, match=r"sgd: lr = -1.0 is not allowed"):
        optimizers.sweep(
            "rosenbrock", {"optimizer": "lookahead", "inner": {"optimizer": "sgd"}}, over={"lr": [-1.0]}
        )


def test_power_is_beta_to_the_t_within_rounding():
    """beta^t is computed as exp(t log beta) (optimizers/common.py): it must agree with pow, as torch
    and optax compute it, to rounding, including beta = 0 and the 1 - beta^t of the first steps."""
    import jax.numpy as jnp

    from optimizers.common import bias_correction, power

    beta = np.array([0.0, 1e-3, 0.5, 0.9, 0.99, 0.999, 0.9999, 0.999999])
    t = np.array([1.0, 2.0, 10.0, 1e3, 1e5])
    B, T = np.meshgrid(beta, t)
    ours = np.asarray(power(jnp.asarray(B), jnp.asarray(T)))
    np.testing.assert_allclose(ours, B**T, rtol=1e-12, atol=0)
    bc = np.asarray(bias_correction(jnp.asarray(B), jnp.asarray(T)))
    np.testing.assert_allclose(bc, 1.0 - B**T, rtol=1e-9, atol=0)
    assert float(power(jnp.asarray(0.0), jnp.asarray(1.0))) == 0.0
