"""The MLP: its loss landscape's slice (Li et al. 2018) as a surface, and real training at full dimension.

The catalogue's own tests (tests/test_surfaces.py) check mlp_landscape's minimum as they check every
surface's: stationary to float64, positive definite, below every grid point of the domain.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest
from jax import monitoring

import optimizers
import surfaces
from surfaces import mlp

SURFACE = surfaces.SURFACES["mlp_landscape"]


# ----- the data and the network ----------------------------------------------------------------------
def test_two_moons_are_seeded_balanced_and_split():
    again = mlp.two_moons(2 * mlp.N_POINTS, mlp.NOISE, mlp.DATA_SEED)
    np.testing.assert_array_equal(np.concatenate([mlp.TRAIN.X, mlp.HELD_OUT.X]), again.X)
    assert mlp.TRAIN.X.shape == mlp.HELD_OUT.X.shape == (128, 2)
    assert not np.array_equal(mlp.TRAIN.X, mlp.HELD_OUT.X)
    for d in (mlp.TRAIN, mlp.HELD_OUT):
        assert set(np.unique(d.y)) == {0.0, 1.0}
        assert 0.35 < d.y.mean() < 0.65
    assert not np.array_equal(mlp.two_moons(64, 0.2, 1).X, mlp.two_moons(64, 0.2, 2).X)


def test_parameter_vector_is_ravel_pytree_of_the_layers_in_torch_layout():
    layers = mlp.init_layers(5)
    assert [W.shape for W, _ in layers] == [(16, 2), (16, 16), (1, 16)]
    for W, b in layers:  # torch.nn.Linear's U(-1/sqrt(in), 1/sqrt(in))
        k = 1 / np.sqrt(W.shape[1])
        assert np.abs(W).max() <= k and np.abs(b).max() <= k
    flat = mlp.flatten(layers)
    assert flat.shape == (mlp.DIM,) == (337,)
    np.testing.assert_array_equal(flat, np.asarray(jax.flatten_util.ravel_pytree(layers)[0]))
    for (W, b), (W2, b2) in zip(layers, mlp.unravel(jnp.asarray(flat)), strict=True):
        np.testing.assert_array_equal(W, W2)
        np.testing.assert_array_equal(b, b2)


def test_loss_is_cross_entropy_plus_weight_decay_by_hand():
    layers = mlp.init_layers(1)
    X, y = mlp.TRAIN
    h = X
    for W, b in layers[:-1]:
        h = np.tanh(h @ W.T + b)
    z = (h @ layers[-1][0].T + layers[-1][1])[:, 0]
    p = 1 / (1 + np.exp(-z))
    ce = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    decay = 0.5 * mlp.WEIGHT_DECAY * sum(np.sum(W * W) for W, _ in layers)
    assert float(mlp.loss(layers, X, y)) == pytest.approx(ce + decay, rel=1e-13)
    # Logits far beyond exp's range stay finite (torch's BCEWithLogitsLoss form).
    big = [(W * 1e4, b * 1e4) for W, b in layers]
    assert np.isfinite(float(mlp.loss(big, X, y)))


# ----- the landscape ---------------------------------------------------------------------------------
def test_landscape_at_the_origin_is_the_trained_loss():
    L = mlp.landscape()
    trained = float(mlp.flat_loss(jnp.asarray(L.theta), *mlp.TRAIN))
    assert float(SURFACE.f(jnp.zeros(2))) == trained == L.loss
    assert SURFACE.min_value == trained
    # ... and a step along the slice is a step of the network's parameters.
    a, b = 0.3, -0.2
    moved = float(mlp.flat_loss(jnp.asarray(L.theta + a * L.d1 + b * L.d2), *mlp.TRAIN))
    assert float(SURFACE.f(jnp.asarray([a, b]))) == pytest.approx(moved, rel=1e-14)


def test_theta_star_is_a_trained_minimum_of_the_whole_network():
    L = mlp.landscape()
    g = np.asarray(jax.grad(mlp.flat_loss)(jnp.asarray(L.theta), *mlp.TRAIN))
    g0 = np.asarray(
        jax.grad(mlp.flat_loss)(jnp.asarray(mlp.flatten(mlp.init_layers(mlp.FIT_SEED))), *mlp.TRAIN)
    )
    assert np.linalg.norm(g) < 1e-3 * np.linalg.norm(g0)
    z = mlp.forward(mlp.unravel(jnp.asarray(L.theta)), mlp.HELD_OUT.X)
    assert np.mean((np.asarray(z) > 0) == mlp.HELD_OUT.y) > 0.9  # it learned the moons


def test_directions_are_filter_normalised_with_biases_still():
    L = mlp.landscape()
    for d in (L.d1, L.d2):
        for (D, db), (W, _) in zip(
            mlp.unravel(jnp.asarray(d)), mlp.unravel(jnp.asarray(L.theta)), strict=True
        ):
            # Each unit's row of weights has the norm of that unit's row in theta* itself (to the 1e-10
            # that Li et al.'s code adds to the divisor).
            np.testing.assert_allclose(np.linalg.norm(D, axis=1), np.linalg.norm(W, axis=1), rtol=1e-9)
            np.testing.assert_array_equal(np.asarray(db), 0.0)
    assert abs(L.d1 @ L.d2) < 0.2 * np.linalg.norm(L.d1) * np.linalg.norm(L.d2)  # two directions, not one


def test_filter_normalisation_scales_each_row_alone():
    theta = mlp.flatten(mlp.init_layers(2))
    rng = np.random.default_rng(0)
    d = rng.standard_normal(mlp.DIM)
    out = mlp.filter_normalised(d, theta)
    for (D, Dn, db), (W, _) in zip(
        [
            (a, b, bb)
            for (a, _), (b, bb) in zip(
                mlp.unravel(jnp.asarray(d)), mlp.unravel(jnp.asarray(out)), strict=True
            )
        ],
        mlp.unravel(jnp.asarray(theta)),
        strict=True,
    ):
        D, Dn, W = map(np.asarray, (D, Dn, W))
        ratio = Dn / D  # one factor per row: the direction of each filter is kept
        np.testing.assert_allclose(ratio, ratio[:, :1] * np.ones_like(ratio), rtol=1e-12)
        np.testing.assert_allclose(np.linalg.norm(Dn, axis=1), np.linalg.norm(W, axis=1), rtol=1e-9)
        np.testing.assert_array_equal(np.asarray(db), 0.0)


def test_theta_star_is_deterministic():
    first = mlp.landscape()
    mlp._landscape.cache_clear()
    try:
        again = mlp.landscape()
    finally:
        mlp._landscape.cache_clear()
        mlp._landscape()
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_landscape_is_computed_once_even_when_first_asked_inside_a_trace():
    mlp._landscape.cache_clear()
    try:
        # The first use may be a race's trace: the fit must run eagerly, not as part of it.
        out = jax.jit(lambda ab: SURFACE.fn(ab))(jnp.asarray([0.1, 0.1]))
        cached = mlp._landscape()
        assert all(isinstance(a, np.ndarray) for a in cached)
        assert float(out) == pytest.approx(float(SURFACE.f(jnp.asarray([0.1, 0.1]))), rel=1e-14)
        assert mlp._landscape.cache_info().misses == 1
    finally:
        mlp._landscape.cache_clear()
        mlp._landscape()


def test_every_racer_kind_races_on_the_landscape_and_the_default_racers_reach_theta_star():
    res = optimizers.race(
        "mlp_landscape",
        [
            {"optimizer": "gd", "lr": 0.02},
            {"optimizer": "adam", "lr": 0.02},
            {"optimizer": "lion", "lr": 0.005},
        ],
        steps=300,
    )
    assert np.all(res.diverged_at == -1)
    assert np.all(np.diff(res.loss[0]) <= 1e-15)  # gradient descent below 2 / curvature: monotone
    np.testing.assert_allclose(res.params[:2, -1], 0.0, atol=1e-4)
    gap = res.loss - SURFACE.min_value
    assert np.all(gap[:2, -1] < 1e-3 * gap[:2, 0])
    assert gap[2, -1] < 0.5 * gap[2, 0]  # Lion's fixed-size sign steps: on its way, not there


def test_minibatches_on_the_landscape_use_rows_of_the_training_set():
    full = optimizers.race("mlp_landscape", [{"optimizer": "sgd", "lr": 0.02}], steps=20)
    batch = optimizers.race(
        "mlp_landscape", [{"optimizer": "sgd", "lr": 0.02}], steps=20, batch_size=16, seed=1
    )
    again = optimizers.race(
        "mlp_landscape", [{"optimizer": "sgd", "lr": 0.02}], steps=20, batch_size=16, seed=1
    )
    assert not np.allclose(full.params, batch.params)
    np.testing.assert_array_equal(batch.params, again.params)
    with pytest.raises(ValueError, match="batch_size"):
        optimizers.race("mlp_landscape", [{"optimizer": "sgd"}], steps=5, batch_size=129)


def test_description_says_what_the_slice_is_and_is_not():
    text = SURFACE.description
    for phrase in ("Li et al. (2018)", "filter-normalised", "one slice through one minimum", "not the network's whole landscape",
                   "not training the network", "337"):  # fmt: skip
        assert phrase in text


# ----- theta* kept on disk ---------------------------------------------------------------------------
_PROCESS = """
import hashlib, sys
sys.path.insert(0, {root!r})
import optimizers  # sets JAX's compilation cache from OPTIRACE_JAX_CACHE, as the app does
from surfaces import mlp
L = mlp.landscape()
print(mlp._memo_path(), hashlib.sha256(b"".join(a.tobytes() for a in L)).hexdigest())
"""


def _digest(value) -> str:
    return hashlib.sha256(b"".join(np.asarray(a).tobytes() for a in value)).hexdigest()


def _fresh_process(cache, env_extra=None):
    root = str(Path(__file__).absolute().parent.parent)
    env = {**os.environ, "OPTIRACE_JAX_CACHE": str(cache), "JAX_LOG_COMPILES": "1", **(env_extra or {})}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", _PROCESS.format(root=root)], env=env, capture_output=True,
                         text=True, timeout=300, check=True)  # fmt: skip
    path, digest = out.stdout.split()[-2:]
    return path, digest, "jit(_fit)" in out.stderr


def test_theta_star_kept_on_disk_is_what_training_gives(tmp_path):
    """A process with a compilation cache keeps theta* there; the next one reads it back instead of
    training, and what it reads is, bit for bit, what training gives (computed again here)."""
    first_path, first, first_trained = _fresh_process(tmp_path)
    again_path, again, again_trained = _fresh_process(tmp_path)
    assert first_trained and not again_trained  # the second process did not train
    assert first_path == again_path and first_path.startswith(str(tmp_path))
    recomputed = _digest(mlp._compute())
    assert first == again == recomputed == _digest(mlp.landscape())
    assert _digest(mlp._load(mlp._memo_path(tmp_path))) == recomputed


def test_a_damaged_or_foreign_memo_is_ignored(tmp_path, monkeypatch):
    path = mlp._memo_path(tmp_path)
    assert mlp._load(path) is None  # none yet
    path.write_bytes(b"not a numpy file")
    assert mlp._load(path) is None
    mlp._store(path, mlp.landscape())
    path.write_bytes(path.read_bytes()[:200])  # cut short: a zip archive without its directory
    assert mlp._load(path) is None
    L = mlp.landscape()
    np.savez(path, theta=L.theta[:10], d1=L.d1, d2=L.d2)
    assert mlp._load(path) is None  # wrong shape
    np.savez(path, theta=np.full(mlp.DIM, np.nan), d1=L.d1, d2=L.d2)
    assert mlp._load(path) is None  # not finite
    mlp._store(path, L)
    assert _digest(mlp._load(path)) == _digest(L)
    # Another fit (here: its number of steps) is another file.
    monkeypatch.setattr(mlp, "FIT_STEPS", mlp.FIT_STEPS + 1)
    assert mlp._memo_path(tmp_path) != path


# ----- real training ----------------------------------------------------------------------------------
SANE = [{"optimizer": "adam", "lr": 0.01}, {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9}]


@pytest.fixture(scope="module")
def trained():
    return optimizers.train(SANE, steps=300, seed=0)


def test_training_curves_decrease_for_sane_racers(trained):
    assert trained.train_loss.shape == trained.held_out_loss.shape == (2, 301)
    assert trained.params.shape == (2, mlp.DIM)
    assert np.all(trained.diverged_at == -1)
    start = mlp.flatten(mlp.init_layers(0))
    assert np.all(trained.train_loss[:, 0] == float(mlp.flat_loss(start, *mlp.TRAIN)))
    assert np.all(trained.held_out_loss[:, 0] == float(mlp.flat_loss(start, *mlp.HELD_OUT)))
    for i in range(2):
        assert trained.train_loss[i, -1] < 0.3 * trained.train_loss[i, 0]
        assert trained.held_out_loss[i, -1] < 0.4 * trained.held_out_loss[i, 0]
        # Smoothed over 20 steps, the training loss only goes down.
        smooth = np.convolve(trained.train_loss[i], np.ones(20) / 20, mode="valid")
        assert np.all(np.diff(smooth[::20]) < 0)
    # Each curve is the loss at the racer's own parameters.
    for i in range(2):
        assert trained.train_loss[i, -1] == pytest.approx(
            float(mlp.flat_loss(trained.params[i], *mlp.TRAIN)), rel=1e-13
        )
        assert trained.held_out_loss[i, -1] == pytest.approx(
            float(mlp.flat_loss(trained.params[i], *mlp.HELD_OUT)), rel=1e-13
        )


def test_training_steps_are_the_update_rules_by_hand():
    """SGD with momentum, torch's form (v = mu v + g; theta -= lr v), on the autodiff gradient."""
    lr, mu, steps = 0.1, 0.9, 5
    out = optimizers.train([{"optimizer": "sgd", "lr": lr, "momentum": mu}], steps=steps, seed=4)
    theta = mlp.flatten(mlp.init_layers(4))
    grad = jax.jit(jax.grad(mlp.flat_loss))
    v = np.zeros_like(theta)
    for t in range(steps):
        g = np.asarray(grad(theta, *mlp.TRAIN))
        v = g if t == 0 else mu * v + g
        theta = theta - lr * v
        assert out.train_loss[0, t + 1] == pytest.approx(float(mlp.flat_loss(theta, *mlp.TRAIN)), rel=1e-12)
    np.testing.assert_allclose(out.params[0], theta, rtol=1e-11, atol=1e-14)


def test_a_racer_trains_alone_as_beside_others_and_a_diverging_one_is_frozen(trained):
    alone = optimizers.train([SANE[1]], steps=300, seed=0)
    np.testing.assert_array_equal(alone.train_loss[0], trained.train_loss[1])
    mixed = optimizers.train([{"optimizer": "sgd", "lr": 1e6}, SANE[0]], steps=300, seed=0)
    d = int(mixed.diverged_at[0])
    assert 0 < d < 300
    assert np.all(mixed.train_loss[0, d:] == mixed.train_loss[0, d - 1])
    assert np.all(np.isfinite(mixed.train_loss)) and np.all(np.isfinite(mixed.held_out_loss))
    np.testing.assert_array_equal(mixed.train_loss[1], trained.train_loss[0])


def test_seed_chooses_the_initialisation(trained):
    other = optimizers.train(SANE, steps=300, seed=1)
    assert other.train_loss[0, 0] != trained.train_loss[0, 0]
    again = optimizers.train(SANE, steps=300, seed=0)
    np.testing.assert_array_equal(again.train_loss, trained.train_loss)


COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
_compiles = [0]


def _count_compile(event: str, duration: float, **kwargs) -> None:
    if event == COMPILE_EVENT:
        _compiles[0] += 1


monitoring.register_event_duration_secs_listener(_count_compile)


