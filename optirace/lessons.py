"""The lessons: ready-made scenes with a title and a caption, one JSON file each in `lessons/`.

A lesson file is a JSON object with exactly three keys:

    {"title": "Momentum in a ravine",
     "caption": "Two sentences saying what to notice.",
     "scene": {"surface": "quadratic", "racers": ["gd:lr=0.019"], "steps": 200, ...}}

`scene` is a scene in the JSON form `optirace export --scene` reads (optirace/scene.py,
`Scene.read_json`). A lesson file is read like any stranger's scene file: bounded in size, and
understood whole or refused with a ValueError naming what is wrong. Lessons are ordered by their
file names (`01-...`, `02-...`); a lesson's name is its file name without the number and `.json`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .scene import Scene
from .text import shown

__all__ = ["Lesson", "LESSONS_DIR", "read_lesson", "parse_lesson", "lessons", "lesson", "MAX_BYTES"]

LESSONS_DIR = Path(__file__).resolve().parents[1] / "lessons"
MAX_BYTES = 64_000  # a lesson is a few hundred bytes; a larger file is not one
MAX_TITLE = 80
MAX_CAPTION = 600
MAX_LESSONS = 100
KEYS = ("title", "caption", "scene")
_NAME = re.compile(r"(?:\d{1,3}-)?([a-z0-9][a-z0-9-]{0,59})")


@dataclass(frozen=True)
class Lesson:
    name: str  # in links: ?lesson=<name>
    title: str
    caption: str
    scene: dict[str, Any]  # the scene's JSON, as written (checked by Scene.read_json)

    def fields(self) -> dict[str, Any]:
        """The scene's checked fields, as Scene(**fields) takes them."""
        return Scene.read_json(self.scene)

    def to_scene(self) -> Scene:
        return Scene(**self.fields())


def _text(data: dict, key: str, limit: int) -> str:
    v = data.get(key)
    if not isinstance(v, str) or not v.strip():
        raise ValueError(f"{key}: give a non-empty string")
    if len(v) > limit:
        raise ValueError(f"{key}: at most {limit} characters (got {len(v)})")
    if shown(v) != v:
        raise ValueError(f"{key}: control characters are not allowed")
    return " ".join(v.split())


def parse_lesson(data: Any, name: str) -> Lesson:
    """A lesson from its JSON object; ValueError naming the first part not understood."""
    if not isinstance(data, dict):
        raise ValueError('expected a JSON object {"title": ..., "caption": ..., "scene": {...}}')
    unknown = [k for k in data if k not in KEYS]
    if unknown:
        raise ValueError(f"unknown key {shown(unknown[0])[:40]!r}; a lesson has {', '.join(KEYS)}")
    missing = [k for k in KEYS if k not in data]
    if missing:
        raise ValueError(f"missing key {missing[0]!r}; a lesson has {', '.join(KEYS)}")
    title = _text(data, "title", MAX_TITLE)
    caption = _text(data, "caption", MAX_CAPTION)
    try:
        Scene.read_json(data["scene"])
    except ValueError as e:
        raise ValueError(f"scene: {e}") from None
    return Lesson(name=name, title=title, caption=caption, scene=dict(data["scene"]))


def lesson_name(path: Path) -> str:
    m = _NAME.fullmatch(path.stem)
    if path.suffix != ".json" or m is None:
        raise ValueError(f"{shown(path.name)[:80]}: a lesson file is named like 03-momentum-ravine.json")
    return m.group(1)


def read_lesson(path: str | Path) -> Lesson:
    """Read and check one lesson file; ValueError naming the file and what is wrong."""
    path = Path(path)
    try:
        name = lesson_name(path)
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise ValueError(f"larger than {MAX_BYTES} bytes")
        try:
            data = json.loads(raw.decode("utf-8"))
        except RecursionError:
            raise ValueError("not JSON this program reads: nested too deeply") from None
        except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
            raise ValueError(f"not JSON ({e})") from None
        return parse_lesson(data, name)
    except OSError as e:
        raise ValueError(f"lesson {shown(path.name)[:80]}: cannot read it ({e.strerror or e})") from None
    except ValueError as e:
        raise ValueError(f"lesson {shown(path.name)[:80]}: {e}") from None


def read_folder(folder: str | Path) -> dict[str, Lesson]:
    """Every lesson of a folder, by name, in file-name order; ValueError for a bad or doubled one."""
    files = sorted(Path(folder).glob("*.json"))
    if len(files) > MAX_LESSONS:
        raise ValueError(f"{folder}: more than {MAX_LESSONS} lesson files")
    out: dict[str, Lesson] = {}
    for path in files:
        one = read_lesson(path)
        if one.name in out:
            raise ValueError(f"lesson {path.name}: the name {one.name!r} is taken by another file")
        out[one.name] = one
    return out


@cache
def lessons() -> dict[str, Lesson]:
    """The lessons that ship with OptiRace, by name, in order (read once per process)."""
    return read_folder(LESSONS_DIR)


def lesson(name: Any) -> Lesson:
    """A shipped lesson by name; ValueError naming the known ones otherwise."""
    known = lessons()
    if not isinstance(name, str) or name not in known:
        raise ValueError(f"unknown lesson {shown(name, 40)!r}; known: {', '.join(known)}")
    return known[name]
