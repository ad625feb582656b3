"""The scrubber and live HTML panes update their Bokeh models as Panel's own classes do."""

from __future__ import annotations

import panel as pn
from bokeh.document import Document

from views.frequent import LiveHTML, Scrubber

TABLE = "<table class='board'><caption>Leaderboard at step 7</caption><tr><td>a&amp;b</td></tr></table>"


def _model(viewable):
    doc = Document()
    return viewable.get_root(doc), doc


def test_a_new_object_gives_the_text_panels_html_pane_gives():
    for kwargs in ({}, {"sanitize_html": True}, {"stylesheets": [".x { color: red; }"]}):
        ours, theirs = LiveHTML("", **kwargs), pn.pane.HTML("", **kwargs)
        (m_ours, _), (m_theirs, _) = _model(ours), _model(theirs)
        for obj in (TABLE, "<script>alert(1)</script><b>bold</b>", ""):
            ours.object, theirs.object = obj, obj
            assert m_ours.text == m_theirs.text, (kwargs, obj)
        assert len(m_ours.stylesheets) == len(m_theirs.stylesheets)


def test_the_scrubber_moves_its_model_and_still_takes_stylesheets():
    scrub = Scrubber(name="step", start=0, end=100, value=0)
    model, _ = _model(scrub)
    before = len(model.stylesheets)
    for v in (5, 99, 0):
        scrub.value = v
        assert model.value == v
    scrub.end = 400
    assert model.end == 400
    scrub.stylesheets = [".noUi-handle { width: 20px; }"]
    # A stylesheet change still goes through the design: its sheets and ours, not ours alone.
    assert len(model.stylesheets) == before + 1
