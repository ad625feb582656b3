"""Conventions: one optimizer as papers and frameworks write it, each a labelled option of its spec.

Each form races through `optimizers.race` and is checked step by step against its oracle: Keras 3 on
its JAX backend for the Keras forms (keras.optimizers.SGD, RMSprop, Adam), optax where optax has the
form, torch.optim for the look-ahead Nesterov form (torch plots the look-ahead point), and otherwise
a numpy loop that writes the cited formula out by hand. The defaults are torch's, which
tests/test_parity_torch.py checks against torch.optim.
"""

from __future__ import annotations

import functools
import os

import jax
import numpy as np
import optax
import pytest

import optimizers
import surfaces
from optimizers.radam import RHO_THRESHOLDS

STEPS = 200
RTOL, ATOL = 1e-9, 1e-12
START = {"rosenbrock": (-1.2, 1.0), "beale": (1.0, 1.0), "quadratic": (-3.0, 2.0)}
# A warm-up whose lr moves for 50 steps: the forms that put the lr inside the velocity part from
# torch's only while the lr changes.
WARMUP = {"name": "linear", "start_factor": 0.25, "end_factor": 1.0, "total_iters": 50}

CONVENTIONS = {
    "sgd": ("momentum_form", "nesterov_form"),
    "rmsprop": ("eps_form", "momentum_form"),
    "adam": ("eps_form",),
    "adamw": ("eps_form",),
    "amsgrad": ("eps_form",),
    "radam": ("rho_threshold",),
}


@functools.cache
def _grad(surface_name: str):
    surface = surfaces.SURFACES[surface_name]
    return jax.jit(jax.grad(lambda x: surface.f(x)))


def _race(surface_name: str, racers: list[dict], steps: int = STEPS):
    res = optimizers.race(surface_name, racers, start=START[surface_name], steps=steps)
    assert np.all(res.diverged_at == -1)
    return res


def numpy_run(surface_name: str, rule, lrs) -> np.ndarray:
    """The hand-written rule's trajectory: rule(p, grad, state, lr, t) -> p, with t from 1."""
    grad = _grad(surface_name)
    p = np.array(START[surface_name], dtype=np.float64)
    state: dict = {}
    rows = [p.copy()]
    for t, lr in enumerate(lrs, 1):
        p = rule(p, lambda x: np.asarray(grad(np.asarray(x))), state, float(lr), t)
        rows.append(p.copy())
    return np.stack(rows)


# --- the options: declared once, default torch's ---------------------------------------------------


def test_every_convention_is_a_labelled_choice_whose_default_is_torchs():
    for name, options in CONVENTIONS.items():
        opt = optimizers.OPTIMIZERS[name]
        for option in options:
            h = opt.spec(option)
            assert h.kind == "choice" and h.static
            assert h.default == h.choices[0] and h.default in ("torch", "outside")
            # One sentence per choice, each saying where it comes from.
            assert len(h.choice_docs) == len(h.choices)
            for c in h.choices:
                assert h.choice_doc(c).endswith(".") and "(" in h.choice_doc(c), (name, option, c)


def test_racer_text_names_a_convention_and_round_trips():
    spec = optimizers.parse_racer("sgd:lr=0.01,momentum=0.9,momentum_form=averaged")
    assert spec["momentum_form"] == "averaged"
    racer = optimizers.Racer.from_spec(spec)
    assert racer.static["momentum_form"] == "averaged"
    assert optimizers.racer_to_string(spec) == "sgd:lr=0.01,momentum=0.9,momentum_form=averaged"


