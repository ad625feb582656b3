"""Stills of the views (optirace/export/view.py): a dark still's text is light, and a key beside a
wide plot stays inside the picture."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest
from matplotlib.colors import to_rgb
from PIL import Image

from optirace.export.view import write_view
from optirace.figures.look import axes, look, styled

hv.extension("matplotlib", logo=False)


def _pixels_near(path, color: str, tol: float = 0.06) -> int:
    img = np.asarray(Image.open(path).convert("RGB"), dtype=float) / 255
    return int((np.abs(img - np.array(to_rgb(color))).max(axis=-1) < tol).sum())


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_stills_text_takes_its_themes_colour(tmp_path, theme):
    lk = look(theme)
    # The curve in the background's colour: the only marks left are the title, labels and ticks.
    curve = styled(hv.Curve(([0, 1], [0, 1]), "learning rate", "final loss"), axes(lk, 1.0, grid=False)).opts(
        color=lk.background, title="A title to read", backend="matplotlib"
    )
    path = write_view(curve, tmp_path / "still.png", theme=theme)
    print(_pixels_near(path, lk.text, 0.02), _pixels_near(path, "#000000", 0.1))
    assert _pixels_near(path, lk.text, 0.02) > 60
    assert _pixels_near(path, "#000000", 0.1) == 0


@pytest.mark.parametrize("surface", ["himmelblau", "six_hump_camel"])
def test_a_basin_maps_key_stays_in_the_still(tmp_path, surface):
    """Himmelblau's map is square (a key under it ran off the still); six-hump camel's domain is
    twice as wide as high, so its map fills the still's width."""
    from optirace.figures.basins import basin_map, basins_figure

    path = write_view(basins_figure(basin_map(surface, "adam:lr=0.05", grid=16, steps=50)),
                      tmp_path / "wide.png")  # fmt: skip
    img = np.asarray(Image.open(path).convert("RGB"), dtype=float)
    # The key (its frame, squares and names) ends before the right and bottom edges.
    assert (img[:, -6:] > 250).all()
    assert (img[-6:, :] > 250).all()
    # ...and it was drawn: its squares are left of that, to the right of the map.
    assert (img[:, img.shape[1] // 2 :] < 200).any(axis=-1).sum() > 1000
