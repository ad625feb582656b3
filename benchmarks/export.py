"""Export benchmark: `python benchmarks/export.py`.

Times the issue's case, a 300-step race of 4 racers on Rosenbrock written as a GIF and as an MP4 at
1280x720 with the default timing (25 fps, one frame per step: 300 frames, 12 s), against the
target of 20 s each on a 2-core machine. Each time is the whole `export()` call, as `optirace
export` runs it after the race: drawing the figure, every frame, encoding, writing. The race itself
(the same for both) is timed apart. Prints one table, and the ratio of each time to the target.

    --repeat N   runs per format (the best is reported; default 2)
    --size WxH   another picture size (default 1280x720)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).absolute().parent.parent))

RACERS = ["adam:lr=0.05", "sgd:lr=0.001,momentum=0.9", "rmsprop:lr=0.01", "nag:lr=0.001,momentum=0.9"]
TARGET_S = 20.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--size", default="1280x720")
    args = parser.parse_args(argv)

    from optirace.export import Options, export
    from optirace.export.options import parse_size
    from optirace.export.scene import state_from_scene

    t0 = time.perf_counter()
    state = state_from_scene({"surface": "rosenbrock", "racers": RACERS, "steps": 300})
    race_s = time.perf_counter() - t0
    options = Options(size=parse_size(args.size))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("gif", "mp4"):
            best = float("inf")
            for _ in range(args.repeat):
                t = time.perf_counter()
                written = export(state, Path(tmp) / f"race.{fmt}", options)
                best = min(best, time.perf_counter() - t)
            rows.append((fmt, best, written))
    w, h = options.size
    print(f"export benchmark: rosenbrock, {len(RACERS)} racers, 300 steps, {w}x{h}, best of {args.repeat}")
    print(f"race (first call, compiles included): {race_s:.2f} s")
    print(f"{'format':<7}{'frames':>7}{'seconds':>9}{'ms/frame':>10}{'MB':>7}{'target':>8}{'ratio':>7}")
    for fmt, secs, written in rows:
        print(
            f"{fmt:<7}{written.frames:>7}{secs:>9.2f}{1000 * secs / written.frames:>10.1f}"
            f"{written.bytes / 1e6:>7.2f}{TARGET_S:>8.0f}{secs / TARGET_S:>7.2f}"
        )
    return 0 if all(secs <= TARGET_S for _, secs, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
