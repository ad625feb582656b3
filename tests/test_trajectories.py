"""The archive + live-tail split of the race's Bokeh sources (views/trajectories.py).

Whatever the sequence of frames, jumps and resets, the two sources together hold exactly rows 0..k,
the tail never outgrows a chunk, and frames travel as small streams.
"""

from __future__ import annotations

import base64

import numpy as np
import pytest
from bokeh.document import Document
from bokeh.document.events import ColumnDataChangedEvent, ColumnsStreamedEvent
from hypothesis import given, settings
from hypothesis import strategies as st
from polyline import distance_to_polyline

import optimizers
from views.trajectories import CHUNK, LOSS_TOL, PATH_TOL, Trajectories

STEPS = 3 * CHUNK + 17


@pytest.fixture(scope="module")
def result():
    return optimizers.race("rosenbrock", [{"optimizer": "adam", "lr": 0.05}, {"optimizer": "gd", "lr": 1e-3}],
                           steps=STEPS)  # fmt: skip


class Browser:
    """What the page holds, from the events the server sends (a Bokeh document's changes), doing
    what views/reveal.py does in the browser: sources as last replaced, plus every frame's rows
    after the tail's last (all revealed: the queue has drained), plus each move at a chunk
    boundary (rows into the archive and the racers' curves, the tail restarting there)."""

    def __init__(self, traj: Trajectories) -> None:
        self.traj = traj
        self.doc = Document()
        for model in (traj.source, traj.archive, traj.feed, *traj.losses, *traj.paths):
            self.doc.add_root(model)
        self.events: list = []
        self.doc.on_change(self.events.append)
        self.held: dict = {}  # model -> {column: array}, as the browser holds it

    def data(self, model) -> dict[str, np.ndarray]:
        return self.held.get(model, {"step": np.zeros(0)})

    @property
    def tail(self) -> dict[str, np.ndarray]:
        return self.data(self.traj.source)

    def sync(self) -> None:
        for e in self.events:
            if isinstance(e, ColumnDataChangedEvent):  # a replacement
                self.held[e.model] = {k: np.asarray(v, dtype=float) for k, v in e.model.data.items()}
            elif isinstance(e, ColumnsStreamedEvent):
                assert e.model is self.traj.feed, "only the feed is streamed: the browser moves the rest"
                self._fed(e.data)
        self.events.clear()

    def _append(self, model, cols: dict) -> None:
        held = self.data(model)
        self.held[model] = {k: np.concatenate([held.get(k, np.zeros(0)), v]) for k, v in cols.items()}

    def _fed(self, cell: dict) -> None:
        names = list(self.tail)
        block = np.frombuffer(base64.b64decode(cell["rows"][0]), dtype="<f8").reshape(-1, len(names))
        col = {name: block[:, c] for c, name in enumerate(names)}
        (base,) = cell["base"]
        if base < 0:  # a frame: its rows after the tail's last
            last = self.tail["step"][-1] if len(self.tail["step"]) else -1
            fresh = col["step"] > last
            self._append(self.traj.source, {k: v[fresh] for k, v in col.items()})
            return
        lo = int(col["step"][0])
        self._append(self.traj.archive, {k: v[: base - lo + 1] for k, v in col.items()})
        keep = np.frombuffer(base64.b64decode(cell["keep"][0]), dtype="<i4").tolist()
        racers, p = keep[0], 1
        lists = []
        for _ in range(2 * racers):
            n = keep[p]
            lists.append(keep[p + 1 : p + 1 + n])
            p += 1 + n
        for i in range(racers):
            for model, cols, rows in ((self.traj.paths[i], ("step", f"x{i}", f"y{i}", f"loss{i}", f"lr{i}"), lists[i]),
                                      (self.traj.losses[i], ("step", f"gap{i}"), lists[racers + i])):  # fmt: skip
                at = []
                for r in rows:
                    at += [None, -r - 1] if r < 0 else [r]
                self._append(
                    model, {k: np.array([np.nan if r is None else col[k][r - lo] for r in at]) for k in cols}
                )
        self.held[self.traj.source] = {k: v[base - lo :] for k, v in col.items()}

    def joined(self) -> dict[str, np.ndarray]:
        """The archive's rows, then the tail's without the row they share."""
        self.sync()
        head = self.data(self.traj.archive)
        out = {}
        for name in self.traj.columns:
            a, t = head.get(name, np.zeros(0)), self.tail[name]
            out[name] = np.concatenate([a, t[1:]]) if len(a) else t
        return out


