"""Parity with optax (lion, adabelief, yogi, lookahead) and with a torch-built Ranger, step by step.

Each case races through `optimizers.race`; optax then runs the same update from the same float64
start in a jitted `lax.scan`, fed the JAX gradient of `surface.f` at its own current point.
Ranger is checked against torch.optim.RAdam stepped in a loop, with Lookahead's slow/fast
synchronisation written here in torch.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optimizers
import surfaces

STEPS = 250
RTOL, ATOL = 1e-6, 1e-12

STARTS = {
    "quadratic": (-3.0, 2.0),
    "rosenbrock": (-1.2, 1.0),
    "beale": (1.0, 1.0),
}


def _lion(hp):
    return optax.lion(hp["lr"], b1=hp["beta1"], b2=hp["beta2"], weight_decay=hp["weight_decay"])


def _adabelief(hp):
    return optax.adabelief(hp["lr"], b1=hp["beta1"], b2=hp["beta2"], eps=hp["eps"], eps_root=hp["eps_root"])


def _yogi(hp):
    return optax.yogi(hp["lr"], b1=hp["beta1"], b2=hp["beta2"], eps=hp["eps"])


# (racer, optax factory, optax hyperparameters); racers of one optimizer share one compiled program.
CASES = {
    "lion": (
        {"optimizer": "lion", "lr": 1e-3},
        _lion,
        dict(lr=1e-3, beta1=0.9, beta2=0.99, weight_decay=1e-3),
    ),
    "lion_moved": (
        {"optimizer": "lion", "lr": 3e-3, "beta1": 0.5, "beta2": 0.9, "weight_decay": 0.1},
        _lion,
        dict(lr=3e-3, beta1=0.5, beta2=0.9, weight_decay=0.1),
    ),
    "adabelief": (
        {"optimizer": "adabelief", "lr": 1e-2},
        _adabelief,
        dict(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-16, eps_root=1e-16),
    ),
    "adabelief_moved": (
        {"optimizer": "adabelief", "lr": 1e-2, "beta1": 0.5, "beta2": 0.9, "eps": 1e-8, "eps_root": 1e-4},
        _adabelief,
        dict(lr=1e-2, beta1=0.5, beta2=0.9, eps=1e-8, eps_root=1e-4),
    ),
    "yogi": ({"optimizer": "yogi"}, _yogi, dict(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-3)),
    "yogi_moved": (
        {"optimizer": "yogi", "lr": 0.05, "beta1": 0.5, "beta2": 0.9, "eps": 1e-5},
        _yogi,
        dict(lr=0.05, beta1=0.5, beta2=0.9, eps=1e-5),
    ),
}

# Lookahead cases: (racer, inner optax optimizer, k, alpha); k is static for optax.
LOOKAHEAD = {
    "lookahead_sgd": (
        {"optimizer": "lookahead", "inner": {"optimizer": "sgd", "lr": 1e-3}, "k": 5, "alpha": 0.5},
        lambda: optax.sgd(1e-3),
        5,
        0.5,
    ),
    "lookahead_sgd_momentum": (
        {
            "optimizer": "lookahead",
            "inner": {"optimizer": "sgd", "lr": 1e-3, "momentum": 0.9},
            "k": 3,
            "alpha": 0.8,
        },
        lambda: optax.sgd(1e-3, momentum=0.9),
        3,
        0.8,
    ),
    "lookahead_sgd_scheduled": (
        {
            "optimizer": "lookahead",
            "inner": {"optimizer": "sgd", "lr": 2e-3},
            "k": 4,
            "alpha": 0.3,
            "schedule": {"name": "exponential", "gamma": 0.99},
        },
        # optax.exponential_decay evaluates in float32, so the oracle's schedule is written in float64.
        lambda: optax.sgd(lambda count: 2e-3 * jnp.power(jnp.float64(0.99), count)),
        4,
        0.3,
    ),
    "lookahead_adam": (
        {"optimizer": "lookahead", "inner": {"optimizer": "adam", "lr": 1e-2}, "k": 5, "alpha": 0.5},
        lambda: optax.adam(1e-2),
        5,
        0.5,
    ),
    "lookahead_adam_moved": (
        {
            "optimizer": "lookahead",
            "inner": {"optimizer": "adam", "lr": 3e-2, "beta1": 0.5, "beta2": 0.9, "eps": 1e-4},
            "k": 7,
            "alpha": 0.9,
        },
        lambda: optax.adam(3e-2, b1=0.5, b2=0.9, eps=1e-4),
        7,
        0.9,
    ),
}


@functools.cache
def _grad(surface_name):
    surface = surfaces.SURFACES[surface_name]
    return jax.grad(lambda x: surface.f(x))


@functools.cache
def _optax_runner(surface_name, factory):
    """A jitted scan of optax's rule whose hyperparameters are traced, compiled once per family."""
    grad = _grad(surface_name)

    @jax.jit
    def run(x0, hp):
        opt = factory(hp)

        def body(carry, _):
            x, state = carry
            updates, state = opt.update(grad(x), state, x)
            x = optax.apply_updates(x, updates)
            return (x, state), x

        _, xs = jax.lax.scan(body, (x0, opt.init(x0)), None, length=STEPS)
        return jnp.concatenate([x0[None], xs])

    return run


