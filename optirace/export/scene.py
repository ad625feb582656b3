"""A scene: what one shared app link shows, as JSON; and the app state it stands for.

The JSON is the app's URL state with typed values and the racers as a list, e.g.

    {"surface": "rosenbrock", "racers": ["adam:lr=0.02", "sgd:lr=0.001,momentum=0.9"],
     "start": [-1.5, 2.0], "steps": 300, "noise": 0.0, "seed": 0, "theme": "light", "step": 120}

One definition serves both directions: a state becomes a scene through `RaceState.to_query()` and
the URL decoder, and a scene becomes a state through `RaceState.apply_query()`, the very call that
restores a shared link in the app. A scene must be understood whole: what the app would skip
with a notice is an error here, so an export never silently differs from what was asked.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from optimizers import Racer
from optimizers.spec import shown
from surfaces import SURFACES
from views.state import RaceState
from views.urlstate import decode, racer_to_string

__all__ = ["FIELDS", "scene_from_state", "scene_to_query", "state_from_scene", "read_scene", "scene_json"]

# Field -> what a value of it is, for the error message of a wrong one.
FIELDS: dict[str, str] = {
    "surface": "a surface key",
    "racers": "a list of racer strings ('adam:lr=0.01') or racer dicts",
    "start": "a list of coordinates, or null for the surface's default",
    "steps": "an integer",
    "noise": "a number >= 0",
    "seed": "an integer",
    "batch_size": "an integer, or null",
    "kappa": "a number, or null",
    "speed": "steps per second",
    "theme": "'light' or 'dark'",
    "present": "true or false",
    "embed": "true or false",
    "loop": "true or false",
    "step": "the step shown, an integer",
}


def _racer_text(r: Any) -> str:
    if isinstance(r, str):
        return r
    if isinstance(r, Mapping) and "optimizer" in r:
        try:
            Racer.from_spec(r)  # checked whole first: racer_to_string expects a valid racer
        except ValueError as e:
            raise ValueError(f"racers: {e}") from None
        return racer_to_string(r)
    raise ValueError(f"racers: {shown(r)} is neither a racer string nor a dict with 'optimizer'")


def _text(key: str, v: Any) -> str:
    """One scalar of the scene as URL text; a list, an object or an out-of-range integer where a
    scalar belongs is an error naming the field."""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (str, float)) or (isinstance(v, int) and v.bit_length() <= 128):
        return str(v)
    raise ValueError(f"{key} = {shown(v)} is not allowed; {key} is {FIELDS[key]}")


def scene_to_query(scene: Mapping[str, Any]) -> dict[str, str]:
    """Scene JSON -> the app's URL parameters (the inverse of `scene_from_state`'s encoding)."""
    if not isinstance(scene, Mapping):
        raise ValueError('expected a JSON object such as {"surface": "rosenbrock", ...}')
    unknown = [k for k in scene if k not in FIELDS]
    if unknown:
        raise ValueError(f"unknown field {shown(unknown[0])}; fields are {', '.join(FIELDS)}")
    q: dict[str, str] = {}
    for key, v in scene.items():
        if v is None or key == "step":
            continue
        if key == "racers":
            if not isinstance(v, (list, tuple)):
                raise ValueError(f"racers must be {FIELDS['racers']}")
            q.update({f"r{i}": _racer_text(r) for i, r in enumerate(v)})
        elif key == "start":
            pts = v if isinstance(v, (list, tuple)) else [v]
            q[key] = ",".join(_text(key, x) for x in pts)
        else:
            q[key] = _text(key, v)
    return q


def _plain(notice: str) -> str:
    """An app notice as an error: what was wrong, without what the app does instead."""
    m = re.fullmatch(r"link refused \((.*)\): showing the defaults", notice)
    if m:
        return m.group(1)
    return re.sub(r":? *(using|showing) (the default|the surface's default|0)$", "", notice)


def _check_step(scene: Mapping[str, Any], steps: int) -> None:
    k = scene.get("step")
    if k is None:
        return
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= steps:
        raise ValueError(f"step {shown(k)} is not an integer from 0 to {steps}")


def state_from_scene(scene: Mapping[str, Any]) -> RaceState:
    """The app state a scene shows, raced. Raises ValueError naming the first part not understood."""
    query = scene_to_query(scene)
    if query.get("surface", "rosenbrock") not in SURFACES:
        raise ValueError(f"unknown surface {shown(query['surface'])}; surfaces: {', '.join(SURFACES)}")
    fields, notices = decode(query)
    if notices:
        raise ValueError(_plain(notices[0]))
    # Build with the scene's own surface and racers, so the first race is already the right one;
    # apply_query then sets everything else exactly as the app does for a link.
    state = RaceState(surface=fields.get("surface", "rosenbrock"), racers=fields.get("racers", []))
    state.apply_query(query)
    if state.notices:
        raise ValueError(_plain(state.notices[0]))
    if state.error or state.result is None:
        raise ValueError(state.error or "the race could not be computed")
    _check_step(scene, state.steps_done)
    state.step = int(scene["step"]) if scene.get("step") is not None else state.steps_done
    return state


def scene_from_state(state: RaceState, step: bool = True) -> dict[str, Any]:
    """The scene JSON of what the app shows now (its URL state, plus the shown step)."""
    fields, _ = decode(state.to_query())
    scene: dict[str, Any] = {"surface": fields["surface"]}
    scene["racers"] = [racer_to_string(r) for r in fields.get("racers", [])]
    if "start" in fields:
        scene["start"] = list(fields["start"])
    for key in ("steps", "noise", "seed", "batch_size", "kappa", "speed"):
        if key in fields:
            scene[key] = fields[key]
    scene.setdefault("noise", 0.0)
    scene.setdefault("seed", 0)
    scene["theme"] = state.theme
    scene["present"] = bool(state.present)
    if state.loop:
        scene["loop"] = True
    if step:
        scene["step"] = int(state.step)
    return scene


def scene_json(state: RaceState) -> str:
    return json.dumps(scene_from_state(state), indent=2, allow_nan=False) + "\n"


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
        fields, notices = decode(query)
        if notices:
            raise ValueError(_plain(notices[0]))
        scene: dict[str, Any] = {k: v for k, v in query.items() if not (k[0] == "r" and k[1:].isdigit())}
        scene.pop("play", None)
        scene["racers"] = [racer_to_string(r) for r in fields.get("racers", [])]
        for key in ("steps", "seed", "batch_size"):
            if key in fields:
                scene[key] = int(fields[key])
        for key in ("noise", "kappa", "speed"):
            if key in fields and math.isfinite(fields[key]):
                scene[key] = float(fields[key])
        if "start" in fields:
            scene["start"] = list(fields["start"])
        for key in ("present", "embed", "loop"):
            if key in fields:
                scene[key] = bool(fields[key])
        return scene
    raise ValueError("no such file (give a .json file or an app link)")
