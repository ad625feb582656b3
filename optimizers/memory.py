"""Memory per racer: how many bytes of optimizer state each parameter of a model costs.

What is counted, exactly:

- The optimizer state's buffers shaped like the parameters (Adam's m and v, SGD's momentum buffer,
  Lookahead's slow weights, ...), read from the rule's own state: its `init` is traced (no compile)
  at two sizes of parameter vector, and a buffer that grows one for one with the parameters is one
  float per parameter. Scalars in the state (NAdam's mu product, ASGD's eta and mu, every rule's
  step count in torch) are counted separately, as `scalars`: a few bytes per model, not per parameter.
- A buffer the engine carries but torch.optim does not allocate for these settings is left out and
  listed as `idle`: SGD's momentum buffer when momentum = 0, RMSprop's gradient average unless
  `centered` and its momentum buffer unless momentum > 0, Adam's `max_exp_avg_sq` unless `amsgrad`
  (torch.optim.SGD, RMSprop, Adam and AdamW create these buffers only then). The engine keeps every
  buffer so that a slider never changes the compiled program's shape.
- Each counted value is stored in fp32 (4 bytes) or bf16 (2 bytes).
- Not counted: the parameters, their gradients, activations, fp32 master weights of mixed-precision
  training, and the learning-rate schedule's few scalars.

For a model of N parameters, `total_bytes` = N x state bytes per parameter. ZeRO stage 1 (optimizer
state partitioning, P_os, in Rajbhandari, Rasley, Ruwase and He 2020, "ZeRO: Memory optimizations
toward training trillion parameter models", SC20) splits the optimizer state evenly over the G
data-parallel GPUs and keeps the parameters and gradients whole on each: `per_gpu_bytes` =
total_bytes / G is one GPU's share of the optimizer state; the replicated parameters and gradients
(2 x N values per GPU) are given beside it as `replicated_bytes_per_gpu`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from .limits import MAX_RACERS
from .race import _is_int
from .racer import Racer, racer_to_string
from .spec import as_float, shown

__all__ = ["Memory", "memory", "state_count", "BYTES", "MAX_PARAMS", "MAX_GPUS", "IDLE"]

BYTES = {"fp32": 4, "bf16": 2}
DEFAULT_PARAMS = 7e9
DEFAULT_GPUS = 8
MAX_PARAMS = 1e15  # a thousand times the largest models trained so far: a bound, not a forecast
MAX_GPUS = 1_000_000

# (optimizer, state buffer) -> (when torch.optim allocates it, as text; the test on the racer's values).
IDLE: dict[tuple[str, str], tuple[str, Any]] = {
    ("sgd", "momentum_buffer"): ("momentum != 0", lambda hp: hp["momentum"] != 0),
    ("rmsprop", "grad_avg"): ("centered", lambda hp: bool(hp["centered"])),
    ("rmsprop", "momentum_buffer"): ("momentum > 0", lambda hp: hp["momentum"] > 0),
    **{
        (a, "max_exp_avg_sq"): ("amsgrad", lambda hp: bool(hp["amsgrad"]))
        for a in ("adam", "adamw", "amsgrad")
    },
}


def _sizes(racer: Racer, dim: int) -> dict[str, int]:
    """State buffer name (dotted for a wrapper's inner state) -> its number of values, for params of `dim`."""
    from .engine import _hp_tree, _rule

    init, _ = _rule(racer)
    hp = {**_hp_tree(racer), **racer.static}
    shapes = jax.eval_shape(lambda p: init(p, hp), jax.ShapeDtypeStruct((dim,), jnp.float64))
    out: dict[str, int] = {}

    def walk(tree, prefix):
        for k, v in tree.items():
            if isinstance(v, Mapping):
                walk(v, f"{prefix}{k}.")
            else:
                out[f"{prefix}{k}"] = math.prod(v.shape)

    walk(shapes, "")
    return out


def _used(racer: Racer, name: str) -> bool:
    """Whether torch.optim would allocate buffer `name` for this racer's settings."""
    owner, leaf = racer, name
    if name.startswith("inner.") and racer.inner is not None:
        owner, leaf = racer.inner, name[len("inner.") :]
    rule = IDLE.get((owner.optimizer.name, leaf))
    return rule is None or bool(rule[1]({**owner.hp, **owner.static}))


def state_count(racer: Mapping[str, Any] | str | Racer) -> tuple[tuple[str, ...], tuple[str, ...], int]:
    """(buffers shaped like the parameters, buffers idle for these settings, state scalars)."""
    r = Racer.from_spec(racer)
    a, b, c = _sizes(r, 2), _sizes(r, 3), _sizes(r, 5)
    vectors, idle, scalars = [], [], 0
    for name in a:
        per_param = b[name] - a[name]
        fixed = a[name] - 2 * per_param
        if c[name] != 5 * per_param + fixed or per_param not in (0, 1):
            raise ValueError(
                f"{r.optimizer.name}: state {name} does not grow one for one with the parameters"
            )
        if per_param and not _used(r, name):
            idle.append(name)
        elif per_param:
            vectors.append(name)
        scalars += fixed
    return tuple(vectors), tuple(idle), scalars


@dataclass(frozen=True)
class Memory:
    """One racer's optimizer state, extrapolated to a model of `params` parameters on `gpus` GPUs."""

    racer: str
    optimizer: str
    vectors: tuple[str, ...]
    idle: tuple[str, ...]
    scalars: int
    params: float
    gpus: int

    def state_bytes_per_param(self, dtype: str = "fp32") -> int:
        return len(self.vectors) * BYTES[dtype]

    def total_bytes(self, dtype: str = "fp32") -> float:
        return self.params * self.state_bytes_per_param(dtype)

    def per_gpu_bytes(self, dtype: str = "fp32") -> float:
        """One GPU's share of the optimizer state under ZeRO stage 1."""
        return self.total_bytes(dtype) / self.gpus

    def replicated_bytes_per_gpu(self, dtype: str = "fp32") -> float:
        """Parameters and gradients, which ZeRO stage 1 keeps whole on every GPU."""
        return 2 * self.params * BYTES[dtype]

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"racer": self.racer, "optimizer": self.optimizer, "state_vectors": len(self.vectors),
                               "state_buffers": list(self.vectors), "idle_buffers": list(self.idle),
                               "state_scalars": self.scalars}  # fmt: skip
        for dtype in BYTES:
            tail = "" if dtype == "fp32" else f"_{dtype}"
            out[f"state_bytes_per_param{tail}"] = self.state_bytes_per_param(dtype)
            out[f"total_bytes{tail}"] = self.total_bytes(dtype)
            out[f"per_gpu_bytes{tail}"] = self.per_gpu_bytes(dtype)
            out[f"replicated_bytes_per_gpu{tail}"] = self.replicated_bytes_per_gpu(dtype)
        return out


