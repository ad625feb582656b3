"""Bokeh's per-message reference table, computed once per change of a document's models.

For every PATCH-DOC message (each animation frame is one), Bokeh 3.9 collects the document's
synced models into a new set and builds a Serializer whose table maps each of them to a new `Ref`.
The page has ~640 models, and py-spy on the server showed that walk taking about 40% of the
server's time per frame, for a message that references none of them (a stream of numbers).

The set of synced models only changes when the document's models are recomputed or a new model is
flushed, so `install()` caches it, with its table, on the document's model manager; a Serializer
given that set copies the ready table (a dict copy) instead of rebuilding it. Everything else,
including what gets encoded and which models count as new, is Bokeh's own code.

The cache is keyed on what Bokeh derives the set from: the identity and size of the model dict
(held, so its identity cannot be reused; `recompute` replaces it, and models are only ever added to
it in place) and the contents of the set of new models (`flush_synced` rebuilds that set after every
message, usually empty).
"""

from __future__ import annotations

from bokeh.core.serialization import Serializer
from bokeh.document.models import DocumentModelManager

_ATTR = "_optirace_synced"


class _Synced(set):
    """The synced models of a document, with the id -> Ref table a Serializer needs."""

    table: dict


def _synced_references(self: DocumentModelManager) -> set:
    models, new = self._models, self._new_models
    cached = getattr(self, _ATTR, None)
    if cached is not None:
        c_models, n_models, c_new, synced = cached
        if c_models is models and n_models == len(models) and c_new == new:
            return synced
    synced = _Synced(model for model in models.values() if model not in new)
    synced.table = {id(model): model.ref for model in synced}
    setattr(self, _ATTR, (models, len(models), frozenset(new), synced))
    return synced


_serializer_init = Serializer.__init__
_bokeh_synced_references = DocumentModelManager.synced_references  # Bokeh's own, for the tests


def _init(self: Serializer, *, references=frozenset(), deferred: bool = True, check_circular: bool = False):
    table = getattr(references, "table", None)
    if table is None:
        _serializer_init(self, references=references, deferred=deferred, check_circular=check_circular)
        return
    _serializer_init(self, references=frozenset(), deferred=deferred, check_circular=check_circular)
    self._references = dict(table)  # the serializer adds to its table: a copy


def install() -> bool:
    """Apply the cache (once per process). Returns False, changing nothing, if Bokeh's internals
    are not the ones this was written against."""
    prop = DocumentModelManager.__dict__.get("synced_references")
    if getattr(prop, "fget", None) is _synced_references:
        return True
    if not isinstance(prop, property) or not hasattr(Serializer(), "_references"):
        return False
    DocumentModelManager.synced_references = property(_synced_references)
    Serializer.__init__ = _init
    return True
