"""Internals at the player's step: arrows at each racer's point, the slow or averaged weights as
faint tracks, and a table of the update rule's own numbers, all read from the race's result.

Convention. At step k the racer stands at theta_k, and what is shown is the step taken from there,
t = k + 1: the arrows start at theta_k and show
  - the negative gradient -grad f(theta_k), by autodiff (the surface's own: without the step's
    gradient noise, mini-batch, clipping or weight decay),
  - the update that step applied, theta_{k+1} - theta_k,
  - minus the first moment m_t the step used (the state after step t), where the rule keeps one
    in gradient units (Adam's m, SGD's momentum buffer, Lion's momentum);
and the table lists that step's numbers (m_t, v_t, their bias corrections at t, the effective step).
Arrows point the way each pushes the racer. At the last step, and from the step a racer diverged
at, there is no next step: only the gradient is drawn.

Scales. Each kind is drawn on one scale for the whole race (every racer, every step), so lengths
compare across racers and steps: the longest arrow is about SHARE of the surface's shorter side.
The gradient and the first moment share theirs (both are gradients, or averages of them), the
update has its own (it is a distance). The scales are round numbers and are stated with the arrows.
"""

from __future__ import annotations

import math
import weakref

import holoviews as hv
import numpy as np

from surfaces.grid import gradients

from ..text import as_html
from .look import Look
from .tags import played

__all__ = ["KINDS", "SHARE", "first_moment", "track_key", "vectors", "scales", "arrow_scales", "arrow_columns",
           "scale_text", "internals", "internals_html", "internals_layers", "DASH", "ARROW_NAMES"]  # fmt: skip

KINDS = ("g", "u", "m")  # -gradient, update, -first moment
SHARE = 0.15
ARROW_NAMES = {"g": "−∇f", "u": "update Δθ", "m": "−m (first moment)"}
# Rules whose first moment is a gradient average (or sum), by the state name that holds it. NAG's
# velocity is a displacement and RMSprop's buffer a normalised step: they are not drawn as moments.
_MOMENTS = {"sgd": "momentum_buffer", "momentum": "velocity"}
_NOT_A_GRADIENT_MOMENT = ("nag", "rmsprop")


def _owner(racer):
    """(the racer whose rule runs the step, the prefix of its state names): a wrapper's inner one."""
    if racer.inner is not None:
        return racer.inner, "inner."
    return racer, ""


def first_moment(racer, state: dict) -> str | None:
    """The state name of the racer's first moment in gradient units, or None."""
    owner, prefix = _owner(racer)
    name = owner.optimizer.name
    if name in _NOT_A_GRADIENT_MOMENT:
        return None
    key = prefix + _MOMENTS.get(name, "exp_avg")
    if name == "sgd" and not owner.hp.get("momentum", 0.0) > 0:
        return None
    return key if key in state else None


def track_key(racer, state: dict) -> str | None:
    """The state name of the weights drawn as a track beside the racer's own: Lookahead's (and
    Ranger's) slow weights, ASGD's averaged iterate."""
    for key in ("slow", "ax"):
        if key in state:
            return key
    return None


def _dead_from(result) -> np.ndarray:
    """Per racer, the first step with no next step: the last one, or the step before it diverged."""
    d = np.asarray(result.diverged_at)
    return np.where(d >= 0, np.maximum(d - 1, 0), result.steps)


def vectors(result, params=None) -> dict[str, np.ndarray]:
    """{kind: (racers, steps + 1, dim)}: the unscaled arrows of each step (NaN where none)."""
    P = np.asarray(result.params, dtype=np.float64)
    n, m, dim = P.shape
    with np.errstate(all="ignore"):
        grad = -gradients(result.surface, P, params)
    last = _dead_from(result)
    rows = np.arange(m)[None, :, None]
    alive = rows <= np.asarray(result.diverged_at)[:, None, None]
    alive |= (np.asarray(result.diverged_at) < 0)[:, None, None]
    grad = np.where(alive, grad, np.nan)
    update = np.full_like(P, np.nan)
    update[:, :-1] = P[:, 1:] - P[:, :-1]
    update = np.where(rows < last[:, None, None], update, np.nan)
    moment = np.full_like(P, np.nan)
    for i, racer in enumerate(result.racers):
        key = first_moment(racer, result.state[i])
        if key is not None:
            mt = np.asarray(result.state[i][key], dtype=np.float64).reshape(m, dim)
            moment[i, :-1] = -mt[1:]
    moment = np.where(rows < last[:, None, None], moment, np.nan)
    return {"g": grad, "u": update, "m": moment}


