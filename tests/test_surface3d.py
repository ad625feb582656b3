"""The 3D figure (optirace/figures/surface3d.py): one surface trace, one path per racer, log heights."""

from __future__ import annotations

import base64

import numpy as np
import pytest

import optimizers
from optirace.figures.surface import surface_values
from optirace.figures.surface3d import MAX_POINTS, STRIDE, heights, plotly_figure, surface3d_figure


def arr(v) -> np.ndarray:
    """A figure dict's array: plotly writes numpy arrays base64-encoded (its typed-array form)."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
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
