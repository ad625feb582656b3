"""The stylesheet for our HTML panes. Panel renders components in shadow roots, so page-wide CSS
does not reach inside them; each HTML pane gets this sheet through `stylesheets=`."""

from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "static"
SHEET = (STATIC / "optirace.css").read_text()
# A file path, which the template inlines as a data URI: the page needs no static route for it.
FAVICON = str(STATIC / "favicon.svg")

# For our cards' shadow roots. Panel draws a card's chevron with `stroke: var(--background-text-color)`,
# a variable the Bootstrap template never sets: the chevron was drawn with no stroke at all, and a
# collapsed card did not look like it opens.
CARD_SHEET = """
.card-button > svg { stroke: currentColor; width: 16px; height: 16px; }
.card-header { align-items: center; }
"""


def html_pane(obj: str = "", **kwargs):
    """An HTML pane that carries our stylesheet."""
    import panel as pn

    return pn.pane.HTML(obj, stylesheets=[SHEET], **kwargs)
