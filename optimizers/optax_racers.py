"""Any optax optimizer as a racer: `{"optimizer": "optax:yogi", "learning_rate": 0.1}`.

The alias's own signature is the spec (inspect.signature): every keyword argument with a number as
its default (and `learning_rate`, which most aliases require) becomes a hyperparameter under
optax's own name (`learning_rate`, `b1`, `b2`, `eps`, ...), with a slider, a URL key and a doc
line like a built-in optimizer's. Arguments whose default is not a number (None, booleans, masks,
dtypes, line searches) are not offered and keep optax's default.

The values stay traced, so moving a slider never recompiles: the racer runs
`optax.inject_hyperparams(alias)` and writes every hyperparameter (the learning rate as the racer's
schedule gives it) into the state's `hyperparams` before each update, as optax documents. An
argument that cannot be traced (one that sets a shape, or that the alias tests in Python) is found
once, by tracing the alias without compiling it, and is left at optax's default; an alias that
cannot race at all is refused with the reason (NOT_RACEABLE lists them for the tested optax).
"""

from __future__ import annotations

import functools
import inspect
import math
import re
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

from .spec import HParam, Optimizer, shown

__all__ = ["PREFIX", "NOT_RACEABLE", "CURATED", "aliases", "is_optax_name", "optax_optimizer"]

PREFIX = "optax:"

# Aliases of optax 0.2.8 that cannot race, and why (tests/test_optax_racers.py checks this list
# against the installed optax): they need what a racer does not carry.
NOT_RACEABLE = {
    "lbfgs": "its update needs the objective (value, grad, value_fn) for its line search",
}

# A few aliases the app's "new racer" list offers beside the built-in optimizers; any other is typed.
CURATED = ("optax:adamw", "optax:lamb", "optax:lars", "optax:novograd", "optax:sm3", "optax:fromage")

_LR = "learning_rate"
_LR_DEFAULT = 1e-2  # for aliases that require a learning rate (most do) or default it to None
_BETAS = ("b1", "b2", "b3", "beta", "decay", "decay_rate", "rho", "momentum")


def _optax():
    import optax  # a runtime dependency; imported on first use so the engine loads without it

    return optax


@functools.cache
def aliases() -> tuple[str, ...]:
    """optax's optimizers: its public functions that take a `learning_rate` (not its `scale_by_`
    building blocks), by name."""
    optax = _optax()
    out = []
    for name in dir(optax):
        fn = getattr(optax, name)
        if name.startswith("_") or name.startswith("scale_by_") or not inspect.isfunction(fn):
            continue
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            continue
        if _LR in params:
            out.append(name)
    return tuple(sorted(out))


def is_optax_name(name: Any) -> bool:
    return isinstance(name, str) and name.startswith(PREFIX)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _arg_docs(doc: str) -> dict[str, str]:
    """Each argument's sentence from the `Args:` block of a Google-style docstring (optax's)."""
    block = doc.partition("Args:")[2].split("\n\n")[0]
    out: dict[str, str] = {}
    for m in re.finditer(r"^  (\w+): (.+?)(?=^  \w+: |\Z)", block, re.MULTILINE | re.DOTALL):
        text = " ".join(re.sub(r":\w+:`([^`]*)`", r"\1", m.group(2)).replace("`", "").split())
        out[m.group(1)] = text.rstrip(".")
    return out


