"""The archive + live-tail split of the race's Bokeh sources (views/trajectories.py).

Whatever the sequence of frames, jumps and resets, the two sources together hold exactly rows 0..k,
the tail never outgrows a chunk, and frames travel as small streams.
"""

from __future__ import annotations

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.document.events import ColumnsStreamedEvent
from hypothesis import given, settings
from hypothesis import strategies as st

import optimizers
from views.trajectories import CHUNK, LOSS_TOL, PATH_TOL, Trajectories

STEPS = 3 * CHUNK + 17


@pytest.fixture(scope="module")
def result():
    return optimizers.race("rosenbrock", [{"optimizer": "adam", "lr": 0.05}, {"optimizer": "gd", "lr": 1e-3}],
                           steps=STEPS)  # fmt: skip


def joined(traj: Trajectories) -> dict[str, np.ndarray]:
    """What the browser draws: the archive's rows, then the tail's without the row they share."""
    head, tail = traj.archive.data, traj.source.data
    out = {}
    for name in traj.columns:
        a, t = np.asarray(head[name], dtype=float), np.asarray(tail[name], dtype=float)
        out[name] = np.concatenate([a, t[1:]]) if len(a) else t
    return out


def check(traj: Trajectories, k: int) -> None:
    rows = joined(traj)
    for name, col in traj.columns.items():
        np.testing.assert_array_equal(rows[name], col[: k + 1], err_msg=name)
    assert len(traj.source.data["step"]) <= CHUNK + 1
    if len(traj.archive.data["step"]):
        assert traj.archive.data["step"][-1] == traj.source.data["step"][0]  # the halves meet
    check_paths(traj)
    check_losses(traj)


def check_losses(traj: Trajectories) -> None:
    """Each racer's archived loss curve: the race's own rows, meeting the tail, every chunk edge, and
    every row it leaves out within the tolerance (in decades) of the line drawn through the kept ones."""
    base = traj.base
    for i, curve in enumerate(traj.losses):
        rows = np.asarray(curve.data["step"], dtype=int)
        if base == 0:
            assert len(rows) == 0
            continue
        assert rows[0] == 0 and rows[-1] == base
        assert set(range(0, base + 1, CHUNK)) <= set(rows.tolist())
        np.testing.assert_array_equal(curve.data[f"gap{i}"], traj.columns[f"gap{i}"][rows])
        logs = np.log10(traj.columns[f"gap{i}"][: base + 1])
        drawn = np.interp(np.arange(base + 1), rows, logs[rows])
        assert np.max(np.abs(drawn - logs)) <= traj.loss_tol * (1 + 1e-9), f"racer {i}"


def check_paths(traj: Trajectories) -> None:
    """Each racer's archived path: the race's own rows, meeting the tail, and every iterate it
    leaves out within PATH_TOL (of the domain) of the kept row before it (so of the drawn line)."""
    base = traj.base
    sx, sy = traj.scale
    for i, path in enumerate(traj.paths):
        rows = np.asarray(path.data["step"], dtype=int)
        if base == 0:
            assert len(rows) == 0
            continue
        assert rows[0] == 0 and rows[-1] == base  # starts at the start, meets the tail
        assert set(range(0, base + 1, CHUNK)) <= set(rows.tolist())  # every chunk edge
        for name in ("x", "y", "loss", "lr"):
            np.testing.assert_array_equal(path.data[f"{name}{i}"], traj.columns[f"{name}{i}"][rows])
        x, y = traj.columns[f"x{i}"][: base + 1] / sx, traj.columns[f"y{i}"][: base + 1] / sy
        last = rows[np.searchsorted(rows, np.arange(base + 1), side="right") - 1]
        gap = np.hypot(x - x[last], y - y[last])
        assert np.all(gap <= PATH_TOL * (1 + 1e-12)), f"racer {i}: an iterate {gap.max():.2e} from the line"


@settings(max_examples=40, deadline=None)
@given(
    moves=st.lists(st.tuples(st.sampled_from(["advance", "show"]), st.integers(0, STEPS + 5)), max_size=25)
)
def test_sources_hold_exactly_rows_up_to_the_shown_step(result, moves):
    traj = Trajectories()
    traj.load(result)
    traj.show(0)
    check(traj, 0)
    for how, k in moves:
        getattr(traj, how)(k)
        check(traj, min(k, STEPS))


def test_playing_streams_the_tail_and_moves_the_archive_once_per_chunk(result):
    traj = Trajectories()
    traj.load(result)
    doc = Document()
    doc.add_root(traj.source)
    doc.add_root(traj.archive)
    for curve in traj.losses:
        doc.add_root(curve)
    traj.show(0)
    events = []
    doc.on_change(events.append)  # what a session would send to the browser
    frames = [*range(4, STEPS, 4), STEPS]
    for k in frames:
        traj.advance(k)
    streamed = [e for e in events if isinstance(e, ColumnsStreamedEvent)]
    archive_moves = [e for e in streamed if e.model is traj.archive]
    loss_moves = [e for e in streamed if e.model in traj.losses]
    assert len(loss_moves) == len(traj.losses) * (STEPS // CHUNK)
    tail = [e for e in streamed if e.model is traj.source]
    assert len(archive_moves) == STEPS // CHUNK
    assert len(tail) + len(archive_moves) == len(frames)  # one stream per frame (a move is a frame)
    # Frames carry plain lists: Bokeh inlines them in the message's JSON instead of sending one
    # binary websocket frame per column.
    assert all(isinstance(col, list) for e in tail for col in e.data.values())
    check(traj, STEPS)


def test_without_chunks_everything_stays_in_one_source(result):
    traj = Trajectories(chunk=None)
    traj.load(result)
    traj.show(STEPS)
    assert len(traj.archive.data["step"]) == 0
    assert len(traj.source.data["step"]) == STEPS + 1


def test_a_settled_racer_archives_few_points_and_a_restless_one_all():
    # adam settles at the bowl's minimum; lion keeps jumping lr per coordinate around it forever.
    res = optimizers.race("quadratic", [{"optimizer": "adam", "lr": 0.1}, {"optimizer": "lion", "lr": 0.05}],
                          steps=STEPS)  # fmt: skip
    traj = Trajectories()
    traj.load(res)
    traj.show(STEPS)
    check_paths(traj)
    adam, lion = (len(p.data["step"]) for p in traj.paths)
    assert adam < traj.base // 3
    assert lion == traj.base + 1
    # Their loss curves: adam's falls smoothly and then sits on the floor.
    check_losses(traj)
    assert len(traj.losses[0].data["step"]) < traj.base // 4


def test_the_loss_tolerance_is_a_sliver_of_the_decades_shown():
    res = optimizers.race("quadratic", [{"optimizer": "adam", "lr": 0.1}, {"optimizer": "gd", "lr": 1e-3}],
                          steps=500)  # fmt: skip
    traj = Trajectories()
    traj.load(res)
    logs = np.log10(np.stack([traj.columns["gap0"], traj.columns["gap1"]]))
    assert logs.max() - logs.min() > 10  # adam reaches the floor
    assert traj.loss_tol == pytest.approx(LOSS_TOL * (logs.max() - logs.min()))
    flat = optimizers.race("quadratic", [{"optimizer": "gd", "lr": 0.0}], steps=50)  # a flat curve
    traj.load(flat)
    assert traj.loss_tol == LOSS_TOL  # the floor: a 2000th of one decade