def _nice(x: float) -> float:
    """The largest of 1, 2, 5 times a power of ten that is at most x."""
    if not math.isfinite(x) or x <= 0:
        return 1.0
    e = math.floor(math.log10(x))
    for f in (5.0, 2.0, 1.0):
        if f * 10.0**e <= x * (1 + 1e-12):
            return f * 10.0**e
    return 10.0 ** (e - 1) * 5.0


def _longest(*arrays) -> float:
    lengths = [np.linalg.norm(a, axis=-1) for a in arrays]
    finite = np.concatenate([v[np.isfinite(v)] for v in lengths]) if lengths else np.zeros(0)
    return float(finite.max()) if finite.size else 0.0


def scales(vecs: dict[str, np.ndarray], surface) -> dict[str, float]:
    """{kind: S}: an arrow is drawn S times its vector (the gradient's and the moment's S agree)."""
    side = min(float(hi - lo) for lo, hi in surface.domain)
    g = _longest(vecs["g"], vecs["m"])
    u = _longest(vecs["u"])
    sg = _nice(SHARE * side / g) if g > 0 else 1.0
    su = _nice(SHARE * side / u) if u > 0 else 1.0
    return {"g": sg, "m": sg, "u": su}


def _times(s: float) -> str:
    return f"×{s:g}"


def scale_text(sc: dict[str, float]) -> str:
    """What the arrows' lengths mean, as plain text."""
    return f"arrows: −∇f and −m {_times(sc['g'])}, update Δθ {_times(sc['u'])}"


_SCALES: dict[int, tuple] = {}  # id(result) -> (weak reference, params, scales): the last few races'
_SCALES_KEPT = 64


def arrow_scales(result, params=None) -> dict[str, float]:
    """The scales the page's arrows of `result` were drawn with (computed again if not kept)."""
    hit = _SCALES.get(id(result))
    if hit is not None and hit[0]() is result and hit[1] == params:
        return hit[2]
    return scales(vectors(result, params), result.surface)


def _keep(result, params, sc) -> None:
    while len(_SCALES) >= _SCALES_KEPT:
        _SCALES.pop(next(iter(_SCALES)))
    _SCALES[id(result)] = (weakref.ref(result), dict(params) if params else params, sc)


def arrow_columns(result, rows: np.ndarray, params=None) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """({column: values at `rows`}, scales) for the player's `race` source: per racer i the drawn
    offsets {kind}dx{i}, {kind}dy{i} (already scaled: the arrow goes from (x, y) to (x + dx, y + dy)),
    and sx{i}, sy{i}, its track, where it has one. Two-variable surfaces only."""
    if result.surface.dim != 2:
        return {}, {}
    vecs = vectors(result, params)
    sc = scales(vecs, result.surface)
    _keep(result, params, sc)
    cols: dict[str, np.ndarray] = {}
    for i, racer in enumerate(result.racers):
        for kind in KINDS:
            v = vecs[kind][i, rows] * sc[kind]
            if kind == "m" and not np.isfinite(v).any():
                continue
            cols[f"{kind}dx{i}"], cols[f"{kind}dy{i}"] = v[:, 0].copy(), v[:, 1].copy()
        key = track_key(racer, result.state[i])
        if key is not None:
            tr = np.asarray(result.state[i][key], dtype=np.float64)[rows]
            cols[f"sx{i}"], cols[f"sy{i}"] = tr[:, 0].copy(), tr[:, 1].copy()
    return cols, sc


# ----- the table ---------------------------------------------------------------------------------------
def _bc(beta: float, t: int) -> float:
    return 1.0 - beta**t


