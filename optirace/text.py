"""User text (labels, titles, what a link or a scene file said) made fit to show, in one place.

Every string that came from a user passes through `shown` before anything displays it, and through
the encoder of the medium that displays it: `as_html` for markup we write ourselves, `as_tooltip`
for Bokeh hover templates, `as_mathtext` for matplotlib. Nothing else in the code base escapes
user text, so there is one place to read to know that it is escaped, and one to fix if it is not.
"""

from __future__ import annotations

import html
import unicodedata

__all__ = ["shown", "as_html", "as_tooltip", "as_mathtext"]

# Bidirectional overrides and isolates: they make shown text read differently from what it is.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_REPLACEMENT = "\ufffd"


def shown(text: object, limit: int | None = None) -> str:
    """`text` as the characters to show: a string, with control characters and bidirectional
    overrides replaced by U+FFFD, cut to `limit` characters (with an ellipsis) if given."""
    s = text if isinstance(text, str) else str(text)
    if any(unicodedata.category(c) == "Cc" or c in _BIDI for c in s):
        s = "".join(_REPLACEMENT if unicodedata.category(c) == "Cc" or c in _BIDI else c for c in s)
    if limit is not None and len(s) > limit:
        s = s[: max(limit - 1, 0)] + "…"
    return s


def as_html(text: object, limit: int | None = None) -> str:
    """`text` for an HTML element's content or a quoted attribute value: it reads as its characters."""
    return html.escape(shown(text, limit), quote=True)


def as_tooltip(text: object, limit: int | None = None) -> str:
    """`text` for the literal part of a Bokeh hover tooltip.

    BokehJS parses a tooltip's template as HTML and replaces `@name` and `$name` in it with data:
    both markup and those signs are written as character references, which the parse turns back
    into the characters themselves."""
    return as_html(text, limit).replace("@", "&#64;").replace("$", "&#36;")


def as_mathtext(text: object, limit: int | None = None) -> str:
    """`text` for a matplotlib label: a `$` would start mathtext (and an unbalanced one fails the
    whole drawing), so each is escaped to draw as itself."""
    return shown(text, limit).replace("$", r"\$")
