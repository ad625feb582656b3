"""The export workers (optirace/export/worker.py): real spawned processes rendering real files.

One export per session, bounded queues, the time limit, cancelling, idle workers leaving, the
lower priority, and nothing left on disk by a refused, timed-out or cancelled export. The app's
Export menu on top of them, and SIGTERM during `optirace export`, are here too."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from optirace.export import Options, export
from optirace.export.scene import state_from_scene
from optirace.export.worker import ExportError, ExportPool, Limits

ROOT = Path(__file__).resolve().parents[1]
SCENE = {
    "surface": "rosenbrock",
    "racers": ["adam:lr=0.05", "sgd:lr=0.001,momentum=0.9"],
    "steps": 40,
    "step": 17,
}
# Long enough to still be rendering while a test looks at it: 1080p, 5000 steps, 300 frames.
LONG = {"surface": "rosenbrock", "racers": ["adam:lr=0.02", "sgd:lr=0.001,momentum=0.9"], "steps": 5000}
FULL_HD = Options(size=(1920, 1080))


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _running(job, timeout: float = 120) -> None:
    """Wait until the worker has drawn frames of the job."""
    assert _until(lambda: job.fraction > 0 or job.done(), timeout), "the export never started"
    assert not job.done(), job.future.exception()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("optirace-export-"))


@pytest.fixture
def tmpdir_for_exports(tmp_path, monkeypatch):
    """The server's temporary folder, where exports are written, made observable."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def pool():
    p = ExportPool(Limits(time_limit=120, queue=1, workers=1, idle=600))
    yield p
    p.close()


def test_a_worker_renders_what_the_command_renders(pool, tmpdir_for_exports):
    job = pool.submit("tab-1", SCENE, "png", Options(size=(320, 180)))
    data, name, description = job.result(180)
    assert name == "optirace-rosenbrock.png"
    assert description.startswith("optirace-rosenbrock.png (still picture, 320x180, step 17")
    assert job.fraction == 1.0
    direct = tmpdir_for_exports / "direct.png"
    export(state_from_scene(SCENE), direct, Options(size=(320, 180)))
    got = np.asarray(Image.open(BytesIO(data)).convert("RGB"))
    np.testing.assert_array_equal(got, np.asarray(Image.open(direct).convert("RGB")))
    assert _leftovers(tmpdir_for_exports) == []


def test_workers_are_spawned_and_run_at_a_lower_priority(pool):
    pool.submit("tab-1", SCENE, "png", Options(size=(64, 36))).result(180)
    (pid,) = pool.pids()["still"]
    # spawn, not fork: a fresh interpreter started by multiprocessing's spawn entry point.
    assert b"multiprocessing.spawn" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    threads = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    assert len(threads) > 1  # JAX and friends run threads of their own: every one is niced
    assert all(os.getpriority(os.PRIO_PROCESS, t) >= ours + 2 for t in threads)


def test_one_export_per_session_and_a_bounded_queue_per_lane(pool, tmpdir_for_exports):
    first = pool.submit("tab-1", LONG, "gif", FULL_HD)
    try:
        with pytest.raises(ExportError, match="an export from this tab is still running"):
            pool.submit("tab-1", SCENE, "png")
        second = pool.submit("tab-2", LONG, "gif", FULL_HD)  # the lane's one waiting place
        assert second.ahead() == 1
        with pytest.raises(ExportError, match="the server is busy with other exports; please try again"):
            pool.submit("tab-3", LONG, "gif", FULL_HD)
        _running(first)
        # Stills have a lane of their own: a picture does not wait behind the animations (it is
        # done while the first animation still renders, and the second still waits). How fast it
        # is, is the export benchmark's to say (benchmarks/export.py).
        still = pool.submit("tab-3", SCENE, "png", Options(size=(640, 360)))
        still.result(60)
        assert not first.done() and second.ahead() == 1
        second.cancel("the tab was closed")
        with pytest.raises(ExportError, match="Not exported: the tab was closed"):
            second.result(5)
        assert not first.done()  # a waiting job leaves without touching the one rendering
    finally:
        first.cancel("the test is over")
    with pytest.raises(ExportError):
        first.result(30)
    assert _leftovers(tmpdir_for_exports) == []
    # tab-1's export ended, so tab-1 may export again.
    pool.submit("tab-1", SCENE, "png", Options(size=(64, 36))).result(60)


def test_cancelling_stops_the_worker_and_leaves_no_file(pool, tmpdir_for_exports):
    job = pool.submit("tab-1", LONG, "gif", FULL_HD)
    _running(job)
    assert any(p.is_dir() for p in tmpdir_for_exports.iterdir())  # it is being written there
    pid = job.worker_pid
    job.cancel("the tab was closed")
    with pytest.raises(ExportError, match="Not exported: the tab was closed"):
        job.result(30)
    assert _until(lambda: not _alive(pid), 10), "the worker went on rendering a cancelled export"
    assert _leftovers(tmpdir_for_exports) == []


def test_a_refused_export_leaves_no_file_and_keeps_its_worker(pool, tmpdir_for_exports):
    job = pool.submit("tab-1", SCENE, "mp4", Options(size=(321, 181)))
    with pytest.raises(ExportError, match="MP4 .* needs an even width and height"):
        job.result(120)
    assert _leftovers(tmpdir_for_exports) == []
    assert pool.pids()["animation"]


