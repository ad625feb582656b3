"""The optimizers' and schedules' LaTeX: well formed, and readable as a user reads it."""

from __future__ import annotations

import re

import pytest

from optimizers import OPTIMIZERS, SCHEDULES

FORMULAS = {name: spec.latex for name, spec in {**OPTIMIZERS, **SCHEDULES}.items()}
CLOSE = {"(": ")", "[": "]", r"\{": r"\}", r"\lfloor": r"\rfloor", r"\lceil": r"\rceil"}
TOKEN = r"(\\left|\\right|\\[bB]igg?[lr]?)?\s*(\\[{}]|\\[lr](?:floor|ceil)\b|[()\[\]])"


def _size(command: str) -> str:
    """\\left and \\right pair with each other; \\bigl( with \\bigr) as with \\big)."""
    if command in (r"\left", r"\right"):
        return "left-right"
    return command.rstrip("lr") if command.endswith(("gl", "gr")) else command


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_braces_and_brackets_are_balanced(name):
    tex = FORMULAS[name]
    depth = 0
    for c in re.sub(r"\\[{}]", "", tex):
        depth += {"{": 1, "}": -1}.get(c, 0)
        assert depth >= 0, f"{name}: '}}' without its '{{'"
    assert depth == 0, f"{name}: unclosed '{{'"
    assert len(re.findall(r"\\left\b", tex)) == len(re.findall(r"\\right\b", tex)), name
    stack: list[tuple[str, str]] = []
    for command, bracket in re.findall(TOKEN, re.sub(r"\\text\{[^{}]*\}", "", tex)):
        if bracket in CLOSE:
            stack.append((_size(command), CLOSE[bracket]))
        else:
            assert stack, f"{name}: {command}{bracket} closes nothing"
            want = stack.pop()
            assert want == (_size(command), bracket), f"{name}: {command}{bracket} closes {want}"
    assert not stack, f"{name}: {stack} left open"


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_words_keep_their_spaces_and_options_stay_out_of_roots(name):
    tex = FORMULAS[name]
    # In math mode spaces vanish: a word between formulas needs them inside \\text or a \\quad.
    for m in re.finditer(r"\\text\{(or|and|if|else)\}", tex):
        before, after = tex[: m.start()].rstrip(), tex[m.end() :].lstrip()
        if before.endswith("&"):
            continue  # a case label: the alignment spaces it
        assert before.endswith(("\\quad", "\\qquad")) and after.startswith(("\\quad", "\\qquad")), name
    for root in re.findall(r"\\sqrt\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}", tex):
        assert "\\text" not in root and "[" not in root, f"{name}: prose inside a square root: {root}"
