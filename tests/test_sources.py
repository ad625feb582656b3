"""User-facing text cites papers and libraries only, never internal working documents."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from optimizers import OPTIMIZERS, SCHEDULES
from surfaces import SURFACES

ROOT = Path(__file__).resolve().parents[1]
INTERNAL = re.compile(r"\bseeds?\s*#?\d+|seeds/|DESIGN\.md|STYLE\.md", re.IGNORECASE)


def _texts(spec) -> dict[str, str]:
    fields = ("title", "source", "convention", "description", "formula", "doc", "torch_name")
    out = {f: getattr(spec, f) for f in fields if isinstance(getattr(spec, f, None), str)}
    for h in getattr(spec, "hparams", ()):
        out[f"hparam {h.name}"] = h.doc
    return out


SPECS = {f"optimizer {k}": v for k, v in OPTIMIZERS.items()}
SPECS |= {f"schedule {k}": v for k, v in SCHEDULES.items()}
SPECS |= {f"surface {k}": v for k, v in SURFACES.items()}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_specs_cite_real_sources_only(name):
    for field, text in _texts(SPECS[name]).items():
        assert not INTERNAL.search(text), f"{name} {field}: {text!r}"


def test_user_facing_files_name_no_internal_documents():
    files = [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
    for package in ("optimizers", "surfaces", "views", "optirace"):
        files += (ROOT / package).rglob("*.py")
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in files
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if INTERNAL.search(line)
    ]
    assert found == []


def test_test_modules_have_unique_names():
    """pytest imports test modules by their file name (rootdir-relative packages are not used here):
    two files of one name in tests/ and tests/browser/ stop the whole suite's collection."""
    names = Counter(p.name for p in (ROOT / "tests").rglob("test_*.py"))
    assert [n for n, k in names.items() if k > 1] == []
