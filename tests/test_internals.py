"""The internals at the player's step (optirace/figures/internals.py): the arrows the page is sent,
the tracks, and the table's numbers, each against an independent computation."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest

import optimizers
import surfaces
from optirace.figures.internals import SHARE, arrow_columns, arrow_scales, internals, internals_html
from optirace.figures.player import race_columns

ROSEN = surfaces.SURFACES["rosenbrock"]
RACERS = [
    {"optimizer": "adam", "lr": 0.02},
    {"optimizer": "sgd", "lr": 1e-3, "momentum": 0.9},
    {"optimizer": "lookahead", "inner": {"optimizer": "adam", "lr": 0.01}, "k": 5, "alpha": 0.5},
    {"optimizer": "gd", "lr": 1e-3},
]
STEPS = 30


@pytest.fixture(scope="module")
def res():
    return optimizers.race("rosenbrock", RACERS, steps=STEPS)


def _grad(theta):
    # The surface's gradient by jax.grad directly, not through the grid helpers the figure uses.
    return np.asarray(jax.grad(ROSEN.f)(jax.numpy.asarray(theta, dtype=jax.numpy.float64)))


def test_arrow_columns_are_the_gradient_the_update_and_the_first_moment(res):
    rows = np.arange(STEPS + 1)
    cols = race_columns(res, rows)
    sc = arrow_scales(res)
    moment = {0: "exp_avg", 1: "momentum_buffer", 2: "inner.exp_avg"}
    for i in range(len(RACERS)):
        P = res.params[i]
        for k in (0, 1, 2, 7, STEPS - 1):
            g = _grad(P[k])
            np.testing.assert_allclose([cols[f"gdx{i}"][k], cols[f"gdy{i}"][k]], -sc["g"] * g, rtol=1e-12)
            np.testing.assert_allclose(
                [cols[f"udx{i}"][k], cols[f"udy{i}"][k]], sc["u"] * (P[k + 1] - P[k]), rtol=1e-12, atol=1e-15
            )
            if i in moment:
                m = res.state[i][moment[i]][k + 1]
                np.testing.assert_allclose([cols[f"mdx{i}"][k], cols[f"mdy{i}"][k]], -sc["m"] * m, rtol=1e-12)
        # The last step has no next step: only the gradient is drawn there.
        assert np.isfinite(cols[f"gdx{i}"][STEPS])
        assert np.isnan(cols[f"udx{i}"][STEPS])
    assert "mdx3" not in cols, "plain gradient descent keeps no first moment"
    # Momentum SGD's buffer sums gradients: with no dampening b_1 = g_1, so its first arrow is the gradient's.
    np.testing.assert_allclose(cols["mdx1"][0], cols["gdx1"][0], rtol=1e-12)


def test_each_kind_has_one_round_scale_whose_longest_arrow_is_about_the_share(res):
    cols, sc = arrow_columns(res, np.arange(STEPS + 1))
    side = min(hi - lo for lo, hi in ROSEN.domain)
    assert sc["g"] == sc["m"]
    for kinds, s in ((("g", "m"), sc["g"]), (("u",), sc["u"])):
        mantissa = s / 10 ** math.floor(math.log10(s))
        assert any(math.isclose(mantissa, f) for f in (1, 2, 5)), s
        longest = max(
            np.nanmax(np.hypot(cols[f"{k}dx{i}"], cols[f"{k}dy{i}"]))
            for k in kinds
            for i in range(len(RACERS))
            if f"{k}dx{i}" in cols
        )
        # Rounded down to 1, 2 or 5 times a power of ten: between 2/5 of the share and the share.
        assert SHARE * side * 0.4 <= longest <= SHARE * side * (1 + 1e-9)


def test_tracks_are_the_slow_weights_that_jump_every_k_steps(res):
    cols = race_columns(res, np.arange(STEPS + 1))
    slow = np.stack([cols["sx2"], cols["sy2"]], axis=-1)
    np.testing.assert_array_equal(slow, res.state[2]["slow"])
    moved = np.flatnonzero(np.any(np.diff(slow, axis=0) != 0, axis=1)) + 1
    assert list(moved) == [5, 10, 15, 20, 25, 30]
    # Synchronised, the fast weights (the plotted point) restart at the slow ones.
    np.testing.assert_array_equal(res.params[2, 10], slow[10])
    assert not any(f"sx{i}" in cols for i in (0, 1, 3))


def test_asgd_average_is_a_track():
    res = optimizers.race("rosenbrock", [{"optimizer": "asgd", "lr": 1e-3, "t0": 3}], steps=12)
    cols = race_columns(res, np.arange(13))
    np.testing.assert_array_equal(np.stack([cols["sx0"], cols["sy0"]], -1), res.state[0]["ax"])
    assert not np.array_equal(res.state[0]["ax"][12], res.params[0, 12]), "averaging started after t0"


def test_no_arrows_on_a_one_variable_surface():
    key = next(k for k, s in surfaces.SURFACES.items() if s.dim == 1)
    res = optimizers.race(key, [{"optimizer": "adam", "lr": 0.01}], steps=5)
    cols = race_columns(res, np.arange(6))
    assert not any(c.startswith(("gdx", "udx", "mdx", "sx")) for c in cols)


def _numpy_adam(theta, steps, lr, b1=0.9, b2=0.999, eps=1e-8):
    """Adam as Kingma & Ba write it, by hand: per step t the gradient, m, v, the bias corrections."""
    x, y = theta
    m, v = np.zeros(2), np.zeros(2)
    out = []
    p = np.array([x, y], dtype=np.float64)
    for t in range(1, steps + 1):
        x, y = p
        g = np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        c1, c2 = 1 - b1**t, 1 - b2**t
        step = -lr * (m / c1) / (np.sqrt(v / c2) + eps)
        out.append(
            {"g": g, "m": m.copy(), "v": v.copy(), "c1": c1, "c2": c2, "step": step, "theta": p.copy()}
        )
        p = p + step
    return out


def test_the_table_is_adams_m_v_and_bias_corrections(res):
    ref = _numpy_adam(ROSEN.start, 6, lr=0.02)
    for k in range(6):
        info = internals(res, 0, k)
        r, rows = ref[k], dict(internals(res, 0, k)["rows"])
        assert info["t"] == k + 1
        np.testing.assert_allclose(rows["θ_k"], r["theta"], rtol=1e-12)
        np.testing.assert_allclose(rows["∇f(θ_k)"], r["g"], rtol=1e-12)
        np.testing.assert_allclose(rows["m_t"], r["m"], rtol=1e-12)
        np.testing.assert_allclose(rows["v_t"], r["v"], rtol=1e-12)
        assert math.isclose(rows["1 − β1^t"], r["c1"], rel_tol=1e-12)
        assert math.isclose(rows["1 − β2^t"], r["c2"], rel_tol=1e-12)
        np.testing.assert_allclose(rows["m̂_t = m_t/(1 − β1^t)"], r["m"] / r["c1"], rtol=1e-12)
        np.testing.assert_allclose(rows["v̂_t = v_t/(1 − β2^t)"], r["v"] / r["c2"], rtol=1e-12)
        np.testing.assert_allclose(rows["−lr·m̂_t/(√v̂_t + ε)"], r["step"], rtol=1e-10)
        np.testing.assert_allclose(rows["Δθ applied"], r["step"], rtol=1e-10)
        np.testing.assert_allclose(rows["SGD's step −lr_t·∇f"], -0.02 * r["g"], rtol=1e-12)
    html = internals_html(res, [f"r{i}" for i in range(4)], ["#000"] * 4, 3)
    assert f"<td>{ref[3]['m'][0]:.6g}</td>" in html and "step 3 → 4" in html


def test_the_table_says_when_radams_rectification_turns_on():
    res = optimizers.race("rosenbrock", [{"optimizer": "radam", "lr": 0.01}], steps=12)
    b2 = 0.999
    rho_inf = 2 / (1 - b2) - 1
    states = []
    for k in range(10):
        t = k + 1
        rows = dict(internals(res, 0, k)["rows"])
        rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
        assert math.isclose(rows["ρ_t"], rho, rel_tol=1e-9)
        states.append(rows["rectification"].startswith("on"))
        assert states[-1] == (rho > 5)
    assert states[0] is False and states[-1] is True  # torch's threshold is crossed within ten steps


def test_the_table_shows_rprops_step_sizes_and_lions_sign():
    res = optimizers.race("rosenbrock", [{"optimizer": "rprop", "lr": 0.01}, {"optimizer": "lion", "lr": 0.01}],
                          steps=8)  # fmt: skip
    rows = dict(internals(res, 0, 3)["rows"])
    np.testing.assert_array_equal(rows["step sizes s_t"], res.state[0]["step_size"][4])
    rows = dict(internals(res, 1, 3)["rows"])
    m_prev = res.state[1]["exp_avg"][3]
    g = _grad(res.params[1, 3])
    np.testing.assert_array_equal(rows["sign(β1 m_{t−1} + (1 − β1) g_t)"], np.sign(0.9 * m_prev + 0.1 * g))


def test_the_table_at_the_end_and_after_a_divergence():
    res = optimizers.race(
        "rosenbrock", [{"optimizer": "gd", "lr": 10.0}, {"optimizer": "gd", "lr": 1e-4}], steps=5
    )
    d = int(res.diverged_at[0])
    assert d > 0
    assert internals(res, 0, d)["note"] == f"diverged at step {d}"
    assert internals(res, 1, 5)["note"] == "the race ends here"
    assert internals(res, 1, 99)["t"] is None  # a step past the end is the end
    html = internals_html(res, ["<b>x</b>", "y"], ["#000", "#111"], 5)
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


# ----- stills ------------------------------------------------------------------------------------------
def test_a_still_draws_the_arrows_of_its_step_from_the_racers_points(tmp_path):
    from optirace.export import Options
    from optirace.export.arrows import draw_arrows
    from optirace.export.frames import Picture
    from optirace.export.scene import state_from_scene

    state = state_from_scene(
        {"surface": "rosenbrock", "racers": ["adam:lr=0.05", "gd:lr=0.001"], "steps": 20}
    )
    pic = Picture(state, Options(size=(640, 360)), animated=False)
    k = 6
    assert draw_arrows(pic, k, ("g", "u", "m"), state.kappa) == 5  # gd keeps no first moment
    res = state.result
    sc = arrow_scales(res)
    arrows = [a for a in pic.axes["contour"].texts if getattr(a, "arrow_patch", None) is not None]
    ends = {
        (round(a.xyann[0], 12), round(a.xyann[1], 12), round(a.xy[0], 12), round(a.xy[1], 12)) for a in arrows
    }
    for i in range(2):
        x, y = res.params[i, k]
        gx, gy = -sc["g"] * _grad(res.params[i, k])
        assert (round(x, 12), round(y, 12), round(x + gx, 12), round(y + gy, 12)) in ends
    said = [t.get_text() for t in pic.axes["contour"].texts if t.get_text()]
    assert said == [
        f"arrows at step {k}: −∇f ×{sc['g']:g}, update Δθ ×{sc['u']:g}, −m (first moment) ×{sc['m']:g}"
    ]
    pic.save(tmp_path / "still.svg", "svg", k)
    assert (tmp_path / "still.svg").stat().st_size > 0


def test_the_arrows_option_is_checked():
    from optirace.export.options import ARROW_KINDS, parse_arrows
    from optirace.figures.internals import KINDS

    assert ARROW_KINDS == KINDS
    assert parse_arrows("g, U") == ("g", "u") and parse_arrows(None) == ()
    for bad in ("", "g,g", "x", "g;u", "<b>" * 50):
        with pytest.raises(ValueError, match="arrows"):
            parse_arrows(bad)


def test_the_export_command_refuses_arrows_on_an_animation(tmp_path):
    import argparse

    from optirace.export.command import add_arguments, run

    p = argparse.ArgumentParser()
    add_arguments(p)
    args = p.parse_args(["--surface", "rosenbrock", "--racer", "adam", "--steps", "5", "--arrows", "g",
                         "--out", str(tmp_path / "a.gif")])  # fmt: skip
    with pytest.raises(ValueError, match="--arrows is for stills"):
        run(args)
    assert not (tmp_path / "a.gif").exists()
