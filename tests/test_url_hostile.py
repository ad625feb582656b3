"""Hostile links and scenes: any value of any JSON type under any key of the app's URL either applies
or becomes a notice naming the key, and the page's state always holds a race. A scene file or link
given to `optirace export --scene` with the same values ends in one line and exit code 2."""

from __future__ import annotations

import json

import pytest
from hostile import JSON, nest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizers.spec import shown
from optirace.app.state import LIMITS, RaceState
from optirace.app.urlstate import MAX_URL_LABEL, decode

KEYS = (
    "surface", "r0", "r1", "start", "steps", "seed", "noise", "batch_size", "speed", "kappa",
    "theme", "present", "embed", "loop", "play",
)  # fmt: skip
# Text a link really carries, beside the JSON values Panel's own reading of a link would give.
LINK_TEXT = st.sampled_from(
    ["rosenbrock", "least_squares", "quadratic", "adam:lr=0.01", "sgd:lr=1e999", "-1.5,2", "0.5", "1",
     "0", "true", "dark", "300", "300.5", "1e999", "inf", "nan", "[1,2]", "{}", "[[1]]", "9" * 5000]
)  # fmt: skip
VALUES = JSON | LINK_TEXT
QUERY = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=5)

SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def _unapplied(query: dict, fields: dict) -> list[str]:
    """Keys whose value was given but did not make it into the decoded fields."""
    racers = len(fields.get("racers", []))
    given_racers = [k for k in ("r0", "r1") if query.get(k) is not None]
    out = [k for k in query if k not in ("r0", "r1") and query[k] is not None and k not in fields]
    if racers < len(given_racers):
        out += [k for k in given_racers]  # which one failed is in its notice; one of them must be named
    return out


@SETTINGS
@given(QUERY)
def test_decode_takes_any_value_under_any_key(query):
    fields, notices = decode(query)
    joined = " | ".join(notices)
    for key in _unapplied(query, fields):
        if key in ("r0", "r1"):
            assert "r0" in joined or "r1" in joined
        else:
            assert key in joined, (key, notices)
    assert all(len(n) < 400 for n in notices)
    for k, v in fields.items():
        if k in ("steps", "seed", "batch_size"):
            assert type(v) is int
        elif k in ("noise", "speed", "kappa"):
            assert type(v) is float and v == v and abs(v) != float("inf")


@SETTINGS
@given(st.sampled_from(KEYS), VALUES)
def test_decode_names_the_key_of_any_refused_value(key, value):
    fields, notices = decode({key: value})
    if value is not None and not fields:
        assert len(notices) == 1 and key in notices[0], (shown(value), notices)


_STATE: list[RaceState] = []


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(QUERY)
def test_apply_query_always_leaves_a_race_and_names_what_it_refused(query):
    if not _STATE:
        _STATE.append(RaceState())
    state = _STATE[0]
    state.apply_query(query)
    assert state.result is not None and state.error == ""
    fields, _ = decode(query)
    joined = " | ".join(state.notices)
    for key in _unapplied(query, fields):
        assert key in joined or (key in ("r0", "r1") and ("r0" in joined or "r1" in joined)), (key, joined)
    if "link refused" in joined:
        return  # the whole link fell back to the defaults, with the reason in the notice
    for key in ("steps", "seed", "noise", "speed", "theme", "present", "embed", "loop"):
        if key in fields and key not in joined:
            assert getattr(state, key) == fields[key], key
    if "steps" in fields:
        assert 1 <= state.steps <= LIMITS["steps"]


@pytest.mark.parametrize(
    "query, key",
    [
        ({"steps": "inf"}, "steps"),
        ({"seed": "1e999"}, "seed"),
        ({"surface": "least_squares", "batch_size": "inf"}, "batch_size"),
        ({"surface": {}}, "surface"),
        ({"surface": [[1]]}, "surface"),
        ({"steps": [1, 2]}, "steps"),
        ({"steps": 300.5}, "steps"),
        ({"steps": float("inf")}, "steps"),
        ({"seed": 10**5000}, "seed"),
        ({"kappa": 10**400, "surface": "quadratic"}, "kappa"),
        ({"r0": {"optimizer": "adam"}}, "r0"),
        ({"r0": [["adam"]]}, "r0"),
        ({"r0": f"adam:label={'x' * (MAX_URL_LABEL + 1)}"}, "r0"),
        ({"present": [1]}, "present"),
        ({"theme": ["dark"]}, "theme"),
        ({"start": nest(900, False)}, "start"),
    ],
)
def test_the_links_of_the_issue_give_a_notice_and_a_race(query, key):
    state = RaceState()
    state.apply_query(query)
    assert state.result is not None
    assert any(key in n for n in state.notices), state.notices
    assert state.steps == 300  # nothing of the refused value leaked in


def test_a_link_applies_what_it_understands():
    state = RaceState()
    state.apply_query({"surface": "double_well_1d", "start": 0.5, "steps": "120", "seed": 3.0, "loop": "on"})
    assert state.notices == []
    assert (state.surface, state.start, state.steps, state.seed, state.loop) == (
        "double_well_1d",
        (0.5,),
        120,
        3,
        True,
    )


