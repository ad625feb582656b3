"""Racers of any optax optimizer (`optax:NAME`): parity with optax run directly, traced values,
every place a racer goes (race, sweep, basins, racer strings, links, scene JSON, CLI), and refusals."""

from __future__ import annotations

import dataclasses
import inspect
import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax import monitoring

import optimizers
import surfaces
from optimizers import OPTIMIZERS, Racer, parse_racer, race, racer_to_string
from optimizers.optax_racers import CURATED, NOT_RACEABLE, aliases, optax_optimizer
from optirace.cli import main
from optirace.scene import Scene

_compiles = [0]


def _count(event: str, duration: float, **kwargs) -> None:
    if event == "/jax/core/compile/backend_compile_duration":
        _compiles[0] += 1


monitoring.register_event_duration_secs_listener(_count)


# Rounding only: the race is one fused XLA program and the reference runs op by op, so the last bits
# differ, and a curved valley amplifies them a little over 200 steps (about 1e-10 on Beale).
RTOL, ATOL = 1e-9, 1e-12


def _optax_loop(tx, surface, start, steps):
    """The reference: a plain loop of optax's own update and apply_updates on the surface's gradient."""
    grad = jax.jit(jax.grad(surface.f))
    p = jnp.asarray(start, jnp.float64)
    state = tx.init(p)
    out = [np.asarray(p)]
    for _ in range(steps):
        updates, state = tx.update(grad(p), state, p)
        p = optax.apply_updates(p, updates)
        out.append(np.asarray(p))
    return np.stack(out)


PARITY = {
    "yogi": ({"learning_rate": 0.05, "b1": 0.8, "b2": 0.99, "eps": 1e-4}, "rosenbrock", (-1.2, 1.0)),
    "lamb": ({"learning_rate": 0.01, "b1": 0.9, "b2": 0.99, "weight_decay": 0.01}, "beale", (1.0, 1.0)),
    "adamw": ({"learning_rate": 0.02, "weight_decay": 0.05, "eps": 1e-6}, "himmelblau", (0.5, -0.5)),
}


@pytest.mark.parametrize("alias", sorted(PARITY))
def test_parity_with_optax_step_by_step(alias):
    hp, name, start = PARITY[alias]
    surface = surfaces.SURFACES[name]
    steps = 200
    res = race(name, [{"optimizer": f"optax:{alias}", **hp}], start=start, steps=steps)
    expected = _optax_loop(getattr(optax, alias)(**hp), surface, start, steps)
    assert res.diverged_at[0] == -1
    assert not np.allclose(expected[-1], expected[0])  # the optimizer moved: the comparison means something
    np.testing.assert_allclose(res.params[0], expected, rtol=RTOL, atol=ATOL)


def test_parity_holds_with_a_schedule_driving_the_learning_rate():
    """The schedule's lr reaches optax through the injected learning_rate, as optax's own schedule would."""
    surface = surfaces.SURFACES["rosenbrock"]
    racer = {
        "optimizer": "optax:yogi",
        "learning_rate": 0.05,
        "schedule": {"name": "exponential", "gamma": 0.99},
    }
    res = race("rosenbrock", [racer], start=(-1.2, 1.0), steps=100)
    np.testing.assert_allclose(res.lr[0, :3], [0.05, 0.05 * 0.99, 0.05 * 0.99**2], rtol=1e-14)
    # optax as a schedule function of its own step count, returning the race's lr of that step
    # (optax's exponential_decay rounds through float32 when it counts).
    lrs = jnp.asarray(res.lr[0])
    expected = _optax_loop(optax.yogi(lambda count: lrs[count]), surface, (-1.2, 1.0), 100)
    np.testing.assert_allclose(res.params[0], expected, rtol=RTOL, atol=ATOL)


def test_hyperparameters_come_from_the_signature_with_sensible_ranges():
    opt = OPTIMIZERS["optax:yogi"]
    names = [h.name for h in opt.hparams]
    assert names == [n for n in inspect.signature(optax.yogi).parameters]  # all numeric
    lr, b1, b2, eps = (opt.spec(n) for n in names)
    assert lr.log and lr.lo == 1e-5 and lr.hi == 1.0 and opt.lr_name == "learning_rate"
    assert (b1.default, b2.default, eps.default) == (0.9, 0.999, 1e-3)  # optax's own defaults
    assert (b1.lo, b1.hi) == (0.0, 0.9999) and eps.log
    assert b1.doc == "Exponential decay rate to track the first moment of past gradients"  # optax's words
    adamw = OPTIMIZERS["optax:adamw"]
    assert adamw.spec("weight_decay").default == 1e-4
    # Callables, masks, dtypes and flags are not offered.
    assert not {"mask", "mu_dtype", "nesterov"} & {h.name for h in adamw.hparams}
    assert "mask" in adamw.convention and "nesterov" in adamw.convention
    # The paper optax's docstring cites, for the explain panel.
    assert opt.source == "Zaheer et al, Adaptive Methods for Nonconvex Optimization, 2018; optax.yogi"


