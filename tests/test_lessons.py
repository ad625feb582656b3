"""The lessons: each file is read like a stranger's scene file, and each race shows what its caption says."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import surfaces
from optirace.export.scene import state_from_scene
from optirace.lessons import MAX_BYTES, lesson, lessons, read_folder, read_lesson

SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


def raced(name: str):
    """The race a lesson shows, raced the way the deck and the exports race it."""
    return state_from_scene(lesson(name).scene).result


def steps_taken(res) -> np.ndarray:
    """(racers, steps): the length of each step."""
    return np.linalg.norm(np.diff(res.params, axis=1), axis=2)


# ----- the gallery ------------------------------------------------------------------------------------


def test_the_gallery_has_at_least_twelve_lessons_with_titles_and_two_sentence_captions():
    found = lessons()
    assert len(found) >= 12
    for name, one in found.items():
        assert re.fullmatch(r"[a-z0-9-]+", name)
        assert one.title and len(one.title) <= 80
        assert len(SENTENCE_END.findall(one.caption)) == 2, (name, one.caption)
        assert one.caption.rstrip()[-1] in ".!?"


def test_every_lesson_has_a_claim_test():
    tested = {n[len("test_lesson_") :].replace("_", "-") for n in globals() if n.startswith("test_lesson_")}
    assert set(lessons()) <= tested, set(lessons()) - tested


# ----- lesson files are checked like any stranger's file -----------------------------------------------

GOOD = {"title": "T", "caption": "One. Two.", "scene": {"surface": "quadratic", "racers": ["gd:lr=0.01"]}}


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ({**GOOD, "extra": 1}, "unknown key 'extra'"),
        ({k: v for k, v in GOOD.items() if k != "caption"}, "missing key 'caption'"),
        ({**GOOD, "title": ""}, "title: give a non-empty string"),
        ({**GOOD, "title": 7}, "title: give a non-empty string"),
        ({**GOOD, "caption": "x" * 5000}, "caption: at most"),
        ({**GOOD, "title": "bell\x07"}, "control characters"),
        ({**GOOD, "scene": {"surface": "nowhere"}}, "scene: surface: unknown surface"),
        ({**GOOD, "scene": {"surface": "quadratic", "steps": 10**9}}, "scene: steps"),
        ({**GOOD, "scene": {"surface": "quadratic", "racers": ["adam:lr=-1"]}}, "scene: racer r0"),
        ({**GOOD, "scene": {"surface": "quadratic", "colour": "red"}}, "scene: unknown field 'colour'"),
        ({**GOOD, "scene": ["quadratic"]}, "scene: expected a JSON object"),
        (["not", "an", "object"], "expected a JSON object"),
    ],
)
def test_bad_lesson_files_are_refused(tmp_path, content, match):
    path = tmp_path / "01-bad.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    with pytest.raises(ValueError, match=match) as err:
        read_lesson(path)
    assert "01-bad.json" in str(err.value)


def test_files_that_are_not_lessons_are_refused(tmp_path):
    big = tmp_path / "01-big.json"
    big.write_text(json.dumps({**GOOD, "caption": " " * MAX_BYTES}), encoding="utf-8")
    with pytest.raises(ValueError, match=f"larger than {MAX_BYTES} bytes"):
        read_lesson(big)
    broken = tmp_path / "02-broken.json"
    broken.write_text('{"title": ', encoding="utf-8")
    with pytest.raises(ValueError, match="not JSON"):
        read_lesson(broken)
    deep = tmp_path / "03-deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(ValueError, match="larger than|nested too deeply"):
        read_lesson(deep)
    binary = tmp_path / "04-binary.json"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ValueError, match="not JSON"):
        read_lesson(binary)
    named = tmp_path / "Bad Name!.json"
    named.write_text(json.dumps(GOOD), encoding="utf-8")
    with pytest.raises(ValueError, match="is named like"):
        read_lesson(named)
    with pytest.raises(ValueError, match="cannot read it"):
        read_lesson(tmp_path / "05-missing.json")


def test_a_folder_reads_in_order_and_refuses_a_doubled_name(tmp_path):
    for name in ("02-b.json", "01-a.json"):
        (tmp_path / name).write_text(json.dumps(GOOD), encoding="utf-8")
    assert list(read_folder(tmp_path)) == ["a", "b"]
    (tmp_path / "03-a.json").write_text(json.dumps(GOOD), encoding="utf-8")
    with pytest.raises(ValueError, match="the name 'a' is taken"):
        read_folder(tmp_path)


def test_unknown_lessons_name_the_known_ones():
    with pytest.raises(ValueError, match="unknown lesson 'nope'; known: gd-by-hand"):
        lesson("nope")
    with pytest.raises(ValueError, match="unknown lesson"):
        lesson(["gd-by-hand"])


# ----- each lesson's claim, raced --------------------------------------------------------------------


def test_lesson_gd_by_hand():
    res = raced("gd-by-hand")
    x = res.params[0, :, 0]
    assert np.allclose(x[:5], [0.0, 1.2, 1.68, 1.872, 1.9488], atol=1e-12)
    ratios = np.diff(x)[1:8] / np.diff(x)[:7]
    assert np.allclose(ratios, 0.4)  # each step 0.4 times the last
    assert abs(x[-1] - 2.0) < 1e-6


def test_lesson_learning_rates():
    res = raced("learning-rates")
    small, right, large = range(3)
    assert res.lr[right, 0] == pytest.approx(2 / 21, rel=1e-3)  # "≈ 0.095" is 2/(1 + 20)
    assert res.lr[large, 0] > surfaces.theory("quadratic", kappa=20)["lr_limit"] == pytest.approx(0.1)
    assert res.diverged_at[large] >= 0
    assert res.diverged_at[small] < 0 and res.diverged_at[right] < 0
    assert res.loss[right, -1] < 1e-8
    assert res.loss[small, -1] > 1.0  # safe, but still far away


def test_lesson_momentum_ravine():
    res = raced("momentum-ravine")
    dist = res.distance()[:, -1]
    assert dist[0] / dist[1] > 300  # "hundreds of times closer"
    assert res.lr[0, 0] < 2 / 100


def test_lesson_momentum_escape():
    res = raced("momentum-escape")
    s = res.surface
    gd_end, momentum_end = res.params[:, -1]
    assert np.linalg.norm(gd_end - np.asarray(s.local_minima[0])) < 1e-3  # stays in the shallow basin
    assert np.linalg.norm(momentum_end - np.asarray(s.minima[0])) < 1e-3  # reaches the deep one
    assert res.params[0, 0, 0] > s.saddles[0][0]  # both start on the shallow side of the ridge


def test_lesson_nesterov_vs_heavy_ball():
    res = raced("nesterov-vs-heavy-ball")
    y = np.abs(res.params[:, 20:, 1])  # across the ravine, after the first few steps
    assert y[0].max() > 1.0  # the heavy ball keeps swinging
    assert y[1].max() < 1e-3  # Nesterov's swing is damped
    assert res.loss[1, -1] < res.loss[0, -1] / 100


def test_lesson_adagrad_vanishing_steps():
    res = raced("adagrad-vanishing-steps")
    d = steps_taken(res)
    assert d[0, -1] < d[0, 0] / 20  # Adagrad's steps fade
    dist = res.distance()[:, -1]
    assert dist[0] > 3.0 and dist[1] < 1e-6  # it stops short; RMSprop arrives


def test_lesson_adaptive_ill_conditioned():
    res = raced("adaptive-ill-conditioned")
    dist = res.distance()[:, -1]
    assert dist[0] > 1.0  # gradient descent at its largest stable step
    assert res.lr[0, 0] < 2 / 200
    assert dist[1] < 0.01 and dist[2] < 0.01


def test_lesson_adam_bias_correction():
    res = raced("adam-bias-correction")
    first = np.abs(res.params[:, 1] - res.params[:, 0])
    assert np.allclose(first[0], 0.1, rtol=1e-6)  # Adam: exactly lr per coordinate
    assert np.allclose(first[1], 0.1 / np.sqrt(1 - 0.99), rtol=1e-6)  # RMSprop: 10 x lr


def test_lesson_sgd_noise_minibatches():
    res = raced("sgd-noise-minibatches")
    gap = res.loss - res.surface.min_value
    floor = gap[:, -200:].mean(axis=1)
    assert floor[0] > 5 * floor[1]  # the larger step bounces higher ("ten times": at least five)
    assert (gap[:, -200:] > 1e-6).all()  # neither settles: the noise keeps both moving
    assert gap[0, 20] < gap[1, 20]  # the larger step gets near sooner
    again = raced("sgd-noise-minibatches")
    assert np.array_equal(again.params, res.params)  # the lesson's seed makes it the same every time


def test_lesson_schedules():
    res = raced("schedules")
    constant, step, cosine, onecycle = range(4)
    end = res.loss[:, -50:].mean(axis=1)
    for i in (step, cosine, onecycle):
        assert end[i] < end[constant] / 4, (i, end)
    lr = res.lr
    assert np.all(lr[constant] == 0.05)
    assert lr[step, 99] == pytest.approx(0.05) and lr[step, 100] == pytest.approx(0.015)
    assert lr[cosine, -1] < 1e-3 and np.all(np.diff(lr[cosine]) <= 1e-15)
    peak = int(np.argmax(lr[onecycle]))
    assert 0 < peak < 399 and lr[onecycle, peak] == pytest.approx(0.09, rel=1e-3)
    assert lr[onecycle, 0] < 0.01 and lr[onecycle, -1] < 1e-5


def test_lesson_lion_sign_steps():
    res = raced("lion-sign-steps")
    moves = np.abs(np.diff(res.params[0], axis=0))
    assert np.allclose(moves, 0.1, rtol=1e-9)  # every coordinate, every step, exactly lr
    x, y = res.params[0, :, 0], res.params[0, :, 1]
    both = int(np.argmax(np.abs(y) < 0.05))  # y done first (it starts 3 away, x 9 away)
    assert np.all(np.sign(np.diff(x[:both])) == np.sign(np.diff(y[:both])) * -1)  # 45°: x up, y down
    assert x.max() > 1.0  # the overshoot past the minimum (x* = 0)
    assert np.all(res.distance()[0, -50:] <= 0.1 * np.sqrt(2) + 1e-9)  # hopping within one step


def test_lesson_lookahead_slow_weights():
    res = raced("lookahead-slow-weights")
    assert res.diverged_at[0] >= 0  # plain SGD above 2/L
    assert res.diverged_at[1] < 0 and res.loss[1, -1] < 1e-8
    slow = res.state[1]["slow"]
    fast = res.params[1]
    k = 5
    # After every k-th step the fast weights restart at the slow ones.
    assert np.allclose(fast[k::k], slow[k::k])


def test_lesson_optimal_momentum():
    res = raced("optimal-momentum")
    t = surfaces.theory("quadratic", kappa=20)
    assert res.lr[0, 0] == pytest.approx(t["lr_gd"])
    assert res.lr[1, 0] == pytest.approx(t["lr_heavy_ball"])
    steps = np.arange(res.steps + 1)
    predicted_gd = res.loss[0, 0] * t["rate_gd"] ** (2 * steps)
    assert np.allclose(res.loss[0], predicted_gd, rtol=1e-9)
    use = steps >= 10
    slope = np.polyfit(steps[use], np.log(res.loss[1, use]), 1)[0]
    assert np.exp(slope / 2) == pytest.approx(t["rate_heavy_ball"], rel=0.03)


def test_lesson_momentum_conventions():
    res = raced("momentum-conventions")
    torch, averaged, sutskever = range(3)
    # The lr is cut tenfold once, at step 40.
    assert np.all(res.lr[:, :40] == 0.02) and np.all(res.lr[:, 40:] == 0.02 * 0.1)
    moves = steps_taken(res)
    assert moves[averaged, 0] == pytest.approx(0.1 * moves[torch, 0], rel=1e-9)  # ten times shorter
    assert res.loss[averaged, -1] > 10 * res.loss[torch, -1]
    # Sutskever's path is torch's until the cut (to rounding), and parts from it after.
    np.testing.assert_allclose(res.params[sutskever, :41], res.params[torch, :41], rtol=1e-12, atol=1e-12)
    assert np.abs(res.params[sutskever, 41:] - res.params[torch, 41:]).max() > 0.1
    # Step 41 is the first at the lower lr: torch's stride drops tenfold, Sutskever's barely.
    assert moves[torch, 40] < 0.15 * moves[torch, 39]
    assert moves[sutskever, 40] > 0.8 * moves[sutskever, 39]
    assert moves[sutskever, 44] > 5 * moves[torch, 44]  # still coasting several steps on
