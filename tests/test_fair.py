"""A fair race: learning-rate sweeps and tuning (optimizers.tune), memory per racer (optimizers.memory),
their figures, their commands and their app cards (without a browser)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import optimizers
import surfaces
from optimizers.memory import MAX_GPUS, MAX_PARAMS
from optimizers.tune import MAX_TUNE_GRID, TIE, lr_grid, with_lr
from optirace.cli import main

RACERS = [
    {"optimizer": "adam", "lr": 0.01},
    {"optimizer": "sgd", "lr": 0.001, "momentum": 0.9},
    {"optimizer": "lookahead", "k": 5, "alpha": 0.5, "inner": {"optimizer": "sgd", "lr": 0.001}},
    {"optimizer": "ftrl", "alpha": 0.1},
]


# --- tune -----------------------------------------------------------------------------------------


def _loop_pick(surface, spec, steps, start, grid):
    """A plain loop of single races over the grid: (name, values, final losses, the value picked by
    the documented rule: least final loss, diverged = +inf, losses within TIE x (f(start) - min)
    of the minimum equal, the smallest rate of equals)."""
    name, values = lr_grid(spec, grid)
    final = []
    for v in values:
        res = optimizers.race(surface, [with_lr(spec, v)], steps=steps, start=start)
        final.append(math.inf if res.diverged_at[0] >= 0 else float(res.loss[0, -1]))
        f0, low = float(res.loss[0, 0]), res.surface.min_value
    final = np.asarray(final)
    best = min(range(len(values)), key=lambda i: (max(final[i] - low, TIE * abs(f0 - low)), i))
    return name, values, final, float(values[best])


@pytest.mark.parametrize(("surface", "start"), [("rosenbrock", None), ("himmelblau", (0.5, -3.0))])
def test_tuned_lr_is_what_a_loop_of_single_races_picks(surface, start):
    steps, grid = 120, 24
    tuned = optimizers.tune(surface, RACERS, steps=steps, start=start, grid=grid)
    assert len(tuned.racers) == len(tuned.sweeps) == len(RACERS)
    for spec, out, sweep in zip(RACERS, tuned.racers, tuned.sweeps, strict=True):
        name, values, final, best = _loop_pick(surface, spec, steps, start, grid)
        assert sweep.name == name
        np.testing.assert_array_equal(sweep.values, values)
        assert sweep.best == best
        # Elsewhere they agree to rounding, except where a run bounces chaotically without settling
        # (the vmapped program and a single race round differently, and chaos grows the difference:
        # measured, one of 96 runs here).
        close = np.isclose(sweep.loss, final, rtol=1e-12, atol=1e-14) | (
            np.isinf(sweep.loss) & np.isinf(final)
        )
        assert close.mean() >= 0.9
        assert optimizers.Racer.from_spec(out).base_lr == best
        # Only the learning rate changed.
        assert with_lr(out, 1.0) == with_lr(spec, 1.0)
        assert sweep.before == optimizers.Racer.from_spec(spec).base_lr


def test_the_grid_spans_the_learning_rate_slider_log_spaced():
    name, values = lr_grid({"optimizer": "adam"}, 64)
    spec = optimizers.OPTIMIZERS["adam"].spec("lr")
    assert name == "lr" and len(values) == 64
    assert values[0] == pytest.approx(spec.lo) and values[-1] == pytest.approx(spec.hi)
    np.testing.assert_allclose(np.diff(np.log(values)), np.log(spec.hi / spec.lo) / 63)
    assert lr_grid({"optimizer": "ftrl"}, 8)[0] == "alpha"  # FTRL's learning rate is its alpha
    inner = with_lr({"optimizer": "lookahead", "inner": "sgd"}, 0.5)
    assert inner["inner"]["lr"] == 0.5 and "lr" not in inner


def test_tune_accepts_racer_strings_and_keeps_labels_and_schedules():
    spec = "sgd:lr=0.001,momentum=0.9,schedule=step,schedule.step_size=50,label=mine"
    tuned = optimizers.tune("booth", [spec], steps=100, grid=8)
    (out,) = tuned.racers
    assert out["label"] == "mine" and out["schedule"]["name"] == "step" and out["momentum"] == 0.9
    assert out["lr"] == tuned.sweeps[0].best


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"grid": 1}, "grid = 1 is not allowed"),
        ({"grid": MAX_TUNE_GRID + 1}, f"from 2 to {MAX_TUNE_GRID}"),
        ({"grid": True}, "grid = True"),
        ({"grid": 8.5}, "grid = 8.5"),
        ({"steps": 0}, "steps = 0"),
        ({"steps": 10**9}, "steps"),
    ],
)
def test_tune_refuses_bad_sizes_with_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optimizers.tune("rosenbrock", ["adam"], **{"steps": 50, **kwargs})


@pytest.mark.parametrize(
    ("racers", "message"),
    [("adam", "give a list"), ([], "at least one"), (["adam"] * 33, "MAX_RACERS"), ([42], "expected a dict"),
     (["nosuch"], "unknown optimizer")],
)  # fmt: skip
def test_tune_refuses_bad_racers(racers, message):
    with pytest.raises(ValueError, match=message):
        optimizers.tune("rosenbrock", racers, steps=20, grid=4)


# --- memory ---------------------------------------------------------------------------------------

MEMORY_RACERS = [
    ("sgd:lr=0.01", 0),
    ("sgd:lr=0.01,momentum=0.9", 1),
    ("adam", 2),
    ("adamw", 2),
    ("amsgrad", 3),
    ("adam:amsgrad=true", 3),
    ("rmsprop", 1),
    ("rmsprop:centered=true,momentum=0.5", 3),
    ("nadam", 2),
    ("asgd", 1),
    ("lookahead:inner=adam", 3),
    ("newton", 0),
]


def test_memory_follows_the_formulas_and_the_real_race_state():
    texts = [t for t, _ in MEMORY_RACERS]
    N, G = 7e9, 8
    rows = optimizers.memory(texts, params=N, gpus=G)
    res = optimizers.race("rosenbrock", texts, steps=30)
    dim = res.surface.dim
    for (text, k), m, state in zip(MEMORY_RACERS, rows, res.state, strict=True):
        assert len(m.vectors) == k, text
        # The state the race carried: every buffer shaped like the parameters is counted or idle.
        shaped = {name for name, a in state.items() if a.shape[1:] == (dim,)}
        assert shaped == set(m.vectors) | set(m.idle), text
        assert m.scalars == sum(1 for a in state.values() if a.shape[1:] == ()), text
        # Idle buffers are never written in the race (torch.optim would not allocate them); counted
        # ones are.
        for name in m.idle:
            assert not state[name].any(), (text, name)
        for name in m.vectors:
            assert state[name][1:].any(), (text, name)
        assert m.state_bytes_per_param("fp32") == 4 * k
        assert m.state_bytes_per_param("bf16") == 2 * k
        assert m.total_bytes("fp32") == N * 4 * k
        assert m.total_bytes("bf16") == N * 2 * k
        assert m.per_gpu_bytes("fp32") == N * 4 * k / G
        assert m.per_gpu_bytes("bf16") == N * 2 * k / G
        assert m.replicated_bytes_per_gpu("fp32") == 2 * N * 4


def test_memory_takes_parsed_racers_too():
    (m,) = optimizers.memory([optimizers.Racer.from_spec({"optimizer": "adam", "label": "mine"})])
    assert m.racer == "mine" and m.state_bytes_per_param() == 8


def test_memory_json_of_the_command(capsys):
    assert main(["memory", "--racer", "adam", "--racer", "sgd:momentum=0.9", "--params", "7e9", "--gpus", "8",
                 "--json"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert out["params"] == 7e9 and out["gpus"] == 8 and out["zero_stage"] == 1
    adam, sgd = out["racers"]
    assert (adam["state_bytes_per_param"], adam["total_bytes"], adam["per_gpu_bytes"]) == (8, 56e9, 7e9)
    assert (adam["state_bytes_per_param_bf16"], adam["total_bytes_bf16"], adam["per_gpu_bytes_bf16"]) == (
        4,
        28e9,
        3.5e9,
    )
    assert adam["state_buffers"] == ["exp_avg", "exp_avg_sq"] and adam["idle_buffers"] == ["max_exp_avg_sq"]
    assert (sgd["state_bytes_per_param"], sgd["total_bytes"], sgd["per_gpu_bytes"]) == (4, 28e9, 3.5e9)


def test_memory_table_of_the_command(capsys):
    assert main(["memory", "--racer", "amsgrad", "--params", "1e9", "--gpus", "4"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("amsgrad"))
    # 3 buffers: 12 bytes fp32, 6 bf16; 12 GB and 6 GB in all; 3 GB and 1.5 GB per GPU.
    assert row.split()[:2] == ["amsgrad", "3"]
    assert "12 GB" in row and "6 GB" in row and "3 GB" in row and "1.5 GB" in row


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--params", "abc"], "params = 'abc' is not a number"),
        (["--params", "0"], "params"),
        (["--params", "-5"], "params"),
        (["--params", "nan"], "params"),
        (["--params", "inf"], "params"),
        (["--params", f"{MAX_PARAMS * 10:g}"], f"1 to {MAX_PARAMS:g}"),
        (["--gpus", "0"], "gpus"),
        (["--gpus", "2.5"], "gpus"),
        (["--gpus", "x"], "gpus"),
        (["--gpus", str(MAX_GPUS + 1)], f"1 to {MAX_GPUS}"),
        (["--racer", "nosuch"], "unknown optimizer"),
        (["--racer", "adam"] * 9, "at most 8"),
        (["--out", "bars.gif"], ".png, .svg, .pdf"),
    ],
)
def test_memory_command_refuses_bad_input(capsys, args, message):
    assert main(["memory", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("optirace: error:") and message in err
    assert "Traceback" not in err


def test_tune_command_prints_what_tune_sets(capsys):
    argv = ["tune", "--surface", "rosenbrock", "--racer", "adam:lr=0.01", "--racer", "sgd:lr=0.001,momentum=0.9",
            "--steps", "100", "--grid", "16"]  # fmt: skip
    assert main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    tuned = optimizers.tune("rosenbrock", ["adam:lr=0.01", "sgd:lr=0.001,momentum=0.9"], steps=100, grid=16)
    assert [r["after"] for r in out["racers"]] == [s.best for s in tuned.sweeps]
    assert [r["before"] for r in out["racers"]] == [0.01, 0.001]
    assert out["racers"][0]["tuned"] == optimizers.racer_to_string(tuned.racers[0])
    assert len(out["racers"][0]["final_loss"]) == 16
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert f"adam: lr 0.01 → {tuned.sweeps[0].best:.3g}" in text
    assert f"sgd: lr 0.001 → {tuned.sweeps[1].best:.3g}" in text


def test_tune_command_tunes_a_typed_formula(capsys):
    """`--formula` reaches tune as it reaches race and export (the shared Scene declaration)."""
    argv = ["tune", "--formula", "x^2 + 3y^2", "--domain", "-2,2,-2,2", "--racer", "adam:lr=0.01",
            "--steps", "60", "--grid", "12", "--json"]  # fmt: skip
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    surface = surfaces.from_formula("x^2 + 3y^2", domain=(-2, 2, -2, 2))
    tuned = optimizers.tune(surface, ["adam:lr=0.01"], steps=60, grid=12)
    assert [r["after"] for r in out["racers"]] == [s.best for s in tuned.sweeps]


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--grid", "1"], "grid = 1"), (["--grid", "100000"], "grid"), (["--steps", "0"], "steps"),
     (["--out", "x.mp4"], ".png, .svg, .pdf"), (["--racer", "adam:lr=-1"], "lr")],
)  # fmt: skip
def test_tune_command_refuses_bad_input(capsys, args, message):
    assert main(["tune", "--steps", "50", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("optirace: error:") and message in err


# --- figures and stills ---------------------------------------------------------------------------


def test_sensitivity_figure_has_a_curve_and_a_mark_per_racer(tmp_path):
    import holoviews as hv

    from optirace.figures.sensitivity import TAG, sensitivity_figure

    tuned = optimizers.tune("rosenbrock", RACERS, steps=100, grid=16)
    res = optimizers.race("rosenbrock", RACERS, steps=100)
    current = [(s.before, float(res.loss[i, -1])) for i, s in enumerate(tuned.sweeps)]
    fig = sensitivity_figure(tuned.sweeps, ["a", "b", "c", "$d"], current, res.surface.min_value, steps=100)
    bk = hv.render(fig, backend="bokeh")
    tags = [t for r in bk.renderers for t in r.tags if t.startswith(TAG)]
    assert sorted(tags) == sorted(
        [f"{TAG}:curve:{i}" for i in range(4)] + [f"{TAG}:mark:{i}" for i in range(4)]
    )
    assert bk.x_scale.__class__.__name__ == "LogScale" and bk.y_scale.__class__.__name__ == "LogScale"
    marks = {t: r.data_source.data for r in bk.renderers for t in r.tags if ":mark:" in t}
    for i, (lr, loss) in enumerate(current):
        assert list(marks[f"{TAG}:mark:{i}"]["lr"]) == [lr]
        assert marks[f"{TAG}:mark:{i}"]["gap"][0] == pytest.approx(loss - res.surface.min_value)
    from optirace.export.view import write_view

    for ext, magic in (("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")):
        path = write_view(fig, tmp_path / f"s.{ext}")
        assert path.read_bytes().startswith(magic)
    with pytest.raises(ValueError, match="png"):
        write_view(fig, tmp_path / "s.gif")
    with pytest.raises(ValueError, match="16 to"):
        write_view(fig, tmp_path / "s.png", size=(10**6, 10))


def test_tune_and_memory_commands_write_their_figures(tmp_path, capsys):
    out = tmp_path / "sens.svg"
    assert main(["tune", "--racer", "adam", "--steps", "50", "--grid", "8", "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"<?xml")
    assert f"wrote {out}" in capsys.readouterr().out
    bars = tmp_path / "mem.png"
    assert main(["memory", "--racer", "adam:label=$x$", "--out", str(bars), "--json"]) == 0
    assert bars.read_bytes().startswith(b"\x89PNG")
    said = capsys.readouterr()
    assert json.loads(said.out)["racers"][0]["racer"] == "adam:label=$x$"  # stdout is the JSON alone
    assert f"wrote {bars}" in said.err


# --- the app's cards, without a browser ---------------------------------------------------------


def test_tune_card_tunes_and_undo_restores():
    from optirace.app.state import RaceState
    from optirace.app.tune_panel import TunePanel

    state = RaceState(racers=[{"optimizer": "adam", "lr": 0.01}, {"optimizer": "sgd", "lr": 0.001, "momentum": 0.9}],
                      steps=100)  # fmt: skip
    panel = TunePanel(state, grid=16)
    before = [dict(r) for r in state.racers]
    panel.tune()
    tuned = optimizers.tune("rosenbrock", before, steps=100, grid=16)
    assert [r["lr"] for r in state.racers] == [s.best for s in tuned.sweeps]
    assert f"adam: lr 0.01 → {tuned.sweeps[0].best:.3g}" in panel.status.object
    assert state.result.racers[0].base_lr == tuned.sweeps[0].best  # the race was run again
    assert not panel.undo_button.disabled
    panel.undo()
    assert state.racers == before and panel.undo_button.disabled
    # After another change, Undo would throw that change away: it is off.
    panel.tune()
    state.update_racer(0, lr=0.005)
    assert panel.undo_button.disabled
    # The plot as drawn, exported with matplotlib (the race's still sizes).
    assert panel._still().read().startswith(b"\x89PNG")
    panel.format.value = "svg"
    assert panel.download.filename == "sensitivity.svg" and panel._still().read().startswith(b"<?xml")


def test_memory_card_shows_the_figures():
    from optirace.app.memory_panel import MemoryPanel
    from optirace.app.state import RaceState

    state = RaceState(racers=[{"optimizer": "adam", "lr": 0.01, "label": "<b>x</b>"}, {"optimizer": "gd"}])
    panel = MemoryPanel(state)
    html = panel.table.object
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html  # a label is text
    assert "56 GB" in html and "7 GB" in html and "3.5 GB" in html  # adam at 7e9 parameters, 8 GPUs
    panel.gpus_input.value = 4
    assert "14 GB" in panel.table.object
    panel.params_input.value = "nonsense"
    assert "params" in state.error and "14 GB" in panel.table.object  # refused: the table stays
