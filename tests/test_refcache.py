"""views/refcache.py: the cached set of synced models is always Bokeh's own, and messages say the same."""

from __future__ import annotations

from bokeh.document import Document
from bokeh.models import Column, ColumnDataSource, Div
from bokeh.protocol import Protocol

from views import refcache


def _bokeh(doc: Document) -> set:
    return refcache._bokeh_synced_references.fget(doc.models)


def _patch(doc: Document, events) -> dict:
    msg = Protocol().create("PATCH-DOC", events)
    return msg.content


def test_the_cached_set_follows_every_change_of_the_document():
    assert refcache.install()
    doc = Document()
    source = ColumnDataSource({"x": [1.0]})
    layout = Column(children=[Div(text="a")])
    doc.add_root(layout)
    doc.add_root(source)
    assert doc.models.synced_references == _bokeh(doc)  # new models: not synced yet
    doc.models.flush_synced()
    first = doc.models.synced_references
    assert first == _bokeh(doc) and len(first) > 0
    assert doc.models.synced_references is first  # nothing changed: the cached set
    added = Div(text="b")
    layout.children = [*layout.children, added]  # a new model joins: the set changes
    assert added not in doc.models.synced_references
    assert doc.models.synced_references == _bokeh(doc)
    doc.models.flush_synced()
    assert added in doc.models.synced_references
    assert doc.models.synced_references == _bokeh(doc)
    layout.children = layout.children[:1]  # and leaves again
    assert added not in doc.models.synced_references
    assert doc.models.synced_references == _bokeh(doc)


def test_a_new_model_is_still_sent_whole_and_a_known_one_by_reference():
    assert refcache.install()
    doc = Document()
    layout = Column(children=[Div(text="a")])
    doc.add_root(layout)
    doc.models.flush_synced()
    known = layout.children[0]
    new = Div(text="new")
    events = []
    doc.callbacks.on_change(lambda event: events.append(event))
    layout.children = [known, new]
    content = _patch(doc, events[-1:])
    kids = content["events"][0]["new"]
    assert kids[0] == {"id": known.id}  # a reference only
    assert kids[1]["id"] == new.id and kids[1]["attributes"]["text"] == "new"  # in full
    # Once sent, the new model is known: the next message refers to it.
    events.clear()
    layout.children = [new]
    content = _patch(doc, events[-1:])
    assert content["events"][0]["new"] == [{"id": new.id}]
