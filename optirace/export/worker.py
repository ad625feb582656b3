"""Exports rendered away from the server's sessions: worker processes at a lower CPU priority.

    job = export_pool().submit(owner, scene, "gif", Options(size=(1920, 1080)))
    job.fraction      # 0..1, for a progress bar
    job.result()      # (file bytes, file name, one-line description); raises ExportError
    job.cancel("the tab was closed")

A worker receives the scene JSON (optirace/export/scene.py) and the options, never live objects,
and renders them with `optirace.export.export`, the same call as `optirace export --scene`. Stills
(PNG, SVG, PDF) and animations (GIF, MP4, HTML) have lanes of their own, so a still never waits
behind a long animation; each lane has a fixed number of workers and a bounded queue. Workers are
started with `spawn`: forking a server whose JAX thread pools are running can deadlock the child.

Limits (environment variables, read when the first export is asked for):

    OPTIRACE_EXPORT_TIME_LIMIT   seconds one export may render                       (default 300)
    OPTIRACE_EXPORT_QUEUE        exports waiting per lane, beyond those rendering     (default 4)
    OPTIRACE_EXPORT_WORKERS      worker processes per lane                            (default 1)
    OPTIRACE_EXPORT_IDLE         seconds an unused worker stays warm before it exits  (default 300)

The file is written in a temporary folder that this process owns and removes whatever happens, so
a refused, failed, timed-out or cancelled export leaves nothing behind, even when its worker is killed.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .options import ANIMATED, Options, format_of

__all__ = ["ExportError", "Limits", "Job", "ExportPool", "export_pool", "lane_of"]

# A child of the app's logger, so the lines land in the server's log beside the sessions' own.
log = logging.getLogger("optirace.export")

# CPU priority of the workers (added niceness): the sessions' own work comes first, and a still,
# about a second of work that someone is waiting for, comes well before an animation.
NICE = {"still": 2, "animation": 10}
STARTUP_LIMIT = 120.0  # seconds a new worker may take to import and warm up
WARM_SCENE: dict = {}  # the app's opening figure: its racers are compiled before anyone waits
PROGRESS_EVERY = 0.1  # seconds between progress messages from a worker


class ExportError(ValueError):
    """An export the server will not do or did not finish; the message speaks to the user."""


def lane_of(fmt: str) -> str:
    return "animation" if fmt in ANIMATED else "still"


@dataclass(frozen=True)
class Limits:
    time_limit: float = 300.0
    queue: int = 4
    workers: int = 1
    idle: float = 300.0

    @classmethod
    def from_env(cls, environ: dict | None = None) -> Limits:
        env = os.environ if environ is None else environ
        d = cls()

        def number(name: str, default: float, whole: bool, least: float) -> Any:
            text = env.get(name, "").strip()
            if not text:
                return default
            try:
                value = int(text) if whole else float(text)
            except ValueError:
                value = None
            if value is None or not value >= least or value == float("inf"):
                kind = "a whole number" if whole else "a number of seconds"
                raise ValueError(f"{name}={text!r} is not {kind} of at least {least:g}")
            return value

        return cls(
            time_limit=number("OPTIRACE_EXPORT_TIME_LIMIT", d.time_limit, False, 1),
            queue=number("OPTIRACE_EXPORT_QUEUE", d.queue, True, 0),
            workers=number("OPTIRACE_EXPORT_WORKERS", d.workers, True, 1),
            idle=number("OPTIRACE_EXPORT_IDLE", d.idle, False, 1),
        )


# ----- the worker process ------------------------------------------------------------------------------
def _lower_priority(nice: int) -> None:
    """Nice every thread of this process: on Linux niceness is per thread, and imports may have
    started some (JAX, BLAS) before this runs."""
    os.nice(nice)
    target = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        tids = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        return
    for tid in tids:
        with contextlib.suppress(OSError):  # a thread that has ended meanwhile
            os.setpriority(os.PRIO_PROCESS, tid, max(target, os.getpriority(os.PRIO_PROCESS, tid)))


def _serve(conn, nice: int) -> None:
    """A worker's life: warm up, then render one job at a time until told to stop or orphaned."""
    _lower_priority(nice)
    from . import export
    from .scene import state_from_scene

    with tempfile.TemporaryDirectory(prefix="optirace-warm-") as tmp:
        # Imports, the first race's compile and matplotlib's font set-up, paid before a user waits.
        export(state_from_scene(WARM_SCENE), Path(tmp) / "warm.png", Options(size=(160, 90)))
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the server is gone
        if message is None:
            return
        job_id, scene, options, path = message
        last = [0.0]

        def progress(done: int, total: int, job_id=job_id, last=last) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY or done >= total:
                last[0] = now
                conn.send(("progress", job_id, done, total))  # raises once the server is gone

        try:
            written = export(state_from_scene(scene), path, options, progress)
        except (ValueError, OSError, RuntimeError) as e:
            conn.send(("error", job_id, str(e)))
        else:
            name = Path(path).name
            conn.send(("done", job_id, written.describe().replace(f"wrote {written.path} ", f"{name} ")))


