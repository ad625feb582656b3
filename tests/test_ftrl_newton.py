"""FTRL-Proximal worked by hand from the paper's per-coordinate formulas, and damped Newton."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest

import optimizers
import surfaces
from surfaces.base import Surface

KAPPA = 20.0
START = (-9.0, 3.0)


def quadratic_grad(w):
    return [w[0], KAPPA * w[1]]


def ftrl_by_hand(start, steps, alpha, beta, l1, l2):
    """McMahan et al. (2013), Algorithm 1, one coordinate at a time, in plain floats.

    Round 1 plays the start point; later rounds play w computed from (z, n).
    """
    z, n = [0.0, 0.0], [0.0, 0.0]
    w = list(start)
    points = [tuple(w)]
    for _ in range(steps):
        g = quadratic_grad(w)
        for i in range(2):
            sigma = (math.sqrt(n[i] + g[i] ** 2) - math.sqrt(n[i])) / alpha
            z[i] += g[i] - sigma * w[i]
            n[i] += g[i] ** 2
        for i in range(2):
            if abs(z[i]) <= l1:
                w[i] = 0.0
            else:
                sgn = 1.0 if z[i] > 0 else -1.0
                w[i] = -(z[i] - sgn * l1) / ((beta + math.sqrt(n[i])) / alpha + l2)
        points.append(tuple(w))
    return np.asarray(points)


def test_ftrl_three_steps_by_hand():
    hp = dict(alpha=0.5, beta=1.0, l1=2.0, l2=0.5)
    res = optimizers.race("quadratic", [{"optimizer": "ftrl", **hp}], start=START, steps=3)
    expected = ftrl_by_hand(START, 3, **hp)
    # step 1 written out: g = (-9, 60), n = (81, 3600), sigma = (18, 120), z = (153, -300)
    assert expected[1] == pytest.approx((-151.0 / 20.5, 298.0 / 122.5), rel=1e-15)
    np.testing.assert_allclose(res.params[0], expected, rtol=1e-12, atol=0.0)
    np.testing.assert_allclose(res.state[0]["n"][1], [81.0, 3600.0], rtol=1e-15)
    np.testing.assert_allclose(res.state[0]["z"][1], [153.0, -300.0], rtol=1e-15)
    assert np.all(res.params[0][1:] != 0.0)
    assert np.all(res.lr[0] == 0.5)


def test_ftrl_l1_pins_a_coordinate_at_exactly_zero():
    # z_x = 153 after step 1 and stays there (g_x = 0 at x = 0), so l1 = 200 pins x for good,
    # while |z_y| = 300 > 200 keeps y free.
    res = optimizers.race(
        "quadratic",
        [{"optimizer": "ftrl", "alpha": 0.5, "l1": 200.0}, {"optimizer": "ftrl", "alpha": 0.5, "l1": 1e6}],
        start=START,
        steps=50,
    )
    x, y = res.params[0, 1:, 0], res.params[0, 1:, 1]
    assert np.all(x == 0.0)
    assert y[0] != 0.0
    np.testing.assert_allclose(res.params[0], ftrl_by_hand(START, 50, 0.5, 1.0, 200.0, 0.0), rtol=1e-12)
    assert np.all(res.params[1, 1:] == 0.0)


def test_ftrl_without_regularisation_is_adagrad_without_eps():
    """With beta = l1 = l2 = 0 the proximal centring turns FTRL into theta - alpha g / sqrt(n)."""
    res = optimizers.race("rosenbrock", [{"optimizer": "ftrl", "alpha": 0.05, "beta": 0.0}], steps=100)
    s = surfaces.SURFACES["rosenbrock"]
    grad = jax.grad(lambda x: s.f(x))
    p, n = np.asarray(s.start), np.zeros(2)
    for t in range(1, 101):
        g = np.asarray(grad(p))
        n = n + g * g
        p = p - 0.05 * g / np.sqrt(n)
        np.testing.assert_allclose(res.params[0, t], p, rtol=1e-9)


@pytest.mark.parametrize("kappa", [1.0, 20.0, 1e4])
def test_newton_solves_a_quadratic_in_one_step(kappa):
    res = optimizers.race(
        "quadratic",
        [{"optimizer": "newton"}],
        start=START,
        steps=3,
        surface_params={"kappa": kappa},
    )
    assert np.all(np.abs(res.params[0, 1]) <= 1e-12)
    assert res.loss[0, 1] <= 1e-20


def test_newton_solves_the_parabola_in_one_step():
    res = optimizers.race("parabola", [{"optimizer": "newton"}], steps=2)
    assert res.params[0, 1, 0] == pytest.approx(2.0, abs=1e-14)


def test_damped_newton_on_rosenbrock_stays_finite_and_descends():
    res = optimizers.race(
        "rosenbrock",
        [{"optimizer": "newton", "damping": 10.0}, {"optimizer": "newton", "lr": 0.5, "damping": 1.0}],
        steps=300,
    )
    assert np.all(res.diverged_at == -1)
    assert np.all(np.isfinite(res.params))
    assert np.all(res.loss[:, -1] < 1e-6 * res.loss[:, 0])


def test_newton_heads_for_the_saddle():
    res = optimizers.race("saddle", [{"optimizer": "newton"}], steps=20)
    assert res.diverged_at[0] == -1
    assert np.all(np.abs(res.params[0, -1]) <= 1e-10)


FLAT = Surface(
    name="flat_direction",
    title="x^2, flat in y",
    fn=lambda x: x[0] ** 2,
    dim=2,
    domain=((-1.0, 1.0), (-1.0, 1.0)),
    minima=((0.0, 0.0),),
    start=(0.5, 0.5),
    formula="f(x, y) = x^2",
    description="A valley with an exactly flat floor: the Hessian is singular everywhere.",
)


def test_singular_hessian_is_flagged_diverged_not_raised():
    res = optimizers.race(FLAT, [{"optimizer": "newton"}, {"optimizer": "newton", "damping": 0.1}], steps=10)
    assert res.diverged_at[0] == 1
    # frozen at its last good point
    assert np.all(res.params[0] == np.asarray(FLAT.start))
    # damping makes the same system solvable
    assert res.diverged_at[1] == -1
    assert abs(res.params[1, -1, 0]) < 0.1 * abs(FLAT.start[0])


def test_newton_damping_must_be_non_negative():
    with pytest.raises(ValueError, match="damping"):
        optimizers.race("quadratic", [{"optimizer": "newton", "damping": -1.0}], steps=2)
    with pytest.raises(ValueError, match="alpha"):
        optimizers.race("quadratic", [{"optimizer": "ftrl", "alpha": 0.0}], steps=2)
