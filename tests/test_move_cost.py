"""What a slider move costs the server: it changes the race's data and a few texts, and re-lays out
nothing. Setting a layout's children, even to the ones it has, makes Panel re-render it and Bokeh
walk every model of the session's document (about 750) to find new ones: 73 ms of CPU, three
quarters of a move, when the noise cloud re-set its empty plot on every race (benchmarks/load.py,
docs/performance.md)."""

from __future__ import annotations

from bokeh.document import Document
from bokeh.document.events import ColumnDataChangedEvent
from panel.io.state import set_curdoc

from optirace.app import page


def _layouts(template) -> list:
    """Every layout of the page (anything with children), the template's areas included."""
    areas = [template.main, template.sidebar, template.header, template.modal]
    found = list(areas)
    for area in areas:
        for item in area:
            found += item.select(lambda o: "objects" in o.param)
    return found


def _first_lr_slider(doc: Document):
    # The racers' cards are built in order: the first slider titled lr is the first racer's.
    for root in doc.roots:
        for model in root.references():
            if getattr(model, "title", None) == "lr" and hasattr(model, "value_throttled"):
                return model
    raise AssertionError("no lr slider in the page")


def test_a_slider_move_changes_the_race_and_re_lays_out_nothing():
    doc = Document()
    with set_curdoc(doc):
        template = page.build()
        template.server_doc(doc)
    relaid: list = []
    for layout in _layouts(template):
        layout.param.watch(lambda e: relaid.append(type(e.obj).__name__), "objects")
    events: list = []
    doc.on_change(events.append)
    slider = _first_lr_slider(doc)
    with set_curdoc(doc):
        # What the browser's PATCH-DOC does: the model's value, which Panel passes to the widget.
        slider.value = slider.value + slider.step
    race = [e for e in events if isinstance(e, ColumnDataChangedEvent) and e.model.name == "optirace-race"]
    assert race, "the move must send the new race"
    assert not relaid, f"a slider move re-laid out {relaid}"


def test_a_sessions_first_slider_move_brings_no_new_models():
    """The texts a move changes (a racer card's header, the explain panel's table) are set in place.
    A Panel HTML pane sent its design's stylesheets again with its first new text, a longer list
    than the page was built with, and the new models made Bokeh walk the whole document: twice on
    every session's first move."""
    doc = Document()
    with set_curdoc(doc):
        template = page.build()
        template.server_doc(doc)
    before = {m.id for m in doc.models}
    events: list = []
    doc.on_change(events.append)
    slider = _first_lr_slider(doc)
    with set_curdoc(doc):
        slider.value = slider.value + slider.step
    texts = [e.model for e in events if getattr(e, "attr", None) == "text"]
    assert any("racer-head" in m.text for m in texts), "the card's header must follow the move"
    resent = [type(e.model).__name__ for e in events if getattr(e, "attr", None) == "stylesheets"]
    assert not resent, f"the move re-sent stylesheets of {resent}"
    assert {m.id for m in doc.models} <= before, "the move added models to the document"
