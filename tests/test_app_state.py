"""The app's state class, without a browser: inputs, playback, leaderboard and the URL."""

from __future__ import annotations

import numpy as np
import pytest

from optimizers import OPTIMIZERS
from optirace.app.defaults import default_racers, default_spec
from optirace.app.state import LIMITS, RaceState
from optirace.app.urlstate import decode, racer_to_string
from surfaces import SURFACES


def test_default_state_races_the_default_racers():
    s = RaceState()
    assert s.surface == "rosenbrock"
    assert [r["optimizer"] for r in s.racers] == ["gd", "sgd", "adam"]
    assert s.result.params.shape == (3, s.steps + 1, 2)
    assert s.step == 0 and not s.playing


@pytest.mark.parametrize("surface", list(SURFACES))
def test_default_race_makes_progress_on_every_surface(surface):
    """Out of the box every surface gives a race worth watching: nobody diverges, and the best
    racer closes most of the gap to the minimum."""
    s = RaceState(surface=surface, racers=default_racers(surface))
    res = s.result
    assert np.all(res.diverged_at == -1), f"a default racer diverged on {surface}"
    gap0 = res.loss[:, 0] - res.surface.min_value
    gap = res.loss[:, -1] - res.surface.min_value
    assert np.min(gap) < 0.5 * np.max(gap0), f"no default racer got anywhere on {surface}"


def test_playback_advances_at_speed_and_stops_at_the_end():
    s = RaceState(steps=100)
    s.speed = 50
    s.playing = True
    s.advance(0.5)
    assert s.step == 25
    s.advance(0.01)  # half a step: carried, not lost
    s.advance(0.01)
    assert s.step == 26
    s.advance(10)
    assert s.step == 100 and not s.playing
    s.toggle()  # play again from the end restarts
    assert s.step == 0 and s.playing


def test_step_back_and_reset():
    s = RaceState()
    s.step_once()
    s.step_once()
    s.step_once(-1)
    assert s.step == 1
    s.step_once(-5)
    assert s.step == 0
    s.step = 40
    s.reset()
    assert s.step == 0 and not s.playing


def test_live_change_keeps_the_step_and_recomputes():
    s = RaceState()
    s.step = 120
    before = s.result.params[0, 120].copy()
    assert s.update_racer(0, lr=0.002)
    assert s.step == 120
    assert not np.allclose(s.result.params[0, 120], before)
    s.steps = 50  # a shorter budget clamps the step
    assert s.step == 50


def test_refused_change_keeps_the_race_and_says_why():
    s = RaceState()
    res = s.result
    assert not s.update_racer(0, lr=-1.0)
    assert "lr" in s.error
    assert s.result is res
    assert not s.update_racer(1, momentum="fast")
    assert "momentum" in s.error


def test_racers_add_remove_and_limits():
    s = RaceState()
    s.add_racer("lion")
    assert s.racers[-1]["optimizer"] == "lion" and s.result.params.shape[0] == 4
    s.add_racer("nonsense")
    assert "unknown optimizer" in s.error
    while len(s.racers) < LIMITS["racers"]:
        s.add_racer("adam")
    s.add_racer("adam")
    assert len(s.racers) == LIMITS["racers"] and "at most" in s.error
    s.remove_racer(0)
    assert len(s.racers) == LIMITS["racers"] - 1
    s.racers = s.racers[:1]
    s.remove_racer(0)
    assert len(s.racers) == 1 and "at least one" in s.error


def test_surface_change_resets_start_and_retunes_lr():
    s = RaceState()
    s.set_start(0.5, 0.5)
    s.step = 30
    s.surface = "parabola"
    assert s.start is None and s.step == 0
    assert s.result.params.shape[2] == 1
    gd = next(r for r in s.racers if r["optimizer"] == "gd")
    assert gd["lr"] == default_spec("gd", "parabola")["lr"]


def test_every_surface_change_races_on_the_new_surface():
    """From any surface to any other, the race shown is the new surface's, and the page's settings
    follow it. Two surfaces that suggest the same learning rates, from their default starts, left
    nothing for a watcher to see: the page kept the last surface's race (double_well_1d, then the
    network's landscape), and its settings raised IndexError reading a one-variable start."""
    from optirace.app.page import _settings

    state = RaceState()
    _settings(state)
    for a in SURFACES:
        for b in SURFACES:
            state.surface = a
            state.surface = b
            assert state.result.surface.name == b, (a, b)
            assert state.result.params.shape[2] == SURFACES[b].dim


def test_set_start_validates():
    s = RaceState()
    s.set_start(float("nan"), 1.0)
    assert "finite" in s.error and s.start is None
    s.set_start(0.1, 0.2)
    assert s.result.params[0, 0].tolist() == [0.1, 0.2]


def test_leaderboard_statuses():
    s = RaceState(racers=[{"optimizer": "sgd", "lr": 1e6}, {"optimizer": "newton"}], surface="quadratic")
    s.step = 0
    assert [r["status"] for r in s.leaderboard()] == ["running", "running"]
    s.step = 3
    rows = s.leaderboard()
    assert rows[0]["status"] == "diverged at step 1"
    assert rows[1]["status"] == "converged at step 1" and rows[1]["first"] == 1
    assert rows[1]["distance"] < 1e-12


