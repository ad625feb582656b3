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


def live_html(text: str = "", **kwargs):
    """HTML whose text changes while the page is open (a racer card's header, the explain panel's
    table): a Bokeh `Div` in a Panel pane, its `text` set in place (`pane.object.text = ...`).

    A Panel HTML pane sends its design's stylesheets again with its first new text, a longer list
    than the page was built with; those new models made Bokeh walk the session's whole document,
    twice on a session's first slider move (two thirds of its server time under load)."""
    import panel as pn
    from bokeh.models import Div

    div = Div(text=text, **kwargs)
    # Laid out as an HTML pane's text is: a Div's text box is inline-block, which a card's header
    # (a button) centres.
    return pn.pane.Bokeh(div, sizing_mode=kwargs.get("sizing_mode"), min_width=0, margin=0,
                         stylesheets=[SHEET, _DIV_SHEET])  # fmt: skip


_DIV_SHEET = ":host { text-align: left; } .bk-clearfix { display: block !important; }"
