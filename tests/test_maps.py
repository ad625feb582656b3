"""The lr x β map (optimizers.maps.lr_beta_map): its cells against single races, its axes, what it
refuses; its figure on both backends; its app card and its command (without a browser)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from jax import monitoring

import optimizers
from optimizers.limits import MAX_RUN_STEPS
from optimizers.maps import MAX_MAP_SIDE, beta_name, lr_beta_map, with_lr_beta
from optirace.cli import main

_compiles = [0]


def _count_compile(event: str, duration: float, **kwargs) -> None:
    if event == "/jax/core/compile/backend_compile_duration":
        _compiles[0] += 1


monitoring.register_event_duration_secs_listener(_count_compile)


def _single(surface, spec, steps, start=None, **kw) -> float:
    """The final loss of one plain race of `spec` (+inf if it diverged)."""
    res = optimizers.race(surface, [spec], steps=steps, start=start, **kw)
    return math.inf if res.diverged_at[0] >= 0 else float(res.loss[0, -1])


# The cells below reach every kind of end on Rosenbrock in 150 steps: stalled far away (final loss
# about 6-12), on the way down (1.7), blown up without diverging (6.7e5) and diverged (SGD, Lookahead,
# Ranger).
RACERS = [
    ("sgd:lr=0.001,momentum=0.9", "momentum", False),
    ("adam:lr=0.01", "beta1", False),
    ("rmsprop:lr=0.001,momentum=0.5", "momentum", False),
    ("lookahead:k=5,alpha=0.5,inner=sgd,inner.lr=0.001,inner.momentum=0.5", "momentum", True),
    ("ranger", "beta1", False),
]
CELLS = [(0, 0), (3, 11), (7, 5), (12, 14), (15, 15), (9, 2)]


@pytest.mark.parametrize(("racer", "name", "inner"), RACERS)
def test_each_cell_is_the_final_loss_of_a_single_race_at_its_setting(racer, name, inner):
    m = lr_beta_map("rosenbrock", racer, steps=150, lrs=16, betas=16)
    assert (m.beta_name, m.lr_name, m.inner) == (name, "lr", inner)
    assert m.loss.shape == m.diverged.shape == (16, 16)
    assert np.array_equal(np.isinf(m.loss), m.diverged)
    for i, j in CELLS:
        spec = m.spec(i, j)
        owner = optimizers.Racer.from_spec(spec).lr_owner
        assert (owner.hp["lr"], owner.hp[name]) == (m.lrs[j], m.betas[i])
        final = _single("rosenbrock", spec, 150)
        # Separately compiled programs (vmapped vs one racer) round differently: to rounding, not
        # bit for bit (as optimizers.sweep against race, tests/test_engine.py).
        assert (
            (m.loss[i, j] == final) if math.isinf(final) else m.loss[i, j] == pytest.approx(final, rel=1e-9)
        )


def test_a_map_with_everything_of_the_race_matches_its_races():
    """Start, noise, seed, a schedule and clipping reach every cell as they reach a race."""
    racer = {"optimizer": "sgd", "lr": 0.01, "momentum": 0.5, "clip_norm": 2.0,
             "schedule": {"name": "step", "step_size": 20, "gamma": 0.5}}  # fmt: skip
    kw = dict(start=(0.5, -3.0), noise=0.3, seed=7)
    m = lr_beta_map("himmelblau", racer, steps=80, lrs=[0.001, 0.01, 0.05], betas=[0.0, 0.5, 0.9], **kw)
    for i in range(3):
        for j in range(3):
            final = _single("himmelblau", m.spec(i, j), 80, **kw)
            assert m.loss[i, j] == pytest.approx(final, rel=1e-9)
    assert len(set(m.loss.ravel())) == 9  # every cell's setting reached its run


def test_new_values_never_recompile():
    """Every number is traced: a map of other values, start or steps (in the same step bucket) reuses
    the program. (The grid's cell count is the vmapped batch's shape: a new count compiles once.)"""
    lr_beta_map("booth", "nag:lr=0.01,momentum=0.5", steps=64, lrs=8, betas=8)
    warm = _compiles[0]
    lr_beta_map("booth", "nag:lr=0.02,momentum=0.7", steps=64, lrs=np.geomspace(1e-4, 1e-2, 8).tolist(),
                betas=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])  # fmt: skip
    lr_beta_map("booth", "nag:lr=0.02,momentum=0.7", steps=50, lrs=8, betas=8, start=(1.0, 1.0))
    assert _compiles[0] == warm, "new values recompiled"
    lr_beta_map("booth", "nag:lr=0.02,momentum=0.7", steps=50, lrs=8, betas=7)
    assert _compiles[0] > warm  # a new batch shape compiles: the counter counts


def test_the_axes_span_the_sliders_ranges():
    m = lr_beta_map("rosenbrock", "adam", steps=20, lrs=32, betas=24)
    lr, b1 = optimizers.OPTIMIZERS["adam"].spec("lr"), optimizers.OPTIMIZERS["adam"].spec("beta1")
    assert (m.lrs[0], m.lrs[-1]) == (lr.lo, lr.hi) and (m.betas[0], m.betas[-1]) == (b1.lo, b1.hi)
    assert len(m.lrs) == 32 and len(m.betas) == 24
    # Log-spaced and linear, to the three significant digits a slider keeps.
    np.testing.assert_allclose(m.lrs, np.geomspace(lr.lo, lr.hi, 32), rtol=5e-3)
    np.testing.assert_allclose(m.betas, np.linspace(b1.lo, b1.hi, 24), rtol=5e-3, atol=1e-12)
    assert all(float(f"{v:.3g}") == v for v in [*m.lrs, *m.betas])
    assert (m.lr, m.beta) == (1e-3, 0.9)  # adam's defaults, to mark
    # Nesterov SGD refuses momentum 0 (as torch.optim.SGD does): the range starts one step in.
    n = lr_beta_map("rosenbrock", "sgd:lr=0.001,momentum=0.9,nesterov=true", steps=20, lrs=4, betas=8)
    assert len(n.betas) == 7 and n.betas[0] > 0


def test_the_names_follow_the_optimizer():
    assert beta_name("adam") == "beta1" and beta_name("lion") == "beta1" and beta_name("sgd") == "momentum"
    assert beta_name({"optimizer": "lookahead", "inner": {"optimizer": "adam"}}) == "beta1"
    assert beta_name("gd") is None and beta_name("ftrl") is None
    spec = with_lr_beta("lookahead:inner=sgd,inner.lr=0.01,label=mine", 0.5, 0.8)
    assert spec["inner"] == {"optimizer": "sgd", "lr": 0.5, "momentum": 0.8} and spec["label"] == "mine"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"racer": "gd"}, "gd has no momentum or beta1"),
        ({"racer": "ftrl"}, "ftrl has no momentum or beta1"),
        ({"racer": "lookahead:inner=gd"}, "inner racer gd has no momentum"),
        ({"racer": "sgd:momentum=0.9,schedule=onecycle,schedule.max_lr=0.01"}, "cycle_momentum = false"),
        ({"racer": "nosuch"}, "unknown optimizer"),
        ({"racer": 42}, "expected a dict"),
        ({"racer": "adam:beta1=2"}, "beta1"),
        ({"lrs": 1}, "lrs = 1 is not allowed"),
        ({"lrs": MAX_MAP_SIDE + 1}, "MAX_MAP_SIDE"),
        ({"betas": True}, "betas: give a number"),
        ({"betas": 8.5}, "betas: give a number"),
        ({"betas": "32"}, "betas: give a number"),
        ({"lrs": list(range(1, 10**6))}, "999999 values"),
        ({"lrs": [0.1]}, "1 values"),
        ({"lrs": [0.1, 0.1]}, "distinct"),
        ({"lrs": [0.0, 0.1]}, "not > 0"),
        ({"lrs": [0.1, -1.0]}, "lr = -1.0 is not allowed"),
        ({"lrs": [0.1, float("nan")]}, "finite"),
        ({"betas": [0.5, 1.0]}, "beta1 = 1.0 is not allowed"),
        ({"betas": [0.5, "x"]}, "not a number"),
        ({"racer": "sgd:lr=0.01,momentum=0.5,nesterov=true", "betas": [0.0, 0.5]}, "nesterov"),
        ({"lrs": 128, "betas": 128, "steps": 100_000}, "MAX_RUN_STEPS"),
        ({"steps": 0}, "steps = 0"),
        ({"start": (1.0,)}, "coordinate"),
        ({"noise": -1.0}, "noise"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(kwargs, message):
    args = {"racer": "adam", "steps": 20, "lrs": 4, "betas": 4, **kwargs}
    racer = args.pop("racer")
    with pytest.raises(ValueError, match=message):
        lr_beta_map("rosenbrock", racer, **args)
    assert MAX_RUN_STEPS < 128 * 128 * 100_000  # the work case is beyond the bound it names


def test_a_schedule_that_does_not_cycle_beta_is_mapped():
    racer = "adam:lr=0.01,schedule=onecycle,schedule.max_lr=0.05,schedule.cycle_momentum=false"
    m = lr_beta_map("rosenbrock", racer, steps=60, lrs=4, betas=4)
    assert m.loss[2, 3] == pytest.approx(_single("rosenbrock", m.spec(2, 3), 60), rel=1e-9)


def test_cell_finds_the_nearest_setting():
    m = lr_beta_map("booth", "sgd:lr=0.01,momentum=0.5", steps=10, lrs=[0.001, 0.01, 0.1], betas=[0.0, 0.5])
    assert m.cell(0.003, 0.2) == (0, 0) and m.cell(0.0035, 0.3) == (1, 1) and m.cell(1.0, 0.9) == (1, 2)
    for bad in ((0.0, 0.5), (math.nan, 0.5), (0.1, math.inf), ("x", 0.5), (0.1, None)):
        with pytest.raises(ValueError, match="not a point"):
            m.cell(*bad)


# --- the figure -----------------------------------------------------------------------------------


def test_the_figure_draws_every_cell_log_coloured_diverged_apart_and_the_mark(tmp_path):
    import holoviews as hv
    import matplotlib.colors as mcolors
    from bokeh.models import LogColorMapper, LogScale

    from optirace.export.view import write_view
    from optirace.figures.heatmap import DIVERGED, TAG, heatmap_figure

    m = lr_beta_map("rosenbrock", "sgd:lr=0.001,momentum=0.9", steps=100, lrs=12, betas=10)
    assert m.diverged.any() and not m.diverged.all()
    fig = heatmap_figure(m, "sgd <b>", "#D55E00", mark=(0.002, 0.5))
    bk = hv.render(fig, backend="bokeh")
    by_tag = {t: r for r in bk.renderers for t in r.tags if t.startswith(TAG)}
    assert set(by_tag) == {f"{TAG}:cells", f"{TAG}:mark"}
    assert isinstance(bk.x_scale, LogScale)
    cells = by_tag[f"{TAG}:cells"]
    mapper = cells.glyph.fill_color.transform
    assert isinstance(mapper, LogColorMapper) and mapper.nan_color == DIVERGED["light"]
    d = cells.data_source.data
    assert len(d["gap"]) == 120
    # Each cell is drawn around its own (lr, beta) and holds its final loss; diverged ones NaN.
    for lr, beta, gap, left, right, bottom, top in zip(d["lr"], d["beta"], d["gap"], d["left"], d["right"],
                                                        d["bottom"], d["top"], strict=True):  # fmt: skip
        i, j = list(m.betas).index(beta), list(m.lrs).index(lr)
        assert left < lr < right and bottom < beta < top
        assert np.isnan(gap) if m.diverged[i, j] else gap == pytest.approx(max(m.loss[i, j], 1e-16))
    mark = by_tag[f"{TAG}:mark"].data_source.data
    assert (list(mark["lr"]), list(mark["beta"])) == ([0.002], [0.5])
    assert [i.label.value for i in bk.legend[0].items] == ["sgd <b>", "diverged"]  # a label is text
    # The same figure with matplotlib: log colours, grey where diverged, and the stills.
    mpl = hv.render(fig, backend="matplotlib")
    (mesh,) = [a for a in mpl.axes[0].collections if a.__class__.__name__ == "QuadMesh"]
    assert isinstance(mesh.norm, mcolors.LogNorm)
    assert mcolors.to_hex(mesh.cmap.get_bad()) == DIVERGED["light"]
    assert mpl.axes[0].get_xscale() == "log"
    for ext, magic in (("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")):
        assert write_view(fig, tmp_path / f"map.{ext}").read_bytes().startswith(magic)
    dark = hv.render(heatmap_figure(m, "sgd", "#0072B2", theme="dark"), backend="bokeh")
    (cells,) = [r for r in dark.renderers if f"{TAG}:cells" in r.tags]
    assert cells.glyph.fill_color.transform.nan_color == DIVERGED["dark"]


# --- the app's card, without a browser ------------------------------------------------------------


def _state(racers, steps=100):
    from optirace.app.state import RaceState

    return RaceState(racers=racers, steps=steps)


def test_the_card_offers_the_racers_with_a_momentum_and_a_click_races_a_cell():
    from optirace.app.heatmap_panel import HeatmapPanel
    from optirace.figures.heatmap import TAG

    state = _state([{"optimizer": "adam", "lr": 0.01}, {"optimizer": "gd", "lr": 0.001},
                    {"optimizer": "sgd", "lr": 0.001, "momentum": 0.9}])  # fmt: skip
    panel = HeatmapPanel(state, side=16)
    assert panel.racer.options == {"adam": 0, "sgd": 2}  # gd has no momentum
    panel.racer.value = 2
    panel.compute()
    m = panel.map
    want = lr_beta_map("rosenbrock", "sgd:lr=0.001,momentum=0.9", steps=100, lrs=16, betas=16)
    np.testing.assert_array_equal(m.loss, want.loss)
    assert "runs diverged" in panel.status.object
    # A click on a cell (in data coordinates, inside the cell) races it through the racer edit.
    i, j = 12, 5
    assert panel.choose(m.lrs[j] * 1.05, m.betas[i] + 0.01)
    assert state.racers[2] == {"optimizer": "sgd", "lr": m.lrs[j], "momentum": m.betas[i]}
    assert state.result.loss[2, -1] == pytest.approx(m.loss[i, j], rel=1e-9)
    assert state.result.racers[0].base_lr == 0.01  # the others keep theirs
    (mark,) = [r for r in panel._fig.renderers if f"{TAG}:mark" in r.tags]
    assert (list(mark.data_source.data["lr"]), list(mark.data_source.data["beta"])) == (
        [m.lrs[j]],
        [m.betas[i]],
    )
    # A slider move of lr or beta keeps the map and moves the mark; a click off the map does nothing.
    state.update_racer(2, momentum=0.3)
    assert panel.map is m and list(mark.data_source.data["beta"]) == [0.3]
    assert not panel.choose(10.0, 0.5) and not panel.choose(1e-3, 2.0) and not panel.choose(-1.0, 0.5)
    assert state.racers[2]["momentum"] == 0.3
    # A racer added before it: the map is still its map (found again at its new index).
    state.remove_racer(1)
    assert panel.map is m and panel.racer.options == {"adam": 0, "sgd": 1}
    assert panel.choose(m.lrs[0], m.betas[0])
    assert state.racers[1]["lr"] == m.lrs[0]
    # Any other change of the race makes it another map: it is taken away until computed again.
    state.steps = 120
    assert panel.map is None and panel.plot.objects == [] and "compute it again" in panel.status.object
    assert not panel.choose(m.lrs[0], m.betas[0])


def test_the_card_maps_a_wrappers_inner_racer_and_says_when_none_can_be_mapped():
    from optirace.app.heatmap_panel import HeatmapPanel

    la = {
        "optimizer": "lookahead",
        "k": 5,
        "alpha": 0.5,
        "inner": {"optimizer": "sgd", "lr": 0.001, "momentum": 0.5},
    }
    state = _state([la, {"optimizer": "gd", "lr": 0.001}])
    panel = HeatmapPanel(state, side=8)
    assert panel.racer.options == {"lookahead": 0}
    panel.compute()
    m = panel.map
    assert panel.choose(m.lrs[3], m.betas[6])
    assert state.racers[0]["inner"] == {"optimizer": "sgd", "lr": m.lrs[3], "momentum": m.betas[6]}
    assert state.result.loss[0, -1] == pytest.approx(m.loss[6, 3], rel=1e-9)
    none = HeatmapPanel(_state([{"optimizer": "gd", "lr": 0.001}]))
    assert none.racer.options == {} and none.compute_button.disabled
    assert "No racer" in none.status.object


# --- the command ----------------------------------------------------------------------------------


def test_the_command_prints_the_map(capsys, tmp_path):
    argv = ["heatmap", "--surface", "rosenbrock", "--racer", "sgd:lr=0.001,momentum=0.9", "--steps", "100",
            "--lrs", "8", "--betas", "6"]  # fmt: skip
    out = tmp_path / "map.png"
    assert main([*argv, "--json", "--out", str(out)]) == 0
    said = capsys.readouterr()
    got = json.loads(said.out)
    m = lr_beta_map("rosenbrock", "sgd:lr=0.001,momentum=0.9", steps=100, lrs=8, betas=6)
    assert got["lrs"] == m.lrs.tolist() and got["betas"] == m.betas.tolist()
    assert got["loss"] == [[None if d else x for x, d in zip(r, e, strict=True)]
                           for r, e in zip(m.loss.tolist(), m.diverged.tolist(), strict=True)]  # fmt: skip
    assert got["diverged"] == int(m.diverged.sum()) > 0 and got["start"] == [-1.5, 2.0]
    assert out.read_bytes().startswith(b"\x89PNG") and f"wrote {out}" in said.err
    assert main(argv) == 0
    text = capsys.readouterr().out
    i, j = np.unravel_index(np.argmin(m.loss), m.loss.shape)
    assert f"lowest final loss: {m.loss[i, j]:.6g} at lr {m.lrs[j]:g}, momentum {m.betas[i]:g}" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--racer", "gd"], "no momentum or beta1"), (["--lrs", "1"], "lrs = 1"), (["--betas", "500"], "MAX_MAP_SIDE"),
     (["--racer", "adam", "--racer", "sgd"], "one racer"), (["--out", "x.gif"], ".png, .svg, .pdf"),
     (["--steps", "0"], "steps")],
)  # fmt: skip
def test_the_command_refuses_bad_input(capsys, args, message):
    assert main(["heatmap", "--steps", "20", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("optirace: error:") and message in err and "Traceback" not in err
