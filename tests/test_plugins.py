"""Plug-ins (entry points `optirace.surfaces` and `optirace.optimizers`): the example package raced
from a fresh environment, and broken plug-ins reported by name and skipped. Each run is a new
interpreter, since plug-ins load when `surfaces` and `optimizers` are imported."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from plugin_env import broken_plugins, env, example_venv


@pytest.fixture(scope="module")
def example_python(tmp_path_factory):
    return example_venv(tmp_path_factory.mktemp("example-plugin"))


def _run(python, *args, paths=()):
    return subprocess.run([str(python), *args], capture_output=True, text=True, env=env(*paths), timeout=600)


def test_the_example_plugin_races_in_the_cli(example_python):
    out = _run(example_python, "-m", "optirace", "race", "--surface", "three_hump_camel", "--racer",
               "signsgd:lr=0.05", "--racer", "optax:sign_sgd:learning_rate=0.05", "--racer", "adam:lr=0.05",
               "--steps", "200", "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["surface"] == "three_hump_camel" and report["steps"] == 200
    signsgd, optax_sign, adam = report["racers"]
    assert signsgd["spec"] == "signsgd:lr=0.05" and signsgd["diverged_at"] is None
    # The plug-in's signSGD is optax's sign_sgd, step for step.
    assert signsgd["final_params"] == optax_sign["final_params"]
    assert signsgd["final_params"] != adam["final_params"]
    # The plug-in's objects are in the registries, its docstring and source with them.
    out = _run(example_python, "-c", "import optimizers, surfaces; o = optimizers.OPTIMIZERS['signsgd'];"
               "print(o.source); print(surfaces.SURFACES['three_hump_camel'].title); print(surfaces.PLUGIN_PROBLEMS)")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "Bernstein et al. 2018 (ICML), signSGD; optax.sign_sgd",
        "Three-hump camel",
        "[]",
    ]


def test_without_the_plugin_its_names_are_unknown():
    """The same command in this interpreter (the example is not installed here) is refused by name."""
    out = _run(sys.executable, "-m", "optirace", "race", "--surface", "three_hump_camel", "--steps", "5")
    assert out.returncode == 2 and "unknown surface 'three_hump_camel'" in out.stderr


def test_the_example_plugin_in_the_apps_state(example_python):
    """The app's state and racer editor, built in the plug-in's environment: the surface is in the
    surface menu's choices, the optimizer in the new-racer menu, and they race together."""
    code = (
        "from optirace.app.racers import RacerEditor\n"
        "from optirace.app.state import RaceState\n"
        "from optirace.scene import Scene\n"
        "state = RaceState(surface='three_hump_camel')\n"
        "editor = RacerEditor(state)\n"
        "editor.new_optimizer.value = 'signsgd'\n"
        "editor.add.clicks += 1\n"
        "print(state.error or 'ok')\n"
        "print('three_hump_camel' in Scene.param.surface.objects, 'signsgd' in editor.new_optimizer.options)\n"
        "print(state.racers[-1])\n"
        "print(state.result.params.shape[0], state.result.diverged_at.tolist())\n"
    )
    out = _run(example_python, "-c", code)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "ok" and lines[1] == "True True"
    assert lines[2] == "{'optimizer': 'signsgd', 'lr': 0.01}"  # the app's suggested lr (fallback scale)
    assert lines[3] == "4 [-1, -1, -1, -1]"


# A plug-in's module imports both packages: whichever the program imports first, every plug-in loads.
@pytest.mark.parametrize("first", ["optimizers", "surfaces"])
def test_broken_plugins_are_reported_by_name_and_skipped(tmp_path, first):
    site = broken_plugins(tmp_path)
    code = (
        f"import json, {first}, optimizers, surfaces\n"
        "print(json.dumps([surfaces.PLUGIN_PROBLEMS, sorted(surfaces.SURFACES), sorted(optimizers.OPTIMIZERS),"
        " optimizers.OPTIMIZERS['adam'].title]))\n"
        "r = optimizers.race('good_bowl', [{'optimizer': 'good_gd', 'lr': 0.1}], steps=20)\n"
        "print(r.loss[0, -1] < r.loss[0, 0])\n"
    )
    out = _run(sys.executable, "-c", code, paths=[site])
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.splitlines()
    problems, surface_names, optimizer_names, adam_title = json.loads(first)
    assert second == "True"  # the good plug-ins race
    assert "good_bowl" in surface_names and "good_gd" in optimizer_names and adam_title == "Adam"
    expected = {
        "'broken'": "RuntimeError: this plug-in is broken on purpose",
        "'not_a_surface'": "is a str, not a surfaces.base.Surface",
        "'rosenbrock'": "the name 'rosenbrock' is taken",
        "'no_description'": "its description is missing",
        "'misnamed'": "its name 'something_else' is not its entry point's key 'misnamed'",
        "'not_jax'": "failed: ",
        "'broken_opt'": "RuntimeError: this plug-in is broken on purpose",
        "'adam'": "is not its entry point's key 'adam'",
        "'bad_lr'": "its lr_name 'nope' is none of its hyperparameters",
        "'no_source'": "its source is missing",
    }
    assert len(problems) == len(expected)
    for key, why in expected.items():
        line = next(p for p in problems if f"plug-in {key} " in p)
        assert why in line and line.endswith("; skipped")
        assert line in out.stderr  # the same line is a warning in the log
    for name in ("broken", "not_a_surface", "no_description", "misnamed", "not_jax"):
        assert name not in surface_names
    for name in ("broken_opt", "bad_lr", "no_source"):
        assert name not in optimizer_names
