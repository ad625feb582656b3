"""Imports run one way: surfaces <- optimizers <- optirace.figures <- {optirace.app, optirace.export, CLI}.
The export and the CLI never import the app; the figures import neither (HoloViews itself loads Panel)."""

from __future__ import annotations

import subprocess
import sys

import pytest

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def _imports(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize(
    ("module", "never"),
    [
        ("surfaces", ("optimizers", "optirace")),
        ("optimizers", ("optirace",)),
        ("optirace.figures.race", ("optirace.app", "optirace.export", "optirace.cli")),
        ("optirace.figures.player", ("optirace.app", "optirace.export", "optirace.cli")),
        ("optirace.export.html", ("optirace.app", "optirace.cli")),
        ("optirace.export.frames", ("optirace.app", "optirace.cli")),
        ("optirace.cli", ("optirace.app",)),
        ("optirace.fair_cli", ("optirace.app",)),
        ("optirace.export.view", ("optirace.app", "optirace.cli")),
        ("optirace.figures.sensitivity", ("optirace.app", "optirace.export", "optirace.cli")),
        ("optirace.figures.memory", ("optirace.app", "optirace.export", "optirace.cli")),
        ("optimizers.maps", ("optirace",)),
        ("optirace.figures.heatmap", ("optirace.app", "optirace.export", "optirace.cli")),
        ("optirace.heatmap_cli", ("optirace.app",)),
        ("optirace.figures.cloud", ("optirace.app", "optirace.export", "optirace.cli")),
    ],
)
def test_imports_run_one_way(module, never):
    loaded = _imports(module)
    wrong = sorted(m for m in loaded if any(m == n or m.startswith(n + ".") for n in never))
    assert wrong == [], f"{module} imports {wrong}"
