"""The surface catalogue: every listed minimum and saddle is what it claims, and the metadata is sane.

Tolerances: each listed point must equal, coordinate for coordinate, the float64 rounding of a root of
the gradient solved to 50 digits (mpmath) from it. In float64 itself a Newton step from it must stay
below 1e-14 (1 + |x|) and its gradient below 1e-11 (1 + |H|)(1 + |x|): rounding level.
"""

import itertools

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest

import optimizers
import surfaces
from surfaces import SURFACES

REQUIRED = {
    "quadratic",
    "rosenbrock",
    "beale",
    "parabola",
    "saddle",
    "himmelblau",
    "rastrigin",
    "ackley",
    "goldstein_price",
    "booth",
    "six_hump_camel",
    "two_basins",
    "double_well_1d",
    "least_squares",
    "mlp_landscape",
}
NAMES = list(SURFACES)
GRID = {1: 100_001, 2: 401}  # points per axis of the dense domain grid


def _grid(s):
    axes = [np.linspace(lo, hi, GRID[s.dim]) for lo, hi in s.domain]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)  # (n, n, dim) or (n, 1)


_grid_cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def _grid_values(s):
    if s.name not in _grid_cache:
        pts = _grid(s)
        # In chunks: a plain vmap over 401 x 401 points of a network's loss (mlp_landscape) would
        # hold every point's activations at once (gigabytes).
        vals = jax.jit(lambda p: jax.lax.map(s.f, p, batch_size=1024))(pts.reshape(-1, s.dim))
        _grid_cache[s.name] = (pts, np.asarray(vals).reshape(pts.shape[:-1]))
    return _grid_cache[s.name]


def _points(s):
    return [("minimum", p) for p in s.minima] + [("local minimum", p) for p in s.local_minima]


def _stationary(s):
    return _points(s) + [("saddle", p) for p in s.saddles]


def test_catalogue_has_every_required_surface_keyed_by_name():
    assert set(SURFACES) >= REQUIRED
    for key, s in SURFACES.items():
        assert s.name == key
        assert surfaces.get(key) is s


@pytest.mark.parametrize("name", NAMES)
def test_metadata_is_complete_and_consistent(name):
    s = SURFACES[name]
    assert s.dim in (1, 2)
    assert s.title.strip() and s.formula.strip() and s.description.strip()
    assert len(s.domain) == s.dim and len(s.start) == s.dim
    assert all(lo < hi for lo, hi in s.domain)
    assert s.minima, "every surface lists its global minima"
    for kind, p in [("start", s.start), *_stationary(s)]:
        assert len(p) == s.dim, (kind, p)
        assert all(lo <= v <= hi for v, (lo, hi) in zip(p, s.domain, strict=True)), (kind, p)
    assert set(s.param_docs) == set(s.params)
    assert s.bound_factor == 1e3
    listed = [np.asarray(p) for _, p in _stationary(s)]
    for a, b in itertools.combinations(listed, 2):
        assert np.linalg.norm(a - b) > 1e-6, "a point is listed twice"


@pytest.mark.parametrize("name", NAMES)
def test_listed_points_are_stationary_to_float64(name):
    s = SURFACES[name]
    grad, hess = jax.grad(s.f), jax.hessian(s.f)
    for kind, p in _stationary(s):
        x = jnp.asarray(p, dtype=jnp.float64)
        g, H = np.asarray(grad(x)), np.asarray(hess(x))
        scale = 1.0 + np.abs(np.linalg.eigvalsh(H)).max()
        size = 1.0 + np.abs(x).max()
        assert np.linalg.norm(g) <= 1e-11 * scale * size, (kind, p, g)
        newton_step = np.linalg.solve(H, g)
        assert np.abs(newton_step).max() <= 1e-14 * size, (kind, p, newton_step)


@pytest.mark.parametrize("name", NAMES)
def test_minima_have_positive_definite_and_saddles_indefinite_hessians(name):
    s = SURFACES[name]
    hess = jax.hessian(s.f)
    for kind, p in _points(s):
        ev = np.linalg.eigvalsh(np.asarray(hess(jnp.asarray(p))))
        assert ev.min() > 1e-8 * ev.max() > 0, (kind, p, ev)  # clear of rounding, not merely >= 0
    for p in s.saddles:
        ev = np.linalg.eigvalsh(np.asarray(hess(jnp.asarray(p))))
        assert ev.min() < 0 < ev.max(), (p, ev)


