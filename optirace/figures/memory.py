"""Memory per racer: one GPU's share of the optimizer state under ZeRO stage 1, as bars.

The figures come from `optimizers.memory` (what is counted is written there).
"""

from __future__ import annotations

from collections.abc import Sequence

import holoviews as hv

# Both backends' plotting classes: options are given per backend, and each needs its own loaded.
import holoviews.plotting.bokeh  # noqa: F401
import holoviews.plotting.mpl  # noqa: F401

from ..text import shown
from .look import PALETTE, axes, look
from .look import title as as_title

__all__ = ["memory_figure", "racer_names", "GB"]

GB = 1e9  # decimal gigabytes, as GPU memory is sold


def racer_names(labels: Sequence[str], limit: int = 28) -> list[str]:
    """Bar labels: numbered (two racers may share a label), cut short, shown as their characters."""
    return [f"{i + 1}. {shown(t, limit)}" for i, t in enumerate(labels)]


def memory_figure(rows, labels: Sequence[str], theme: str = "light", present: bool = False,
                  scale: float = 1.0) -> hv.Bars:  # fmt: skip
    """Bars: per racer, one GPU's share of the optimizer state in GB, stored in fp32 (bf16 is half).
    `rows` are `optimizers.memory.Memory` values (one per racer, all for the same model and GPUs)."""
    lk = look(theme, present)
    names = racer_names(labels)
    data = [(n, m.per_gpu_bytes("fp32") / GB) for n, m in zip(names, rows, strict=True)]
    first = rows[0] if rows else None
    where = f"{first.params:.3g} parameters, ZeRO stage 1 over {first.gpus} GPUs" if first else ""
    ylabel = "optimizer state per GPU (GB)"
    bars = hv.Bars(data, hv.Dimension("racer"), hv.Dimension("gb", label=ylabel), group="Memory")
    ax = axes(lk, scale, grid=True)
    common = {"title": "Optimizer state per GPU (fp32)", "xlabel": as_title(where), "ylabel": ylabel,
              "xrotation": 15, "color": PALETTE[0]}  # fmt: skip
    for backend in ("bokeh", "matplotlib"):
        bars = bars.opts(**ax[backend], **common, backend=backend)
    bars = bars.opts(tools=["hover"], backend="bokeh")
    return bars.opts(hooks=[_plain_ticks], backend="matplotlib")


def _plain_ticks(plot, _element) -> None:
    """Racer labels are user text: matplotlib draws them as their characters, never as mathtext."""
    for label in plot.handles["axis"].get_xticklabels():
        label.set_parse_math(False)