def _spec(alias: str, name: str, default: Any, doc: str = "") -> HParam:
    """One keyword argument as a hyperparameter: the display range follows optax's usual meaning
    of its name; the legal range is any finite number (optax validates none), non-negative for
    the log-scaled ones. `doc` is optax's own sentence for it."""
    doc = (doc or f"optax.{alias}'s {name}")[:300]
    if name == _LR:
        return HParam(name, float(default), 1e-5, 1.0, log=True, symbol=r"\eta", doc=doc, min=0.0)
    if isinstance(default, int):
        return HParam(name, float(default), 0.0 if default <= 0 else 1.0, max(10.0, 2.0 * default),
                      kind="int", doc=doc)  # fmt: skip
    d = float(default)
    if name in _BETAS and 0.0 <= d < 1.0:
        return HParam(name, d, 0.0, 0.9999, doc=doc)
    if "eps" in name:
        return HParam(name, d, 1e-12, 1e-1, log=True, symbol=r"\epsilon", doc=doc, min=0.0)
    if "weight_decay" in name:
        return HParam(name, d, 0.0, max(0.1, 2.0 * d), doc=doc)
    if 0.0 < d < 1e-2:
        return HParam(name, d, d * 1e-3, d * 1e3, log=True, doc=doc, min=0.0)
    if d > 0.0:
        return HParam(name, d, 0.0, 2.0 * d, doc=doc)
    if d < 0.0:
        return HParam(name, d, 2.0 * d, 0.0, doc=doc)
    return HParam(name, d, 0.0, 1.0, doc=doc)


def _leaf_name(path) -> str:
    """A state leaf's name from its pytree path: `0.mu` for the mu of a chain's first state (the
    inner state's leaves by their own path; inject_hyperparams' step count is `count`)."""
    parts = []
    if path and getattr(path[0], "name", None) == "inner_state":
        path = path[1:]
    for key in path:
        for attr in ("name", "key", "idx"):
            if hasattr(key, attr):
                parts.append(str(getattr(key, attr)))
                break
    return ".".join(parts)


def _is_hyperparams(path) -> bool:
    # inject_hyperparams keeps the values in `hyperparams` (and schedules' states beside them); the
    # racer writes them afresh every step, so they are not part of the racer's state.
    return bool(path) and getattr(path[0], "name", None) in ("hyperparams", "hyperparams_states")


class _Rule:
    """init/update of one alias with a fixed set of traced hyperparameters."""

    def __init__(self, alias: str, traced: tuple[str, ...], lr_name: str | None) -> None:
        optax = _optax()
        fn = getattr(optax, alias)
        static = tuple(p for p in inspect.signature(fn).parameters if p not in traced)
        self.alias, self.traced, self.lr_name = alias, traced, lr_name
        self.factory = optax.inject_hyperparams(fn, static_args=static)

    def _tx(self, hp, lr=None):
        values = {k: hp[k] for k in self.traced}
        if self.lr_name is not None and lr is not None:
            values[self.lr_name] = lr
        return self.factory(**values)

    def init(self, p, hp):
        state = self._tx(hp).init(p)
        leaves = jax.tree_util.tree_flatten_with_path(state)[0]
        return {_leaf_name(path): leaf for path, leaf in leaves if not _is_hyperparams(path)}

    def update(self, p, g, state, hp, ctx):
        tx = self._tx(hp, ctx.lr)
        # The state's structure (and this step's hyperparameters) from a fresh init, which costs
        # nothing in the compiled program; the racer's own leaves go back in by name.
        template = tx.init(p)
        leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
        full = jax.tree_util.tree_unflatten(
            treedef, [leaf if _is_hyperparams(path) else state[_leaf_name(path)] for path, leaf in leaves]
        )
        updates, new = tx.update(g, full, p)
        new_leaves = jax.tree_util.tree_flatten_with_path(new)[0]
        out = {_leaf_name(path): leaf for path, leaf in new_leaves if not _is_hyperparams(path)}
        return _optax().apply_updates(p, updates), out


def _traces(alias: str, names: tuple[str, ...], lr_name: str | None, defaults: Mapping[str, float]) -> str:
    """'' if the alias runs two updates with `names` traced (no compile: jax.eval_shape); else why not."""
    rule = _Rule(alias, names, lr_name)

    class Ctx:  # the engine's StepContext, as far as an optax rule reads it
        def __init__(self, lr):
            self.lr = lr

    def two_steps(hp):
        p = jnp.zeros(2, jnp.float64)
        state = rule.init(p, hp)
        lr = hp.get(lr_name)
        for _ in range(2):
            p, state = rule.update(p, jnp.ones(2, jnp.float64), state, hp, Ctx(lr))
        return p, state

    try:
        jax.eval_shape(two_steps, {k: jnp.float64(defaults[k]) for k in names})
    except Exception as e:  # anything optax raises: the alias cannot race this way
        return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:200]
    return ""


