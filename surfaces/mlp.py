"""A small neural network, its data and its loss, and a 2-D slice of its loss landscape.

The network is a multilayer perceptron 2 -> 16 -> 16 -> 1 with tanh hidden units (337 parameters)
that classifies two moons (points made here, seeded: nothing is downloaded). Its loss is the mean
binary cross-entropy of its logits plus weight decay on its weight matrices:

    L(theta; X, y) = mean(softplus(z) - y z) + (WEIGHT_DECAY / 2) * sum ||W||^2,   z = net(theta, X)

Layers hold torch.nn.Linear's layout and initialisation: W is (out, in), b is (out,), both drawn
from U(-1/sqrt(in), 1/sqrt(in)). `flatten`/`unravel` (jax.flatten_util.ravel_pytree's order) turn the
layers into one parameter vector, which is what an optimizer steps.

`MLP_LANDSCAPE` is the slice of Li et al. (2018), "Visualizing the Loss Landscape of Neural Nets":
the network trained to a minimum theta*, two random directions filter-normalised, and
f(a, b) = L(theta* + a d1 + b d2). theta* is trained once per process, on first use (`landscape`),
or read back from where an earlier process kept it (see `_memo_key`).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .base import Dataset, Surface

__all__ = [
    "HIDDEN",
    "SIZES",
    "DIM",
    "WEIGHT_DECAY",
    "TRAIN",
    "HELD_OUT",
    "two_moons",
    "init_layers",
    "flatten",
    "unravel",
    "forward",
    "loss",
    "flat_loss",
    "Landscape",
    "landscape",
    "MLP_LANDSCAPE",
    "TRAINING",
]

HIDDEN = (16, 16)
SIZES = (2, *HIDDEN, 1)
WEIGHT_DECAY = 1e-3  # keeps the minimum finite: without it the separable moons pull the weights to infinity
N_POINTS = 128  # in the training set, and again in the held-out set
NOISE = 0.2
DATA_SEED = 0
FIT_SEED = 0  # the initialisation theta* is trained from
DIRECTION_SEEDS = (1, 2)
FIT_STEPS = 6000


class Data(NamedTuple):
    X: np.ndarray  # (n, 2) float64
    y: np.ndarray  # (n,) float64 labels, 0 or 1


def two_moons(n: int, noise: float, seed: int) -> Data:
    """n points on two interleaved half circles (as scikit-learn's make_moons), Gaussian noise of
    standard deviation `noise`, labels 0 (upper moon) and 1 (lower moon); numpy's seeded PCG64."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    t = rng.uniform(0.0, np.pi, n)
    x = np.where(label == 0, np.cos(t), 1.0 - np.cos(t))
    y = np.where(label == 0, np.sin(t), 0.5 - np.sin(t))
    X = np.stack([x, y], axis=1) + noise * rng.standard_normal((n, 2))
    return Data(X, label.astype(np.float64))


# One draw of 2 n points split in two, so the held-out points come from the same distribution.
_ALL = two_moons(2 * N_POINTS, NOISE, DATA_SEED)
TRAIN = Data(_ALL.X[:N_POINTS], _ALL.y[:N_POINTS])
HELD_OUT = Data(_ALL.X[N_POINTS:], _ALL.y[N_POINTS:])


def init_layers(seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(W, b), ...] as torch.nn.Linear initialises them: U(-1/sqrt(in), 1/sqrt(in)), numpy-seeded."""
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:], strict=True):
        k = 1.0 / np.sqrt(fan_in)
        layers.append((rng.uniform(-k, k, (fan_out, fan_in)), rng.uniform(-k, k, fan_out)))
    return layers


DIM = sum(fan_out * (fan_in + 1) for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:], strict=True))


def flatten(layers) -> np.ndarray:
    """The layers as one float64 parameter vector (ravel_pytree's order: W1, b1, W2, b2, ...)."""
    return np.concatenate([np.ravel(np.asarray(a, dtype=np.float64)) for layer in layers for a in layer])


def unravel(theta):
    """The parameter vector as [(W, b), ...] (works on numpy, jax and traced values): the inverse of
    `flatten`, as jax.flatten_util.ravel_pytree's would be, by slicing. Slicing runs no jax
    operation of its own, where ravel_pytree's helper does a few eagerly, each compiled once per
    process: small programs that a cold start would pay for."""
    return [(theta[w].reshape(shape), theta[b]) for w, shape, b in _layer_slices()]


def forward(layers, X):
    """The logits z (n,) of points X (n, 2)."""
    h = X
    for W, b in layers[:-1]:
        h = jnp.tanh(h @ W.T + b)
    W, b = layers[-1]
    return (h @ W.T + b)[:, 0]


def loss(layers, X, y):
    """Mean binary cross-entropy of the logits (torch's BCEWithLogitsLoss) plus weight decay."""
    z = forward(layers, X)
    # softplus(z) - y z, written as torch writes it so that large |z| neither overflows nor cancels
    ce = jnp.mean(jnp.maximum(z, 0.0) - z * y + jnp.log1p(jnp.exp(-jnp.abs(z))))
    return ce + 0.5 * WEIGHT_DECAY * sum(jnp.sum(W * W) for W, _ in layers)


def flat_loss(theta, X, y):
    """`loss` of the parameter vector theta (DIM,)."""
    return loss(unravel(theta), X, y)


# ----- the slice -----------------------------------------------------------------------------------
class Landscape(NamedTuple):
    """theta* and the two filter-normalised directions, float64 vectors of DIM entries."""

    theta: np.ndarray
    d1: np.ndarray
    d2: np.ndarray

    @property
    def loss(self) -> float:
        """L(theta*) on the training set."""
        return float(flat_loss(jnp.asarray(self.theta), TRAIN.X, TRAIN.y))


def _layer_slices() -> list[tuple[slice, tuple[int, int], slice]]:
    """Where each layer's W (out, in) and b sit in the parameter vector."""
    out, k = [], 0
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:], strict=True):
        w = slice(k, k + fan_out * fan_in)
        out.append((w, (fan_out, fan_in), slice(w.stop, w.stop + fan_out)))
        k = w.stop + fan_out
    return out


