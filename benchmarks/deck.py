"""Deck benchmark: `python benchmarks/deck.py`.

Times `optirace deck` on every shipped lesson (13 at the time of writing) as an offline HTML deck
and as a PDF, against the target of 60 s for a 12-lesson deck on a 2-core machine. Each time is the
whole `write_deck()` call in a fresh process, as the command runs it: reading and checking the
lessons, racing them (compiling each optimizer's program once), describing the figures, rendering
them (Bokeh for the HTML, matplotlib for the PDF), writing the file. Prints wall time and the
process's CPU time (on a shared machine the wall time includes waiting for a core), the file's size,
and the ratio of the wall time to the target.

    --format html|pdf|both   (default both)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).absolute().parent.parent
TARGET_S = 60.0

ONE = """
import json, os, sys, time
t0, c0 = time.perf_counter(), time.process_time()
from optirace.export.deck import write_deck
path, n = write_deck(sys.argv[1])
print(json.dumps({"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0, "lessons": n,
                  "bytes": os.path.getsize(path)}))
"""


def run(fmt: str, folder: Path) -> dict:
    out = folder / f"lecture.{fmt}"
    done = subprocess.run([sys.executable, "-c", ONE, str(out)], cwd=ROOT, capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)}, check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=["html", "pdf", "both"], default="both")
    args = parser.parse_args(argv)
    formats = ["html", "pdf"] if args.format == "both" else [args.format]
    print(f"{'deck':<6} {'lessons':>7} {'wall s':>8} {'cpu s':>8} {'MB':>7} {'wall/target':>12}")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in formats:
            r = run(fmt, Path(tmp))
            worst = max(worst, r["wall"] / TARGET_S)
            print(f"{fmt:<6} {r['lessons']:>7} {r['wall']:>8.1f} {r['cpu']:>8.1f} {r['bytes'] / 1e6:>7.2f} "
                  f"{r['wall'] / TARGET_S:>12.2f}")  # fmt: skip
    print(f"target: {TARGET_S:g} s per deck of 12 lessons; worst ratio {worst:.2f}")
    return 0 if worst <= 1 else 1


if __name__ == "__main__":
    sys.exit(main())