def internals(result, i: int, k: int, params=None) -> dict:
    """Racer i's numbers for the step taken from step k (t = k + 1): {"t", "note", "rows"}, rows a
    list of (name, value): a value is a float, a tuple of floats (one per coordinate) or a string."""
    racer = result.racers[i]
    owner, prefix = _owner(racer)
    name = owner.optimizer.name
    state = result.state[i]
    k = int(min(max(k, 0), result.steps))
    t = k + 1
    P = np.asarray(result.params[i], dtype=np.float64)
    theta = P[k]
    d = int(result.diverged_at[i])
    rows: list[tuple[str, object]] = [("θ_k", tuple(theta))]
    if 0 <= d <= k:
        return {"t": None, "note": f"diverged at step {d}", "rows": rows}
    with np.errstate(all="ignore"):
        g = np.asarray(gradients(result.surface, theta[None], params)[0], dtype=np.float64)
    rows.append(("∇f(θ_k)", tuple(g)))
    if k >= result.steps or (d >= 0 and t >= d):
        note = "the race ends here" if k >= result.steps else f"the next step diverged (step {d})"
        return {"t": None, "note": note, "rows": rows}
    lr = float(result.lr[i, k])
    step = P[t] - theta
    rows += [("lr_t", lr), ("SGD's step −lr_t·∇f", tuple(-lr * g)), ("Δθ applied", tuple(step))]
    at = {key[len(prefix) :]: np.asarray(v)[t] for key, v in state.items() if key.startswith(prefix)}
    before = {key[len(prefix) :]: np.asarray(v)[k] for key, v in state.items() if key.startswith(prefix)}
    hp = owner.hp if owner is not racer else racer.hp
    shown = set()
    if "exp_avg" in at and "exp_avg_sq" in at and name in ("adam", "adamw", "amsgrad", "radam", "ranger"):
        b1, b2, eps = hp["beta1"], hp["beta2"], hp["eps"]
        m, v = at["exp_avg"], at["exp_avg_sq"]
        c1, c2 = _bc(b1, t), _bc(b2, t)
        rows += [("m_t", tuple(m)), ("v_t", tuple(v))]
        shown |= {"exp_avg", "exp_avg_sq"}
        vh = v
        if name in ("adam", "adamw", "amsgrad") and hp.get("amsgrad", 0.0) > 0.5:
            vh = at["max_exp_avg_sq"]
            rows.append(("max v (AMSGrad)", tuple(vh)))
        shown.add("max_exp_avg_sq")
        rows += [("1 − β1^t", c1), ("1 − β2^t", c2), ("m̂_t = m_t/(1 − β1^t)", tuple(m / c1)),
                 ("v̂_t = v_t/(1 − β2^t)", tuple(vh / c2))]  # fmt: skip
        if name in ("radam", "ranger"):
            rho_inf = 2.0 / (1.0 - b2) - 1.0
            rho = rho_inf - 2.0 * t * b2**t / c2
            on = rho > 5.0
            rows += [("ρ_t", rho), ("rectification", "on (ρ_t > 5)" if on else "off (ρ_t ≤ 5): momentum SGD")]
            if on:
                r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
                eff = lr * (m / c1) * r * math.sqrt(c2) / (np.sqrt(v) + eps)
                rows += [("r_t", r), ("−lr·r_t·m̂_t/(√v̂_t + ε)", tuple(-eff))]
            else:
                rows.append(("−lr·m̂_t", tuple(-lr * m / c1)))
        else:
            rows.append(("−lr·m̂_t/(√v̂_t + ε)", tuple(-lr * (m / c1) / (np.sqrt(vh / c2) + eps))))
    elif name == "rprop":
        rows += [("step sizes s_t", tuple(at["step_size"])), ("sign of g_t (0: sign changed)", tuple(np.sign(at["prev"])))]  # fmt: skip
        shown |= {"step_size", "prev"}
    elif name == "lion":
        # Lion moves by lr (sign(c_t) + λθ): the sign is read back from the step it applied.
        sign = np.rint(-step / lr - hp["weight_decay"] * theta) if lr > 0 else np.full_like(theta, np.nan)
        rows += [("m_{t−1}", tuple(before["exp_avg"])), ("sign(β1 m_{t−1} + (1 − β1) g_t)", tuple(sign)),
                 ("m_t", tuple(at["exp_avg"]))]  # fmt: skip
        shown.add("exp_avg")
    for key, v in at.items():  # the rest of the rule's state after the step, as it is
        if key in shown or "." in key:
            continue
        v = np.asarray(v, dtype=np.float64)
        rows.append((f"{key} (state)", float(v) if v.ndim == 0 else tuple(v.reshape(-1))))
    if prefix:
        for key in ("slow",):
            if key in state:
                rows.append((f"{key} (state)", tuple(np.asarray(state[key])[t])))
    return {"t": t, "note": "", "rows": rows}


def _cell(v, dim: int) -> str:
    if isinstance(v, str):
        return f"<td colspan='{dim}'>{as_html(v)}</td>"
    if isinstance(v, tuple):
        return "".join(f"<td>{float(x):.6g}</td>" for x in v)
    return f"<td colspan='{dim}'>{float(v):.6g}</td>"


