"""Hypothesis strategies for hostile input: JSON-like values of every type, shared by the engine's,
the URL decoder's and the scene's tests."""

from __future__ import annotations

import math

from hypothesis import strategies as st

HUGE = (10**400, -(10**400), 2**64, 10**4000)  # repr-able: hypothesis prints its examples
TEXT = (
    "inf",
    "nan",
    "1e999",
    "-1e999",
    "adam",
    "-1",
    "0.5",
    "",
    " ",
    "x" * 5000,
    "10" + "0" * 400,
    "[1,2]",
    "{}",
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(HUGE)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([1e999, -1e999, math.nan, 0.0, -0.0, 1e-320])
    | st.text(max_size=12)
    | st.sampled_from(TEXT)
)


def nest(depth: int, as_dict: bool):
    """A value `depth` levels deep: lists in lists, or Lookahead racers wrapping each other."""
    v: object = 1
    for _ in range(depth):
        v = {"inner": v, "optimizer": "lookahead"} if as_dict else [v]
    return v


DEEP = st.builds(nest, st.integers(1, 3000), st.booleans())
JSON = (
    st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=10,
    )
    | DEEP
)