def test_moving_a_value_does_not_recompile():
    surf = dataclasses.replace(surfaces.SURFACES["rosenbrock"])
    race(surf, [{"optimizer": "optax:lamb", "learning_rate": 0.01}], steps=100)
    before = _compiles[0]
    a = race(
        surf, [{"optimizer": "optax:lamb", "learning_rate": 0.2, "b1": 0.5, "weight_decay": 0.3}], steps=100
    )
    b = race(surf, [{"optimizer": "optax:lamb", "learning_rate": 0.001, "eps": 1e-3}], steps=100)
    assert _compiles[0] == before
    assert not np.allclose(a.params, b.params)  # the values did reach the program


def test_unknown_alias_and_unknown_hyperparameter_are_refused_by_name():
    with pytest.raises(ValueError, match=r"unknown optax optimizer 'foo'; known: .*yogi"):
        race("rosenbrock", [{"optimizer": "optax:foo"}], steps=10)
    with pytest.raises(
        ValueError, match=r"optax:yogi: unknown hyperparameter 'momentum'; allowed: learning_rate, b1"
    ):
        race("rosenbrock", [{"optimizer": "optax:yogi", "momentum": 0.9}], steps=10)
    # Names are optax's: torch's `lr` is not an alias, as built-in racers take no aliases either.
    with pytest.raises(ValueError, match="unknown hyperparameter 'lr'"):
        Racer.from_spec({"optimizer": "optax:yogi", "lr": 0.1})
    with pytest.raises(ValueError, match="b1 = 'x' is not a number"):
        Racer.from_spec("optax:yogi:b1=x")
    assert "optax:foo" not in OPTIMIZERS and "optax:yogi" in OPTIMIZERS
    # Non-function attributes of optax are not aliases.
    with pytest.raises(ValueError, match="unknown optax optimizer"):
        optax_optimizer("optax:GradientTransformation")


def test_the_not_raceable_list_is_what_the_installed_optax_refuses():
    refused = {}
    for alias in aliases():
        try:
            optax_optimizer("optax:" + alias)
        except ValueError as e:
            refused[alias] = str(e)
    assert set(refused) == set(NOT_RACEABLE)
    for alias, why in NOT_RACEABLE.items():
        assert why in refused[alias] and "optax:lbfgs" not in OPTIMIZERS
    for name in CURATED:
        assert name in OPTIMIZERS


def test_racer_text_links_and_scene_json_round_trip():
    text = "optax:yogi:learning_rate=0.1,b1=0.8,schedule=step,schedule.step_size=50"
    spec = parse_racer(text)
    assert spec["optimizer"] == "optax:yogi" and spec["learning_rate"] == 0.1
    assert racer_to_string(spec) == text
    scene, notices = Scene.from_query({"surface": "beale", "r0": text, "r1": "optax:nope:b1=1"})
    assert scene.racers == [spec] and len(notices) == 1 and "unknown optax optimizer 'nope'" in notices[0]
    assert Scene.from_query(scene.to_query())[0].racers == [spec]
    again = Scene.from_json(json.loads(json.dumps(scene.to_json())))
    assert again.racers == [spec]
    assert Scene.from_json({"racers": [{"optimizer": "optax:lamb", "weight_decay": 0.1}]}).racers == [
        {"optimizer": "optax:lamb", "weight_decay": 0.1}
    ]
    # An optax racer inside a wrapper.
    inner = parse_racer("lookahead:k=3,inner=optax:adamw,inner.learning_rate=0.02")
    assert inner["inner"] == {"optimizer": "optax:adamw", "learning_rate": 0.02}
    assert race("quadratic", [inner], steps=20).diverged_at[0] == -1


def test_sweep_and_basins_take_optax_racers():
    losses = optimizers.sweep("quadratic", {"optimizer": "optax:novograd"}, over={"learning_rate": [1e-3, 1e-1]},
                              steps=50)  # fmt: skip
    assert losses.shape == (2,) and losses[1] < losses[0]
    ends = optimizers.basins(
        "himmelblau", {"optimizer": "optax:adamw", "learning_rate": 0.05}, grid=4, steps=50
    )
    assert ends.shape == (4, 4, 2) and np.isfinite(ends).all()
    with pytest.raises(ValueError, match="no numeric hyperparameter 'lr'"):
        optimizers.sweep("quadratic", "optax:yogi", over={"lr": [0.1]}, steps=10)


def test_cli_races_an_optax_racer(capsys):
    code = main(
        ["race", "--surface", "booth", "--racer", "optax:yogi:learning_rate=0.1", "--steps", "50", "--json"]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["racers"][0]["spec"].startswith("optax:yogi")
    code = main(["race", "--surface", "booth", "--racer", "optax:yogo", "--steps", "5"])
    err = capsys.readouterr().err
    assert code == 2 and "unknown optax optimizer 'yogo'" in err


def test_hostile_optax_names_are_refused_by_name():
    for name in ("optax:", "optax:__init__", "optax:scale_by_adam", "optax:inject_hyperparams", "optax:yogi ",
                 "optax:" + "x" * 5000, "optax:lbfgs"):  # fmt: skip
        with pytest.raises(
            ValueError, match=r"^racer: (unknown optax optimizer|optax:lbfgs cannot race|optimizer: text of)"
        ) as e:
            Racer.from_spec({"optimizer": name})
        assert len(str(e.value)) < 1000
        assert name not in OPTIMIZERS
    # Text from a link: the namespace needs a name after it.
    with pytest.raises(ValueError, match="unknown optax optimizer ''"):
        Racer.from_spec("optax::learning_rate=0.1")
