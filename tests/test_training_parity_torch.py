"""Real training against torch: the same network, weights, data and loss, trained by torch.optim.

torch builds the MLP of surfaces/mlp.py as nn.Linear layers holding the same initial weights, takes
its own gradients (autograd, full batch) and steps them with torch.optim and its lr_scheduler;
`optimizers.train` must give the same training and held-out loss at every step, and the same
final parameters.
"""

from __future__ import annotations

import numpy as np
import pytest

import optimizers
from surfaces import mlp

# torch is only the oracle, installed in the Python 3.11 job (see tests/test_parity_torch.py).
torch = pytest.importorskip(
    "torch",
    reason="torch (the parity oracle) is installed only in the Python 3.11 job: bash scripts/test_py311.sh",
)

STEPS = 200
SEED = 3
RTOL = 1e-6

# (racer, torch optimizer, its options, scheduler or None, clip norm or None)
CASES = [
    (
        {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9},
        torch.optim.SGD,
        {"lr": 0.1, "momentum": 0.9},
        None,
        None,
    ),
    (
        {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
        torch.optim.SGD,
        {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
        None,
        None,
    ),
    ({"optimizer": "adam", "lr": 0.01}, torch.optim.Adam, {"lr": 0.01}, None, None),
    ({"optimizer": "rmsprop", "lr": 0.003}, torch.optim.RMSprop, {"lr": 0.003}, None, None),
    (
        {"optimizer": "rmsprop", "lr": 0.001, "momentum": 0.9, "centered": True},
        torch.optim.RMSprop,
        {"lr": 0.001, "momentum": 0.9, "centered": True},
        None,
        None,
    ),
    (
        {"optimizer": "adamw", "lr": 0.01, "weight_decay": 0.05, "amsgrad": True},
        torch.optim.AdamW,
        {"lr": 0.01, "weight_decay": 0.05, "amsgrad": True},
        None,
        None,
    ),
    ({"optimizer": "adagrad", "lr": 0.1}, torch.optim.Adagrad, {"lr": 0.1}, None, None),
    (
        {
            "optimizer": "adam",
            "lr": 0.02,
            "schedule": {"name": "step", "step_size": 50, "gamma": 0.5},
            "clip_norm": 0.5,
        },
        torch.optim.Adam,
        {"lr": 0.02},
        lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=50, gamma=0.5),
        0.5,
    ),  # fmt: skip
    ({"optimizer": "nadam", "lr": 0.01}, torch.optim.NAdam, {"lr": 0.01}, None, None),
    ({"optimizer": "radam", "lr": 0.01}, torch.optim.RAdam, {"lr": 0.01}, None, None),
    ({"optimizer": "adamax", "lr": 0.01}, torch.optim.Adamax, {"lr": 0.01}, None, None),
    ({"optimizer": "adadelta", "lr": 1.0}, torch.optim.Adadelta, {"lr": 1.0}, None, None),
    (
        {"optimizer": "sgd", "lr": 0.05, "schedule": {"name": "cosine", "T_max": 150}},
        torch.optim.SGD,
        {"lr": 0.05},
        lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=150),
        None,
    ),
]


def _net(layers):
    """The MLP in torch, float64, holding `layers` ([(W, b), ...] in nn.Linear's layout)."""
    modules = []
    for i, (W, b) in enumerate(layers):
        lin = torch.nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.asarray(W)))
            lin.bias.copy_(torch.from_numpy(np.asarray(b)))
        modules.append(lin)
        if i < len(layers) - 1:
            modules.append(torch.nn.Tanh())
    return torch.nn.Sequential(*modules)


def _loss(net, X, y):
    """Mean BCE of the logits plus weight decay on the weight matrices: surfaces.mlp.loss, in torch."""
    z = net(X)[:, 0]
    bce = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    return bce + 0.5 * mlp.WEIGHT_DECAY * sum(
        (m.weight**2).sum() for m in net if isinstance(m, torch.nn.Linear)
    )


def torch_train(cls, options, scheduler, clip, steps=STEPS, seed=SEED):
    """(training loss, held-out loss) after each step, and the final flat parameters."""
    net = _net(mlp.init_layers(seed))
    X, y = (torch.from_numpy(a) for a in mlp.TRAIN)
    Xo, yo = (torch.from_numpy(a) for a in mlp.HELD_OUT)
    opt = cls(net.parameters(), **options)
    sched = scheduler(opt) if scheduler is not None else None
    train, held = [], []

    def record():
        with torch.no_grad():
            train.append(float(_loss(net, X, y)))
            held.append(float(_loss(net, Xo, yo)))

    record()
    for _ in range(steps):
        opt.zero_grad()
        _loss(net, X, y).backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
        opt.step()
        if sched is not None:
            sched.step()
        record()
    flat = np.concatenate([p.detach().numpy().ravel() for p in net.parameters()])
    return np.asarray(train), np.asarray(held), flat


@pytest.fixture(scope="module")
def ours():
    """Every case trained by optimizers.train, 8 racers per call (MAX_TRAINING_RACERS)."""
    racers = [c[0] for c in CASES]
    parts = [optimizers.train(racers[i : i + 8], steps=STEPS, seed=SEED) for i in range(0, len(racers), 8)]
    return (
        np.concatenate([p.train_loss for p in parts]),
        np.concatenate([p.held_out_loss for p in parts]),
        np.concatenate([p.params for p in parts]),
        np.concatenate([p.diverged_at for p in parts]),
    )


@pytest.mark.parametrize("index", range(len(CASES)), ids=[str(c[0]) for c in CASES])
def test_full_dimension_training_matches_torch_optim_step_by_step(ours, index):
    racer, cls, options, scheduler, clip = CASES[index]
    train, held, params, dead = ours
    t_train, t_held, t_params = torch_train(cls, options, scheduler, clip)
    assert dead[index] == -1
    # The network, its data and its initial weights are the same: equal before any step.
    np.testing.assert_allclose(train[index, 0], t_train[0], rtol=1e-13)
    np.testing.assert_allclose(held[index, 0], t_held[0], rtol=1e-13)
    np.testing.assert_allclose(train[index], t_train, rtol=RTOL, atol=0)
    np.testing.assert_allclose(held[index], t_held, rtol=RTOL, atol=0)
    assert np.linalg.norm(params[index] - t_params) <= RTOL * np.linalg.norm(t_params)
    # A case that does not train is no test of the update rule.
    assert t_train[-1] < 0.7 * t_train[0]