@pytest.mark.parametrize(
    "racer, message",
    [
        (
            {"optimizer": "sgd", "momentum": 0.9, "momentum_form": "polyak"},
            "'torch', 'averaged', 'sutskever'",
        ),
        ({"optimizer": "sgd", "momentum": 0.9, "momentum_form": 1.0}, "momentum_form"),
        ({"optimizer": "sgd", "momentum": 0.9, "dampening": 0.5, "momentum_form": "averaged"}, "dampening"),
        ({"optimizer": "sgd", "momentum": 0.9, "nesterov_form": "lookahead"}, "nesterov = true"),
        ({"optimizer": "rmsprop", "eps_form": "root"}, "'outside', 'inside'"),
        ({"optimizer": "adam", "eps_form": "Keras"}, "'outside', 'inside', 'keras'"),
        ({"optimizer": "radam", "rho_threshold": 4.0}, "rho_threshold"),
    ],
)
def test_illegal_conventions_name_the_field(racer, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        optimizers.Racer.from_spec(racer)


# --- Keras 3 on its JAX backend: the Keras forms --------------------------------------------------


@functools.cache
def _keras():
    os.environ["KERAS_BACKEND"] = "jax"  # read once, when keras is first imported
    keras = pytest.importorskip("keras", reason="keras (the Keras-form oracle) is in the test extra")
    if keras.backend.backend() != "jax":
        pytest.skip(f"keras was imported with the {keras.backend.backend()} backend")
    keras.config.set_floatx("float64")
    return keras


def keras_run(surface_name: str, make, steps: int = STEPS) -> np.ndarray:
    """keras's trajectory, fed the JAX gradient at its own point each step."""
    keras = _keras()
    grad = _grad(surface_name)
    var = keras.Variable(np.array(START[surface_name], dtype=np.float64), dtype="float64")
    opt = make(keras.optimizers)
    rows = [np.array(var.value)]
    for _ in range(steps):
        opt.apply_gradients([(grad(var.value), var)])
        rows.append(np.array(var.value))
    return np.stack(rows)


KERAS_RMSPROP = {"optimizer": "rmsprop", "alpha": 0.9, "eps": 1e-7, "eps_form": "inside",
                 "momentum_form": "sutskever"}  # fmt: skip
KERAS_CASES = [
    (
        "rmsprop",
        {**KERAS_RMSPROP, "lr": 1e-3},
        lambda o: o.RMSprop(learning_rate=1e-3),  # Keras's defaults: rho 0.9, epsilon 1e-7
    ),
    (
        "rmsprop-momentum-centered",
        {**KERAS_RMSPROP, "lr": 1e-4, "momentum": 0.9, "centered": True},
        lambda o: o.RMSprop(learning_rate=1e-4, momentum=0.9, centered=True),
    ),
    (
        "rmsprop-eps",
        {**KERAS_RMSPROP, "lr": 1e-3, "alpha": 0.5, "eps": 1e-2, "momentum": 0.5},
        lambda o: o.RMSprop(learning_rate=1e-3, rho=0.5, epsilon=1e-2, momentum=0.5),
    ),
    (
        "sgd-sutskever",
        {"optimizer": "sgd", "lr": 1e-3, "momentum": 0.9, "momentum_form": "sutskever"},
        lambda o: o.SGD(learning_rate=1e-3, momentum=0.9),
    ),
    (
        "sgd-sutskever-nesterov",
        {"optimizer": "sgd", "lr": 1e-3, "momentum": 0.9, "momentum_form": "sutskever", "nesterov": True},
        lambda o: o.SGD(learning_rate=1e-3, momentum=0.9, nesterov=True),
    ),
    (
        "adam-keras",
        {"optimizer": "adam", "lr": 0.01, "eps": 1e-7, "eps_form": "keras"},
        lambda o: o.Adam(learning_rate=0.01),
    ),
    (
        "adam-keras-eps-amsgrad",
        {
            "optimizer": "adam",
            "lr": 3e-3,
            "beta1": 0.5,
            "beta2": 0.9,
            "eps": 1e-2,
            "eps_form": "keras",
            "amsgrad": True,
        },
        lambda o: o.Adam(learning_rate=3e-3, beta_1=0.5, beta_2=0.9, epsilon=1e-2, amsgrad=True),
    ),  # fmt: skip
]


@pytest.mark.parametrize("surface_name", ["rosenbrock", "beale"])
@pytest.mark.parametrize("case", KERAS_CASES, ids=[c[0] for c in KERAS_CASES])
def test_keras_forms_step_as_keras(surface_name, case):
    _, racer, make = case
    ours = _race(surface_name, [racer]).params[0]
    theirs = keras_run(surface_name, make)
    assert np.linalg.norm(theirs[-1] - theirs[0]) > 1e-3
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("case", [KERAS_CASES[2], KERAS_CASES[6]], ids=[KERAS_CASES[2][0], KERAS_CASES[6][0]])
def test_torchs_form_is_not_keras(case):
    """The oracle would prove little if torch's form matched Keras as well: with a large eps it does
    not (with Keras's eps = 1e-7 the forms part only where gradients fall below about 3e-4)."""
    _, racer, make = case
    torch_form = {k: v for k, v in racer.items() if not k.endswith("_form")}
    ours = _race("beale", [torch_form]).params[0]
    assert np.abs(ours - keras_run("beale", make)).max() > 1e-3


# --- optax where optax has the form ----------------------------------------------------------------


def optax_run(surface_name: str, tx, steps: int = STEPS) -> np.ndarray:
    grad = _grad(surface_name)

    def step(carry, _):
        p, s = carry
        u, s = tx.update(grad(p), s, p)
        p = optax.apply_updates(p, u)
        return (p, s), p

    p0 = jax.numpy.asarray(START[surface_name], dtype=jax.numpy.float64)
    _, rows = jax.jit(lambda p: jax.lax.scan(step, (p, tx.init(p)), None, length=steps))(p0)
    return np.concatenate([np.asarray(p0)[None], np.asarray(rows)])


@pytest.mark.parametrize("surface_name", ["rosenbrock", "beale"])
def test_averaged_momentum_is_optax_ema(surface_name):
    lr, mu = 1e-3, 0.9
    ours = _race(surface_name, [{"optimizer": "sgd", "lr": lr, "momentum": mu, "momentum_form": "averaged"}])
    theirs = optax_run(surface_name, optax.chain(optax.ema(mu, debias=False), optax.scale(-lr)))
    np.testing.assert_allclose(ours.params[0], theirs, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("surface_name", ["rosenbrock", "beale"])
def test_adam_eps_inside_is_optax_eps_root(surface_name):
    lr, eps = 0.01, 1e-3
    ours = _race(surface_name, [{"optimizer": "adam", "lr": lr, "eps": eps, "eps_form": "inside"}])
    theirs = optax_run(surface_name, optax.adam(lr, eps=0.0, eps_root=eps))
    np.testing.assert_allclose(ours.params[0], theirs, rtol=RTOL, atol=ATOL)


# --- the cited formulas, written out by hand -------------------------------------------------------


def sgd_rule(form: str, mu: float, nesterov: str | None):
    """SGD's momentum forms as the sources write them; nesterov None, 'torch' or 'lookahead'."""

    def rule(p, grad, s, lr, t):
        b = s.get("b", np.zeros_like(p))
        if form == "sutskever":
            # Sutskever et al. 2013, eq. 1-2 (3-4 look ahead to theta + mu v); Bengio et al. 2013, eq. 7.
            g = grad(p + mu * b) if nesterov == "lookahead" else grad(p)
            s["b"] = mu * b - lr * g
            return p + (mu * s["b"] - lr * g if nesterov == "torch" else s["b"])
        # torch (sums gradients) or averaged (Polyak's average); look ahead to theta - lr mu b.
        g = grad(p - lr * mu * b) if nesterov == "lookahead" else grad(p)
        new = g if form == "torch" else (1 - mu) * g
        s["b"] = mu * b + new
        return p - lr * (new + mu * s["b"] if nesterov == "torch" else s["b"])

    return rule


SGD_FORMS = [
    (form, nesterov)
    for form in ("torch", "averaged", "sutskever")
    for nesterov in (None, "torch", "lookahead")
]


@pytest.mark.parametrize("surface_name", ["rosenbrock", "quadratic"])
@pytest.mark.parametrize("schedule", [None, WARMUP], ids=["constant", "warmup"])
def test_sgd_forms_are_their_formulas(surface_name, schedule):
    lr, mu = 1e-3, 0.9
    racers = []
    for form, nesterov in SGD_FORMS:
        r = {"optimizer": "sgd", "lr": lr, "momentum": mu, "momentum_form": form, "schedule": schedule}
        if nesterov:
            r.update(nesterov=True, nesterov_form=nesterov)
        racers.append(r)
    res = _race(surface_name, racers)
    for i, (form, nesterov) in enumerate(SGD_FORMS):
        theirs = numpy_run(surface_name, sgd_rule(form, mu, nesterov), res.lr[i])
        assert np.linalg.norm(theirs[-1] - theirs[0]) > 1e-2
        np.testing.assert_allclose(res.params[i], theirs, rtol=RTOL, atol=ATOL, err_msg=f"{form} {nesterov}")


def test_lookahead_in_sutskevers_form_is_nag():
    """`nag` (Sutskever's look-ahead, its own optimizer) is the SGD option, step for step."""
    racers = [
        {"optimizer": "nag", "lr": 1e-3, "momentum": 0.9},
        {"optimizer": "sgd", "lr": 1e-3, "momentum": 0.9, "nesterov": True, "momentum_form": "sutskever",
         "nesterov_form": "lookahead"},
    ]  # fmt: skip
    res = _race("rosenbrock", racers)
    np.testing.assert_allclose(res.params[1], res.params[0], rtol=RTOL, atol=ATOL)


def test_how_the_momentum_paths_part():
    """The sentences' claims: averaged steps are (1 - mu) times torch's, so the path differs from the
    first steps; Sutskever's form is torch's at a constant lr and parts while a schedule moves it."""
    base = {"optimizer": "sgd", "lr": 1e-3, "momentum": 0.9}
    forms = [{**base, "momentum_form": f} for f in ("torch", "averaged", "sutskever")]
    res = _race("rosenbrock", forms)
    first = [np.linalg.norm(res.params[i, 1] - res.params[i, 0]) for i in range(3)]
    assert first[1] == pytest.approx(0.1 * first[0], rel=1e-9)
    assert np.abs(res.params[1] - res.params[0]).max() > 0.1
    np.testing.assert_allclose(res.params[2], res.params[0], rtol=1e-12, atol=1e-13)
    warm = _race("rosenbrock", [{**f, "schedule": WARMUP} for f in forms])
    assert np.abs(warm.params[2] - warm.params[0]).max() > 1e-3


@pytest.mark.parametrize("surface_name", ["rosenbrock", "beale"])
def test_rmsprop_forms_are_their_formulas(surface_name):
    """eps inside the root alone, and Keras's lr-inside momentum alone under a warm-up."""
    alpha, eps, mu = 0.9, 1e-2, 0.9

    def rule(inside: bool, lr_inside: bool):
        def step(p, grad, s, lr, t):
            g = grad(p)
            s["v"] = alpha * s.get("v", 0.0) + (1 - alpha) * g * g
            d = np.sqrt(s["v"] + eps) if inside else np.sqrt(s["v"]) + eps
            if lr_inside:
                s["b"] = mu * s.get("b", 0.0) + lr * g / d
                return p - s["b"]
            s["b"] = mu * s.get("b", 0.0) + g / d
            return p - lr * s["b"]

        return step

    base = {
        "optimizer": "rmsprop",
        "lr": 1e-3,
        "alpha": alpha,
        "eps": eps,
        "momentum": mu,
        "schedule": WARMUP,
    }
    cases = [(True, False), (False, True), (True, True)]
    racers = [
        {**base, "eps_form": "inside" if a else "outside", "momentum_form": "sutskever" if b else "torch"}
        for a, b in cases
    ]
    res = _race(surface_name, racers)
    for i, (a, b) in enumerate(cases):
        theirs = numpy_run(surface_name, rule(a, b), res.lr[i])
        np.testing.assert_allclose(res.params[i], theirs, rtol=RTOL, atol=ATOL, err_msg=f"{a} {b}")


@pytest.mark.parametrize("surface_name", ["rosenbrock", "beale"])
def test_adam_eps_inside_with_amsgrad_is_its_formula(surface_name):
    """AMSGrad's maximum of the raw v_t (torch's), then debiased, then eps inside the root."""
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-3

    def rule(p, grad, s, lr, t):
        g = grad(p)
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        s["vmax"] = np.maximum(s.get("vmax", 0.0), s["v"])
        return p - lr * (s["m"] / (1 - b1**t)) / np.sqrt(s["vmax"] / (1 - b2**t) + eps)

    res = _race(
        surface_name, [{"optimizer": "adam", "lr": lr, "eps": eps, "eps_form": "inside", "amsgrad": True}]
    )
    np.testing.assert_allclose(res.params[0], numpy_run(surface_name, rule, res.lr[0]), rtol=RTOL, atol=ATOL)


def radam_rule(threshold: float, b1=0.9, b2=0.999, eps=1e-8):
    """Liu et al. 2020, Algorithm 2, with the threshold given (the paper's 4, torch's 5)."""
    rho_inf = 2 / (1 - b2) - 1

    def rule(p, grad, s, lr, t):
        g = grad(p)
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        m_hat = s["m"] / (1 - b1**t)
        rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho <= threshold:
            return p - lr * m_hat
        r = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
        return p - lr * m_hat * r * np.sqrt(1 - b2**t) / (np.sqrt(s["v"]) + eps)

    return rule


@pytest.mark.parametrize("surface_name", ["rosenbrock", "beale"])
def test_radam_thresholds_are_the_papers_and_torchs(surface_name):
    res = _race(
        surface_name, [{"optimizer": "radam", "lr": 3e-3, "rho_threshold": c} for c in ("paper", "torch")]
    )
    for i, c in enumerate(("paper", "torch")):
        theirs = numpy_run(surface_name, radam_rule(RHO_THRESHOLDS[c]), res.lr[i])
        np.testing.assert_allclose(res.params[i], theirs, rtol=RTOL, atol=ATOL, err_msg=c)
    assert RHO_THRESHOLDS == {"torch": 5.0, "paper": 4.0}
    # With beta2 = 0.999, rho_5 lies in (4, 5]: the paper rectifies at step 5, torch from step 6,
    # so the paths are one until step 4 and part at step 5.
    np.testing.assert_array_equal(res.params[0, :5], res.params[1, :5])
    assert np.abs(res.params[0, 5] - res.params[1, 5]).max() > 1e-5


def test_eps_forms_part_where_gradients_are_small():
    """Adam's three eps forms with eps = 1e-3: inside and Keras's damp the early steps, outside least."""
    res = _race("quadratic", [{"optimizer": "adam", "lr": 0.01, "eps": 1e-3, "eps_form": f}
                              for f in ("outside", "inside", "keras")])  # fmt: skip
    for i in (1, 2):
        assert np.abs(res.params[i] - res.params[0]).max() > 1e-4


# --- torch.optim: the look-ahead form plots what torch's Nesterov does not -------------------------


@pytest.mark.parametrize("form", ["torch", "averaged"])
def test_lookahead_point_is_torch_nesterovs(form):
    """In the look-ahead form the gradient is taken at theta - lr mu b: that point is the one torch's
    SGD(nesterov=True) plots (torch's form), and the averaged form's is torch's with lr (1 - mu)."""
    torch = pytest.importorskip(
        "torch",
        reason="torch (the parity oracle) is installed only in the Python 3.11 job: bash scripts/test_py311.sh",
    )
    lr, mu = 1e-3, 0.9
    res = _race("rosenbrock", [{"optimizer": "sgd", "lr": lr, "momentum": mu, "nesterov": True,
                                "momentum_form": form, "nesterov_form": "lookahead"}])  # fmt: skip
    ahead = res.params[0] - lr * mu * res.state[0]["momentum_buffer"]
    grad = _grad("rosenbrock")
    p = torch.tensor(START["rosenbrock"], dtype=torch.float64, requires_grad=True)
    torch_lr = lr if form == "torch" else lr * (1 - mu)
    opt = torch.optim.SGD([p], lr=torch_lr, momentum=mu, nesterov=True)
    rows = [p.detach().numpy().copy()]
    for _ in range(STEPS):
        p.grad = torch.from_numpy(np.array(grad(p.detach().numpy())))
        opt.step()
        rows.append(p.detach().numpy().copy())
    np.testing.assert_allclose(ahead, np.stack(rows), rtol=1e-6, atol=1e-12)
    # ...and theta itself is not torch's point: the paths differ.
    assert np.abs(res.params[0] - np.stack(rows)).max() > 1e-3


# --- where the sentences show: the editor's tooltip and the explain panel --------------------------


def test_the_editor_and_explain_panel_show_each_forms_sentence():
    from optirace.app.explain import racer_explanation
    from optirace.app.widgets import hparam_widget

    h = optimizers.OPTIMIZERS["sgd"].spec("momentum_form")
    widget, convert = hparam_widget(h, "averaged")
    assert widget.label == "momentum_form" and widget.options == ["torch", "averaged", "sutskever"]
    assert widget.value == "averaged" and convert("sutskever") == "sutskever"
    for c in h.choices:
        assert h.choice_doc(c) in widget.description
    spec = {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "momentum_form": "averaged"}
    table = racer_explanation(0, spec)[2].object.text  # a Bokeh Div, its text set in place
    assert h.choice_doc("averaged").replace("'", "&#x27;") in table
    assert h.choice_doc("torch").replace("'", "&#x27;") not in table  # only the chosen one's