class _Worker:
    def __init__(self, nice: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, nice), daemon=True, name="optirace-export")
        self.process.start()
        child.close()
        self.ready = False
        self.idle_since = time.monotonic()

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(5)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(3)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


# ----- the server's side -------------------------------------------------------------------------------
class Job:
    """One export asked for by one session: queued, then rendered by a worker."""

    _ids = itertools.count(1)

    def __init__(self, lane: _Lane, owner: Any, scene: dict, fmt: str, options: Options) -> None:
        self.id = next(self._ids)
        self.lane, self.owner, self.scene, self.fmt, self.options = lane, owner, scene, fmt, options
        self.name = f"optirace-{scene.get('surface', 'race')}.{fmt}"
        self.fraction = 0.0
        self.started: float | None = None
        self.worker_pid: int | None = None
        self.future: Future = Future()
        self._cancel = threading.Event()
        self.cancel_reason = ""

    def done(self) -> bool:
        return self.future.done()

    def result(self, timeout: float | None = None) -> tuple[bytes, str, str]:
        return self.future.result(timeout)

    def ahead(self) -> int:
        """Exports before this one in its lane (rendering or waiting); 0 once it renders."""
        return self.lane.ahead(self)

    def cancel(self, reason: str = "cancelled") -> None:
        if self.done():
            return
        self.cancel_reason = reason
        self._cancel.set()
        self.lane.drop(self)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def _finish(self, result: tuple | None = None, error: str | None = None) -> None:
        if self.future.done():
            return
        if error is None:
            self.future.set_result(result)
        else:
            self.future.set_exception(ExportError(error))


class _Lane:
    def __init__(self, name: str, limits: Limits) -> None:
        self.name, self.limits = name, limits
        self.queue: deque[Job] = deque()
        self.running = 0
        self.cond = threading.Condition()
        self.closed = False
        self.slots = [_Slot(self) for _ in range(limits.workers)]

    def full(self) -> bool:
        return len(self.queue) + self.running >= self.limits.workers + self.limits.queue

    def put(self, job: Job) -> None:
        with self.cond:
            self.queue.append(job)
            self.cond.notify()

    def ahead(self, job: Job) -> int:
        with self.cond:
            if job not in self.queue:
                return 0
            return self.queue.index(job) + self.running

    def drop(self, job: Job) -> None:
        """A cancelled job still waiting: out of the queue at once (a running one is the slot's)."""
        with self.cond:
            if job in self.queue:
                self.queue.remove(job)
            else:
                return
        job._finish(error=f"Not exported: {job.cancel_reason}")

    def warm(self) -> None:
        with self.cond:
            for slot in self.slots:
                slot.want_warm = True
            self.cond.notify_all()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            waiting = list(self.queue)
            self.queue.clear()
            self.cond.notify_all()
        for job in waiting:
            job._finish(error="Not exported: the server is shutting down")
        for slot in self.slots:
            if slot.job is not None:
                slot.job.cancel("the server is shutting down")
        for slot in self.slots:
            slot.thread.join(10)

    def pids(self) -> list[int]:
        return [s.worker.pid for s in self.slots if s.worker is not None and s.worker.alive()]


