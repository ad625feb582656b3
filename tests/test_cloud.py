"""optimizers.cloud (a race run with many seeds at once) and its figure (optirace/figures/cloud.py)."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest
from bokeh.models import GlyphRenderer
from bokeh.plotting import figure as BokehFigure
from matplotlib.colors import to_rgba

import optimizers
from optimizers.cloud import MAX_SEEDS
from optirace.figures.cloud import TAG, cloud_figure, fitted_lines
from optirace.figures.curves import GAP_FLOOR
from optirace.figures.look import PALETTE
from surfaces import SURFACES

RACERS = ["adam:lr=0.01", "sgd:lr=0.001,momentum=0.9", "rmsprop:lr=0.01"]


@pytest.fixture(scope="module")
def noisy():
    return optimizers.cloud("rosenbrock", RACERS, steps=120, noise=0.5, seeds=5, seed=7)


@pytest.fixture(scope="module")
def races():
    return [optimizers.race("rosenbrock", RACERS, steps=120, noise=0.5, seed=7 + s) for s in range(5)]


def test_each_seed_of_the_cloud_is_the_race_of_that_seed(noisy, races):
    assert noisy.params.shape == (3, 5, 121, 2)
    assert noisy.loss.shape == (3, 5, 121)
    assert list(noisy.seeds) == [7, 8, 9, 10, 11]
    for s, res in enumerate(races):
        # The same program, vmapped: equal up to the order XLA sums in (a few ulps).
        np.testing.assert_allclose(noisy.params[:, s], res.params, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(noisy.loss[:, s], res.loss, rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(noisy.diverged_at[:, s], res.diverged_at)
    # The seeds differ: a cloud, not five copies of one path.
    assert np.ptp(noisy.params[:, :, -1], axis=1).min() > 1e-4


def test_mean_path_and_median_loss_are_those_of_the_single_races(noisy, races):
    P = np.stack([r.params for r in races], axis=1)
    L = np.stack([r.loss for r in races], axis=1)
    np.testing.assert_allclose(noisy.mean_path(), P.mean(axis=1), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(noisy.spread(), P.std(axis=1), rtol=1e-9, atol=1e-13)
    q = noisy.loss_quantiles()
    np.testing.assert_allclose(q[1], np.median(L, axis=1), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(q[0], np.quantile(L, 0.25, axis=1), rtol=1e-12, atol=1e-14)


def test_mini_batch_cloud_on_least_squares_matches_single_races():
    c = optimizers.cloud("least_squares", ["sgd:lr=0.1"], steps=80, seeds=3, batch_size=8)
    for s in range(3):
        res = optimizers.race("least_squares", ["sgd:lr=0.1"], steps=80, seed=s, batch_size=8)
        np.testing.assert_allclose(c.params[:, s], res.params, rtol=1e-12, atol=1e-14)
    assert not np.allclose(c.params[0, 0], c.params[0, 1])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seeds": 0}, "seeds = 0 is not allowed"),
        ({"seeds": MAX_SEEDS + 1}, "seeds = 65 is not allowed; use an integer from 1 to 64"),
        ({"seeds": 2.0}, "seeds = 2.0 is not allowed"),
        ({"seeds": True}, "seeds = True is not allowed"),
        ({"seeds": "8"}, "is not allowed"),
        ({"noise": 0.0}, "a cloud needs randomness"),
        ({"noise": -1.0}, "noise = -1.0 is not allowed"),
        ({"seed": 2**32 - 2, "seeds": 4}, "passes 2**32 - 1"),
        ({"steps": 100_000, "seeds": 64}, "MAX_RACE_STEPS"),
        ({"racers": []}, "at least one racer"),
        ({"racers": "adam"}, "give a list of racers"),
        ({"batch_size": 4}, "not a data surface"),
    ],
)
def test_bad_input_is_refused_before_any_work(kwargs, message):
    args = {"racers": ["adam:lr=0.01"], "steps": 50, "noise": 0.5, "seeds": 4, **kwargs}
    with pytest.raises(ValueError, match=message.replace("*", r"\*").replace("(", r"\(")):
        optimizers.cloud("rosenbrock", **args)


def _tagged(fig) -> dict:
    out = {}
    for r in fig.select({"type": GlyphRenderer}):
        for t in r.tags:
            if isinstance(t, str) and t.startswith(TAG + ":"):
                out[t[len(TAG) + 1 :]] = r
    return out


def test_figure_layers_hold_every_seed_and_the_median(noisy, races):
    fig = hv.render(cloud_figure(noisy, ["adam", "sgd", "rmsprop"]), backend="bokeh")
    layers = _tagged(fig)
    for i in range(3):
        # The seeds' paths: one line per racer, a NaN row between two seeds.
        xs = np.asarray(layers["seeds"].data_source.data["xs"][i], dtype=float)
        assert len(xs) == 5 * 122 - 1 and np.isnan(xs).sum() == 4
        np.testing.assert_allclose(xs[:121], races[0].params[i, :, 0], rtol=1e-12)
        mean = np.asarray(layers["mean"].data_source.data["ys"][i], dtype=float)
        np.testing.assert_allclose(mean, np.mean([r.params[i, :, 1] for r in races], axis=0), rtol=1e-12)
        median = layers[f"median:{i}"].data_source.data["gap"]
        want = np.maximum(np.median([r.loss[i] for r in races], axis=0) - 0.0, GAP_FLOOR)
        np.testing.assert_allclose(median, want, rtol=1e-12)
    band = layers["band"].data_source.data
    assert len(band["xs"]) == 3 and len(band["fill_color"]) == 3
    assert len(layers["ends"].data_source.data["x"]) == 15
    assert "fit" not in layers  # Rosenbrock fits no line


def test_seeds_and_means_of_all_racers_are_one_renderer_each_in_the_racers_colours(noisy):
    # A HoloViews element costs tens of milliseconds to draw: the figure's layers do not multiply
    # with the racers. Only the loss panel's medians are one per racer (its legend hides each alone).
    one = optimizers.cloud("rosenbrock", RACERS[:1], steps=120, noise=0.5, seeds=5, seed=7)
    figs = [hv.render(cloud_figure(c, RACERS[: c.params.shape[0]]), backend="bokeh") for c in (one, noisy)]
    counts = [len(list(f.select({"type": GlyphRenderer}))) for f in figs]
    assert counts[1] - counts[0] == 2
    layers = _tagged(figs[1])
    for role in ("seeds", "mean"):
        data = layers[role].data_source.data
        assert len(data["xs"]) == 3
        assert [to_rgba(c) for c in data["color"]] == [to_rgba(c) for c in PALETTE[:3]]


def test_least_squares_fit_panel_shows_the_races_final_line_and_axes_w_b():
    racers = ["sgd:lr=0.1", "adam:lr=0.05"]
    c = optimizers.cloud("least_squares", racers, steps=60, seeds=1, batch_size=16, seed=3)
    res = optimizers.race("least_squares", racers, steps=60, seed=3, batch_size=16)
    fig = hv.render(cloud_figure(c, ["sgd", "adam"]), backend="bokeh")
    layers = _tagged(fig)
    data = SURFACES["least_squares"].data
    x0, x1 = data.X[:, 0].min(), data.X[:, 0].max()
    fit = layers["fit"].data_source.data
    for i in range(2):
        w, b = res.params[i, -1]
        assert fit["x0"][i] == pytest.approx(x0) and fit["x1"][i] == pytest.approx(x1)
        assert fit["y0"][i] == pytest.approx(w * x0 + b, rel=1e-12)
        assert fit["y1"][i] == pytest.approx(w * x1 + b, rel=1e-12)
    np.testing.assert_array_equal(layers["data:0"].data_source.data["y"], data.y)
    xs, ys = fitted_lines(c.surface, res.params[:, -1])
    np.testing.assert_allclose(ys, np.asarray([fit["y0"], fit["y1"]]).T, rtol=1e-12)
    # The surface panel's axes are the line's parameters.
    surface_plot = layers["mean"]
    owner = next(p for p in fig.select({"type": BokehFigure}) if surface_plot in p.renderers)
    assert owner.xaxis[0].axis_label == "w" and owner.yaxis[0].axis_label == "b"


def test_figure_draws_with_matplotlib_too(noisy):
    c = optimizers.cloud("least_squares", ["sgd:lr=0.1"], steps=40, seeds=4, batch_size=8)
    for cl in (noisy, c):
        mpl = hv.render(cloud_figure(cl, [f"r{i}" for i in range(cl.params.shape[0])]), backend="matplotlib")
        assert len(mpl.axes) == (3 if cl is c else 2)
        # The loss bands wear the racers' colours (HoloViews would map colour names through a colour map).
        (bands,) = [x for ax in mpl.axes for x in ax.collections if type(x).__name__ == "PatchCollection"]
        want = [to_rgba(PALETTE[i], 0.25) for i in range(cl.params.shape[0])]
        np.testing.assert_allclose(bands.get_facecolors(), want, atol=1e-6)
    line_1d = optimizers.cloud("double_well_1d", ["sgd:lr=0.02"], steps=40, seeds=4, noise=1.0)
    layers = _tagged(hv.render(cloud_figure(line_1d, ["sgd"]), backend="bokeh"))
    assert len(layers["xmean:0"].data_source.data["x"]) == 41


def _drawn(panel) -> bool:
    import panel as pn

    return any(isinstance(o, pn.pane.Bokeh) for o in panel.plot.objects)


def _columns(fig) -> dict:
    return {role: dict(r.data_source.data) for role, r in _tagged(fig).items()}


@pytest.mark.parametrize("surface", ["rosenbrock", "least_squares"])
def test_app_moves_a_drawn_cloud_to_the_new_race_as_a_new_figure_would_draw_it(surface):
    from optirace.app.cloud_panel import CloudPanel
    from optirace.app.state import RaceState

    random = {"noise": 0.5} if surface == "rosenbrock" else {"batch_size": 8}
    state = RaceState(surface=surface, steps=60, **random)
    panel = CloudPanel(state)
    assert panel._layout.visible and not _drawn(panel)  # seeds 1: nothing drawn
    panel.seeds.value = 4
    drawn = panel._fig
    assert drawn is not None and "4 seeds" in panel.status.object
    state.update_racer(0, lr=state.racers[0]["lr"] * 2)
    assert panel._fig is drawn  # the same figure, moved
    fresh = hv.render(panel.figure(panel.cloud()), backend="bokeh")
    moved, want = _columns(drawn), _columns(fresh)
    assert sorted(moved) == sorted(want)
    for role, cols in want.items():
        for k, v in cols.items():
            got = moved[role][k]
            if k in ("xs", "ys"):
                for a, b in zip(got, v, strict=True):
                    np.testing.assert_allclose(
                        np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-12
                    )
            elif np.asarray(v).dtype.kind == "f":
                np.testing.assert_allclose(
                    np.asarray(got, dtype=float), np.asarray(v, dtype=float), rtol=1e-12
                )
            else:
                assert list(got) == list(v)
    loss = lambda f: next(p for p in f.select({"type": BokehFigure}) if _tagged(f)["median:0"] in p.renderers)  # noqa: E731
    assert (loss(drawn).y_range.start, loss(drawn).y_range.end) == pytest.approx(
        (loss(fresh).y_range.start, loss(fresh).y_range.end), rel=1e-12
    )
    panel.seeds.value = 5  # another shape of cloud: a new figure
    assert panel._fig is not drawn


def test_app_hides_the_seeds_while_the_race_is_not_random_and_bounds_the_points():
    from optirace.app.cloud_panel import MAX_POINTS, CloudPanel
    from optirace.app.state import RaceState

    state = RaceState(surface="rosenbrock", steps=60)
    panel = CloudPanel(state)
    assert not panel._layout.visible
    state.noise = 0.5
    assert panel._layout.visible
    state.steps = 5000
    panel.seeds.value = 64
    assert 64 * len(state.racers) * 5001 > MAX_POINTS
    assert "more than the page draws" in panel.status.object and not _drawn(panel)
    # A value past the box's bounds (sent by a hand-made client) is refused with the engine's message.
    state.steps = 60
    panel.seeds.value = 1000
    assert "seeds = 1000 is not allowed" in panel.status.object and not _drawn(panel)


def test_a_formula_leaving_the_cache_takes_its_cloud_program_with_it():
    import surfaces
    from optimizers.cloud import _PROGRAMS

    s = surfaces.from_formula("x^2 + 3*y^2 + 0.123")
    optimizers.cloud(s, ["sgd:lr=0.01"], steps=10, noise=0.1, seeds=2)
    assert any(k[0] is s for k in _PROGRAMS)
    for hook in surfaces.formula_surface._HOOKS:
        hook(s)
    assert not any(k[0] is s for k in _PROGRAMS)
