"""The engine benchmark's optax peer does the same work as `race()`, so its ratio compares like with like."""

import jax
import numpy as np
import pytest

import optimizers
from optirace import bench

pytest.importorskip("optax")

# optax's adagrad puts eps inside the root and its nadam has no momentum-decay schedule; the others
# follow torch's conventions, so their points must agree with race()'s.
SAME_RULES = ("sgd", "sgd+momentum", "nesterov", "rmsprop", "adam", "adamw")


@pytest.fixture(scope="module")
def peer_and_ours():
    chosen = bench._available()
    entries = [e for e, _ in chosen]
    steps = 120
    res = optimizers.race(bench.SURFACE, [s for _, s in chosen], steps=steps)
    x0 = np.asarray(res.params[0, 0])
    out = {
        kind: jax.device_get(bench._optax_program(entries, steps, True, kind)(x0))
        for kind in ("race", "packed")
    }
    return entries, res, out


def test_the_race_peer_returns_what_race_returns(peer_and_ours):
    entries, res, out = peer_and_ours
    points, loss, lr, moments = out["race"]
    R, steps = res.params.shape[0], res.steps
    assert points.shape == (steps, R, 2) and loss.shape == (steps, R) and lr.shape == (steps, R)
    np.testing.assert_array_equal(lr, res.lr.T)
    for i, entry in enumerate(entries):
        if entry.label in SAME_RULES:
            np.testing.assert_allclose(points[:, i], res.params[i, 1:], rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(loss[:, i], res.loss[i, 1:], rtol=1e-9, atol=1e-12)
    # Adam's moments are recorded, as race() records exp_avg and exp_avg_sq.
    adam = [e.label for e in entries].index("adam")
    m, v = moments[adam]
    np.testing.assert_allclose(m, res.state[adam]["exp_avg"][1:], rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(v, res.state[adam]["exp_avg_sq"][1:], rtol=1e-9, atol=1e-15)


def test_the_packed_peer_holds_the_same_numbers(peer_and_ours):
    _, _, out = peer_and_ours
    points, loss, lr, moments = out["race"]
    flat = [points.reshape(len(points), -1), loss, lr]
    flat += [x.reshape(len(x), -1) for st in moments for x in st]
    np.testing.assert_array_equal(out["packed"], np.concatenate(flat, axis=1))


def test_the_race_peer_freezes_a_diverging_racer():
    """As race() does: a racer whose point leaves the bounds stays at its last good point."""
    entry = next(e for e in bench.ENTRIES if e.label == "sgd")
    wild = bench.Entry("sgd", entry.ours, entry.torch, ("sgd", {"learning_rate": 1.0}))
    points, loss, _, _ = jax.device_get(
        bench._optax_program([wild], 30, True, "race")(np.asarray([-1.5, 2.0]))
    )
    assert np.isfinite(points).all() and np.isfinite(loss).all()
    assert (points[-1] == points[-2]).all()  # frozen
    ours = optimizers.race(bench.SURFACE, [{"optimizer": "sgd", "lr": 1.0}], steps=30)
    assert ours.diverged_at[0] > 0
    np.testing.assert_array_equal(points[-1, 0], ours.params[0, -1])