def optax_lookahead(surface_name, inner, k, alpha):
    grad = _grad(surface_name)
    opt = optax.lookahead(inner(), sync_period=k, slow_step_size=alpha)
    x0 = jnp.asarray(STARTS[surface_name], dtype=jnp.float64)

    def body(carry, _):
        params, state = carry
        updates, state = opt.update(grad(params.fast), state, params)
        params = optax.apply_updates(params, updates)
        return (params, state), (params.fast, params.slow)

    params = optax.LookaheadParams.init_synced(x0)
    _, (fast, slow) = jax.lax.scan(body, (params, opt.init(params)), None, length=STEPS)
    return np.concatenate([x0[None], fast]), np.concatenate([x0[None], slow])


@functools.cache
def _race(surface_name, group):
    table = CASES if group == "rules" else LOOKAHEAD
    racers = [entry[0] for entry in table.values()]
    return optimizers.race(surface_name, racers, start=STARTS[surface_name], steps=STEPS)


def _moved(ours):
    # The race must go somewhere, or agreeing with optax would prove little.
    assert np.linalg.norm(ours[-1] - ours[0]) > 1e-3


@pytest.mark.parametrize("surface_name", list(STARTS))
@pytest.mark.parametrize("case", list(CASES))
def test_rule_matches_optax(surface_name, case):
    racer, factory, hp = CASES[case]
    res = _race(surface_name, "rules")
    i = list(CASES).index(case)
    assert res.diverged_at[i] == -1
    ours = res.params[i]
    _moved(ours)
    hp_arrays = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in hp.items()}
    theirs = np.asarray(_optax_runner(surface_name, factory)(jnp.asarray(STARTS[surface_name]), hp_arrays))
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("surface_name", list(STARTS))
@pytest.mark.parametrize("case", list(LOOKAHEAD))
def test_lookahead_matches_optax(surface_name, case):
    racer, inner, k, alpha = LOOKAHEAD[case]
    res = _race(surface_name, "lookahead")
    i = list(LOOKAHEAD).index(case)
    assert res.diverged_at[i] == -1
    ours, slow = res.params[i], res.state[i]["slow"]
    _moved(ours)
    fast_ref, slow_ref = optax_lookahead(surface_name, inner, k, alpha)
    np.testing.assert_allclose(ours, fast_ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(slow, slow_ref, rtol=RTOL, atol=ATOL)
    # fast and slow coincide right after each synchronisation, and only then (generically)
    synced = np.all(ours == slow, axis=1)
    assert np.array_equal(np.nonzero(synced)[0], np.arange(0, STEPS + 1, k))


RANGER = {
    "ranger": ({"lr": 3e-3}, dict(lr=3e-3), 6, 0.5),
    "ranger_moved": (
        {"lr": 1e-3, "beta1": 0.8, "beta2": 0.99, "eps": 1e-4, "weight_decay": 0.1, "k": 3, "alpha": 0.8},
        dict(lr=1e-3, betas=(0.8, 0.99), eps=1e-4, weight_decay=0.1),
        3,
        0.8,
    ),
}


def torch_ranger(surface_name, torch_kw, k, alpha):
    """torch.optim.RAdam as the fast optimizer, with Lookahead's synchronisation done by hand."""
    # only the Ranger oracle needs it; installed only in the Python 3.11 job (scripts/test_py311.sh)
    torch = pytest.importorskip("torch", reason="torch (the oracle) is installed only in the Python 3.11 job")
    grad = jax.jit(_grad(surface_name))
    p = torch.tensor(STARTS[surface_name], dtype=torch.float64, requires_grad=True)
    slow = p.detach().clone()
    opt = torch.optim.RAdam([p], **torch_kw)
    fast_rows, slow_rows = [p.detach().numpy().copy()], [slow.numpy().copy()]
    for t in range(1, STEPS + 1):
        p.grad = torch.from_numpy(np.array(grad(p.detach().numpy())))
        opt.step()
        if t % k == 0:
            with torch.no_grad():
                slow += alpha * (p - slow)
                p.copy_(slow)
        fast_rows.append(p.detach().numpy().copy())
        slow_rows.append(slow.numpy().copy())
    return np.stack(fast_rows), np.stack(slow_rows)


@pytest.mark.parametrize("surface_name", list(STARTS))
@pytest.mark.parametrize("case", list(RANGER))
def test_ranger_matches_torch_radam_with_lookahead(surface_name, case):
    ours_kw, torch_kw, k, alpha = RANGER[case]
    res = _ranger_race(surface_name)
    i = list(RANGER).index(case)
    assert res.diverged_at[i] == -1
    _moved(res.params[i])
    fast, slow = torch_ranger(surface_name, torch_kw, k, alpha)
    np.testing.assert_allclose(res.params[i], fast, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(res.state[i]["slow"], slow, rtol=RTOL, atol=ATOL)


@functools.cache
def _ranger_race(surface_name):
    racers = [{"optimizer": "ranger", **kw} for kw, *_ in RANGER.values()]
    return optimizers.race(surface_name, racers, start=STARTS[surface_name], steps=STEPS)


def test_ranger_defaults_are_radam_with_k6_alpha_half():
    opt = optimizers.OPTIMIZERS["ranger"]
    d = opt.defaults
    assert (d["k"], d["alpha"]) == (6.0, 0.5)
    radam = optimizers.OPTIMIZERS["radam"].defaults
    assert all(d[n] == radam[n] for n in ("lr", "beta1", "beta2", "eps", "weight_decay"))


@pytest.mark.parametrize(
    "racer, field",
    [
        ({"optimizer": "lookahead", "inner": {"optimizer": "sgd"}, "k": 0}, "k"),
        ({"optimizer": "lookahead", "inner": {"optimizer": "sgd"}, "k": 2.5}, "k"),
        ({"optimizer": "lookahead", "inner": {"optimizer": "sgd"}, "alpha": 1.5}, "alpha"),
        ({"optimizer": "lookahead", "k": 5}, "inner"),
        ({"optimizer": "lion", "beta1": 1.0}, "beta1"),
        ({"optimizer": "yogi", "eps": -1.0}, "eps"),
        ({"optimizer": "adabelief", "eps_root": -1e-16}, "eps_root"),
        ({"optimizer": "ranger", "momentum": 0.9}, "momentum"),
    ],
)
def test_illegal_values_name_the_field(racer, field):
    with pytest.raises(ValueError, match=field):
        optimizers.race("quadratic", [racer], steps=5)
