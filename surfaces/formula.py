"""Typed formulas, f(x, y) or f(x), read by a whitelisting grammar into a jnp function.

Why a hand-written parser (a tokenizer and a Pratt-style recursive descent, about 250 lines) and not a
parsing library such as lark: the grammar is twenty lines, and every bound the server needs is
then checked where it is cheapest, in the one place that reads the text. The length is checked
before anything else, the nesting depth while descending (so Python's own recursion limit is never
in reach), every literal as it is read, and every constant exponent in bounded floats. Errors name
the column where the text went wrong. Nothing of the text is ever given to `eval`, `exec`,
`compile` or `getattr`: a name is looked up in the tables below, and anything not in them is an
error. The result is a tree of tuples, from which the jnp function, the canonical form (the cache
key) and the LaTeX are all built.

Grammar (whitespace between tokens is ignored)::

    formula    := [ "f(x)" "=" | "f(x,y)" "=" ] sum
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary | implicit)*     implicit: 4x, 2(x+1), (x+1)(x-1), 2 pi
    unary      := ("-" | "+") unary | power
    power      := atom (("^" | "**") unary)?                 right-associative: 2^3^2 = 2^9
    atom       := number | name | function "(" args ")" | "(" sum ")"
    where      := "where" "(" sum cmp sum "," sum "," sum ")"   cmp: < <= > >=

Comparisons exist only as where's first argument. Names: x and y (x alone in a one-variable
formula), pi and e, and the functions of `FUNCTIONS`.
Limits: `MAX_LENGTH` characters, nesting depth `MAX_DEPTH`, literals up to `MAX_LITERAL` in magnitude
and `MAX_DIGITS` digits, and a constant exponent up to `MAX_EXPONENT` in magnitude (`9^9^9^9` is
refused as an exponent of 387420489, without being computed in Python integers).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Formula", "parse", "FUNCTIONS", "CONSTANTS", "MAX_LENGTH", "MAX_DEPTH", "MAX_LITERAL",
           "MAX_DIGITS", "MAX_EXPONENT"]  # fmt: skip

MAX_LENGTH = 500
MAX_DEPTH = 50
MAX_LITERAL = 1e6
MAX_DIGITS = 20
MAX_EXPONENT = 100.0

# name -> number of arguments. jnp and numpy share these names, so one table serves both.
FUNCTIONS: dict[str, int] = {
    "sin": 1, "cos": 1, "tan": 1, "exp": 1, "log": 1, "log1p": 1, "sqrt": 1, "abs": 1, "tanh": 1,
    "sinh": 1, "cosh": 1, "arctan": 1, "minimum": 2, "maximum": 2, "where": 3,
}  # fmt: skip
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
COMPARISONS = ("<=", ">=", "<", ">")

_TOKEN = re.compile(
    r"(?P<num>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<name>[A-Za-z][A-Za-z0-9]*)"
    r"|(?P<op>\*\*|<=|>=|[-+*/^(),<>=])"
    r"|(?P<space>[ \t]+)"
)
_HEADER = re.compile(r"\s*f\s*\(\s*x\s*(?:,\s*y\s*)?\)\s*=")

Node = tuple  # ("num", v) ("var", "x") ("const", "pi") ("neg", a) ("sum", ((sign, a), ...))
# ("prod", ((op, a), ...)) ("pow", a, b) ("call", name, args) ("cmp", op, a, b)


@dataclass(frozen=True)
class Formula:
    """A parsed formula: its tree, its number of variables and its canonical form (equal for
    texts that differ only in spacing, spelling of the power, or a redundant header)."""

    tree: Node
    dim: int
    canonical: str

    def jnp_fn(self) -> Callable[[Any], Any]:
        """f(x) for x of shape (dim,), in jnp (differentiable with jax.grad)."""
        import jax.numpy as jnp

        tree = self.tree
        two = self.dim == 2
        return lambda x: jnp.asarray(_evaluate(tree, (x[0], x[1] if two else None), jnp), jnp.float64)

    def latex(self) -> str:
        args = "x, y" if self.dim == 2 else "x"
        return f"f({args}) = {_latex(self.tree)}"


def _describe(c: str) -> str:
    name = "a control character" if unicodedata.category(c) == "Cc" else unicodedata.name(c, "unnamed")
    shown = f"'{c}' " if c.isprintable() and not c.isspace() else ""
    return f"{shown}(U+{ord(c):04X} {name})"


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, i = [], 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m is None:
            c = text[i]
            if c == ".":
                raise ValueError(f"'.' at column {i + 1} is only a decimal point, as in 0.5")
            raise ValueError(
                f"character {_describe(c)} at column {i + 1} is not allowed; formulas use the letters "
                "a-z, digits, + - * / ^ ( ) , < > = . and spaces"
            )
        kind = m.lastgroup
        if kind != "space":
            out.append((kind, m.group(), i + 1))
        i = m.end()
    out.append(("end", "", len(text) + 1))
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str, int]], dim: int | None) -> None:
        self.toks, self.i, self.depth, self.dim, self.uses_y = tokens, 0, 0, dim, False

    @property
    def tok(self) -> tuple[str, str, int]:
        return self.toks[self.i]

    def fail(self, what: str | None = None) -> ValueError:
        kind, value, col = self.tok
        if what is None:
            what = "unexpected end of formula" if kind == "end" else f"unexpected '{value}' at column {col}"
        return ValueError(what)

    def take(self, value: str) -> bool:
        if self.tok[0] == "op" and self.tok[1] == value:
            self.i += 1
            return True
        return False

    def expect(self, value: str, opened_at: int | None = None) -> None:
        if not self.take(value):
            if self.tok[0] == "end" and opened_at is not None:
                raise ValueError(f"missing ')' for the '(' at column {opened_at}")
            kind, got, col = self.tok
            found = "the end" if kind == "end" else f"'{got}' at column {col}"
            raise ValueError(f"expected '{value}' but found {found}")

    def sum(self) -> Node:
        terms = [("+", self.product())]
        while self.tok[0] == "op" and self.tok[1] in "+-":
            sign = self.tok[1]
            self.i += 1
            terms.append((sign, self.product()))
        return terms[0][1] if len(terms) == 1 else ("sum", tuple(terms))

    def product(self) -> Node:
        factors = [("*", self.unary())]
        while True:
            kind, value, _ = self.tok
            if kind == "op" and value in ("*", "/"):
                self.i += 1
                factors.append((value, self.unary()))
            elif kind in ("num", "name") or (kind == "op" and value == "("):
                factors.append(("*", self.unary()))  # implicit: 4x, 2(x + 1), (x + 1)(x - 1)
            else:
                break
        return factors[0][1] if len(factors) == 1 else ("prod", tuple(factors))

    def unary(self) -> Node:
        # Every way down the tree passes here, so this one counter bounds the recursion.
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ValueError(f"nested more than {MAX_DEPTH} deep at column {self.tok[2]}")
        try:
            if self.take("-"):
                inner = self.unary()
                return ("num", -inner[1]) if inner[0] == "num" else ("neg", inner)
            if self.take("+"):
                return self.unary()
            return self.power()
        finally:
            self.depth -= 1

    def power(self) -> Node:
        base = self.atom()
        if self.tok[0] == "op" and self.tok[1] in ("^", "**"):
            self.i += 1
            col = self.tok[2]
            exponent = self.unary()
            if _constant(exponent):
                v = _value(exponent)
                if not abs(v) <= MAX_EXPONENT:  # NaN fails too
                    raise ValueError(
                        f"the exponent at column {col} is {v:.6g}; constant exponents are at most "
                        f"{MAX_EXPONENT:g} in magnitude"
                    )
            return ("pow", base, exponent)
        return base

    def atom(self) -> Node:
        kind, value, col = self.tok
        if kind == "num":
            self.i += 1
            return ("num", _literal(value, col))
        if kind == "op" and value == "(":
            self.i += 1
            inner = self.sum()
            self.expect(")", col)
            return inner
        if kind == "name":
            self.i += 1
            if value in FUNCTIONS:
                return self.call(value, col)
            if value in CONSTANTS:
                return ("const", value)
            if value == "x" or (value == "y" and self.dim != 1):
                self.uses_y |= value == "y"
                return ("var", value)
            if value == "y":
                raise ValueError(f"y at column {col}: this formula is f(x), of x alone")
            hint = "; write x*y for a product" if set(value) <= {"x", "y"} else ""
            known = ", ".join(["x", "y", *CONSTANTS, *FUNCTIONS])
            raise ValueError(f"unknown name '{value}' at column {col}{hint}; known: {known}")
        raise self.fail()

    def call(self, name: str, col: int) -> Node:
        if not (self.tok[0] == "op" and self.tok[1] == "("):
            raise ValueError(f"{name} at column {col} needs its arguments in parentheses, e.g. {name}(x)")
        opened = self.tok[2]
        self.i += 1
        args = []
        if name == "where":
            left = self.sum()
            op = self.tok[1] if self.tok[0] == "op" else ""
            if op not in COMPARISONS:
                raise ValueError(
                    f"where at column {col} needs a comparison first, e.g. where(x > 0, x, -x); "
                    f"found {'the end' if self.tok[0] == 'end' else repr(self.tok[1])} at column {self.tok[2]}"
                )
            self.i += 1
            args.append(("cmp", op, left, self.sum()))
            self.expect(",", opened)
        while True:
            args.append(self.sum())
            if not self.take(","):
                break
        self.expect(")", opened)
        if len(args) != FUNCTIONS[name]:
            n = FUNCTIONS[name]
            raise ValueError(f"{name} at column {col} takes {n} argument{'s' * (n > 1)}, not {len(args)}")
        return ("call", name, tuple(args))


def _literal(text: str, col: int) -> float:
    digits = sum(c.isdigit() for c in text)
    if digits > MAX_DIGITS:
        raise ValueError(f"the number at column {col} has {digits} digits; at most {MAX_DIGITS}")
    v = float(text)  # bounded text: at most MAX_DIGITS digits, so this is quick
    if not abs(v) <= MAX_LITERAL:
        raise ValueError(f"the number at column {col} is {v:.6g}; numbers are at most {MAX_LITERAL:g}")
    return v


def _constant(node: Node) -> bool:
    kind = node[0]
    if kind in ("num", "const"):
        return True
    if kind == "var":
        return False
    if kind in ("sum", "prod"):
        return all(_constant(a) for _, a in node[1])
    if kind == "call":
        return all(_constant(a) for a in node[2])
    return all(_constant(a) for a in node[-2:] if isinstance(a, tuple))


def _value(node: Node) -> float:
    """A constant's value in float64: overflow gives inf and is refused by the caller."""
    with np.errstate(all="ignore"):
        return float(_evaluate(node, (None, None), np))


