"""Sensible starting racers for every surface.

Learning rates live on two scales: rules that step by lr x gradient (gd, sgd, momentum, nag, asgd)
need lr below 2 / (largest curvature), while sign-like and adaptive rules (adam, rmsprop, lion,
rprop, ...) step about lr in parameter units, so their lr follows the domain's size instead. Each
surface names both; `tests/test_app_state.py` checks that every default race makes progress.
"""

from __future__ import annotations

import copy

from optimizers import OPTIMIZERS

# (lr for gradient-scaled rules, lr for step-size-like rules), per surface.
SURFACE_LR: dict[str, tuple[float, float]] = {
    "quadratic": (0.04, 0.1),
    "rosenbrock": (1e-3, 0.02),
    "beale": (1e-3, 0.02),
    "parabola": (0.3, 0.1),
    "saddle": (0.05, 0.02),
    "himmelblau": (0.005, 0.05),
    "rastrigin": (0.002, 1.0),  # large steps let adaptive racers hop between local minima
    "ackley": (0.02, 0.05),
    "goldstein_price": (1e-5, 0.005),
    "booth": (0.02, 0.1),
    "six_hump_camel": (0.02, 0.02),
    "two_basins": (0.05, 0.05),
    "double_well_1d": (0.02, 0.02),
    "least_squares": (0.1, 0.05),
    "mlp_landscape": (0.02, 0.02),  # curvature up to about 24 over the slice's domain
    "formula": (0.01, 0.05),  # a typed formula: unknown curvature, a cautious gradient step
}
_FALLBACK = (1e-3, 0.01)

# Rules whose step is lr times the gradient; everything else steps about lr per coordinate.
GRADIENT_SCALED = {"gd", "sgd", "momentum", "nag", "asgd", "optax:sgd", "optax:noisy_sgd",
                   "optax:optimistic_gradient_descent"}  # fmt: skip
# Rules whose own scale is fixed by design (Adadelta's lr=1 and Newton's unit step are the papers').
OWN_SCALE = {"adadelta", "newton"}

DEFAULT_RACE = (
    {"optimizer": "gd"},
    {"optimizer": "sgd", "momentum": 0.9},
    {"optimizer": "adam"},
)

# Where a surface's description promises a lesson, the default race shows it (tests/test_defaults.py):
# on the ravine plain GD's lr is near 2 / L (L = kappa = 20) so it visibly zig-zags across it; on
# Rosenbrock heavier momentum with a larger step follows the valley to (1, 1) within 300 steps.
RACE_OVERRIDES: dict[str, dict[str, dict]] = {
    "quadratic": {"gd": {"lr": 0.09}},
    "rosenbrock": {"sgd": {"lr": 0.002, "momentum": 0.95}},
}


def suggested_lr(optimizer: str, surface: str) -> float | None:
    if optimizer in OWN_SCALE:
        return None
    gradient, stepwise = SURFACE_LR.get(surface, _FALLBACK)
    return gradient if optimizer in GRADIENT_SCALED else stepwise


def default_spec(optimizer: str, surface: str) -> dict:
    """A racer of `optimizer` with the surface's suggested learning rate."""
    opt = OPTIMIZERS[optimizer]
    spec: dict = {"optimizer": optimizer}
    if opt.wrapper:
        inner = default_spec("sgd", surface)
        inner["momentum"] = 0.9
        spec["inner"] = inner
        return spec
    lr = suggested_lr(optimizer, surface)
    if lr is not None and opt.lr_name:
        spec[opt.lr_name] = lr
    return spec


def default_racers(surface: str) -> list[dict]:
    out = []
    for base in DEFAULT_RACE:
        if base["optimizer"] not in OPTIMIZERS:
            continue
        spec = default_spec(base["optimizer"], surface)
        spec.update({k: v for k, v in base.items() if k != "optimizer"})
        spec.update(RACE_OVERRIDES.get(surface, {}).get(base["optimizer"], {}))
        out.append(copy.deepcopy(spec))
    return out