def internals_html(result, labels, colors, k: int, params=None, noise: float = 0.0) -> str:
    """Every racer's internals table at step k, as HTML (labels are user text, escaped here)."""
    dim = result.surface.dim
    names = [str(v) for v in result.surface.variables][:dim]
    head = "".join(f"<th>{as_html(v)}</th>" for v in names)
    out = []
    for i in range(len(result.racers)):
        with np.errstate(all="ignore"):  # a racer's numbers may be inf or NaN: shown as they are
            info = internals(result, i, k, params)
        what = f"step {k} → {info['t']}" if info["t"] is not None else f"step {k}: {info['note']}"
        body = "".join(f"<tr><th>{as_html(n)}</th>{_cell(v, dim)}</tr>" for n, v in info["rows"])
        out.append(f"<table class='internals' data-racer='{i}' data-step='{k}'><caption><span class='swatch' "
                   f"style='background:{colors[i]}'></span>{as_html(labels[i])}: {as_html(what)}</caption>"
                   f"<tr><th></th>{head}</tr>{body}</table>")  # fmt: skip
    notes = []
    if noise > 0:
        notes.append(f"∇f is the surface's gradient; each step also saw gradient noise σ = {noise:g}.")
    if result.surface.data is not None:
        notes.append("∇f is the full-data gradient; a mini-batch step saw its batch's.")
    foot = "".join(f"<p class='hint'>{as_html(n)}</p>" for n in notes)
    return f"<div class='internals'><b>Internals at step {k}</b>{''.join(out)}{foot}</div>"


# ----- the figure's layers -----------------------------------------------------------------------------
# How each kind is drawn, in the page and in a still: dotted, solid, dashed.
DASH = {"g": "dotted", "u": "solid", "m": "dashed"}


def _by_row(plot, _element) -> None:
    """Each row (a racer's slot) in its racer's colour, from the `color` column the page fills."""
    from bokeh.core.properties import field

    source = plot.handles["source"]
    rows = len(next(iter(source.data.values())))
    source.data = {**source.data, "color": ["#000000"] * rows}
    plot.handles["glyph"].line_color = field("color")


def _heads(lk: Look):
    """A hook giving the arrows of a Segments layer their heads: a Bokeh Arrow annotation over the
    layer's own source (the player fills it: nothing more is sent, nor computed per frame), with an
    open head at (x1, y1) in each row's colour and no shaft of its own (the layer's dash draws it),
    shown and hidden with the layer."""

    def hook(plot, _element):
        from bokeh.core.properties import field
        from bokeh.models import Arrow, OpenHead

        source, renderer = plot.handles["source"], plot.handles["glyph_renderer"]
        if any(isinstance(a, Arrow) and a.source is source for a in plot.state.center):
            return  # a figure updated in place keeps its heads
        head = OpenHead(size=lk.head_size, line_color=field("color"), line_width=1.25 * lk.line_width)
        arrow = Arrow(source=source, x_start=field("x0"), y_start=field("y0"), x_end=field("x1"), y_end=field("y1"),
                      start=None, end=head, line_alpha=0.0, level="overlay", visible=renderer.visible)  # fmt: skip
        plot.state.add_layout(arrow)
        renderer.js_link("visible", arrow, "visible")  # the page's toggles show the layer: its heads follow
        for model in (arrow, head):
            model.syncable = False  # drawn by the player, as the layer is (figures/tags.py)

    return hook


def internals_layers(slots: int, lk: Look) -> list:
    """The player's layers: the arrows (one Segments layer per kind, one row per racer's slot, with
    their heads) and the tracks (one Path layer, one path per slot), empty and tagged for the page to fill
    (figures/player.js draws them when the page's toggles ask for them, and hides them otherwise).
    A still draws its arrows itself (optirace/export/arrows.py)."""
    layers = []
    for kind in KINDS:
        seg = hv.Segments(
            [tuple(np.full(4, np.nan))] * slots, ["x0", "y0", "x1", "y1"], group=f"Arrow{kind.upper()}"
        )
        seg = seg.opts(line_width=1.25 * lk.line_width, line_dash=DASH[kind], backend="bokeh")
        layers.append(played(seg, f"arrow.{kind}", -1, _by_row, _heads(lk)))
    paths = [{"x": np.full(1, np.nan), "y": np.full(1, np.nan)} for _ in range(slots)]
    track = hv.Path(paths, group="Track").opts(line_width=lk.line_width, alpha=0.45, line_dash="dashed",
                                               backend="bokeh")  # fmt: skip
    layers.append(played(track, "track", -1, _by_row))
    return layers