def check(traj: Trajectories, k: int, page: Browser) -> None:
    rows = page.joined()
    for name, col in traj.columns.items():
        np.testing.assert_array_equal(rows[name], col[: k + 1], err_msg=name)
    assert len(page.tail["step"]) <= CHUNK + 1
    archive = page.data(traj.archive)
    if len(archive["step"]):
        assert archive["step"][-1] == page.tail["step"][0]  # the halves meet
    check_paths(traj, [page.data(p) for p in traj.paths])
    check_losses(traj, [page.data(c) for c in traj.losses])


def check_losses(traj: Trajectories, held: list | None = None) -> None:
    """Each racer's archived loss curve (as the page holds it, or as the server last sent it): the
    race's own rows, meeting the tail, every chunk edge, and every row it leaves out within the
    tolerance (in decades) of the line drawn through the kept ones."""
    base = traj.base
    for i, data in enumerate(held or [c.data for c in traj.losses]):
        rows = np.asarray(data["step"], dtype=int)
        if base == 0:
            assert len(rows) == 0
            continue
        assert rows[0] == 0 and rows[-1] == base
        assert set(range(0, base + 1, CHUNK)) <= set(rows.tolist())
        np.testing.assert_array_equal(data[f"gap{i}"], traj.columns[f"gap{i}"][rows])
        logs = np.log10(traj.columns[f"gap{i}"][: base + 1])
        drawn = np.interp(np.arange(base + 1), rows, logs[rows])
        assert np.max(np.abs(drawn - logs)) <= traj.loss_tol * (1 + 1e-9), f"racer {i}"


def check_paths(traj: Trajectories, held: list | None = None) -> None:
    """Each racer's archived path (as the page holds it, or as the server last sent it): the race's
    own rows in order, from the start, the same however the archive grew (moves or a replacement),
    and every iterate up to the tail within PATH_TOL (of the domain) of the line drawn."""
    base = traj.base
    sx, sy = traj.scale
    for i, data in enumerate(held or [p.data for p in traj.paths]):
        steps = np.asarray(data["step"], dtype=float)
        if base == 0:
            assert len(steps) == 0
            continue
        whole = traj._path(i, 0, base)  # what a replacement sends
        for name, col in whole.items():
            np.testing.assert_array_equal(np.asarray(data[name], dtype=float), col, err_msg=name)
        gaps = np.isnan(steps)
        rows = steps[~gaps].astype(int)
        assert rows[0] == 0 and not gaps[0] and rows[-1] <= base
        assert np.all(np.diff(rows) > 0)
        assert not np.any(gaps[1:] & gaps[:-1])  # a break is one row of NaN
        for name in ("x", "y", "loss", "lr"):
            np.testing.assert_array_equal(np.asarray(data[f"{name}{i}"])[~gaps],
                                          traj.columns[f"{name}{i}"][rows])  # fmt: skip
        x, y = traj.columns[f"x{i}"][: base + 1] / sx, traj.columns[f"y{i}"][: base + 1] / sy
        xs, ys = np.asarray(data[f"x{i}"]) / sx, np.asarray(data[f"y{i}"]) / sy
        far = distance_to_polyline(x, y, xs, ys, lone_points=False)
        assert np.all(far <= PATH_TOL * (1 + 1e-9)), f"racer {i}: an iterate {far.max():.2e} from the line"


