"""Typed formulas in normal use: values and gradients against hand-written jnp, the grammar's
precedence, estimated minima, the shared compiled programs, and the formula in link, JSON and CLI."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import monitoring

import optimizers
import surfaces
from optimizers import engine
from optirace.app.state import RaceState
from optirace.cli import main
from optirace.scene import Scene
from surfaces import formula_surface
from surfaces.formula import parse

COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
_compiles = [0]


def _count_compile(event: str, duration: float, **kwargs) -> None:
    if event == COMPILE_EVENT:
        _compiles[0] += 1


monitoring.register_event_duration_secs_listener(_count_compile)

# (formula, domain, the same function written by hand in jnp)
CASES = [
    ("(1 - x)^2 + 100(y - x^2)^2", (-2, 2, -1, 3), lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2),
    ("sin(x)cos(y) + exp(-x^2/2)", None, lambda x, y: jnp.sin(x) * jnp.cos(y) + jnp.exp(-(x**2) / 2)),
    ("log1p(x^2) + arctan(y) + tanh(x) * sinh(y) / cosh(x)", None,
     lambda x, y: jnp.log1p(x**2) + jnp.arctan(y) + jnp.tanh(x) * jnp.sinh(y) / jnp.cosh(x)),
    ("abs(x - 1) + sqrt(1 + y^2) + tan(x/4)", None,
     lambda x, y: jnp.abs(x - 1) + jnp.sqrt(1 + y**2) + jnp.tan(x / 4)),
    ("where(x > y, x^2, -x) + minimum(x, y) * maximum(x, 2y)", None,
     lambda x, y: jnp.where(x > y, x**2, -x) + jnp.minimum(x, y) * jnp.maximum(x, 2 * y)),
    ("2^x + x**3 - pi*e*y + log(x^2 + y^2 + 1)", None,
     lambda x, y: 2.0**x + x**3 - jnp.pi * jnp.e * y + jnp.log(x**2 + y**2 + 1)),
]  # fmt: skip


@pytest.mark.parametrize("text, domain, reference", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_match_hand_written_jnp(text, domain, reference):
    s = surfaces.from_formula(text, domain)
    assert s.dim == 2
    pts = np.random.default_rng(1).uniform(-1.9, 1.9, size=(40, 2))
    for p in pts:
        want = reference(*jnp.asarray(p))
        np.testing.assert_allclose(float(s.f(p)), float(want), rtol=1e-12, atol=1e-12)
        got_g = jax.grad(s.f)(jnp.asarray(p))
        want_g = jax.grad(lambda v: reference(v[0], v[1]))(jnp.asarray(p))
        np.testing.assert_allclose(np.asarray(got_g), np.asarray(want_g), rtol=1e-10, atol=1e-12)


def test_the_teaching_parabola_typed_races_exactly_as_the_catalogue_one():
    typed = surfaces.from_formula("x^2 - 4x + 3", domain=(-1, 5))
    parabola = surfaces.SURFACES["parabola"]
    assert typed.dim == 1 and typed.domain == parabola.domain
    xs = np.linspace(-1, 5, 61)
    for x in xs:
        assert float(typed.f([x])) == pytest.approx(float(parabola.f([x])), abs=1e-12)
        assert float(jax.grad(typed.f)(jnp.asarray([x]))[0]) == pytest.approx(2 * x - 4, abs=1e-12)
    assert typed.minima[0][0] == pytest.approx(2.0, abs=1e-6)
    racer = [{"optimizer": "gd", "lr": 0.3}]
    a = optimizers.race(typed, racer, start=(0.0,), steps=12)
    b = optimizers.race("parabola", racer, start=(0.0,), steps=12)
    np.testing.assert_allclose(a.params, b.params, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.params[0, :3, 0], [0.0, 1.2, 1.68])  # the description's hand steps


def test_precedence_and_implicit_products():
    at = {"x": 1.5, "y": -0.5}
    cases = {
        "2^3^2": 512.0,
        "-2^2": -4.0,
        "2^-1": 0.5,
        "1/2x": 0.75,  # (1/2) x: products read left to right
        "2(x + 1)": 5.0,
        "(x + 1)(x - 1)": 1.25,
        "3xy": None,  # xy is not a name
        "2 pi": 2 * np.pi,
        "x - y - 1": 1.0,
        "x / y / 2": -1.5,
        "f(x, y) = x": 1.5,
        "+x": 1.5,
    }
    for text, want in cases.items():
        if want is None:
            with pytest.raises(ValueError, match=r"unknown name 'xy' at column 2; write x\*y"):
                parse(text)
            continue
        f = parse(text)
        value = float(f.jnp_fn()(jnp.asarray([at["x"], at["y"]] if f.dim == 2 else [at["x"]])))
        assert value == pytest.approx(want, rel=1e-12), text


def test_errors_name_the_column():
    cases = {
        "sin(x) + cos(y))": "unexpected ')' at column 16",
        "x + * y": "unexpected '*' at column 5",
        "(x + y": "missing ')' for the '(' at column 1",
        "sin(x, y)": "sin at column 1 takes 1 argument, not 2",
        "foo(x)": "unknown name 'foo' at column 1",
        "x < 1": "comparison '<' at column 3",
        "where(x, 1, 2)": "where at column 1 needs a comparison first",
        "1e7 * x": "the number at column 1 is 1e+07",
        "123456789012345678901 x": "the number at column 1 has 21 digits",
        "x^(2^8)": "the exponent at column 3 is 256",
        "x ==": "unexpected '=' at column 3",
        "": "empty",
    }
    for text, message in cases.items():
        with pytest.raises(ValueError, match=f"^formula: {_escaped(message)}"):
            surfaces.from_formula(text)


def _escaped(s: str) -> str:
    import re

    return re.escape(s)


def test_the_dimension_follows_y_the_header_or_the_domain():
    assert surfaces.from_formula("x^2").dim == 1
    assert surfaces.from_formula("x^2 + y^2").dim == 2
    assert surfaces.from_formula("f(x, y) = x^2", domain=None).dim == 2
    assert surfaces.from_formula("x^2", domain=(-1, 1, -2, 2)).dim == 2
    with pytest.raises(ValueError, match="y at column 8: this formula is f"):
        surfaces.from_formula("f(x) = y")
    with pytest.raises(ValueError, match="domain: 1..1 is empty"):
        surfaces.from_formula("x", domain=(1, 1))
    with pytest.raises(ValueError, match="domain: give xmin,xmax or xmin,xmax,ymin,ymax"):
        surfaces.from_formula("x", domain=(1, 2, 3))


def test_minima_are_estimated_and_labelled_so():
    himmelblau = surfaces.from_formula("(x^2 + y - 11)^2 + (x + y^2 - 7)^2", domain=(-5, 5, -5, 5))
    exact = surfaces.SURFACES["himmelblau"].minima
    assert len(himmelblau.minima) == 4
    for m in exact:
        assert min(np.linalg.norm(np.subtract(m, e)) for e in himmelblau.minima) < 1e-5
    assert himmelblau.minimum_label == "estimated minimum"
    assert surfaces.SURFACES["himmelblau"].minimum_label == "global minimum"
    # a double well has a local minimum beside its global one
    tilted = surfaces.from_formula("(x^2 - 4)^2 / 16 + 0.5x + y^2")
    assert tilted.minima[0][0] == pytest.approx(-2.2143197433775352, abs=1e-5)
    assert tilted.local_minima and tilted.local_minima[0][0] == pytest.approx(1.6751308705666461, abs=1e-5)
    # the leaderboard names it as an estimate
    state = RaceState()
    assert state.set_formula("x^2 + 3y^2"), state.error
    assert state.leaderboard()[0]["nearest"].startswith("estimated minimum (")


@pytest.mark.parametrize("text", ["x^2 + 3y^2", "x^2 - 4x + 3"])
def test_figures_label_the_minimum_as_an_estimate(text):
    from optirace.figures.race import race_figure

    result = optimizers.race(surfaces.from_formula(text), [{"optimizer": "adam", "lr": 0.05}], steps=5)
    layout = race_figure(result, ["adam"], panels=["contour"])
    marks = [el for el in layout.traverse(lambda e: e) if getattr(el, "group", None) == "GlobalMinimum"]
    assert [m.label for m in marks] == ["estimated minimum"]


def test_the_check_notes_where_f_is_not_finite_or_not_differentiable():
    notes = " ".join(surfaces.from_formula("log(x) + y^2").notes)
    assert "f is not finite at" in notes and "random points" in notes
    assert "abs" in " ".join(surfaces.from_formula("abs(x) + y^2").notes)
    assert surfaces.from_formula("x^2 + 2y^2 + 0.5").notes == ()
    with pytest.raises(ValueError, match="not finite anywhere in the domain"):
        surfaces.from_formula("log(-1 - x^2)")
    # a racer never starts where f is not finite
    s = surfaces.from_formula("log(x) - log(y) + x - y")
    assert np.isfinite(float(s.f(s.start)))


def test_the_same_formula_is_one_surface_and_compiles_once():
    a = surfaces.from_formula("0.5x^2 + 7y^2 - x y/3")
    b = surfaces.from_formula("f(x,y)= 0.5*x**2 + 7 y^2 - x*y/3")
    assert a is b and a == b and hash(a) == hash(b)
    racers = [{"optimizer": "adam", "lr": 0.05}, {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9}]
    first = RaceState()  # one session types it...
    before = _compiles[0]
    assert first.set_formula("x^2/3 + 5y^2 - x y/7 + 0.25")
    first.racers = racers
    assert _compiles[0] > before  # (the counter counts)
    second = RaceState()  # ...and a second session types it in its own spelling
    before = _compiles[0]
    assert second.set_formula("f(x, y) = x**2/3 + 5*y**2 - x*y/7 + 0.25")
    second.racers = racers
    assert _compiles[0] == before, "the second session compiled the same formula again"
    np.testing.assert_array_equal(first.result.params, second.result.params)


def test_the_cache_is_bounded_and_drops_the_programs_of_a_formula_it_forgets(monkeypatch):
    monkeypatch.setattr(formula_surface, "KEPT", 2)
    old = surfaces.from_formula("x^2 + 2y^2 + 0.125")
    optimizers.race(old, [{"optimizer": "adam", "lr": 0.05}], steps=10)
    assert any(k[0] is old for k in engine._RACES)
    for i in range(3):
        surfaces.from_formula(f"x^2 + 2y^2 + {i + 1}")
    assert len(formula_surface._CACHE) <= 2
    assert not any(k[0] == old for k in engine._RACES)
    assert surfaces.from_formula("x^2 + 2y^2 + 0.125") is not old  # built again when asked again


def test_a_formula_travels_in_the_link_the_scene_json_and_the_command_line(tmp_path, capsys):
    state = RaceState()
    assert state.set_formula("x^2 + 3y^2", domain="-2,2,-1,1")
    query = state.to_query()
    assert (
        query["surface"] == "formula" and query["formula"] == "x^2 + 3y^2" and query["domain"] == "-2,2,-1,1"
    )
    other = RaceState()
    other.apply_query(query)
    assert other.notices == [] and other.result.surface is state.result.surface
    back = Scene.from_json(json.loads(json.dumps(state.to_json())))
    assert back.formula == "x^2 + 3y^2" and back.domain == (-2.0, 2.0, -1.0, 1.0)
    # a formula alone is its own surface; on another surface it is refused, never ignored
    assert Scene.from_json({"formula": "x^2"}).surface == "formula"
    with pytest.raises(ValueError, match="go with surface 'formula', not 'rosenbrock'"):
        Scene.from_json({"surface": "rosenbrock", "formula": "x^2"})
    # the command line
    assert (
        main(["race", "--formula", "-x^2 + x^4", "--domain", "-2,2", "--racer", "gd:lr=0.05", "--json"]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert abs(abs(out["racers"][0]["final_params"][0]) - 2**-0.5) < 1e-3
    assert main(["race", "--formula", "log(x) + y^2", "--steps", "5"]) == 0
    assert "optirace: note: f is not finite at" in capsys.readouterr().err
    assert main(["race", "--formula", "sin(x) + cos(y))"]) == 2
    assert "--formula: unexpected ')' at column 16" in capsys.readouterr().err


def test_a_bad_formula_in_a_link_falls_back_with_a_notice():
    state = RaceState()
    state.apply_query({"surface": "formula", "formula": "x^(9^9)", "r0": "adam:lr=0.05"})
    assert state.surface == "rosenbrock" and state.result is not None and state.error == ""
    assert any("exponent at column 3" in n for n in state.notices)
    assert any("showing the default surface" in n for n in state.notices)


def test_one_session_may_type_only_so_many_new_formulas_a_minute():
    """Each new formula compiles on the server every session shares: a session typing formula after
    formula is refused, with the wait, and the race it has stays; the same formula again is no
    new work, and a minute later new ones race again."""
    from optirace.app.state import FORMULAS_PER_MINUTE, RaceState

    now = [1000.0]
    state = RaceState()
    state._clock = lambda: now[0]
    for k in range(FORMULAS_PER_MINUTE):
        assert state.set_formula(f"x^2 + {k + 2}y^2"), state.error
        now[0] += 1
    shown = state.result
    assert not state.set_formula("x^2 + 50y^2")
    assert state.error == f"formula: {FORMULAS_PER_MINUTE} new formulas a minute at most; try again in 54 s"
    assert state.result is shown and state.formula == f"x^2 + {FORMULAS_PER_MINUTE + 1}y^2"
    assert state.set_formula(f"x^2 + {FORMULAS_PER_MINUTE + 1}y^2")  # the one it has: no new work
    now[0] += 60
    assert state.set_formula("x^2 + 50y^2"), state.error
    assert state.formula == "x^2 + 50y^2"
