"""A race's outcome as rows: one per racer, as an aligned text table or as JSON-ready dicts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from optimizers import RaceResult

from .text import shown

__all__ = ["summarise", "as_json", "table", "TOL"]

TOL = 1e-6  # "reached the minimum": loss within this of the global minimum's value


def _number(x: float) -> float | None:
    """JSON has no inf or NaN; a missing value is null."""
    x = float(x)
    return x if math.isfinite(x) else None


def _step(x: int) -> int | None:
    return int(x) if x >= 0 else None


def summarise(result: RaceResult, specs: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One dict per racer: label, spec, final loss and point, distance to the nearest global minimum,
    the first step within TOL of the minimum's value and the divergence step (None when never).

    `specs` are the racer strings as the user wrote them; without them the label stands in.
    """
    dist = result.distance()[:, -1]
    first = result.first_within(TOL)
    rows = []
    for i, racer in enumerate(result.racers):
        rows.append(
            {
                "label": racer.label,
                "spec": specs[i] if specs is not None else racer.label,
                "final_loss": _number(result.loss[i, -1]),
                "final_params": [_number(v) for v in result.params[i, -1]],
                "distance": _number(dist[i]),
                "first_within": _step(first[i]),
                "diverged_at": _step(result.diverged_at[i]),
            }
        )
    return rows


def as_json(result: RaceResult, specs: Sequence[str] | None = None, **context: Any) -> dict[str, Any]:
    """The whole race as plain JSON data: the surface, the steps, any `context` given, the racers."""
    start = np.asarray(result.params[0, 0]).tolist() if len(result.racers) else []
    return {
        "surface": result.surface.name,
        "steps": result.steps,
        "start": start,
        "min_value": _number(result.surface.min_value),
        "tolerance": TOL,
        **context,
        "racers": summarise(result, specs),
    }


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return shown(value)  # labels: no terminal control sequences


COLUMNS = (
    ("racer", "label", "<"),
    ("spec", "spec", "<"),
    ("final loss", "final_loss", ">"),
    ("distance to min", "distance", ">"),
    (f"first step within {TOL:g}", "first_within", ">"),
    ("diverged at", "diverged_at", ">"),
)


def table(rows: Sequence[dict[str, Any]]) -> str:
    """Rows as an aligned plain-text table; "-" marks never (or a non-finite number)."""
    cells = [[head for head, _, _ in COLUMNS]]
    cells += [[_fmt(row[key]) for _, key, _ in COLUMNS] for row in rows]
    widths = [max(len(r[j]) for r in cells) for j in range(len(COLUMNS))]
    lines = []
    for r in cells:
        parts = [f"{c:{align}{w}}" for c, (_, _, align), w in zip(r, COLUMNS, widths, strict=True)]
        lines.append("  ".join(parts).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
