"""The memory card: each racer's optimizer state for a large model, as a table and as bars.

Built when its card is first opened (page.py). The figures are `optimizers.memory`'s (what is
counted is written there): bytes of state per parameter in fp32 and bf16, for a model of N
parameters, and one GPU's share under ZeRO stage 1 over G GPUs.
"""

from __future__ import annotations

import panel as pn

import optimizers
from optimizers.memory import DEFAULT_GPUS, DEFAULT_PARAMS, MAX_GPUS, MAX_PARAMS, check_params
from optirace.fairness import MEMORY_COLUMNS, human_bytes, memory_rows
from optirace.figures.memory import memory_figure
from optirace.text import as_html

from .state import RaceState
from .styles import html_pane
from .tune_panel import legend_names

__all__ = ["MemoryPanel", "memory_table"]


def memory_table(rows) -> str:
    """The table as HTML (every cell escaped: a racer's label is user text)."""
    head = "".join(f"<th>{as_html(h)}</th>" for h, _ in MEMORY_COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td class='{k}'>{as_html(r[k])}</td>" for _, k in MEMORY_COLUMNS) + "</tr>"
        for r in memory_rows(rows)
    )
    return f"<table class='hp memory-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class MemoryPanel(pn.viewable.Viewer):
    def __init__(self, state: RaceState, **params) -> None:
        super().__init__(**params)
        self.state = state
        self.params_input = pn.widgets.TextInput(label=f"model parameters (1 to {MAX_PARAMS:g})",
                                                 value=f"{DEFAULT_PARAMS:g}", width=180, css_classes=["memory-params"])  # fmt: skip
        self.gpus_input = pn.widgets.IntInput(label="GPUs (ZeRO stage 1)", value=DEFAULT_GPUS, start=1, end=MAX_GPUS,
                                              width=150, css_classes=["memory-gpus"])  # fmt: skip
        self.note = html_pane("", sizing_mode="stretch_width", css_classes=["memory-note"])
        self.table = html_pane("", sizing_mode="stretch_width", css_classes=["memory"])
        self.plot = pn.Column(sizing_mode="stretch_width", min_height=260)
        self._params, self._gpus = DEFAULT_PARAMS, DEFAULT_GPUS
        self._key = None
        self.params_input.param.watch(self._on_params, "value")
        self.gpus_input.param.watch(self._on_gpus, "value")
        state.param.watch(lambda *_: self._draw(), ["racers", "theme", "present"])
        self._layout = pn.Column(pn.Row(self.params_input, self.gpus_input), self.note, self.table, self.plot,
                                 sizing_mode="stretch_width")  # fmt: skip
        self._draw()

    def __panel__(self):
        return self._layout

    def _on_params(self, event) -> None:
        try:
            self._params = check_params(event.new)
        except ValueError as e:
            self.state.error = str(e)
            return
        self._draw()

    def _on_gpus(self, event) -> None:
        if event.new is None or not 1 <= event.new <= MAX_GPUS:
            self.state.error = f"gpus: use an integer from 1 to {MAX_GPUS}"
            return
        self._gpus = int(event.new)
        self._draw()

    def rows(self):
        s = self.state
        return optimizers.memory(
            s.racers, params=self._params, gpus=self._gpus, labels=legend_names(s.racers)
        )

    def _draw(self) -> None:
        s = self.state
        rows = self.rows()
        key = (tuple((m.racer, m.vectors) for m in rows), self._params, self._gpus, s.theme, s.present)
        if key == self._key:  # a slider moved: the state's buffers did not change
            return
        self._key = key
        replicated = rows[0].replicated_bytes_per_gpu
        self.note.object = (
            f"Optimizer state of a model of {self._params:.3g} parameters, split over {self._gpus} GPU(s) by "
            "ZeRO stage 1 (Rajbhandari et al. 2020): counted are the state's buffers shaped like the "
            "parameters, read from each rule's own state. Each GPU also holds the whole parameters "
            f"and gradients ({human_bytes(replicated('fp32'))} in fp32, {human_bytes(replicated('bf16'))} "
            "in bf16), not counted here."
        )
        self.table.object = memory_table(rows)
        import holoviews as hv

        fig = memory_figure(rows, [m.racer for m in rows], s.theme, s.present)
        fig = fig.opts(responsive=True, height=280, backend="bokeh")
        plot = hv.renderer("bokeh").get_plot(fig)
        plot.document = None
        self.plot.objects = [pn.pane.Bokeh(plot.state, sizing_mode="stretch_width", height=280)]
