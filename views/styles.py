"""The stylesheet for our HTML panes. Panel renders components in shadow roots, so page-wide CSS
does not reach inside them; each HTML pane gets this sheet through `stylesheets=`."""

from pathlib import Path

SHEET = (Path(__file__).resolve().parent.parent / "static" / "optirace.css").read_text()


def html_pane(obj: str = "", **kwargs):
    """An HTML pane that carries our stylesheet."""
    import panel as pn

    return pn.pane.HTML(obj, stylesheets=[SHEET], **kwargs)