def _unknown(alias: Any) -> ValueError:
    return ValueError(
        f"racer: unknown optax optimizer {shown(alias)}; known: {', '.join(aliases())} "
        f"(write e.g. 'optax:yogi')"
    )


@functools.cache
def _build(alias: str) -> Optimizer | str:
    """The alias's optimizer, or why it cannot race (kept too: a refusal is not worked out twice)."""
    optax = _optax()
    fn = getattr(optax, alias)
    params = inspect.signature(fn).parameters
    specs: dict[str, HParam] = {}
    meaning = _arg_docs(inspect.getdoc(fn) or "")
    for name, p in params.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = p.default
        if name == _LR and (default is p.empty or default is None):
            default = _LR_DEFAULT
        if _is_number(default) and math.isfinite(default):
            specs[name] = _spec(alias, name, default, meaning.get(name, ""))
    defaults = {k: float(h.default) for k, h in specs.items()}
    lr_name = _LR if _LR in specs else None
    names = tuple(specs)
    left_out: dict[str, str] = {}
    if _traces(alias, names, lr_name, defaults):
        # Find the arguments that cannot be traced, one by one, and race without them.
        for name in names:
            why = _traces(alias, (name,), lr_name if name == lr_name else None, defaults)
            if why:
                left_out[name] = why
        names = tuple(n for n in names if n not in left_out)
        lr_name = lr_name if lr_name in names else None
        why = _traces(alias, names, lr_name, defaults)
        if why:
            return f"racer: optax:{alias} cannot race: {NOT_RACEABLE.get(alias, why)}"
    rule = _Rule(alias, names, lr_name)
    doc = inspect.getdoc(fn) or ""
    first = doc.split("\n\n")[0].replace("\n", " ").strip()
    # The paper optax's docstring cites first ("Zaheer et al, Adaptive Methods ..., 2018").
    cited = re.search(r"References:\s*(.+?)(?:\n\s*\n|$)", doc, re.DOTALL)
    paper = " ".join(re.sub(r"\s*<[^>]*>`_", "", cited.group(1)).replace("`", "").split()) if cited else ""
    fixed = ", ".join(n for n in params if n not in names)
    convention = (
        f"optax {optax.__version__}'s optax.{alias}, stepped by optax itself (inject_hyperparams: "
        "the values stay traced); names and defaults are optax's"
    )
    if fixed:
        convention += f"; left at optax's default: {fixed}"
    if _LR in params and params[_LR].default in (params[_LR].empty, None):
        convention += f"; learning_rate starts at {_LR_DEFAULT:g} (optax gives no default)"

    def update(p, g, state, hp, ctx):
        return rule.update(p, g, state, hp, ctx)

    update.__doc__ = f"optax.{alias}: {first}"
    return Optimizer(
        name=PREFIX + alias,
        title=f"optax.{alias}",
        hparams=tuple(specs[n] for n in names),
        init=rule.init,
        update=update,
        latex=r"\theta_t = \theta_{t-1} + \mathrm{optax.NAME}(g_t)".replace(
            "NAME", alias.replace("_", r"\_")
        ),
        source=f"{paper[:200]}; optax.{alias}" if paper else f"optax.{alias}",
        convention=convention,
        lr_name=lr_name,
    )


def optax_optimizer(name: str) -> Optimizer:
    """The racer optimizer for `optax:ALIAS` (built once per alias); ValueError naming the known
    aliases for an unknown one, and the reason for one that cannot race."""
    alias = name[len(PREFIX) :] if is_optax_name(name) else name
    if not isinstance(alias, str) or alias not in aliases():
        raise _unknown(alias)
    built = _build(alias)
    if isinstance(built, str):
        raise ValueError(built)
    return built