def test_new_numbers_do_not_recompile_the_training_program(trained):
    warm = _compiles[0]
    again = optimizers.train([{"optimizer": "adam", "lr": 0.02, "beta1": 0.8}, {"optimizer": "sgd", "lr": 0.05, "momentum": 0.5}],
                             steps=400, seed=7)  # fmt: skip
    assert _compiles[0] == warm  # same structures, same step bucket (512 holds 300 and 400)
    assert again.train_loss[0, 0] != trained.train_loss[0, 0]  # it did run, with the new numbers
    optimizers.train(
        [{"optimizer": "nag", "lr": 0.01}], steps=20
    )  # a new structure compiles: the counter counts
    assert _compiles[0] > warm


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"racers": []}, "at least one racer"),
        ({"racers": {"optimizer": "adam"}}, "list of racers"),
        ({"racers": "adam"}, "list of racers"),
        ({"racers": [{"optimizer": "adam"}] * 9}, "at most 8"),
        ({"racers": [{"optimizer": "nope"}]}, "unknown optimizer"),
        ({"racers": [{"optimizer": "adam", "lr": -1}]}, "lr"),
        ({"racers": [{"optimizer": "newton"}]}, "Hessian"),
        ({"racers": [{"optimizer": "lookahead", "inner": {"optimizer": "newton"}}]}, "Hessian"),
        ({"steps": 0}, "steps"),
        ({"steps": 2001}, "steps"),
        ({"steps": 10.5}, "steps"),
        ({"steps": True}, "steps"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**32}, "seed"),
        ({"seed": "0"}, "seed"),
    ],
)
def test_bad_input_is_refused_before_any_work(kwargs, message):
    args = {"racers": [{"optimizer": "adam"}], "steps": 10, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        optimizers.train(**args)


def test_maps_and_sweeps_on_the_network_are_bounded_by_its_cost():
    """A 128^2 basin map of 300 steps is refused here before anything compiles (about 2000 times
    a closed-form surface's work), and a small one still runs."""
    assert surfaces.SURFACES["mlp_landscape"].cost > 1 and surfaces.SURFACES["himmelblau"].cost == 1
    with pytest.raises(ValueError, match="2000 times as costly.*MAX_RUN_STEPS"):
        optimizers.basins("mlp_landscape", "adam:lr=0.05", grid=128, steps=300)
    with pytest.raises(ValueError, match="MAX_RUN_STEPS"):
        optimizers.sweep("mlp_landscape", "adam:lr=0.05", over={"lr": [0.01] * 64}, steps=5000)
    ends = optimizers.basins("mlp_landscape", "adam:lr=0.05", grid=4, steps=5)
    assert np.asarray(ends).shape[:2] == (4, 4)