def check_params(params: Any) -> float:
    try:
        n = as_float(params)
    except ValueError:
        raise ValueError(f"params = {shown(params)} is not a number; use 1 to {MAX_PARAMS:g}") from None
    if not (math.isfinite(n) and 1 <= n <= MAX_PARAMS):
        raise ValueError(
            f"params = {shown(params)} is not allowed; use a number of parameters from 1 to {MAX_PARAMS:g}"
        )
    return n


def check_gpus(gpus: Any) -> int:
    if isinstance(gpus, str) and gpus.strip().isdigit() and len(gpus) < 20:
        gpus = int(gpus)
    if not _is_int(gpus) or not 1 <= gpus <= MAX_GPUS:
        raise ValueError(f"gpus = {shown(gpus)} is not allowed; use an integer from 1 to {MAX_GPUS}")
    return int(gpus)


def memory(
    racers: Sequence[Mapping[str, Any] | str],
    params: float = DEFAULT_PARAMS,
    gpus: int = DEFAULT_GPUS,
    labels: Sequence[str] | None = None,
) -> list[Memory]:
    """Each racer's optimizer-state memory for a model of `params` parameters sharded by ZeRO stage 1
    over `gpus` GPUs (see the module's docstring for exactly what is counted)."""
    n, g = check_params(params), check_gpus(gpus)
    if isinstance(racers, (str, Mapping, Racer)) or not isinstance(racers, Sequence) or not racers:
        raise ValueError("racers: give a list of racers, e.g. ['adam:lr=0.01']")
    if len(racers) > MAX_RACERS:
        raise ValueError(f"racers: {len(racers)} racers; MAX_RACERS is {MAX_RACERS}")
    out = []
    for i, spec in enumerate(racers):
        r = Racer.from_spec(spec)
        vectors, idle, scalars = state_count(r)
        own = spec if isinstance(spec, str) else r.label if isinstance(spec, Racer) else racer_to_string(spec)
        label = labels[i] if labels is not None else own
        out.append(Memory(label, r.optimizer.name, vectors, idle, scalars, n, g))
    return out
