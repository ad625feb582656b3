"""The words and numbers of a fair race, shared by the app and the CLI: tuning and memory per racer.

changes(labels, sweeps)   -> ["adam: lr 0.01 → 0.0631", ...]
tune_json(...)            -> what `optirace tune --json` prints
memory_rows(rows)         -> the memory table's cells (what the app and `optirace memory` show)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from optimizers import racer_to_string

from .text import shown

__all__ = ["racer_name", "changes", "tune_json", "memory_rows", "MEMORY_COLUMNS", "human_bytes", "text_table"]


def racer_name(spec: dict[str, Any]) -> str:
    """A racer as tuning names it: its label if it has one, else its optimizer's name."""
    return str(spec.get("label") or spec["optimizer"])


def change(label: str, sweep) -> str:
    """One racer's tuning, e.g. "adam: lr 0.01 → 0.0631"."""
    a, b = f"{sweep.before:.3g}", f"{sweep.best:.3g}"
    if a == b and sweep.before != sweep.best:  # close, but not the same: one more digit tells them apart
        a, b = f"{sweep.before:.4g}", f"{sweep.best:.4g}"
    edge = " (an end of its range)" if sweep.at_edge and not sweep.all_diverged else ""
    return f"{shown(label)}: {sweep.name} {a} → {b}{edge}"


def changes(labels: Sequence[str], sweeps) -> list[str]:
    return [change(t, s) for t, s in zip(labels, sweeps, strict=True)]


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def tune_json(result, specs: Sequence[dict[str, Any]], tuned, grid: int) -> dict[str, Any]:
    """`optirace tune --json`: the scene, then per racer its learning rate before and after, the
    final losses at both, and the whole sweep (null where a run diverged)."""
    racers = []
    before_loss = [
        math.inf if d >= 0 else float(x) for d, x in zip(result.diverged_at, result.loss[:, -1], strict=True)
    ]
    for old, spec, s, loss in zip(specs, tuned.racers, tuned.sweeps, before_loss, strict=True):
        racers.append({
            "racer": racer_to_string(old), "tuned": racer_to_string(spec), "name": s.name,
            "before": s.before, "after": s.best, "final_loss_before": _finite(loss),
            "final_loss_after": _finite(s.best_loss), "lr_values": [float(v) for v in s.values],
            "final_loss": [_finite(v) for v in s.loss],
        })  # fmt: skip
    start = [float(v) for v in result.params[0, 0]]
    return {
        "surface": result.surface.name,
        "steps": result.steps,
        "start": start,
        "grid": grid,
        "racers": racers,
    }


def human_bytes(n: float) -> str:
    """Bytes in decimal units (GB as GPU memory is sold): 7e9 -> "7 GB"."""
    for unit, size in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.3g} B"


# (heading, key of the row) of the memory table.
MEMORY_COLUMNS = (
    ("racer", "racer"),
    ("state buffers", "buffers"),
    ("bytes/param fp32", "per_param_fp32"),
    ("bytes/param bf16", "per_param_bf16"),
    ("total fp32", "total_fp32"),
    ("total bf16", "total_bf16"),
    ("per GPU fp32", "per_gpu_fp32"),
    ("per GPU bf16", "per_gpu_bf16"),
)


def memory_rows(rows) -> list[dict[str, str]]:
    """Each `optimizers.memory.Memory` as the table's text cells."""
    out = []
    for m in rows:
        buffers = ", ".join(m.vectors) or "none"
        out.append({
            "racer": shown(m.racer, 40), "buffers": f"{len(m.vectors)} ({buffers})",
            "per_param_fp32": str(m.state_bytes_per_param("fp32")), "per_param_bf16": str(m.state_bytes_per_param("bf16")),
            "total_fp32": human_bytes(m.total_bytes("fp32")), "total_bf16": human_bytes(m.total_bytes("bf16")),
            "per_gpu_fp32": human_bytes(m.per_gpu_bytes("fp32")), "per_gpu_bf16": human_bytes(m.per_gpu_bytes("bf16")),
        })  # fmt: skip
    return out


def text_table(columns, rows: Sequence[dict[str, str]]) -> str:
    """Rows as an aligned plain-text table under `columns`' headings."""
    cells = [[h for h, _ in columns]] + [[r[k] for _, k in columns] for r in rows]
    widths = [max(len(c[j]) for c in cells) for j in range(len(columns))]
    lines = ["  ".join(f"{c:<{w}}" for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
