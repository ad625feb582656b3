"""Keyboard shortcuts for lecture use: space plays/pauses, arrows step, r resets.

A tiny JSComponent listens on the document and sends the key to Python; keys typed into inputs,
text areas and selects (inside shadow roots too) are left alone so typing never starts the race.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import param
from panel.custom import JSComponent

KEYS = {" ": "toggle", "ArrowRight": "forward", "ArrowLeft": "back", "r": "reset", "R": "reset"}


class Shortcuts(JSComponent):
    last = param.String(default="", doc="the last shortcut received (for tests and debugging)")

    _esm = """
    export function render({ model }) {
      const keys = __KEYS__;
      const editable = (t) => {
        const tag = t && t.tagName ? t.tagName.toLowerCase() : "";
        return tag === "input" || tag === "textarea" || tag === "select" || !!(t && t.isContentEditable);
      };
      const handler = (e) => {
        // Panel's widgets live in shadow roots: at the document, e.target is only their host. The
        // composed path starts at the element really typed into.
        const path = e.composedPath ? e.composedPath() : [e.target];
        if (path.some(editable)) return;
        if (e.ctrlKey || e.metaKey || e.altKey) return;
        const action = keys[e.key];
        if (!action) return;
        e.preventDefault();
        model.send_msg(action);
      };
      document.addEventListener("keydown", handler);
      model.on("remove", () => document.removeEventListener("keydown", handler));
      const el = document.createElement("span");
      el.style.display = "none";
      return el;
    }
    """.replace("__KEYS__", json.dumps(KEYS))

    def __init__(self, on_action: Callable[[str], None], **params):
        super().__init__(width=0, height=0, margin=0, **params)
        self._on_action = on_action

    def _handle_msg(self, msg) -> None:
        if msg in KEYS.values():
            self.last = msg
            self._on_action(msg)
