"""`from_formula`: a typed formula as a `Surface`, with an automatic domain and estimated minima.

The formula is read by the whitelisting grammar of `surfaces/formula.py`. Its minima are not known
in closed form, so they are estimated (a grid search, then normalised gradient steps from the
lowest grid points) and labelled "estimated minimum". A check at seeded random points of the
domain notes where f or its jax.grad gradient is not finite, and which functions have kinks.

Surfaces made from the same formula (its canonical form) over the same domain are equal and hash
alike, so the engine's compiled programs, which are keyed by the surface, serve every session that
types it: forty students typing `x^2 + 3y^2` compile it once. At most `KEPT` formula surfaces are
kept (least recently used goes first), and the programs compiled for one that goes are dropped
with it (`on_evict`), so strangers typing formulas cannot fill a server's memory.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import Surface, short_repr
from .formula import MAX_LITERAL, Formula, parse
from .grid import forget, gradients, grid_values, values

__all__ = ["FormulaSurface", "from_formula", "read_domain", "on_evict", "KEPT", "DEFAULT_DOMAIN"]

KEPT = 32
DEFAULT_DOMAIN = (-3.0, 3.0)
GRID = {1: 400, 2: 240}  # the figures' own grid sizes: the estimate's grid compiles nothing extra
CHECK_POINTS = 64  # the refinement's padded batch: no extra compile
KINKS = ("abs", "minimum", "maximum", "where", "sqrt")

_CACHE: OrderedDict[tuple, FormulaSurface] = OrderedDict()
_LOCK = threading.Lock()
_HOOKS: list[Callable[[Surface], None]] = [forget]


@dataclass(frozen=True, eq=False)
class FormulaSurface(Surface):
    """A surface typed as a formula: equal (and hashing alike) by canonical form and domain."""

    text: str = ""
    key: tuple = ()
    notes: tuple[str, ...] = ()  # what the check at random points found, for the user

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FormulaSurface):
            return self.key == other.key
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.key)


def on_evict(hook: Callable[[Surface], None]) -> None:
    """Call `hook(surface)` when a formula surface leaves the cache (the engine drops its programs)."""
    _HOOKS.append(hook)


def read_domain(domain: Any, dim: int | None = None) -> tuple[tuple[float, float], ...] | None:
    """(xmin, xmax) or (xmin, xmax, ymin, ymax), as numbers or comma-separated text; None: automatic."""
    if domain is None:
        return None
    items = domain.split(",") if isinstance(domain, str) and len(domain) <= 200 else domain
    if not isinstance(items, (list, tuple)) or len(items) not in (2, 4):
        raise ValueError(f"give xmin,xmax or xmin,xmax,ymin,ymax, not {short_repr(domain)}")
    try:
        v = [float(x) for x in items]
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{short_repr(domain)} is not 2 or 4 numbers") from None
    if not all(math.isfinite(x) and abs(x) <= MAX_LITERAL for x in v):
        raise ValueError(f"numbers must be finite and at most {MAX_LITERAL:g} in magnitude")
    pairs = tuple((v[i], v[i + 1]) for i in range(0, len(v), 2))
    for lo, hi in pairs:
        if not hi - lo >= 1e-6 * max(1.0, abs(lo), abs(hi)):
            raise ValueError(f"{lo:g}..{hi:g} is empty; give each minimum below its maximum")
    if dim is not None and len(pairs) != dim:
        raise ValueError(f"a formula of {dim} variable(s) needs {2 * dim} numbers")
    return pairs


def from_formula(text: str, domain: Any = None) -> FormulaSurface:
    """A surface from a typed formula such as "x^2 + 3y^2" or "f(x) = x^2 - 4x + 3".

    `domain` is (xmin, xmax) or (xmin, xmax, ymin, ymax); None is [-3, 3] on each axis. A formula
    with y (or a 4-number domain) is f(x, y), else f(x). ValueError with the column for anything
    the grammar refuses, and for a formula not finite anywhere in the domain.
    """
    try:
        pairs = read_domain(domain)
    except ValueError as e:
        raise ValueError(f"domain: {e}") from None
    try:
        formula = parse(text, dim=None if pairs is None else len(pairs))
    except ValueError as e:
        raise ValueError(f"formula: {e}") from None
    pairs = pairs or (DEFAULT_DOMAIN,) * formula.dim
    key = (formula.canonical, pairs)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    surface = _build(formula, pairs, text.strip())
    with _LOCK:
        surface = _CACHE.setdefault(key, surface)
        _CACHE.move_to_end(key)
        gone = []
        while len(_CACHE) > KEPT:
            gone.append(_CACHE.popitem(last=False)[1])
    for old in gone:
        for hook in _HOOKS:
            hook(old)
    return surface


def _build(formula: Formula, domain: tuple[tuple[float, float], ...], text: str) -> FormulaSurface:
    fn = formula.jnp_fn()
    draft = FormulaSurface(
        name="formula",
        title="Your formula",
        fn=lambda x: fn(x),
        dim=formula.dim,
        domain=domain,
        minima=(tuple(0.5 * (lo + hi) for lo, hi in domain),),
        start=tuple(lo for lo, _ in domain),
        formula=formula.latex(),
        description=(
            "Your own formula. Its minima are estimated numerically (a grid search, then gradient "
            "steps), so the marked one is an estimate."
        ),
        minimum_label="estimated minimum",
        text=text,
        key=(formula.canonical, domain),
    )
    minima, local, notes, start = _estimate(draft)
    notes = notes + _check(draft, formula)
    return FormulaSurface(**{**_fields(draft), "minima": minima, "local_minima": local, "start": start,
                             "notes": notes})  # fmt: skip


def _fields(s: FormulaSurface) -> dict[str, Any]:
    return {name: getattr(s, name) for name in s.__dataclass_fields__}


def _estimate(s: FormulaSurface):
    """(global minima, local minima, notes): the lowest grid points, refined by gradient steps
    of a shrinking length within the domain; distinct end points within a hair of the lowest
    value are all global minima."""
    n = GRID[s.dim]
    axes, Z = grid_values(s, n)
    finite = np.isfinite(Z)
    if not finite.any():
        raise ValueError("formula: not finite anywhere in the domain; try another domain")
    Zf = np.where(finite, Z, np.inf)
    seeds = _grid_minima(Zf)
    pts = _grid_points(axes, s.dim)[seeds]
    lo = np.asarray([a for a, _ in s.domain])
    hi = np.asarray([b for _, b in s.domain])
    width = hi - lo
    f = values(s, pts)
    step = np.full(len(pts), 2.0 / n) * width.max()
    for _ in range(150):
        g = gradients(s, pts)
        norm = np.linalg.norm(g, axis=-1, keepdims=True)
        ok = np.isfinite(norm[:, 0]) & (norm[:, 0] > 0)
        trial = np.clip(
            pts - step[:, None] * np.where(ok[:, None], g / np.where(ok, norm[:, 0], 1)[:, None], 0), lo, hi
        )
        ft = values(s, trial)
        better = ok & np.isfinite(ft) & (ft < f)
        pts = np.where(better[:, None], trial, pts)
        f = np.where(better, ft, f)
        step = np.where(better, step * 1.5, step * 0.5)
    order = np.argsort(f)
    best = f[order[0]]
    tol = 1e-6 * max(1.0, abs(best))
    kept: list[np.ndarray] = []
    for i in order:
        if np.isfinite(f[i]) and all(np.linalg.norm(pts[i] - q) > 1e-2 * width.max() for q in kept):
            kept.append(pts[i])
    glob = [tuple(float(v) for v in p) for p in kept if values(s, p[None])[0] <= best + tol]
    local = [tuple(float(v) for v in p) for p in kept[len(glob) :]][:4]
    notes = ()
    edge = [p for p in glob if np.any(np.isclose(p, lo) | np.isclose(p, hi))]
    if edge:
        notes = ("the lowest point found is on the domain's edge: f may go on falling outside it",)
    start = np.asarray(_start(s.domain, glob[0]))
    if not np.isfinite(values(s, start[None])[0]):
        # Where f is not finite a racer could not even start: the finite grid point farthest away.
        finite_pts = _grid_points(axes, s.dim)[np.isfinite(Zf.ravel())]
        start = finite_pts[np.argmax(np.linalg.norm(finite_pts - np.asarray(glob[0]), axis=-1))]
    return tuple(glob[:4]), tuple(local), notes, tuple(float(v) for v in start)


def _grid_points(axes, dim: int) -> np.ndarray:
    if dim == 1:
        return axes[0][:, None]
    X, Y = np.meshgrid(axes[0], axes[1])
    return np.stack([X.ravel(), Y.ravel()], axis=-1)


def _grid_minima(Z: np.ndarray, most: int = 16) -> np.ndarray:
    """Flat indices of the grid points lower than all their neighbours (and the lowest point),
    lowest first."""
    pad = np.pad(Z, 1, constant_values=np.inf)
    inner = pad[(slice(1, -1),) * Z.ndim]
    lower = np.ones(Z.shape, dtype=bool)
    for shift in np.ndindex(*(3,) * Z.ndim):
        if all(d == 1 for d in shift):
            continue
        lower &= inner <= pad[tuple(slice(d, d + n) for d, n in zip(shift, Z.shape, strict=True))]
    idx = np.flatnonzero(lower & np.isfinite(Z))
    idx = idx[np.argsort(Z.ravel()[idx])][:most]
    return np.unique(np.concatenate([[int(np.argmin(Z))], idx])).astype(int)


def _start(domain, minimum) -> tuple[float, ...]:
    """Away from the estimated minimum: on each axis, 15% in from the edge farther from it."""
    out = []
    for (lo, hi), m in zip(domain, minimum, strict=True):
        out.append(lo + 0.15 * (hi - lo) if m > 0.5 * (lo + hi) else hi - 0.15 * (hi - lo))
    return tuple(out)


def _check(s: FormulaSurface, formula: Formula) -> tuple[str, ...]:
    """What a racer may meet: points where f or its gradient is not finite, and functions with kinks."""
    rng = np.random.default_rng(0)
    lo = np.asarray([a for a, _ in s.domain])
    hi = np.asarray([b for _, b in s.domain])
    pts = lo + rng.random((CHECK_POINTS, s.dim)) * (hi - lo)
    f = values(s, pts)
    g = gradients(s, pts)
    notes = []
    for what, bad in (
        ("f", ~np.isfinite(f)),
        ("its gradient", ~np.isfinite(g).all(axis=-1) & np.isfinite(f)),
    ):
        if bad.any():
            at = ", ".join(f"{v:.3g}" for v in pts[np.argmax(bad)])
            notes.append(f"{what} is not finite at {int(bad.sum())} of {CHECK_POINTS} random points of "
                         f"the domain, e.g. at ({at}): a racer there stops as diverged")  # fmt: skip
    kinks = [k for k in KINKS if f"({k} " in formula.canonical]
    if kinks:
        notes.append(f"{', '.join(kinks)}: not differentiable everywhere (at a switch, or sqrt at 0); "
                     "there jax.grad gives one side's slope, or NaN")  # fmt: skip
    return tuple(notes)
