"""User text made fit to show (optirace/text.py) and the pane that shows it (optirace/app/plaintext.py)."""

from __future__ import annotations

import html
import re

import pytest

from optirace.text import as_html, as_mathtext, as_tooltip, shown

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(2)</script>",
    '" onmouseover="alert(1)" x="',
    "' onmouseover='alert(1)' x='",
    "&lt;b&gt; &amp; already escaped",
    "**bold** [link](javascript:alert(1)) $$x^2$$ {{7*7}}",
    "@x0 $x @{y0}{safe} $index",
]


def test_shown_keeps_every_printable_character_and_replaces_controls():
    assert shown("adam <b> & 'x' \"y\" é ü 学") == "adam <b> & 'x' \"y\" é ü 学"
    assert shown("a\nb\x00c\x1b[31md\u202eevil") == "a\ufffdb\ufffdc\ufffd[31md\ufffdevil"
    assert shown(3.5) == "3.5"
    assert shown("abcdef", limit=4) == "abc…" and len(shown("x" * 100, limit=10)) == 10
    assert shown("abc", limit=3) == "abc"


@pytest.mark.parametrize("text", HOSTILE)
def test_as_html_reads_back_as_the_same_characters_and_holds_no_markup(text):
    out = as_html(text)
    assert not re.search(r"[<>\"']", out)
    assert html.unescape(out) == text


@pytest.mark.parametrize("text", HOSTILE)
def test_as_tooltip_has_no_markup_and_no_bokeh_placeholder(text):
    out = as_tooltip(text)
    # BokehJS's placeholder pattern (@name, @{name}, $name), applied before it parses the HTML.
    assert not re.search(r"[<>\"'@$]", out)
    assert html.unescape(out) == text


def test_as_mathtext_draws_dollars_as_themselves():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.cbook import is_math_text

    fig, ax = plt.subplots()
    raw = ax.text(0, 0, "$x^$")
    with pytest.raises(ValueError):
        fig.canvas.draw()  # what a label such as `$x^$` did to an export before
    raw.remove()
    for text in ("$x^$", "cost: $5 and $", r"$\alpha$ <b>"):
        ax.text(0, 0, as_mathtext(text))
        assert not is_math_text(as_mathtext(text))
    fig.canvas.draw()
    plt.close(fig)


def test_plain_text_pane_never_renders_its_text():
    from optirace.app.plaintext import PlainText

    p = PlainText(heading="Not applied:", kind="danger", hide_empty=True)
    assert not p.__panel__().visible
    for text in HOSTILE:
        p.text = text
        obj = p.__panel__().object
        assert p.__panel__().visible
        # Our markup only: one box, one bold heading; the text reads back exactly.
        assert re.fullmatch(r"<div class='note danger'><b>Not applied:</b> [^<>\"']*</div>", obj), obj
        assert html.unescape(obj[obj.index("</b> ") + 5 : -len("</div>")]) == text
    p.text = ""
    assert not p.__panel__().visible


def test_the_cli_table_prints_no_terminal_control_sequences():
    from optirace.report import table

    row = {"label": "a\x1b[2J\x1b]0;owned\x07b", "spec": "adam:lr=0.01", "final_loss": 1.0, "distance": 0.5,
           "first_within": None, "diverged_at": None}  # fmt: skip
    out = table([row])
    assert "\x1b" not in out and "\x07" not in out
    assert "a\ufffd[2J\ufffd]0;owned\ufffdb" in out


def test_user_text_has_one_escaping_path():
    """Nothing but optirace/text.py escapes text, and no pane that reads its text as Markdown or
    HTML is fed anything but our own words: a new call site would be a second path to keep right."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for path in [*root.glob("optirace/app/*.py"), *root.glob("optirace/**/*.py")]:
        rel = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if rel != "optirace/text.py":
                assert not (isinstance(node, ast.Import) and any(a.name == "html" for a in node.names)), rel
                assert not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "html"), (
                    rel
                )
            if isinstance(node, ast.Attribute) and node.attr == "Alert":
                raise AssertionError(
                    f"{rel}: pn.pane.Alert renders Markdown; use optirace.app.plaintext.PlainText"
                )
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Markdown":
                assert all(isinstance(a, ast.Constant) for a in node.args), (
                    f"{rel}: Markdown of a computed text"
                )