@settings(max_examples=40, deadline=None)
@given(
    moves=st.lists(st.tuples(st.sampled_from(["advance", "show"]), st.integers(0, STEPS + 5)), max_size=25)
)
def test_sources_hold_exactly_rows_up_to_the_shown_step(result, moves):
    traj = Trajectories()
    traj.load(result)
    page = Browser(traj)
    traj.show(0)
    check(traj, 0, page)
    for how, k in moves:
        getattr(traj, how)(k)
        check(traj, min(k, STEPS), page)


def test_playing_streams_the_feed_and_moves_the_archive_once_per_chunk(result):
    traj = Trajectories()
    traj.load(result)
    page = Browser(traj)
    traj.show(0)
    page.sync()
    events = []
    page.doc.on_change(events.append)  # what a session would send to the browser
    frames = [*range(4, STEPS, 4), STEPS]
    for k in frames:
        traj.advance(k)
        page.sync()
    # One message per frame, and only the feed changes: a frame's rows, or at a chunk boundary the
    # move the browser makes (views/reveal.py), each one base64 cell inline in the message's JSON;
    # the feed keeps only the latest.
    assert len(events) == len(frames)
    assert all(isinstance(e, ColumnsStreamedEvent) and e.model is traj.feed for e in events)
    assert all(e.rollover == 1 and isinstance(e.data["rows"][0], str) for e in events)
    moves = [e for e in events if e.data["base"][0] >= 0]
    assert [e.data["base"][0] for e in moves] == list(range(CHUNK, STEPS + 1, CHUNK))
    (cell,) = events[-1].data["rows"]
    assert len(base64.b64decode(cell)) == 8 * (STEPS - frames[-2]) * len(traj.columns)
    check(traj, STEPS, page)


def test_a_jump_back_reaches_the_page(result):
    """After frames, showing the step the tail was last replaced at: the server's copy of the tail
    has not changed, but the page's has (it revealed the frames), and the replacement reaches it."""
    traj = Trajectories()
    traj.load(result)
    page = Browser(traj)
    traj.show(0)
    traj.advance(3)
    page.sync()
    assert page.tail["step"].tolist() == [0, 1, 2, 3]
    traj.show(0)
    page.sync()
    assert page.tail["step"].tolist() == [0]
    check(traj, 0, page)


def test_without_chunks_everything_stays_in_one_source(result):
    traj = Trajectories(chunk=None)
    traj.load(result)
    traj.show(STEPS)
    assert len(traj.archive.data["step"]) == 0
    assert len(traj.source.data["step"]) == STEPS + 1


def test_a_settled_racer_archives_few_points_and_a_restless_one_the_pixels_it_covers():
    # adam settles at the bowl's minimum; lion keeps jumping lr per coordinate around it forever,
    # over the same few segments: four times the race costs it no more drawn points.
    drawn = []
    for steps in (STEPS, 4 * STEPS):
        res = optimizers.race("quadratic", [{"optimizer": "adam", "lr": 0.1}, {"optimizer": "lion", "lr": 0.05}],
                              steps=steps)  # fmt: skip
        traj = Trajectories()
        traj.load(res)
        traj.show(steps)
        check_paths(traj)
        drawn.append([len(p.data["step"]) for p in traj.paths])
        if steps == STEPS:
            # Their loss curves: adam's falls smoothly and then sits on the floor.
            check_losses(traj)
            assert len(traj.losses[0].data["step"]) < traj.base // 4
    (adam, lion), (adam4, lion4) = drawn
    assert adam < STEPS // 10 and adam4 < adam + 20
    assert lion < STEPS // 3
    assert lion4 == lion


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


def test_a_race_shown_before_its_first_chunk_computes_no_lighter_curves(result):
    # Most slider moves happen before a race has filled its first chunk: the archive is empty
    # then, and its lighter curves (the costly part of a recompute) wait until it is not.
    traj = Trajectories()
    traj.load(result)
    page = Browser(traj)
    traj.show(CHUNK - 1)
    assert traj.kept == [] and traj.loss_kept == []
    traj.advance(CHUNK + 3)  # the first move needs them
    assert len(traj.kept) == len(traj.paths) == 2
    check(traj, CHUNK + 3, page)