def _evaluate(node: Node, xy: tuple[Any, Any], lib: Any) -> Any:
    """The tree's value with numpy or jnp: the same function names serve both."""
    kind = node[0]
    if kind == "num":
        return lib.float64(node[1]) if lib is np else node[1]
    if kind == "const":
        return CONSTANTS[node[1]]
    if kind == "var":
        return xy[0] if node[1] == "x" else xy[1]
    if kind == "neg":
        return -_evaluate(node[1], xy, lib)
    if kind == "sum":
        out = 0.0
        for i, (sign, a) in enumerate(node[1]):
            v = _evaluate(a, xy, lib)
            out = v if i == 0 else (out + v if sign == "+" else out - v)
        return out
    if kind == "prod":
        out = 1.0
        for i, (op, a) in enumerate(node[1]):
            v = _evaluate(a, xy, lib)
            out = v if i == 0 else (out * v if op == "*" else out / v)
        return out
    if kind == "pow":
        base, exponent = _evaluate(node[1], xy, lib), _evaluate(node[2], xy, lib)
        if node[2][0] == "num" and float(node[2][1]).is_integer():
            # x^2 at x < 0 is x*x, not exp(2 log x): an integer power keeps its sign and gradient.
            return lib.power(base, int(node[2][1]))
        return lib.power(base, exponent)
    if kind == "cmp":
        a, b = _evaluate(node[2], xy, lib), _evaluate(node[3], xy, lib)
        return {"<": lib.less, "<=": lib.less_equal, ">": lib.greater, ">=": lib.greater_equal}[node[1]](a, b)
    if kind == "call":
        args = [_evaluate(a, xy, lib) for a in node[2]]
        return getattr(lib, node[1])(*args)  # node[1] is a key of FUNCTIONS, never user text
    raise AssertionError(kind)