@pytest.mark.parametrize("name", NAMES)
def test_global_minima_share_a_value_and_local_minima_lie_above_it(name):
    s = SURFACES[name]
    fmin = s.min_value
    tol = 1e-12 * (1.0 + abs(fmin))
    for p in s.minima:
        assert abs(float(s.f(jnp.asarray(p))) - fmin) <= tol, p
    for p in s.local_minima:
        assert float(s.f(jnp.asarray(p))) > fmin + 1e-6, p
    for p in s.saddles:
        assert float(s.f(jnp.asarray(p))) > fmin + 1e-6, p


@pytest.mark.parametrize("name", NAMES)
def test_no_grid_point_is_below_the_global_minimum_and_f_is_finite(name):
    s = SURFACES[name]
    _, vals = _grid_values(s)
    assert np.all(np.isfinite(vals))
    fmin = s.min_value
    assert vals.min() >= fmin - 1e-12 * (1.0 + abs(fmin)), (vals.min(), fmin)


@pytest.mark.parametrize("name", NAMES)
def test_every_global_minimum_in_the_domain_is_listed(name):
    """Newton from each grid cell that is lowest among its neighbours finds every basin's bottom."""
    s = SURFACES[name]
    pts, vals = _grid_values(s)
    if s.dim == 1:
        v = vals[:, 0] if vals.ndim == 2 else vals
        inner = (v[1:-1] <= v[:-2]) & (v[1:-1] <= v[2:])
        seeds = pts.reshape(-1, 1)[1:-1][inner]
    else:
        core = vals[1:-1, 1:-1]
        inner = np.ones_like(core, dtype=bool)
        for di, dj in itertools.product((-1, 0, 1), repeat=2):
            if di or dj:
                inner &= core <= vals[1 + di : vals.shape[0] - 1 + di, 1 + dj : vals.shape[1] - 1 + dj]
        seeds = pts[1:-1, 1:-1][inner]
    assert len(seeds) >= len(s.minima)

    grad, hess = jax.grad(s.f), jax.hessian(s.f)

    @jax.jit
    @jax.vmap
    def polish(x):
        def step(x, _):
            return x - jnp.linalg.solve(hess(x), grad(x)), None

        x, _ = jax.lax.scan(step, x, None, length=30)
        return x, jnp.linalg.norm(grad(x)), jnp.linalg.eigvalsh(hess(x))[0], s.f(x)

    xs, gn, lam, fx = map(np.asarray, polish(jnp.asarray(seeds)))
    inside = np.all([(xs[:, i] >= lo) & (xs[:, i] <= hi) for i, (lo, hi) in enumerate(s.domain)], axis=0)
    found = inside & (gn < 1e-8) & (lam > 0)
    fmin = s.min_value
    assert np.all(fx[found] >= fmin - 1e-12 * (1.0 + abs(fmin)))
    best = found & (fx <= fmin + 1e-9 * (1.0 + abs(fmin)))
    listed = np.asarray(s.minima)
    for x in xs[best]:
        assert np.min(np.linalg.norm(listed - x, axis=1)) < 1e-6, f"unlisted global minimum at {x}"
    for m in listed:
        assert np.any(np.linalg.norm(xs[best] - m, axis=1) < 1e-6), f"listed minimum {m} not found"


@pytest.mark.parametrize("name", NAMES)
def test_log_scale_hint_marks_the_surfaces_whose_values_span_a_decade(name):
    s = SURFACES[name]
    _, vals = _grid_values(s)
    excess = vals - s.min_value
    spread = excess.max() / np.median(excess)
    assert s.log_scale == (spread > 7.0), spread


