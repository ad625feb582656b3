"""A scene file or link, raced for an export: optirace/scene.py's Scene as JSON, and back.

The JSON is the Scene's JSON form, e.g.

    {"surface": "rosenbrock", "racers": ["adam:lr=0.02", "sgd:lr=0.001,momentum=0.9"],
     "start": [-1.5, 2.0], "steps": 300, "noise": 0.0, "seed": 0, "theme": "light", "step": 120}

A scene must be understood whole: what the app would skip with a notice is an error here, so an
export never silently differs from what was asked. Without "step" an export shows the last step.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from optirace.scene import FORMS, Raced, Scene

__all__ = ["FIELDS", "scene_from_state", "scene_to_query", "state_from_scene", "read_scene", "scene_json"]

# JSON key -> what a value of it is (derived from the Scene's declaration).
FIELDS: dict[str, str] = {f.json: f.what for f in FORMS.values()}


def raced(fields: Mapping[str, Any], step: int | None = None) -> Raced:
    """The race of checked scene fields, shown at `step` (None: the last step); ValueError if the
    engine refuses the combination."""
    state = Raced(**fields)
    if state.error or state.result is None:
        raise ValueError(state.error or "the race could not be computed")
    state.step = state.steps_done if step is None else step
    return state


def state_from_scene(scene: Any) -> Raced:
    """The race a scene shows. Raises ValueError naming the first part not understood."""
    fields = Scene.read_json(scene)
    step = fields.pop("step", None)
    state = raced(fields, step)
    if step is not None and step > state.steps_done:
        raise ValueError(f"step {step} is not an integer from 0 to {state.steps_done}")
    return state


def scene_to_query(scene: Any) -> dict[str, str]:
    """Scene JSON -> the app's URL parameters."""
    return Scene.from_json(scene).to_query()


def scene_from_state(state: Scene, step: bool = True) -> dict[str, Any]:
    """The scene JSON of what a state shows now (with the shown step unless `step` is False)."""
    scene = state.to_json()
    scene.pop(FORMS["playing"].json, None)  # playing is the viewer's, not the scene's
    if not step:
        scene.pop(FORMS["step"].json, None)
    return scene


def scene_json(state: Scene) -> str:
    return json.dumps(scene_from_state(state), indent=2, allow_nan=False) + "\n"


_FALLBACKS = {f": {f.fallback}" for f in FORMS.values()}


def _plain(notice: str) -> str:
    """A link's notice as an error: what was wrong, without what the app does instead."""
    for tail in _FALLBACKS:
        if notice.endswith(tail):
            return notice[: -len(tail)]
    return notice


def read_scene(source: str) -> dict[str, Any]:
    """A scene from a JSON file, or from a shared app link (its query string)."""
    path = Path(source)
    if path.is_file():
        try:
            scene = json.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise ValueError(f"cannot read it ({e.strerror or e})") from None
        except RecursionError:
            raise ValueError("not JSON this program reads: nested too deeply") from None
        except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, an integer of over 4300 digits
            raise ValueError(f"not JSON ({e})") from None
        if not isinstance(scene, dict):
            raise ValueError("expected a JSON object")
        return scene
    if "?" in source or "://" in source:
        query = {k: v[-1] for k, v in parse_qs(urlsplit(source).query).items()}
        fields, notices = Scene.read_query(query)
        if notices:
            raise ValueError(_plain(notices[0]))
        fields.pop("playing", None)
        whole = Scene(**fields).to_json()
        return {FORMS[k].json: whole[FORMS[k].json] for k in fields} | {"racers": whole["racers"]}
    raise ValueError("no such file (give a .json file or an app link)")