# --- optirace export --scene ----------------------------------------------------------------------

BAD_SCENES = [
    ('{"steps": Infinity}', "steps"),
    ('{"seed": 1e999}', "seed"),
    ('{"surface": "least_squares", "batch_size": Infinity}', "batch_size"),
    ('{"surface": {}}', "surface"),
    ('{"surface": [[1]]}', "surface"),
    ('{"steps": [1, 2]}', "steps"),
    ('{"theme": ["light"]}', "theme"),
    ('{"seed": ' + "9" * 5000 + "}", "JSON"),
    ('{"steps": ' + "9" * 400 + "}", "steps"),
    ('{"racers": ["zzz:lr=1"]}', "unknown optimizer"),
    ('{"racers": [{"optimizer": "zzz"}]}', "unknown optimizer"),
    ('{"racers": [{"optimizer": ["adam"]}]}', "optimizer"),
    ('{"racers": [{"optimizer": "sgd", "schedule": {"name": {}}}]}', "schedule"),
    ('{"racers": [["adam"]]}', "racers"),
    ('{"racers": "adam"}', "racers"),
    ('{"start": [[1, 2]]}', "start"),
    ('{"step": [1]}', "step"),
    ("[" * 100_000 + "]" * 100_000, "JSON"),
    (json.dumps({"racers": [nest(400, True)]}), "MAX_NESTING"),
]


@pytest.mark.parametrize("text, words", BAD_SCENES, ids=[t[:40] for t, _ in BAD_SCENES])
def test_export_of_a_bad_scene_is_one_line_and_exit_2(text, words, tmp_path, capsys):
    from optirace.cli import main

    scene = tmp_path / "scene.json"
    scene.write_text(text)
    assert main(["export", "--scene", str(scene), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("optirace: error: ") and err.count("\n") == 1 and words in err, err[:300]
    assert len(err) < 600
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    "link, words",
    [
        ("http://h/?steps=inf", "steps"),
        ("http://h/?seed=1e999", "seed"),
        ("http://h/?surface=least_squares&batch_size=inf", "batch_size"),
        ("http://h/?surface={}", "surface"),
        ("http://h/?steps=[1,2]", "steps"),
        ("http://h/?r0=zzz", "r0"),
    ],
)
def test_export_of_a_bad_link_is_one_line_and_exit_2(link, words, tmp_path, capsys):
    from optirace.cli import main

    assert main(["export", "--scene", link, "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("optirace: error: ") and err.count("\n") == 1 and words in err, err


def test_a_scene_with_hostile_json_values_is_refused_by_name():
    from optirace.export.scene import FIELDS, state_from_scene

    for key in FIELDS:
        for value in ({}, [[1]], 10**400, float("inf"), nest(50, False), "x" * 2000):
            if key in ("racers",) and value == "x" * 2000:
                continue
            try:
                state_from_scene({key: value})
            except ValueError as e:
                assert key in str(e) or "unknown" in str(e), (key, shown(value), str(e))
            else:
                pytest.fail(f"{key} = {shown(value)} was accepted")


def test_scene_json_round_trip_is_unchanged():
    from optirace.export.scene import scene_from_state, state_from_scene

    scene = {"surface": "booth", "racers": ["adam:lr=0.05", {"optimizer": "lookahead", "inner": "sgd:lr=0.01"}],
             "steps": 40, "start": [1.0, -2.0]}  # fmt: skip
    state = state_from_scene(json.loads(json.dumps(scene)))
    again = scene_from_state(state)
    assert again["racers"][1].startswith("lookahead:") and "inner=sgd" in again["racers"][1]


def test_the_reference_states_the_apps_limits_and_every_engine_limit():
    from optimizers import limits
    from optirace.docs import reference

    text = reference()
    assert (
        f"{LIMITS['racers']} racers, {LIMITS['steps']} steps, labels of {LIMITS['label']} characters" in text
    )
    names = [n for n in dir(limits) if n.startswith("MAX_")]
    assert sorted(names) == sorted(limits.DOCS)
    for name in names:
        assert f"| `{name}` | {getattr(limits, name):,} |" in text
    assert LIMITS["label"] < limits.MAX_LABEL and LIMITS["racers"] < limits.MAX_RACERS
    assert LIMITS["steps"] < limits.MAX_STEPS


def test_the_apps_label_limit_comes_before_the_engines():
    state = RaceState()
    assert state.update_racer(0, label="x" * LIMITS["label"])
    assert not state.update_racer(0, label="x" * (LIMITS["label"] + 1))
    assert state.error == f"label: at most {LIMITS['label']} characters"
    assert state.label(0) == "x" * LIMITS["label"]


def test_racers_beyond_the_apps_limit_are_named():
    fields, notices = decode({f"r{i}": "gd:lr=0.01" for i in range(LIMITS["racers"] + 3)})
    assert len(fields["racers"]) == LIMITS["racers"]
    assert len(notices) == 1 and "r8" in notices[0] and "r10" in notices[0]
