"""surfaces.theory: the closed forms on the quadratic, and races that follow them."""

from __future__ import annotations

import math

import numpy as np
import pytest

import optimizers
import surfaces
from surfaces.theory import eigen_directions, has_theory, linear_rate


@pytest.mark.parametrize("kappa", [1.0, 4.0, 20.0, 100.0, 1e4])
def test_closed_forms(kappa):
    t = surfaces.theory("quadratic", kappa=kappa)
    mu, L = 1.0, kappa
    assert t["mu"] == mu and t["L"] == L and t["kappa"] == kappa
    assert t["lr_limit"] == pytest.approx(2 / L)
    assert t["lr_gd"] == pytest.approx(2 / (mu + L))
    assert t["rate_gd"] == pytest.approx((kappa - 1) / (kappa + 1))
    assert t["lr_heavy_ball"] == pytest.approx(4 / (math.sqrt(L) + math.sqrt(mu)) ** 2)
    q = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    assert t["momentum_heavy_ball"] == pytest.approx(q**2)
    assert t["rate_heavy_ball"] == pytest.approx(q)


def test_known_values_at_the_default_kappa():
    # kappa = 20 (the quadratic's default): numbers a student can check by hand.
    t = surfaces.theory("quadratic")
    assert t["lr_limit"] == pytest.approx(0.1)
    assert t["lr_gd"] == pytest.approx(2 / 21)
    assert t["rate_gd"] == pytest.approx(19 / 21)
    assert t["rate_heavy_ball"] == pytest.approx((math.sqrt(20) - 1) / (math.sqrt(20) + 1))
    assert surfaces.theory(surfaces.SURFACES["quadratic"], kappa=20) == t


def test_kappa_below_one_swaps_the_curvatures():
    t = surfaces.theory("quadratic", kappa=0.25)
    assert (t["mu"], t["L"], t["kappa"]) == (0.25, 1.0, 4.0)
    flat, steep = eigen_directions("quadratic", kappa=0.25)
    assert flat[0] == (0.0, 1.0) and flat[1] == 0.25 and steep[0] == (1.0, 0.0)


def test_eigen_directions_are_the_axes():
    flat, steep = eigen_directions("quadratic", kappa=50)
    assert flat == ((1.0, 0.0), 1.0, "μ") and steep == ((0.0, 1.0), 50.0, "L")
    H = np.diag([1.0, 50.0])  # the quadratic's Hessian
    for d, lam, _ in (flat, steep):
        assert np.allclose(H @ np.asarray(d), lam * np.asarray(d))


@pytest.mark.parametrize("name", ["rosenbrock", "beale", "parabola", "two_basins"])
def test_surfaces_without_a_theory_say_so(name):
    assert not has_theory(name)
    with pytest.raises(ValueError, match=f"theory: {name} has no closed-form theory"):
        surfaces.theory(name)


@pytest.mark.parametrize(
    ("surface", "params", "match"),
    [
        ("quadratic", {"kappa": -1.0}, "not strongly convex"),
        ("quadratic", {"kappa": 0.0}, "not strongly convex"),
        ("quadratic", {"kappa": float("nan")}, "must be finite"),
        ("quadratic", {"sigma": 1.0}, "has no parameter 'sigma'"),
        ("quadratic", {"kappa": "lots"}, "is not a number"),
        ("no_such_surface", {}, "unknown surface"),
    ],
)
def test_bad_input_is_refused(surface, params, match):
    with pytest.raises(ValueError, match=match):
        surfaces.theory(surface, **params)


def test_linear_rate_matches_the_closed_forms():
    for kappa in (2.0, 20.0, 300.0):
        t = surfaces.theory("quadratic", kappa=kappa)
        lams = (t["mu"], t["L"])
        assert linear_rate(t["lr_gd"], 0.0, lams) == pytest.approx(t["rate_gd"])
        assert linear_rate(t["lr_heavy_ball"], t["momentum_heavy_ball"], lams) == pytest.approx(
            t["rate_heavy_ball"], rel=1e-6
        )
        # Beyond 2/L gradient descent diverges; the heavy ball's optimum beats any GD step.
        assert linear_rate(1.01 * t["lr_limit"], 0.0, lams) > 1
        assert t["rate_heavy_ball"] < t["rate_gd"]


def _fitted_rate(loss: np.ndarray, first: int = 10) -> float:
    """The per-step error rate a race shows: exp(slope / 2) of log loss over steps (the loss of a
    quadratic is quadratic in the error, so it shrinks by rate² per step)."""
    steps = np.arange(loss.size)
    use = (steps >= first) & (loss > 1e-250)
    slope = np.polyfit(steps[use], np.log(loss[use]), 1)[0]
    return float(np.exp(slope / 2))


@pytest.mark.parametrize("kappa", [20.0, 100.0])
def test_races_converge_at_the_predicted_rates(kappa):
    t = surfaces.theory("quadratic", kappa=kappa)
    res = optimizers.race(
        "quadratic",
        [
            {"optimizer": "gd", "lr": t["lr_gd"]},
            {"optimizer": "sgd", "lr": t["lr_heavy_ball"], "momentum": t["momentum_heavy_ball"]},
        ],
        steps=300,
        surface_params={"kappa": kappa},
    )
    gd, hb = res.loss
    assert _fitted_rate(gd) == pytest.approx(t["rate_gd"], rel=1e-6)
    # At the optimum the heavy ball's two eigenvalues coincide (a Jordan block): the error decays as
    # t·rate^t, so a fitted slope sits slightly above the rate; the fit over later steps is closer.
    assert _fitted_rate(hb, first=10) == pytest.approx(t["rate_heavy_ball"], rel=0.03)
    assert _fitted_rate(hb, first=60) == pytest.approx(t["rate_heavy_ball"], rel=0.015)
    assert _fitted_rate(hb) < _fitted_rate(gd)


def test_gd_at_the_best_step_loses_exactly_rate_squared_per_step():
    # At lr = 2/(mu + L) both eigen-directions shrink by exactly rate_gd each step, so
    # loss_t = loss_0 · rate^(2t) holds step by step, not only asymptotically.
    t = surfaces.theory("quadratic")
    res = optimizers.race("quadratic", [{"optimizer": "gd", "lr": t["lr_gd"]}], steps=100)
    predicted = res.loss[0, 0] * t["rate_gd"] ** (2 * np.arange(101))
    assert np.allclose(res.loss[0], predicted, rtol=1e-9)
    # And not as rate^t: that would be off by a factor rate^t (1e-5 by step 100).
    assert not np.allclose(res.loss[0], res.loss[0, 0] * t["rate_gd"] ** np.arange(101), rtol=0.5)
