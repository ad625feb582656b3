"""The one bound on the work a single card's computation may ask of a shared server.

The basins map, the lr x β map and the learning-rate sweeps all race many runs at once in one
session's callback; on a costly surface (`Surface.cost`: the network's landscape, where a step is
the network's loss and gradient on its data) each step counts as `cost` closed-form steps. Every
card fits its grid to this bound, so one figure cannot hold the server for long.
"""

from __future__ import annotations

__all__ = ["MAX_WORK"]

# Closed-form run-steps of one card's computation: 256^2 starts x 1000 steps, about 2 s on two CPU cores.
MAX_WORK = 256 * 256 * 1000