class _Slot:
    """One worker process and the thread that feeds it jobs, watches its clock and its health."""

    def __init__(self, lane: _Lane) -> None:
        self.lane = lane
        self.worker: _Worker | None = None
        self.job: Job | None = None
        self.want_warm = False
        self.thread = threading.Thread(target=self._loop, name=f"optirace-export-{lane.name}", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        lane = self.lane
        while True:
            job = None
            with lane.cond:
                while not lane.queue and not lane.closed:
                    if self.want_warm and self.worker is None:
                        break
                    wait = None
                    if self.worker is not None:
                        self._note_ready()
                        wait = self.worker.idle_since + lane.limits.idle - time.monotonic()
                        if wait <= 0:
                            break
                    lane.cond.wait(wait)
                if lane.closed:
                    break
                if lane.queue:
                    job = lane.queue.popleft()
                    lane.running += 1
                else:
                    warm = self.worker is None
                    self.want_warm = False
            if job is None:
                if warm:
                    self._start()
                else:
                    log.info("export worker %s idle for %g s: stopped", self.worker.pid, lane.limits.idle)
                    self.worker.stop()
                    self.worker = None
                continue
            self.job = job
            try:
                self._run(job)
            except Exception as e:  # noqa: BLE001 (a slot thread must outlive any one job)
                log.exception("export worker failed")
                self._discard()
                job._finish(error=f"Not exported: the export failed ({e})")
            finally:
                self.job = None
                with lane.cond:
                    lane.running -= 1
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

    def _start(self) -> None:
        if self.worker is None or not self.worker.alive():
            self._discard()
            self.worker = _Worker(NICE[self.lane.name])

    def _discard(self) -> None:
        if self.worker is not None:
            self.worker.kill()
            self.worker = None

    def _note_ready(self) -> None:
        """An idle worker's clock starts once it is warm, not when it was started."""
        w = self.worker
        try:
            if not w.ready and w.conn.poll(0):
                w.ready = w.conn.recv()[0] == "ready"
                w.idle_since = time.monotonic()
        except (EOFError, OSError):
            pass
        if not w.ready and w.alive():
            w.idle_since = time.monotonic()

    def _wait_ready(self, job: Job) -> bool:
        w = self.worker
        deadline = time.monotonic() + STARTUP_LIMIT
        while not w.ready:
            if job.cancelled or time.monotonic() > deadline or not w.alive():
                return False
            try:
                if w.conn.poll(0.1):
                    w.ready = w.conn.recv()[0] == "ready"
            except (EOFError, OSError):
                return False
        return True

    def _run(self, job: Job) -> None:
        if job.cancelled:
            job._finish(error=f"Not exported: {job.cancel_reason}")
            return
        self._start()
        if not self._wait_ready(job):
            if job.cancelled:
                reason = job.cancel_reason  # the worker goes on warming up for the next job
            else:
                reason = "the export worker did not start"
                self._discard()
            job._finish(error=f"Not exported: {reason}")
            return
        w = self.worker
        tmp = Path(tempfile.mkdtemp(prefix="optirace-export-"))
        outcome: tuple = (None, "Not exported: the export failed")
        try:
            job.started, job.worker_pid = time.monotonic(), w.pid
            w.conn.send((job.id, job.scene, job.options, str(tmp / job.name)))
            log.info("export %d (%s) started in worker %s", job.id, job.fmt, w.pid)
            outcome = self._watch(job, w, tmp / job.name)
        finally:
            # Removed before the job is reported done: whoever waits for it finds nothing left.
            shutil.rmtree(tmp, ignore_errors=True)
            if self.worker is not None:
                self.worker.idle_since = time.monotonic()
            job._finish(*outcome)

    def _watch(self, job: Job, w: _Worker, path: Path) -> tuple[tuple | None, str | None]:
        """Follow a job to its end: (result, None) or (None, message for the user)."""
        limit = self.lane.limits.time_limit
        deadline = job.started + limit
        while True:
            if job.cancelled:
                self._discard()
                log.info("export %d cancelled (%s): worker %s stopped", job.id, job.cancel_reason, w.pid)
                return None, f"Not exported: {job.cancel_reason}"
            if time.monotonic() > deadline:
                self._discard()
                log.info("export %d over the time limit of %g s: worker %s stopped", job.id, limit, w.pid)
                return None, (f"Not exported: it took longer than this server's limit of {limit:g} s; "
                              "try a smaller size or a shorter animation")  # fmt: skip
            try:
                if not w.conn.poll(0.1):
                    if not w.alive():
                        raise EOFError
                    continue
                kind, job_id, *rest = w.conn.recv()
            except (EOFError, OSError):
                self._discard()
                log.warning("export %d: worker %s ended unexpectedly", job.id, w.pid)
                return None, "Not exported: the export stopped unexpectedly; please try again"
            if job_id != job.id:
                continue
            if kind == "progress":
                done, total = rest
                job.fraction = done / max(total, 1)
            elif kind == "error":
                return None, f"Not exported: {rest[0]}"
            elif kind == "done":
                job.fraction = 1.0
                return (path.read_bytes(), job.name, rest[0]), None


class ExportPool:
    """The process's export lanes: one export per owner (a session), bounded queues, time limits."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits.from_env()
        self.lanes = {name: _Lane(name, self.limits) for name in NICE}
        self._active: dict[Any, Job] = {}
        self._lock = threading.Lock()
        # A server stopping (SIGTERM, Ctrl-C) cancels its exports through their slots, which
        # remove their folders before the interpreter goes.
        atexit.register(self.close)

    def submit(self, owner: Any, scene: dict, fmt: str, options: Options | None = None) -> Job:
        """Queue an export of `scene` as `fmt` for `owner`; ExportError if it cannot be taken now."""
        format_of(f"race.{fmt}")  # ValueError for an unknown format
        lane = self.lanes[lane_of(fmt)]
        with self._lock:
            current = self._active.get(owner)
            if current is not None and not current.done():
                raise ExportError(
                    "Not exported: an export from this tab is still running; wait for it to finish"
                )
            with lane.cond:
                if lane.full():
                    raise ExportError(
                        "Not exported: the server is busy with other exports; please try again in a minute"
                    )
                job = Job(lane, owner, dict(scene), fmt, options or Options())
                self._active[owner] = job
                job.future.add_done_callback(lambda _f, job=job: self._forget(job))
                lane.put(job)
        return job

    def _forget(self, job: Job) -> None:
        with self._lock:
            if self._active.get(job.owner) is job:
                del self._active[job.owner]

    def running(self, owner: Any) -> Job | None:
        with self._lock:
            job = self._active.get(owner)
            return job if job is not None and not job.done() else None

    def cancel(self, owner: Any, reason: str) -> None:
        job = self.running(owner)
        if job is not None:
            job.cancel(reason)

    def warm(self) -> None:
        """Start the workers that are not running, so the first export does not wait for one."""
        for lane in self.lanes.values():
            lane.warm()

    def pids(self) -> dict[str, list[int]]:
        return {name: lane.pids() for name, lane in self.lanes.items()}

    def close(self) -> None:
        atexit.unregister(self.close)
        for lane in self.lanes.values():
            lane.close()


_POOL: ExportPool | None = None
_POOL_LOCK = threading.Lock()


def _forget_pool_in_child() -> None:
    """A forked server process (`--num-procs`) gets none of the pool's threads or workers: it
    makes a pool of its own, and leaves the parent's alone at exit."""
    global _POOL, _POOL_LOCK
    if _POOL is not None:
        atexit.unregister(_POOL.close)
    _POOL, _POOL_LOCK = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_in_child)


def export_pool() -> ExportPool:
    """This process's pool, made on first use with the limits from the environment."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ExportPool()
        return _POOL