def _canonical(node: Node) -> str:
    kind = node[0]
    if kind == "num":
        return repr(float(node[1]))
    if kind in ("var", "const"):
        return node[1]
    if kind == "neg":
        return f"(neg {_canonical(node[1])})"
    if kind in ("sum", "prod"):
        return "(" + kind + " " + " ".join(f"{op}{_canonical(a)}" for op, a in node[1]) + ")"
    if kind == "pow":
        return f"(pow {_canonical(node[1])} {_canonical(node[2])})"
    if kind == "cmp":
        return f"({node[1]} {_canonical(node[2])} {_canonical(node[3])})"
    return f"({node[1]} " + " ".join(_canonical(a) for a in node[2]) + ")"


_TEX_NAMES = {"arctan": r"\arctan", "log1p": r"\operatorname{log1p}", "abs": "", "sqrt": "",
              "minimum": r"\min", "maximum": r"\max", "where": r"\operatorname{where}"}  # fmt: skip


def _tex_number(v: float) -> str:
    text = f"{v:.12g}"
    if "e" in text:
        mant, exp = text.split("e")
        return rf"{mant} \cdot 10^{{{int(exp)}}}"
    return text


def _latex(node: Node, parent: int = 0) -> str:
    """LaTeX of the tree, written only from the tree (numbers and our own names), so no text the
    user typed reaches the typesetter. `parent` is the binding strength around it (0 sum, 1
    product, 2 power base)."""
    kind = node[0]
    if kind == "num":
        s = _tex_number(node[1])
        return f"({s})" if node[1] < 0 and parent > 0 else s
    if kind == "const":
        return r"\pi" if node[1] == "pi" else "e"
    if kind == "var":
        return node[1]
    if kind == "neg":
        s = "-" + _latex(node[1], 1)
        return f"({s})" if parent > 0 else s
    if kind == "sum":
        s = "".join(("" if i == 0 else f" {op} ") + _latex(a, 1 if op == "-" and i else 0)
                    for i, (op, a) in enumerate(node[1]))  # fmt: skip
        return rf"\left({s}\right)" if parent > 0 else s
    if kind == "prod":
        s = _latex(node[1][0][1], 1)
        for op, a in node[1][1:]:
            if op == "/":
                s = rf"\frac{{{s}}}{{{_latex(a)}}}"
            elif re.fullmatch(r"[0-9.]+", s) and a[0] in ("var", "const", "call", "pow"):
                s = f"{s} {_latex(a, 1)}"  # 4x, 2 sin(x): as written
            else:
                s = rf"{s} \cdot {_latex(a, 1)}"
        return rf"\left({s}\right)" if parent > 1 else s
    if kind == "pow":
        return f"{{{_latex(node[1], 2)}}}^{{{_latex(node[2])}}}"
    if kind == "cmp":
        op = {"<=": r"\le", ">=": r"\ge"}.get(node[1], node[1])
        return f"{_latex(node[2])} {op} {_latex(node[3])}"
    name, args = node[1], [_latex(a) for a in node[2]]
    if name == "abs":
        return rf"\left|{args[0]}\right|"
    if name == "sqrt":
        return rf"\sqrt{{{args[0]}}}"
    return _TEX_NAMES.get(name, "\\" + name) + r"\left(" + ", ".join(args) + r"\right)"


