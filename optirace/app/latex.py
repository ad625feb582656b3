"""Formulas rendered by KaTeX, styled inside Panel's shadow roots.

Panel 1.9 loads KaTeX's stylesheet on the document only, and its LaTeX pane renders into a shadow
root that the stylesheet does not reach: formulas then lose KaTeX's fonts and sizes (delimiters
such as \\big) come out at text size, formulas smaller than the text). Giving the pane KaTeX's own
stylesheet, the one Panel serves, puts it where the formula is. tests/browser/test_page_issues.py
checks the rendered fonts, so a Panel that fixes or moves this shows up there.
"""

from __future__ import annotations

import panel as pn
from panel.models.katex import KaTeX

# Panel bundles KaTeX's stylesheet but not the fonts it names: asking for them only logs 404s in the
# console. The formula keeps KaTeX's layout (sizes, fractions, roots) in a serif math face instead.
_FONTS = """
.katex, .katex * { font-family: "Latin Modern Math", "STIX Two Math", "Cambria Math", "Times New Roman", serif !important; }
"""


def katex_stylesheets() -> list[str]:
    """KaTeX's stylesheet as Panel serves it, plus a font stack, for a LaTeX pane's `stylesheets`."""
    return [*KaTeX.__css__, _FONTS]


def latex_pane(tex: str, **kwargs) -> pn.pane.LaTeX:
    """A display formula `tex`, styled by KaTeX's stylesheet inside the pane's shadow root, at the
    size of the text around it (Panel's panes default to a smaller font)."""
    kwargs.setdefault("styles", {"font-size": "1rem"})
    kwargs.setdefault("css_classes", ["rule"])
    return pn.pane.LaTeX(f"$${tex}$$", stylesheets=katex_stylesheets(), **kwargs)
