"""The basin map (optirace/figures/basins.py): each cell's colour is where a single race from that
start ends, the grid is bounded, and the figure draws every category on both backends."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import holoviews as hv
import numpy as np
import pytest

import optimizers
from optirace.figures.basins import (
    DIVERGED,
    MAX_GRID,
    MIN_GRID,
    NO_MINIMUM,
    TAG,
    basin_map,
    basins_figure,
    check_grid,
    classify,
    minima_list,
    tolerance,
)
from surfaces import SURFACES

ROOT = Path(__file__).resolve().parents[1]

# (surface, racer, steps): four global minima; global and local minima; starts that reach no
# minimum within the budget and starts that diverge (measured: about 80% and 16% of Rosenbrock's).
CASES = [
    ("himmelblau", {"optimizer": "adam", "lr": 0.05}, 300),
    ("six_hump_camel", {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9}, 300),
    ("rosenbrock", {"optimizer": "sgd", "lr": 0.001, "momentum": 0.9}, 300),
]
# A handful of cells of the 16 x 16 grid (row = y index, column = x index): corners, edges, middle.
CELLS = [(0, 0), (0, 15), (15, 0), (15, 15), (3, 11), (8, 8), (12, 4), (6, 2), (10, 13), (1, 7)]


def _category(surface, racer, start, steps) -> str:
    """Where one race from `start` ends, decided here from the race alone: the name of the listed
    minimum within the tolerance of its final point, or diverged, or none."""
    res = optimizers.race(surface, [racer], start=start, steps=steps)
    if res.diverged_at[0] >= 0:
        return DIVERGED
    end = res.params[0, -1]
    tol = tolerance(SURFACES[surface])
    hits = [i for i, (p, _) in enumerate(minima_list(SURFACES[surface])) if np.linalg.norm(end - p) <= tol]
    assert len(hits) <= 1  # the tolerance is under half the distance between any two minima
    return str(hits[0]) if hits else NO_MINIMUM


@pytest.mark.parametrize(("surface", "racer", "steps"), CASES, ids=[c[0] for c in CASES])
def test_basin_colours_match_single_races_from_the_same_starts(surface, racer, steps):
    bmap = basin_map(surface, racer, grid=16, steps=steps)
    assert bmap.labels.shape == (16, 16)
    k = len(bmap.minima)
    seen = set()
    for i, j in CELLS:
        start = (bmap.xs[j], bmap.ys[i])  # row i is y, column j is x (as an image)
        want = _category(surface, racer, start, steps)
        got = int(bmap.labels[i, j])
        name = {k: NO_MINIMUM, k + 1: DIVERGED}.get(got, str(got))
        assert name == want, f"cell {(i, j)} from {start}: map says {bmap.names[got]!r}, the race {want!r}"
        seen.add(want)
    # The cells cover more than one outcome: the test tells basins apart, not one colour from itself.
    assert len(seen) >= 2, seen
    if surface == "six_hump_camel":
        local = [n for n, p in zip(bmap.names, bmap.shares(), strict=True) if "local minimum" in n and p > 0]
        assert local, "some starts end at a local minimum"
    if surface == "rosenbrock":
        assert {NO_MINIMUM, DIVERGED} <= seen


def test_the_grid_spans_the_domain_and_the_names_list_every_listed_minimum():
    s = SURFACES["six_hump_camel"]
    bmap = basin_map(s, "adam:lr=0.01", grid=16, steps=50)
    assert (bmap.xs[0], bmap.xs[-1]) == s.domain[0] and (bmap.ys[0], bmap.ys[-1]) == s.domain[1]
    assert len(bmap.names) == len(s.minima) + len(s.local_minima) + 2
    assert [n.split(":")[1].strip().split(" (")[0] for n in bmap.names[:-2]] == (
        ["global minimum"] * len(s.minima) + ["local minimum"] * len(s.local_minima)
    )
    assert bmap.names[-2:] == (NO_MINIMUM, DIVERGED)
    assert bmap.shares().sum() == pytest.approx(1.0)


def test_classify_takes_the_nearest_minimum_within_the_tolerance():
    s = SURFACES["himmelblau"]
    tol = tolerance(s)
    m = [p for p, _ in minima_list(s)]
    ends = np.array([m[2], (m[1][0] + 0.5 * tol, m[1][1]), (m[0][0] + 2 * tol, m[0][1]), (np.nan, np.nan),
                     (np.inf, 0.0)])  # fmt: skip
    assert classify(ends, s).tolist() == [2, 1, 4, 5, 5]


@pytest.mark.parametrize("grid", [MIN_GRID - 1, MAX_GRID + 1, 0, -5, 2.5, True, "128", None])
def test_a_grid_out_of_bounds_is_refused_with_the_bounds(grid):
    with pytest.raises(ValueError, match=f"use an integer from {MIN_GRID} to {MAX_GRID}"):
        check_grid(grid)
    with pytest.raises(ValueError, match="grid"):
        basin_map("himmelblau", "adam", grid=grid, steps=10)


def test_a_one_variable_surface_is_refused():
    with pytest.raises(ValueError, match="one variable"):
        basin_map("parabola", "adam", grid=16, steps=10)


def test_the_figure_draws_the_map_the_minima_and_a_legend_entry_per_category():
    bmap = basin_map("six_hump_camel", "sgd:lr=0.01,momentum=0.9", grid=32, steps=100)
    fig = basins_figure(bmap, start=(0.5, 0.25))
    bk = hv.render(fig, backend="bokeh")
    (image,) = [r for r in bk.renderers if TAG in r.tags]
    drawn = np.asarray(image.data_source.data["image"][0])
    assert drawn.shape == (32, 32)
    assert np.array_equal(drawn, bmap.labels)
    labels = [item.label.value for lg in bk.legend for item in lg.items]
    assert [t.rsplit(":", 1)[0] for t in labels if t != "start"] == list(bmap.names)
    assert bk.match_aspect  # equal data scales, as the surface panel
    mpl = hv.render(fig, backend="matplotlib")
    texts = [t.get_text() for t in mpl.axes[0].get_legend().get_texts()]
    assert [t.rsplit(":", 1)[0] for t in texts if t != "start"] == list(bmap.names)
    import matplotlib.pyplot as plt

    plt.close(mpl)


# --- the command ------------------------------------------------------------------------------------


def _optirace(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optirace.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def _is_png(path: Path) -> None:
    from PIL import Image

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert 10_000 < len(data) < 2_000_000, len(data)  # a picture with colour areas, not a blank or a dump
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (1280, 720)
        assert len(im.convert("RGB").getcolors(1_000_000)) > 10  # the map's colours, not one fill


def test_cli_writes_a_png_of_a_catalogue_surface(tmp_path):
    out = tmp_path / "map.png"
    run = _optirace("basins", "--surface", "himmelblau", "--racer", "adam:lr=0.05", "--grid", "32", "--steps",
                    "100", "--out", str(out))  # fmt: skip
    assert run.returncode == 0, run.stderr
    _is_png(out)
    assert "32x32 starts" in run.stdout and "1: global minimum (3, 2)" in run.stdout


def test_cli_writes_a_png_of_a_typed_formula(tmp_path):
    from optirace.cli import main

    out = tmp_path / "formula.png"
    # A double well: two estimated minima at x = -1 and x = 1, each the end of half the starts.
    rc = main(["basins", "--formula", "(x^2 - 1)^2 + y^2", "--domain", "-2,2,-1,1", "--racer", "sgd:lr=0.05",
               "--grid", "16", "--steps", "200", "--out", str(out)])  # fmt: skip
    assert rc == 0
    _is_png(out)


def test_cli_reports_the_formula_maps_shares(tmp_path, capsys):
    from optirace.cli import main

    rc = main(["basins", "--formula", "(x^2 - 1)^2 + y^2", "--domain", "-2,2,-1,1", "--racer", "sgd:lr=0.05",
               "--grid", "16", "--steps", "200", "--out", str(tmp_path / "f.svg")])  # fmt: skip
    assert rc == 0
    lines = capsys.readouterr().out.splitlines()
    shares = {line.split("%")[1].strip(): float(line.split("%")[0]) for line in lines if "%" in line}
    assert shares == {"1: estimated minimum (1, 0)": 50.0, "2: estimated minimum (-1, 0)": 50.0,
                      f"{NO_MINIMUM}": 0.0, DIVERGED: 0.0}  # fmt: skip
    assert (tmp_path / "f.svg").read_text().lstrip().startswith("<?xml")


def test_cli_writes_a_standalone_html_map(tmp_path):
    from optirace.cli import main

    out = tmp_path / "map.html"
    assert (
        main(["basins", "--surface", "himmelblau", "--grid", "16", "--steps", "20", "--out", str(out)]) == 0
    )
    page = out.read_text()
    assert TAG in page and "<script" in page
    assert not re.search(r'<(script|link)[^>]*(src|href)="https?:', page)  # BokehJS inline: nothing fetched


@pytest.mark.parametrize("grid", ["8", "15", "1025", "100000"])
def test_cli_refuses_a_grid_out_of_bounds_before_any_work(tmp_path, capsys, grid):
    from optirace.cli import main

    out = tmp_path / "map.png"
    rc = main(["basins", "--surface", "himmelblau", "--grid", grid, "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"optirace: error: grid = {grid} is not allowed; use an integer from 16 to 1024" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"--grid": "abc"}, "invalid int value: 'abc'"),
        ({"--out": "map.gif"}, "write a basin map as .png, .svg, .pdf, .html"),
        ({"--racer": ["adam", "sgd"]}, "a basin map is of one racer"),
        ({"--surface": "parabola"}, "a basin map needs a surface of two"),
        ({"--surface": None, "--formula": "x^"}, "--formula"),
        ({"--racer": "adam:lr=-1"}, "lr"),
    ],
)
def test_cli_refuses_bad_input_with_one_line(tmp_path, capsys, given, said):
    from optirace.cli import main

    flags = {"--surface": "himmelblau", "--steps": "10", "--out": "map.png", **given}
    argv = ["basins"]
    for flag, value in flags.items():
        for v in [] if value is None else [value] if isinstance(value, str) else value:
            argv += [flag, str(tmp_path / v) if flag == "--out" else v]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("optirace: error:") and said in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("module", "never"),
    [
        ("optirace.figures.basins", ("optirace.app", "optirace.export", "optirace.cli")),
        ("optirace.basins_cli", ("optirace.app",)),
    ],
)
def test_imports_run_one_way(module, never):
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    wrong = sorted(m for m in out.stdout.split() if any(m == n or m.startswith(n + ".") for n in never))
    assert wrong == [], f"{module} imports {wrong}"