def parse(text: Any, dim: int | None = None) -> Formula:
    """Read a formula; ValueError saying what is wrong and at which column (1 is the first).

    `dim` fixes the number of variables (1: f(x), 2: f(x, y)); None takes it from a header
    `f(x) =` / `f(x, y) =` if there is one, else from whether y appears."""
    if not isinstance(text, str):
        raise ValueError(f"expected text, not a {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"at most {MAX_LENGTH} characters (this one has {len(text)})")
    tokens = _tokens(text)
    header = _HEADER.match(text)
    start = 0
    if header is not None:
        said = 2 if "y" in header.group() else 1
        if dim is not None and dim != said:
            raise ValueError(f"the header says f of {said} variable(s), the domain {dim}")
        dim = said
        start = next(i for i, t in enumerate(tokens) if t[2] > header.end())
    if tokens[start][0] == "end":
        raise ValueError("empty; type an expression in x (and y), e.g. x^2 + 3y^2")
    p = _Parser(tokens, dim)
    p.i = start
    tree = p.sum()
    if p.tok[0] != "end":
        kind, value, col = p.tok
        if kind == "op" and value in COMPARISONS:
            raise ValueError(
                f"comparison '{value}' at column {col}: comparisons go only in where's first argument, "
                "e.g. where(x > 0, x, -x)"
            )
        raise p.fail()
    dim = dim if dim is not None else (2 if p.uses_y else 1)
    return Formula(tree=tree, dim=dim, canonical=f"{dim}:{_canonical(tree)}")