def test_the_time_limit_stops_an_export_with_a_clear_message(tmpdir_for_exports):
    pool = ExportPool(Limits(time_limit=5, queue=0, workers=1, idle=600))
    try:
        # A tiny export of the same race first: the worker has then compiled it, so the limit meets
        # the long export part way through its frames even on a busy machine.
        pool.submit("tab-1", LONG, "gif", Options(size=(64, 36), duration=0.1)).result(180)
        job = pool.submit("tab-1", LONG, "gif", FULL_HD)
        with pytest.raises(ExportError) as info:
            job.result(180)
        assert str(info.value) == (
            "Not exported: it took longer than this server's limit of 5 s; "
            "try a smaller size or a shorter animation"
        )
        assert 0 < job.fraction < 1  # it was stopped part way, not refused up front
        assert _until(lambda: not _alive(job.worker_pid), 10)
        assert _leftovers(tmpdir_for_exports) == []
    finally:
        pool.close()


def test_a_server_stopping_cancels_its_exports_and_leaves_no_file(tmpdir_for_exports):
    pool = ExportPool(Limits(queue=1))
    running = pool.submit("tab-1", LONG, "gif", FULL_HD)
    waiting = pool.submit("tab-2", LONG, "gif", FULL_HD)
    _running(running)
    pool.close()
    for job in (running, waiting):
        with pytest.raises(ExportError, match="Not exported: the server is shutting down"):
            job.result(30)
    assert not _alive(running.worker_pid)
    assert _leftovers(tmpdir_for_exports) == []


def test_an_idle_worker_leaves(tmpdir_for_exports):
    pool = ExportPool(Limits(idle=1))
    try:
        pool.warm()
        assert _until(lambda: pool.pids()["still"] and pool.pids()["animation"], 5)
        pids = pool.pids()["still"] + pool.pids()["animation"]
        # Warm-up (imports, a first race and picture) takes seconds; idle time counts after it.
        assert _until(lambda: not any(_alive(p) for p in pids), 120), "idle workers kept running"
        assert _until(lambda: pool.pids() == {"still": [], "animation": []}, 10), pool.pids()
        # A later export starts a worker again.
        pool.submit("tab-1", SCENE, "png", Options(size=(64, 36))).result(180)
    finally:
        pool.close()


def test_limits_come_from_the_environment():
    env = {"OPTIRACE_EXPORT_TIME_LIMIT": "90", "OPTIRACE_EXPORT_QUEUE": "0", "OPTIRACE_EXPORT_WORKERS": "2",
           "OPTIRACE_EXPORT_IDLE": "30"}  # fmt: skip
    assert Limits.from_env(env) == Limits(time_limit=90, queue=0, workers=2, idle=30)
    assert Limits.from_env({}) == Limits()
    assert Limits().time_limit == 300 and Limits().queue == 4
    for name, bad in [("OPTIRACE_EXPORT_TIME_LIMIT", "soon"), ("OPTIRACE_EXPORT_TIME_LIMIT", "inf"),
                      ("OPTIRACE_EXPORT_QUEUE", "-1"), ("OPTIRACE_EXPORT_WORKERS", "0"),
                      ("OPTIRACE_EXPORT_WORKERS", "1.5")]:  # fmt: skip
        with pytest.raises(ValueError, match=name):
            Limits.from_env({name: bad})


# ----- the Export menu on top of the pool ------------------------------------------------------------------
@pytest.fixture
def menu_pool(monkeypatch):
    import optirace.export.worker as worker

    pool = ExportPool(Limits(time_limit=120, queue=0, workers=1, idle=600))
    monkeypatch.setattr(worker, "_POOL", pool)
    yield pool
    pool.close()


def _menu(scene):
    from optirace.app.export_menu import ExportMenu

    return ExportMenu(state_from_scene(scene))


def test_the_menu_refuses_a_second_export_while_one_runs(menu_pool):
    menu = _menu(LONG)
    menu.size.value = "1920x1080"

    async def click_twice():
        first = asyncio.ensure_future(menu._on_export(None))
        while menu._job is None or menu._job.fraction == 0:
            await asyncio.sleep(0.1)
        job = menu._job
        await menu._on_export(None)  # what a page sends even though its button is disabled
        refused = (menu.notice.text, menu._job is job, menu.button.disabled, menu.progress.visible)
        job.cancel("the test is over")
        await first
        return refused, job

    with ThreadPoolExecutor(1) as pool:
        (notice, same_job, disabled, progress), job = pool.submit(asyncio.run, click_twice()).result(180)
    assert notice == "One export at a time: this tab's export is still running."
    assert same_job and disabled and progress  # the running export goes on, untouched
    assert menu_pool.running(job.owner) is None
    assert "Not exported: the test is over" in menu.status.text and not menu.button.disabled


def test_the_menu_says_busy_when_the_queue_is_full(menu_pool):
    other = menu_pool.submit("another tab", LONG, "gif", FULL_HD)
    try:
        menu = _menu(SCENE)
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, menu._on_export(None)).result(60)
        assert "the server is busy with other exports; please try again in a minute" in menu.status.text
        assert not menu.download.visible and not menu.button.disabled and menu._job is None
    finally:
        other.cancel("the test is over")


# ----- SIGTERM during `optirace export` ------------------------------------------------------------------
def test_sigterm_during_the_command_removes_its_partial_file(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "race.gif"
    proc = subprocess.Popen(
        [sys.executable, "-m", "optirace.cli", "export", "--steps", "5000", "--size", "1920x1080",
         "--out", str(out)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        # The GIF streams into a hidden file beside the target: wait until frames are in it.
        assert _until(lambda: any(p.stat().st_size > 100_000 for p in tmp_path.iterdir()), 120), (
            proc.poll(),
            proc.stderr.read1() if proc.poll() is not None else b"",
        )
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    finally:
        proc.kill()
    assert code == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []
