"""Theory in the figures: eigen-directions on the surface, predicted loss on the loss panel, optimal settings."""

from __future__ import annotations

import numpy as np
import pytest

import optimizers
import surfaces
from optirace.figures import look, race_figure
from optirace.figures.player import race_columns
from optirace.figures.theory import eigen_layers, linear_form, optimal_spec, predicted_gap, predicted_rates
from optirace.scene import Scene


def race(racers, kappa=20.0, steps=120, noise=0.0, surface="quadratic"):
    params = {"kappa": kappa} if surface == "quadratic" else None
    return optimizers.race(surface, racers, steps=steps, noise=noise, surface_params=params)


@pytest.mark.parametrize(
    ("spec", "form"),
    [
        ({"optimizer": "gd", "lr": 0.1}, (0.1, 0.0, False)),
        ({"optimizer": "sgd", "lr": 0.1}, (0.1, 0.0, False)),
        ({"optimizer": "sgd", "lr": 0.1, "momentum": 0.9}, (0.1, 0.9, False)),
        ({"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True}, (0.1, 0.9, True)),
        ({"optimizer": "momentum", "lr": 0.1, "beta": 0.9}, (0.1 * (1 - 0.9), 0.9, False)),
        ({"optimizer": "nag", "lr": 0.1, "momentum": 0.5}, (0.1, 0.5, True)),
        ({"optimizer": "sgd", "lr": 0.1, "weight_decay": 0.1}, None),
        ({"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "dampening": 0.1}, None),
        ({"optimizer": "gd", "lr": 0.1, "schedule": {"name": "step", "step_size": 10}}, None),
        ({"optimizer": "gd", "lr": 0.1, "clip_norm": 1.0}, None),
        ({"optimizer": "adam", "lr": 0.1}, None),
        ({"optimizer": "lookahead", "inner": {"optimizer": "gd", "lr": 0.1}}, None),
    ],
)
def test_linear_forms(spec, form):
    got = linear_form(optimizers.Racer.from_spec(spec))
    if form is None:
        assert got is None
    else:
        assert got == (pytest.approx(form[0]), form[1], form[2])


def test_predictions_follow_every_linear_rule():
    # Off the optimum too: gradient descent, both heavy-ball forms and Nesterov, each at some setting.
    racers = [
        {"optimizer": "gd", "lr": 0.05},
        {"optimizer": "sgd", "lr": 0.03, "momentum": 0.7},
        {"optimizer": "momentum", "lr": 0.1, "beta": 0.7},
        {"optimizer": "nag", "lr": 0.02, "momentum": 0.8},
        {"optimizer": "adam", "lr": 0.1},
    ]
    res = race(racers, steps=400)
    rho = predicted_rates(res, kappa=20.0)
    assert np.isnan(rho[4]) and np.all(np.isfinite(rho[:4]))
    steps = np.arange(res.steps + 1)
    for i in range(4):
        use = (steps >= 100) & (res.loss[i] > 1e-250)
        slope = np.polyfit(steps[use], np.log(res.loss[i, use]), 1)[0]
        assert np.exp(slope / 2) == pytest.approx(rho[i], rel=0.01), i
    # The two heavy-ball forms with the same step α and momentum are one trajectory.
    assert np.allclose(res.params[1], res.params[2])


def test_predicted_gap_is_loss0_rate_to_the_2t():
    t = surfaces.theory("quadratic", kappa=20)
    res = race([{"optimizer": "gd", "lr": t["lr_gd"]}, {"optimizer": "adam", "lr": 0.1}], steps=60)
    pred = predicted_gap(res, kappa=20.0)
    assert np.allclose(pred[0], res.loss[0, 0] * t["rate_gd"] ** (2 * np.arange(61)))
    assert np.allclose(pred[0], res.loss[0], rtol=1e-9)  # exact at gradient descent's best step
    assert np.all(np.isnan(pred[1]))
    # No prediction for a noisy race, or off the quadratic; the kappa given is the race's.
    assert np.all(np.isnan(predicted_gap(res, kappa=20.0, noise=0.5)))
    other = race([{"optimizer": "gd", "lr": 1e-3}], surface="rosenbrock", steps=10)
    assert np.all(np.isnan(predicted_gap(other)))
    assert not np.allclose(predicted_gap(res, kappa=50.0)[0], pred[0])


def test_a_diverging_racer_is_predicted_to_grow_and_clipped_for_a_log_axis():
    res = race([{"optimizer": "gd", "lr": 0.12}], steps=300)
    pred = predicted_gap(res, kappa=20.0)
    assert pred[0, 1] > pred[0, 0] and np.all(np.isfinite(pred)) and pred.max() <= 1e300


def test_the_figure_draws_eigen_directions_and_predictions():
    t = surfaces.theory("quadratic", kappa=20)
    res = race([{"optimizer": "gd", "lr": t["lr_gd"]}, {"optimizer": "adam", "lr": 0.1}])
    fig = race_figure(res, ["gd", "adam"], kappa=20.0)
    contour = next(o for o in fig if o.group == "Contour")
    eigen = [e for e in contour if e.group == "Eigen"]
    labels = [e for e in contour if e.group == "EigenLabel"]
    assert len(eigen) == 2
    assert sorted(str(lb.dframe()["text"][0]) for lb in labels) == ["λ = L = 20", "λ = μ = 1"]
    segs = sorted(tuple(np.round(e.dframe().iloc[0].to_numpy(float), 9)) for e in eigen)
    assert segs == [(-10.0, 0.0, 10.0, 0.0), (0.0, -4.0, 0.0, 4.0)]  # through the minimum, across the frame
    loss = next(o for o in fig if o.group == "Loss")
    predicted = [e for e in loss if e.group == "Predicted"]
    assert len(predicted) == 1  # adam has no prediction
    assert np.allclose(predicted[0].dimension_values(1), res.loss[0])
    # Other surfaces draw neither.
    other = race([{"optimizer": "gd", "lr": 1e-3}], surface="rosenbrock", steps=10)
    fig = race_figure(other, ["gd"])
    assert not [e for o in fig for e in o if e.group in ("Eigen", "EigenLabel", "Predicted")]
    assert eigen_layers(other.surface, None, look("light")) == []


def test_the_player_receives_the_predictions():
    t = surfaces.theory("quadratic", kappa=30)
    res = race([{"optimizer": "gd", "lr": t["lr_gd"]}, {"optimizer": "adam", "lr": 0.1}], kappa=30)
    rows = np.arange(res.steps + 1)
    cols = race_columns(res, rows, kappa=30.0)
    assert np.allclose(cols["pred0"], res.loss[0, 0] * t["rate_gd"] ** (2 * rows))
    assert "pred1" not in cols
    assert "pred0" not in race_columns(res, rows, kappa=30.0, noise=1.0)


def test_optimal_spec():
    t = surfaces.theory("quadratic", kappa=20)
    new, said = optimal_spec({"optimizer": "gd", "lr": 0.01, "label": "mine"}, t)
    assert new == {"optimizer": "gd", "lr": t["lr_gd"], "label": "mine"} and "2/(μ+L)" in said
    new, _ = optimal_spec({"optimizer": "sgd", "lr": 0.01, "weight_decay": 0.1}, t)
    assert new == {"optimizer": "sgd", "lr": t["lr_gd"]}
    new, said = optimal_spec({"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "nesterov": True}, t)
    assert new == {"optimizer": "sgd", "lr": t["lr_heavy_ball"], "momentum": t["momentum_heavy_ball"]}
    assert "heavy ball" in said
    new, _ = optimal_spec({"optimizer": "momentum", "lr": 0.01, "beta": 0.5}, t)
    assert new["lr"] * (1 - new["beta"]) == pytest.approx(t["lr_heavy_ball"])
    assert optimal_spec({"optimizer": "adam", "lr": 0.1}, t) is None
    # The optimal racers race at the theory's rates, and every one is a valid racer for a scene.
    specs = [optimal_spec(s, t)[0] for s in ({"optimizer": "gd"}, {"optimizer": "momentum"})]
    Scene(surface="quadratic", racers=specs)
    res = race(specs, steps=200)
    assert predicted_rates(res, kappa=20.0) == pytest.approx([t["rate_gd"], t["rate_heavy_ball"]])
