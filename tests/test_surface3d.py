"""The 3D figure (optirace/figures/surface3d.py): one surface trace, one path per racer, log heights."""

from __future__ import annotations

import base64

import numpy as np
import pytest

import optimizers
from optirace.figures.surface import surface_values
from optirace.figures.surface3d import (
    MAX_POINTS,
    STRIDE,
    _rendered,
    faded,
    figure3d,
    heights,
    plotly_figure,
    surface3d_figure,
)


def arr(v) -> np.ndarray:
    """A figure dict's array: plotly writes numpy arrays base64-encoded (its typed-array form)."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
        return a.reshape([int(n) for n in str(v["shape"]).split(",")]) if "shape" in v else a
    return np.asarray(v)


def test_paths_end_at_the_step_and_a_log_surface_has_a_log_height_axis():
    res = optimizers.race("rosenbrock", [{"optimizer": "adam", "lr": 0.02}, {"optimizer": "sgd", "lr": 5e-4}],
                          steps=60)  # fmt: skip
    fig = plotly_figure(surface3d_figure(res, ["a <b>", "b"], k=25))
    assert [t["type"] for t in fig["data"]] == ["surface", "scatter3d", "scatter3d"]
    assert fig["data"][1]["name"] == "a &lt;b&gt;"  # plotly reads names as HTML: user text escaped
    Z = surface_values(res.surface)[2][::STRIDE, ::STRIDE]
    zaxis = fig["layout"]["scene"]["zaxis"]
    assert zaxis["type"] == "log"
    # Plotly's log range is in powers of ten (HoloViews 1.23 writes it in data units).
    np.testing.assert_allclose(zaxis["range"], np.log10([Z.min(), Z.max()]))
    for i, t in enumerate(fig["data"][1:]):
        x, y, z = (arr(t[c]) for c in "xyz")
        assert len(x) == 26
        np.testing.assert_allclose([x[-1], y[-1]], res.params[i, 25], atol=1e-12)
        np.testing.assert_allclose(z[-1], heights(res, res.loss[i, 25:26], float(Z.min()))[0])


def test_a_linear_surface_keeps_its_loss_as_height_and_long_paths_are_thinned():
    res = optimizers.race("rastrigin", [{"optimizer": "adam", "lr": 0.01}], steps=5000)
    fig = plotly_figure(surface3d_figure(res, ["a"]))
    assert fig["layout"]["scene"]["zaxis"].get("type", "linear") != "log"
    x, y, z = (arr(fig["data"][1][c]) for c in "xyz")
    assert len(x) == MAX_POINTS
    np.testing.assert_allclose([x[-1], y[-1], z[-1]], [*res.params[0, -1], res.loss[0, -1]])


def test_a_one_variable_surface_is_refused_with_a_message():
    res = optimizers.race("double_well_1d", [{"optimizer": "gd", "lr": 0.01}], steps=5)
    with pytest.raises(ValueError, match="3D view draws 2-D surfaces"):
        surface3d_figure(res, ["a"])


def plain(fig: dict) -> dict:
    """A figure dict with its arrays as numpy arrays and without plotly's per-trace ids."""
    out = {"layout": fig["layout"], "data": []}
    for t in fig["data"]:
        t = {k: v for k, v in t.items() if k != "uid"}
        for c in "xyz":
            t[c] = arr(t[c])
        out["data"].append(t)
    return out


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_apps_figure_is_the_declared_figure_rendered_once_per_surface(theme):
    res = optimizers.race("rosenbrock", [{"optimizer": "adam", "lr": 0.02}, {"optimizer": "sgd", "lr": 5e-4}],
                          steps=60)  # fmt: skip
    old = optimizers.race("rosenbrock", [{"optimizer": "adam", "lr": 0.05}], steps=40)
    args = dict(
        labels=["a <b>", "b"], colors=["#0072B2", "#D55E00"], theme=theme, k=25, ghost=(old, ["#CC79A7"])
    )
    want = plain(plotly_figure(surface3d_figure(res, **args), theme))
    _rendered.cache_clear()
    got = plain(figure3d(res, **args))
    assert got["layout"] == want["layout"]
    assert len(got["data"]) == len(want["data"]) == 4
    for g, w in zip(got["data"], want["data"], strict=True):
        assert {k: v for k, v in g.items() if k not in "xyz"} == {
            k: v for k, v in w.items() if k not in "xyz"
        }
        for c in "xyz":
            np.testing.assert_array_equal(g[c], w[c])
    # A step, another race, a ghost: no new rendering of the surface.
    figure3d(res, ["a", "b"], theme=theme, k=59)
    figure3d(old, ["c"], theme=theme, ghost=(res, ["#0072B2", "#D55E00"]))
    info = _rendered.cache_info()
    assert (info.misses, info.hits) == (1, 2)


def test_the_ghost_is_the_last_race_whole_faint_and_dashed_out_of_the_legend():
    res = optimizers.race("rosenbrock", [{"optimizer": "adam", "lr": 0.02}], steps=50)
    old = optimizers.race("rosenbrock", [{"optimizer": "adam", "lr": 0.05}, {"optimizer": "gd", "lr": 1e-3}],
                          steps=70)  # fmt: skip
    fig = figure3d(res, ["now"], ["#0072B2"], k=10, ghost=(old, ["#0072B2", "#D55E00"]))
    racer, *ghosts = fig["data"][1:]
    assert len(arr(racer["x"])) == 11  # the race shown ends at the player's step
    floor = float(surface_values(res.surface)[2][::STRIDE, ::STRIDE].min())
    for i, (t, c) in enumerate(zip(ghosts, ["#0072B2", "#D55E00"], strict=True)):
        np.testing.assert_array_equal(arr(t["x"]), old.params[i, :, 0])  # whole: the ghost is not played
        np.testing.assert_array_equal(arr(t["y"]), old.params[i, :, 1])
        np.testing.assert_allclose(arr(t["z"]), heights(old, old.loss[i], floor))
        assert t["line"]["dash"] == "dash" and t["showlegend"] is False
        assert t["line"]["color"] == faded(c, "#ffffff") != c
        assert t["line"]["width"] < racer["line"]["width"]
    # 35 % of the colour over the background (the 2-D panels' ghost alpha)
    assert faded("#0072B2", "#ffffff") == "#a6cee4" and faded("#ffffff", "#000000", 0.5) == "#808080"
    assert len(figure3d(res, ["now"])["data"]) == 2  # no ghost: the surface and the racer
