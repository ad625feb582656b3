"""The cards of a fair race under the leaderboard: learning-rate sensitivity and tuning, memory per racer.

Each is built the first time it is opened: most visits never open them, and the sweeps behind the
sensitivity plot are work a visit that does not look at them should not pay for.
"""

from __future__ import annotations

from collections.abc import Callable

from .state import RaceState

__all__ = ["fair_cards"]


def fair_cards(state: RaceState, card: Callable) -> list:
    """[learning-rate card, lr x momentum map card, memory card], each made by `card(title, make)`
    (page.py's collapsed card)."""

    def tune():
        from .tune_panel import TunePanel

        return TunePanel(state)

    def memory():
        from .memory_panel import MemoryPanel

        return MemoryPanel(state)

    def heatmap():
        from .heatmap_panel import HeatmapPanel

        return HeatmapPanel(state)

    return [
        card("Learning rate: sensitivity and tuning", tune),
        card("Learning rate × momentum: map of the final loss", heatmap),
        card("Memory per racer (optimizer state, ZeRO stage 1)", memory),
    ]
