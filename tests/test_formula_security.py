"""Typed formulas come from strangers (a text box, a shared link, a scene file). Proof that none
runs code, hangs, exhausts memory or breaks the session, and that whatever the grammar does not
read is a ValueError, with the column where it went wrong."""

from __future__ import annotations

import builtins
import time
import tracemalloc

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import surfaces
from optirace.app.state import RaceState
from surfaces.formula import FUNCTIONS, MAX_DEPTH, MAX_LENGTH, parse

SENTINEL: list[str] = []  # a payload that ran would append to this
ME = __name__

PAYLOADS = [
    f"__import__('{ME}').SENTINEL.append(1)",
    "__import__('os').system('touch /tmp/optirace-pwned')",
    "__builtins__",
    "x.__class__.__bases__[0].__subclasses__()",
    "().__class__.__mro__[1]",
    "x.real",
    "sin.__globals__",
    "lambda: 1",
    "(lambda q: q)(x)",
    "[c for c in ()]",
    "{x for x in y}",
    "x if y else 1",
    "globals()",
    "eval('1')",
    "exec",
    "open('/etc/passwd')",
    "getattr(x, 'real')",
    "x; import os",
    "x\n+1",
    "f'{x}'",
    "x[0]",
    "x @ y",
    "x % 2",
    "x // 2",
    "x & y",
    "x == y",
    "not x",
    "x and y",
    "jnp.sin(x)",
    "np.exp(x)",
    "SENTINEL",
    "pi()",
    "sin",
    "where(x > 0, x)",
    "where(x > 0 > y, x, y)",
    "minimum(x < 1, 2)",
    "9^9^9^9",
    "9**9**9**9",
    "2^(10^3)",
    "x^1000",
    "10^1e6",
    "1e999",
    "0x1F",
    "1_000",
    "1." + "0" * 30,
    "1e-4000000000000000000000",
    "(" * 10_000 + "x" + ")" * 10_000,
    "(" * (MAX_DEPTH + 5) + "x" + ")" * (MAX_DEPTH + 5),
    "-" * 100 + "x",
    "x^" * 60 + "x",
    "sin(" * 60 + "x" + ")" * 60,
    "ｘ^2",  # fullwidth x
    "х^2",  # Cyrillic ha
    "x^2 + у",  # Cyrillic u
    "𝑥^2",  # mathematical italic x
    "ρ + x",
    "x\u202e + 1",
    "x\x00+1",
    "\x00",
    "x\ufeff",
    "x\u200b+1",
    "\ud800",
    "x " + "+ x " * 10_000,
    "x" * 1_000_000,
]


def _refused(text) -> ValueError:
    with pytest.raises(ValueError) as info:
        surfaces.from_formula(text)
    return info.value


@pytest.fixture
def no_code_runs(monkeypatch):
    """eval, exec, compile and __import__ record any call while the grammar reads a formula."""
    calls: list[str] = []
    for name in ("eval", "exec", "compile"):
        real = getattr(builtins, name)

        def spy(*args, _name=name, _real=real, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(builtins, name, spy)
    return calls


@pytest.mark.parametrize("text", PAYLOADS, ids=range(len(PAYLOADS)))
def test_hostile_formulas_are_refused_fast_without_running_anything(text, no_code_runs):
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:
        parse(text)
    assert time.perf_counter() - start < 0.5
    assert no_code_runs == [], "the grammar called eval/exec/compile"
    assert SENTINEL == []
    message = str(info.value)
    assert message and len(message) < 400
    if len(text) <= MAX_LENGTH and not message.startswith(("empty", "expected")):
        assert "column" in message or "end" in message, message


def test_refusals_say_what_and_where():
    assert "at column 1" in str(_refused("х^2")) and "CYRILLIC SMALL LETTER HA" in str(_refused("х^2"))
    assert "U+FF58" in str(_refused("ｘ^2"))
    assert "control character" in str(_refused("x\x00+1"))
    assert "at most 500 characters (this one has 20001)" in str(_refused("(" * 10_000 + "x" + ")" * 10_000))
    assert f"nested more than {MAX_DEPTH} deep" in str(_refused("(" * 60 + "x" + ")" * 60))
    assert "the exponent at column 5 is 3.8742e+08" in str(_refused("9^9^9^9"))
    assert "the exponent at column 3 is 1000" in str(_refused("2^(10^3)"))
    assert "'.' at column 2 is only a decimal point" in str(_refused("x.real"))
    assert "'_' (U+005F LOW LINE) at column 1" in str(_refused("__import__('os')"))


def test_a_huge_input_is_refused_before_it_is_read():
    text = "x+" * 5_000_000 + "x"
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ValueError, match="at most 500 characters"):
            parse(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 0.1
    assert peak < 100_000  # nothing of the 10 MB was copied or tokenized


@pytest.mark.parametrize("value", [None, 3, 2.5, b"x^2", ["x"], {"f": "x"}, object()])
def test_what_is_not_text_is_refused(value):
    with pytest.raises(ValueError, match="expected text"):
        parse(value)


# --- properties ------------------------------------------------------------------------------------

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOKENS = ["x", "y", "pi", "e", "1", "2.5", "1e3", "+", "-", "*", "/", "^", "**", "(", ")", ",", "<", ">=",
          " ", "sin", "exp", "log", "sqrt", "minimum", "where", "abs", "=", "."]  # fmt: skip


@SETTINGS
@given(st.text(max_size=MAX_LENGTH + 20))
def test_any_text_reads_or_is_a_value_error(text):
    start = time.perf_counter()
    try:
        f = parse(text)
    except ValueError as e:
        assert str(e)
    else:
        assert f.dim in (1, 2) and f.canonical
    assert time.perf_counter() - start < 0.5


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=120).map("".join))
def test_any_token_soup_reads_or_is_a_value_error_and_evaluates_if_read(text):
    try:
        f = parse(text)
    except ValueError as e:
        assert str(e)
        return
    with np.errstate(all="ignore"):
        value = f.jnp_fn()(jnp.asarray([0.3, -0.7][: f.dim]))
    assert value.shape == () and value.dtype == jnp.float64