def filter_normalised(direction: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Li et al.'s filter normalisation of a random direction at theta: each filter of `direction`
    (in a fully connected layer, the row of W feeding one unit) scaled to the norm of the same
    filter of theta; the biases' entries set to 0, as their code does for one-dimensional
    parameters with ignore="biasbn" (the setting of their published plots)."""
    out = np.zeros_like(direction)
    for w, shape, _ in _layer_slices():
        D, W = direction[w].reshape(shape), theta[w].reshape(shape)
        scale = np.linalg.norm(W, axis=1) / (np.linalg.norm(D, axis=1) + 1e-10)
        out[w] = (D * scale[:, None]).ravel()
    return out


def _fit(theta0, X, y):
    """Full-batch Adam (lr 0.01, cosine-decayed to 1e-4; torch's betas and eps) for FIT_STEPS
    steps: deterministic for a given initialisation."""
    grad = jax.grad(flat_loss)

    def adam(t, carry):
        theta, m, v = carry
        g = grad(theta, X, y)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        k = (t + 1).astype(jnp.float64)
        lr = 1e-4 + 0.5 * (1e-2 - 1e-4) * (1.0 + jnp.cos(jnp.pi * t / FIT_STEPS))
        theta = theta - lr * (m / (1.0 - 0.9**k)) / (jnp.sqrt(v / (1.0 - 0.999**k)) + 1e-8)
        return theta, m, v

    zero = jnp.zeros_like(theta0)
    return jax.lax.fori_loop(0, FIT_STEPS, adam, (theta0, zero, zero))[0]


def _centred(theta: np.ndarray, r1: np.ndarray, r2: np.ndarray, grad) -> tuple[np.ndarray, ...]:
    """(theta, d1, d2): the random directions r1, r2 filter-normalised at theta, and theta moved
    along them to the slice's own stationary point, so that (0, 0) is the slice's minimum to
    float64 rounding, as every catalogue surface's listed minimum is. The fit leaves a gradient of
    about 1e-5, so the move is about that much; the directions are normalised again at the moved
    point and the slice centred again, until neither changes (each round shrinks the move about
    1e5-fold).

    The steps are Newton steps on the slice's gradient (exact: autodiff, projected on d1 and d2;
    `grad` is the network's gradient on the training set), scaled by a 2 x 2 matrix of central
    differences of that gradient. The matrix only sets how fast the steps converge (its error,
    about 1e-8, is the rate), not where they stop. These few steps run from Python around one
    small compiled gradient: inside the fit's program (one program rather than two) they took
    longer to compile than the fit itself, as did a program for the exact Hessian.
    """
    h = 1e-4
    for _ in range(4):
        d1, d2 = filter_normalised(r1, theta), filter_normalised(r2, theta)
        D = np.stack([d1, d2], axis=1)  # (DIM, 2)

        def g(ab, D=D, theta=theta):
            return D.T @ np.asarray(grad(theta + D @ ab))

        H = np.stack([(g(h * e) - g(-h * e)) / (2 * h) for e in np.eye(2)], axis=1)
        H = 0.5 * (H + H.T)
        ab = np.zeros(2)
        for _ in range(4):
            ab = ab - np.linalg.solve(H, g(ab))
        theta = theta + D @ ab
    return theta, d1, d2


_LOCK = threading.Lock()


def _compute() -> Landscape:
    """theta* and the directions, computed: the fit, then the centring."""
    X, y = TRAIN
    theta0 = flatten(init_layers(FIT_SEED))

    # Compiled ahead and called as compiled programs: asked for from inside another trace (a
    # race's, on first use), they still run on these concrete values, where a jitted call would be
    # staged into that trace (and under jax.ensure_compile_time_eval every constant of the traced
    # fit ran as a program of its own: about 15 small compiles, a third of a second).
    def compiled_grad():
        return jax.jit(jax.grad(flat_loss)).lower(theta0, X, y).compile()

    # The gradient's program compiles on a second thread while the fit compiles and runs (XLA
    # compiles outside Python's lock): on two cores, its 0.2 s leave the cold start.
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(compiled_grad)
        theta = np.asarray(jax.jit(_fit).lower(theta0, X, y).compile()(theta0, X, y))
        grad = pending.result()
    r1, r2 = (np.random.default_rng(s).standard_normal(DIM) for s in DIRECTION_SEEDS)
    return Landscape(*_centred(theta, r1, r2, lambda t: grad(t, X, y)))


# ----- theta* kept on disk -------------------------------------------------------------------------
# Beside JAX's compiled programs, when a persistent compilation cache is configured
# (optimizers/cache.py: OPTIRACE_JAX_CACHE), so that a restarted server draws the landscape without
# training the network again. The file's name is a hash of everything theta* depends on: the code of
# the functions that make it, the constants, the data, and the JAX and XLA versions (whose rounding
# the fit's 6000 steps inherit). Any change is a new name; a file that cannot be read as three finite
# vectors of DIM entries is ignored and theta* computed again. tests/test_mlp.py computes theta* again
# and compares it, bit for bit, with what a process read back.
def _memo_key() -> str:
    h = hashlib.sha256()
    for fn in (two_moons, init_layers, flatten, unravel, _layer_slices, forward, loss, flat_loss,
               filter_normalised, _fit, _centred, _compute):  # fmt: skip
        h.update(inspect.getsource(fn).encode())
    constants = (SIZES, WEIGHT_DECAY, N_POINTS, NOISE, DATA_SEED, FIT_SEED, DIRECTION_SEEDS, FIT_STEPS)
    h.update(repr(constants).encode())
    h.update(TRAIN.X.tobytes() + TRAIN.y.tobytes())
    device = jax.devices()[0]
    h.update(
        f"{jax.__version__} {metadata.version('jaxlib')} {device.platform} {device.device_kind}".encode()
    )
    return h.hexdigest()[:32]


def _memo_path(directory: str | os.PathLike | None = None) -> Path | None:
    """Where theta* is kept: in `directory`, else in JAX's compilation cache directory if one is set,
    else nowhere (None)."""
    directory = directory if directory is not None else jax.config.jax_compilation_cache_dir
    if not directory:
        return None
    try:
        return Path(directory) / f"optirace-mlp-landscape-{_memo_key()}.npz"
    except (OSError, metadata.PackageNotFoundError):  # no source to hash (a frozen install): nothing kept
        return None


def _load(path: Path) -> Landscape | None:
    try:
        with np.load(path, allow_pickle=False) as f:
            out = Landscape(*(np.array(f[k], dtype=np.float64) for k in Landscape._fields))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    if all(a.shape == (DIM,) and np.all(np.isfinite(a)) for a in out):
        return out
    return None


def _store(path: Path, value: Landscape) -> None:
    """Written to a temporary name, then renamed: a reader never sees half a file. A directory that
    cannot be written costs only the memo."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **value._asdict())
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


@functools.cache
def _landscape() -> Landscape:
    path = _memo_path()
    kept = _load(path) if path is not None else None
    if kept is not None:
        return kept
    value = _compute()
    if path is not None:
        _store(path, value)
    return value


def landscape() -> Landscape:
    """theta* and the directions, computed once per process on first use (two small programs), or
    read back from the compilation cache's directory where an earlier process kept them.

    It may first be asked for while a race is being traced: it then runs eagerly, on concrete
    values, rather than becoming part of that race's program."""
    with _LOCK:
        return _landscape()


def _slice_loss(ab, X, y):
    L = landscape()
    return flat_loss(L.theta + ab[0] * L.d1 + ab[1] * L.d2, X, y)


def _mlp_landscape(ab):
    return _slice_loss(ab, TRAIN.X, TRAIN.y)


MLP_LANDSCAPE = Surface(
    name="mlp_landscape",
    title="Neural-network loss landscape (2-D slice)",
    variables=("α", "β"),
    fn=_mlp_landscape,
    dim=2,
    domain=((-1.0, 1.0), (-1.0, 1.0)),
    minima=((0.0, 0.0),),
    start=(-0.7, 0.8),
    formula=(
        r"f(\alpha, \beta) = L(\theta^* + \alpha\,\delta + \beta\,\eta),\quad "
        r"L(\theta) = \frac{1}{N}\sum_{i=1}^{N} \mathrm{BCE}\big(\mathrm{MLP}_\theta(x_i), y_i\big)"
        r" + \frac{\lambda}{2}\sum_l \lVert W_l \rVert^2"
    ),
    description=(
        "A 2-D slice through the loss of a real neural network, drawn as Li et al. (2018) draw loss "
        "landscapes. The network is a small MLP (2 inputs, two hidden layers of 16 tanh units, 337 "
        "parameters) classifying 128 points of two moons, with cross-entropy loss and weight decay "
        "λ = 0.001. It was trained with full-batch Adam from a seeded initialisation to a minimum θ*; "
        "δ and η are two random directions, filter-normalised (each unit's incoming weights scaled "
        "to the norm of that unit's weights in θ*; biases left still). (0, 0) is θ*. "
        "This is one slice through one minimum along two random directions, not the network's whole "
        "landscape: the other 335 directions are held fixed. Racing here moves only along the slice, "
        "so it is not training the network; the Real training panel trains all 337 parameters with "
        "each racer's optimizer. With a mini-batch size, each step's gradient comes from a random "
        "mini-batch of the 128 training points."
    ),
    minimum_label="trained minimum",
    data=Dataset(X=TRAIN.X, y=TRAIN.y, loss=_slice_loss),
    # A step is the network's loss and gradient on 128 points: on a CPU a basin map's start-step
    # took about 2000 times a closed-form surface's, so maps and sweeps here are that much smaller.
    cost=2000.0,
)


def _training_loss(theta):
    return flat_loss(theta, TRAIN.X, TRAIN.y)


# The whole network as a surface of DIM dimensions, for real training (optimizers/training.py):
# the race engine steps its parameter vector with each racer's own update rule. Not in the
# catalogue, whose views draw surfaces of one or two dimensions. A racer whose parameters leave
# the box |theta_i| <= 1000 (bound_factor x the half-width 1) counts as diverged.
TRAINING = Surface(
    name="mlp_training",
    title="MLP training loss (all parameters)",
    fn=_training_loss,
    dim=DIM,
    domain=((-1.0, 1.0),) * DIM,
    minima=(),
    start=tuple(float(v) for v in flatten(init_layers(0))),
    formula=r"L(\theta) = \frac{1}{N}\sum_{i=1}^{N} \mathrm{BCE}\big(\mathrm{MLP}_\theta(x_i), y_i\big)"
    r" + \frac{\lambda}{2}\sum_l \lVert W_l \rVert^2",
    description="The MLP's training loss as a function of its whole parameter vector.",
    data=Dataset(X=TRAIN.X, y=TRAIN.y, loss=flat_loss),
)