# Independent transcriptions of the definitions (Jamil & Yang 2013; Surjanovic & Bingham's library for
# the textbook ones), written for any module `m` with cos, exp, sqrt, pi, e: numpy or mpmath.
def _ref(name, p, m, params=None):
    x = p[0]
    y = p[1] if len(p) > 1 else None
    if name == "quadratic":
        return (x**2 + params["kappa"] * y**2) / 2
    if name == "rosenbrock":
        return (1 - x) ** 2 + 100 * (y - x**2) ** 2
    if name == "beale":
        return (
            (_c(m, "1.5") - x + x * y) ** 2
            + (_c(m, "2.25") - x + x * y**2) ** 2
            + (_c(m, "2.625") - x + x * y**3) ** 2
        )
    if name == "parabola":
        return x**2 - 4 * x + 3
    if name == "saddle":
        return x**2 + y**4 / 4 - y**2 / 2
    if name == "himmelblau":
        return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2
    if name == "rastrigin":
        return 20 + x**2 - 10 * m.cos(2 * m.pi * x) + y**2 - 10 * m.cos(2 * m.pi * y)
    if name == "ackley":
        r = m.sqrt((x**2 + y**2) / 2)
        return -20 * m.exp(-r / 5) - m.exp((m.cos(2 * m.pi * x) + m.cos(2 * m.pi * y)) / 2) + m.e + 20
    if name == "goldstein_price":
        a = 1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)
        b = 30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
        return a * b
    if name == "booth":
        return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2
    if name == "six_hump_camel":
        return (4 - _c(m, "2.1") * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2
    if name == "two_basins":
        return (x**2 - 4) ** 2 / 16 + x / 2 + y**2
    if name == "double_well_1d":
        return x**4 / 4 - x**3 / 3 - 5 * x**2 / 8 + 3 * x / 4
    raise KeyError(name)


def _c(m, decimal):
    """A decimal constant, exact in mpmath (the textbook's number) and rounded in numpy."""
    return float(decimal) if m is np else m.mpf(decimal)


MP_NAMES = [n for n in NAMES if SURFACES[n].data is None]


@pytest.mark.parametrize("name", MP_NAMES)
def test_definitions_match_an_independent_transcription(name):
    s = SURFACES[name]
    rng = np.random.default_rng(0)
    lo, hi = np.asarray(s.domain).T
    pts = lo + (hi - lo) * rng.random((200, s.dim))
    ours = np.asarray(jax.vmap(s.f)(jnp.asarray(pts)))
    ref = _ref(name, tuple(pts.T), np, s.params)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


def test_textbook_minima():
    assert SURFACES["goldstein_price"].min_value == 3.0
    assert SURFACES["goldstein_price"].minima == ((0.0, -1.0),)
    assert len(SURFACES["himmelblau"].minima) == 4
    assert (3.0, 2.0) in SURFACES["himmelblau"].minima
    camel = np.asarray(SURFACES["six_hump_camel"].minima)
    np.testing.assert_allclose(np.abs(camel), [[0.0898, 0.7126]] * 2, atol=1e-4)
    np.testing.assert_array_equal(camel[0], -camel[1])
    assert SURFACES["six_hump_camel"].min_value == pytest.approx(-1.0316284534898774, abs=1e-15)
    assert SURFACES["beale"].minima == ((3.0, 0.5),)
    assert SURFACES["booth"].minima == ((1.0, 3.0),)


@pytest.mark.parametrize("name", MP_NAMES)
def test_listed_points_are_correctly_rounded_50_digit_stationary_points(name):
    """Each point is the float64 nearest to a root of the gradient solved to 50 digits from it."""
    s = SURFACES[name]
    with mpmath.workdps(50):

        def f(*p):
            return _ref(name, p, mpmath, s.params)

        def grad(*p):
            return [mpmath.diff(f, p, tuple(int(i == j) for j in range(s.dim))) for i in range(s.dim)]

        for kind, p in _stationary(s):
            x = [mpmath.mpf(v) for v in p]
            if max(abs(g) for g in grad(*x)) < mpmath.mpf(10) ** -40:
                continue  # the float point is itself the root (integers, halves, 0)
            root = mpmath.findroot(grad, x, tol=mpmath.mpf(10) ** -40)
            root = [root] if s.dim == 1 else list(root)
            assert tuple(float(r) for r in root) == tuple(p), (kind, p, root)


def test_ackley_gradient_is_zero_at_its_cone_tip_and_values_are_unchanged_elsewhere():
    s = SURFACES["ackley"]
    g = np.asarray(jax.grad(s.f)(jnp.zeros(2)))
    np.testing.assert_array_equal(g, [0.0, 0.0])
    assert float(s.f(jnp.zeros(2))) == pytest.approx(0.0, abs=1e-15)
    pts = np.random.default_rng(1).uniform(-5, 5, (100, 2))
    naive = _ref("ackley", (pts[:, 0], pts[:, 1]), np)
    np.testing.assert_allclose(np.asarray(jax.vmap(s.f)(jnp.asarray(pts))), naive, rtol=1e-14, atol=1e-14)
    assert np.all(np.isfinite(np.asarray(jax.vmap(jax.grad(s.f))(jnp.asarray(pts)))))


def test_parabola_worked_example_from_seed_000():
    res = optimizers.race("parabola", [{"optimizer": "gd", "lr": 0.3}], steps=2)
    np.testing.assert_allclose(res.params[0, :, 0], [0.0, 1.2, 1.68], rtol=0, atol=1e-15)
    np.testing.assert_allclose(res.loss[0], [3.0, 1.2**2 - 4.8 + 3.0, 1.68**2 - 4 * 1.68 + 3.0], atol=1e-14)


def test_least_squares_minimum_is_the_ols_solution():
    s = SURFACES["least_squares"]
    X, y = s.data.X, s.data.y
    assert X.shape == (64, 2) and y.shape == (64,) and s.data.n == 64
    ols = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(s.minima[0], ols, rtol=1e-14, atol=0)
    # Pinned, so a change to the shipped data set cannot pass unnoticed.
    np.testing.assert_allclose(ols, [1.531331808709946, -1.06321556880445], rtol=1e-12)
    w = np.array([0.3, -0.7])
    assert float(s.f(w)) == pytest.approx(np.mean((X @ w - y) ** 2), rel=1e-14)
    assert float(s.data.loss(jnp.asarray(w), jnp.asarray(X), jnp.asarray(y))) == pytest.approx(
        float(s.f(w)), rel=1e-15
    )


def test_least_squares_minibatches_differ_from_full_batch_and_repeat_by_seed():
    lr, racer = 0.1, [{"optimizer": "gd", "lr": 0.1}]
    s = SURFACES["least_squares"]
    full = optimizers.race("least_squares", racer, steps=30)
    a = optimizers.race("least_squares", racer, steps=30, batch_size=8, seed=3)
    b = optimizers.race("least_squares", racer, steps=30, batch_size=8, seed=3)
    c = optimizers.race("least_squares", racer, steps=30, batch_size=8, seed=4)
    whole = optimizers.race("least_squares", racer, steps=30, batch_size=64, seed=3)
    np.testing.assert_array_equal(a.params, b.params)
    assert np.abs(a.params - c.params).max() > 1e-3

    # The first step is -lr times the gradient used: full batch uses the exact gradient.
    start = jnp.asarray(s.start)
    g_full = -(full.params[0, 1] - full.params[0, 0]) / lr
    g_mini = -(a.params[0, 1] - a.params[0, 0]) / lr
    np.testing.assert_allclose(g_full, np.asarray(jax.grad(s.f)(start)), rtol=1e-13)
    assert np.linalg.norm(g_mini - g_full) > 1e-2 * np.linalg.norm(g_full)
    # A "batch" of every row is the full gradient, whatever the order.
    np.testing.assert_allclose(whole.params, full.params, rtol=1e-12, atol=1e-12)


def _end(name, racer, steps, **kw):
    return optimizers.race(name, [racer], steps=steps, **kw).params[0, -1]


def test_saddle_start_stalls_gradient_descent_but_momentum_and_noise_escape():
    s = SURFACES["saddle"]
    assert 0 < abs(s.start[1]) <= 1e-3  # just off the stable manifold y = 0
    gd = _end("saddle", {"optimizer": "gd", "lr": 0.05}, 120)
    assert np.linalg.norm(gd) < 0.05, "gd should sit at the saddle"
    mom = _end("saddle", {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9}, 120)
    np.testing.assert_allclose(np.abs(mom), [0.0, 1.0], atol=1e-2)
    noisy = _end("saddle", {"optimizer": "gd", "lr": 0.05}, 120, noise=0.5, seed=0)
    assert abs(noisy[1]) > 0.5


def test_two_basins_gd_stays_shallow_while_momentum_reaches_the_deep_basin():
    s = SURFACES["two_basins"]
    assert s.start[0] > s.saddles[0][0] > s.minima[0][0]  # the start is on the shallow side
    gd = _end("two_basins", {"optimizer": "gd", "lr": 0.05}, 300)
    np.testing.assert_allclose(gd, s.local_minima[0], atol=1e-6)
    mom = _end("two_basins", {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9}, 300)
    np.testing.assert_allclose(mom, s.minima[0], atol=1e-6)


def test_double_well_gd_stays_in_the_local_well_while_momentum_escapes():
    s = SURFACES["double_well_1d"]
    assert s.local_minima == ((1.5,),) and s.minima == ((-1.0,),)
    assert s.min_value == pytest.approx(-19 / 24, abs=1e-15)
    assert float(s.f(jnp.asarray([1.5]))) == pytest.approx(-9 / 64, abs=1e-15)
    gd = _end("double_well_1d", {"optimizer": "gd", "lr": 0.02}, 300)
    np.testing.assert_allclose(gd, [1.5], atol=1e-6)
    mom = _end("double_well_1d", {"optimizer": "sgd", "lr": 0.02, "momentum": 0.9}, 300)
    np.testing.assert_allclose(mom, [-1.0], atol=1e-6)