@st.composite
def formulas(draw, depth: int = 0):
    """(text, a jnp function of (x, y)) built side by side: valid formulas of the grammar."""
    if depth > 3 or draw(st.integers(0, 2)) == 0:
        leaf = draw(st.sampled_from(["x", "y", "pi", "2.5", "3"]))
        values = {"x": lambda x, y: x, "y": lambda x, y: y, "pi": lambda x, y: jnp.pi,
                  "2.5": lambda x, y: 2.5, "3": lambda x, y: 3.0}  # fmt: skip
        return leaf, values[leaf]
    kind = draw(st.sampled_from(["+", "-", "*", "/", "^2", "neg", "sin", "exp", "tanh", "minimum", "where"]))
    a, fa = draw(formulas(depth + 1))
    b, fb = draw(formulas(depth + 1))
    if kind in "+-*/":
        op = {"+": jnp.add, "-": jnp.subtract, "*": jnp.multiply, "/": jnp.divide}[kind]
        return f"({a}) {kind} ({b})", lambda x, y: op(fa(x, y), fb(x, y))
    if kind == "^2":
        return f"({a})^2", lambda x, y: fa(x, y) ** 2
    if kind == "neg":
        return f"-({a})", lambda x, y: -fa(x, y)
    if kind == "minimum":
        return f"minimum({a}, {b})", lambda x, y: jnp.minimum(fa(x, y), fb(x, y))
    if kind == "where":
        return f"where({a} > {b}, {a}, {b})", lambda x, y: jnp.where(fa(x, y) > fb(x, y), fa(x, y), fb(x, y))
    fn = {"sin": jnp.sin, "exp": jnp.exp, "tanh": jnp.tanh}[kind]
    return f"{kind}({a})", lambda x, y: fn(fa(x, y))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(formulas(), st.floats(-2, 2), st.floats(-2, 2))
def test_generated_formulas_compute_what_they_say(pair, x, y):
    text, reference = pair
    f = parse(f"f(x, y) = {text}")
    got = float(f.jnp_fn()(jnp.asarray([x, y])))
    want = float(reference(jnp.float64(x), jnp.float64(y)))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, equal_nan=True)


# --- the worst a valid formula can ask, and the session it is typed in ------------------------------

LONGEST = {
    "deep": "sin(" * (MAX_DEPTH - 2) + "x+y" + ")" * (MAX_DEPTH - 2),
    "wide": "+".join(["sin(x*y)"] * 55),
    "powers": "^".join(["x"] * 40),
    "wheres": "+".join(["where(x>y,x,y)"] * 33),
}


@pytest.mark.parametrize("text", LONGEST.values(), ids=LONGEST.keys())
def test_the_costliest_valid_formulas_build_within_a_bound(text):
    assert len(text) <= MAX_LENGTH
    start = time.perf_counter()
    s = surfaces.from_formula(text)
    assert time.perf_counter() - start < 3.0  # parse, compile, grid search and checks (2 shared cores)
    assert np.isfinite(s.min_value) or s.notes


def test_every_allowed_function_is_used_as_declared():
    for name, n in FUNCTIONS.items():
        args = ["x > 0", "x", "y"] if name == "where" else ["x", "y"][:n]
        assert parse(f"{name}({', '.join(args)})").dim == (2 if n > 1 else 1)


def test_a_hostile_formula_never_breaks_the_session():
    state = RaceState()
    assert state.set_formula("x^2 + 3y^2")
    shown = state.result
    for text in PAYLOADS[:20] + ["9^9^9^9", "(" * 60 + "x" + ")" * 60, "х^2", "x\x00"]:
        assert not state.set_formula(text)
        assert state.error.startswith("formula: ")
        assert state.result is shown and state.surface == "formula"  # the last race stays
    assert state.set_formula("(1 - x)^2 + 100(y - x^2)^2", domain="-2,2,-1,3")
    assert state.result is not shown and state.result.surface.formula.startswith("f(x, y) =")
    # a stranger's link with a hostile formula: the defaults, with a notice
    linked = RaceState()
    linked.apply_query({"surface": "formula", "formula": PAYLOADS[0], "domain": "0,1e400"})
    assert linked.surface == "rosenbrock" and linked.result is not None
    assert linked.notices and all(isinstance(n, str) for n in linked.notices)
    assert SENTINEL == []