def test_leaderboard_says_how_the_race_ended_at_the_budget():
    # At the last step nothing is still running: each racer converged, diverged or spent its budget.
    s = RaceState(surface="quadratic", steps=300,
                  racers=[{"optimizer": "sgd", "lr": 1e6}, {"optimizer": "newton"}, {"optimizer": "sgd", "lr": 1e-6}])  # fmt: skip
    s.step = 299
    assert s.leaderboard()[2]["status"] == "running"
    s.step = 300
    statuses = [r["status"] for r in s.leaderboard()]
    assert statuses == ["diverged at step 1", "converged at step 1", "stopped at the step budget"]


def test_url_round_trip_restores_the_same_race():
    s = RaceState(surface="booth")
    s.racers = [
        {"optimizer": "adam", "lr": 0.05, "beta1": 0.8},
        {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "nesterov": True,
         "schedule": {"name": "step", "step_size": 30, "gamma": 0.5}},
        {"optimizer": "lookahead", "k": 4, "inner": {"optimizer": "sgd", "lr": 0.02}},
    ]  # fmt: skip
    s.set_start(1.5, -2.0)
    s.param.update(steps=150, noise=0.1, seed=7)
    q = s.to_query()
    t = RaceState()
    t.apply_query(q)
    assert t.notices == []
    assert (t.surface, t.start, t.steps, t.noise, t.seed) == ("booth", (1.5, -2.0), 150, 0.1, 7)
    np.testing.assert_array_equal(t.result.params, s.result.params)


def test_garbage_url_falls_back_with_notices():
    t = RaceState()
    t.apply_query({"surface": "<script>", "r0": "zzz", "r1": "adam:lr=-1", "steps": "1e99", "start": "a,b",
                   "seed": "-4", "noise": "nan", "theme": "neon"})  # fmt: skip
    joined = " | ".join(t.notices)
    for word in ("unknown surface", "zzz", "lr", "steps", "start", "seed", "noise", "theme"):
        assert word in joined
    assert t.surface == "rosenbrock" and t.result is not None


def test_url_refused_combination_falls_back_to_defaults():
    t = RaceState()
    t.apply_query({"surface": "rosenbrock", "batch_size": "8"})  # batch size needs a data surface
    assert any("refused" in n for n in t.notices)
    assert t.result is not None and t.batch_size is None


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_racer_strings_round_trip_for_every_optimizer(name):
    spec = default_spec(name, "rosenbrock")
    text = racer_to_string(spec)
    fields, notices = decode({"r0": text})
    assert notices == []
    assert fields["racers"][0]["optimizer"] == name


def test_autoplay_and_loop_from_the_url():
    t = RaceState()
    t.apply_query({"steps": "20", "play": "1", "loop": "1"})
    assert t.playing and t.loop
    t.advance(10.0)
    assert t.step == 0 and t.playing  # looped instead of stopping
    assert t.to_query()["loop"] == "1"


def test_app_import_order_keeps_the_one_kernel_loop_flag():
    """The app imports `surfaces` before `optimizers`; XLA must still start with the engine's flag."""
    import subprocess
    import sys

    code = (
        "import surfaces, optirace.app.page, os, jax, jax.numpy as jnp\n"
        "from optimizers.engine import SMALL_LOOP_FLAG\n"
        "jnp.zeros(1).block_until_ready()\n"
        "assert SMALL_LOOP_FLAG in os.environ['XLA_FLAGS'], os.environ.get('XLA_FLAGS')\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "XLA_FLAGS"}
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        env=env,
        cwd=str(__import__("pathlib").Path(__file__).parents[1]),
    )


def test_a_racer_keeps_its_colour_when_another_is_removed():
    s = RaceState(surface="booth")
    before = s.colors()
    assert len(set(before)) == 3
    s.remove_racer(0)
    assert s.colors() == before[1:]
    assert [r["color"] for r in s.leaderboard()] == before[1:]
    s.add_racer("adam")  # the freed colour is the new racer's, so no two racers share one
    assert s.colors() == [*before[1:], before[0]]


def test_distance_to_min_counts_the_local_minima_the_surface_marks():
    s = RaceState(surface="rastrigin", racers=[{"optimizer": "gd", "lr": 0.002}, {"optimizer": "newton"}])
    s.set_start(1.1, 0.1)  # in the dimple of the local minimum near (1, 0)
    s.step = s.steps
    gd = s.leaderboard()[0]
    assert gd["distance"] < 1e-6  # not the ~1 to the origin
    assert gd["nearest"] == "local minimum (0.995, 0)"
    s.set_start(0.1, -0.1)
    assert s.leaderboard()[0]["nearest"] == "global minimum (0, 0)"


def test_an_edit_parses_its_racer_once_and_the_race_takes_the_parsed_racers(monkeypatch):
    """A slider move checks the changed racer (one parse) and races: race() gets the Racer objects,
    so no racer is validated and parsed again inside the call."""
    from optimizers import Racer

    s = RaceState(surface="booth")
    parsed: list = []
    from_spec = Racer.from_spec.__func__

    def counted(cls, spec, **kw):
        if not isinstance(spec, Racer) and not kw.get("_inner"):
            parsed.append(spec)
        return from_spec(cls, spec, **kw)

    monkeypatch.setattr(Racer, "from_spec", classmethod(counted))
    assert s.update_racer(1, lr=0.0123) and s.error == ""
    assert [spec.get("lr") for spec in parsed] == [0.0123]
    assert s.result.racers[1].hp["lr"] == 0.0123
    # A later race (a new step count) parses nothing: every spec's Racer is already known.
    s.steps = 120
    assert len(parsed) == 1 and s.result.steps == 120
    assert s.result.racers == s.parsed_racers()
