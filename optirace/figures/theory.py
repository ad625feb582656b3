"""What theory predicts on the quadratic, drawn beside what the race shows (surfaces/theory.py).

- The Hessian's eigen-directions: two lines through the minimum on the surface panel, labelled with
  their curvatures λ = μ and λ = L.
- The predicted loss of each racer whose rule is linear on a quadratic (gradient descent, the heavy
  ball in torch's or the averaged form, Nesterov) at a constant step with no noise: a dashed line
  loss₀ · ρ^(2t) on the loss panel, where ρ is the rule's exact asymptotic rate (the spectral radius
  of its iteration). The error shrinks by ρ per step and the loss is quadratic in the error, so the
  loss shrinks by ρ²; at gradient descent's best step, 2/(μ + L), this holds exactly at every step.
- `optimal_spec`: a racer set to the theory's optimal settings, for the app's "optimal settings".
"""

from __future__ import annotations

import math

import numpy as np

from surfaces.theory import eigen_directions, has_theory, linear_rate
from surfaces.theory import theory as closed_forms

__all__ = ["linear_form", "predicted_gap", "eigen_layers", "optimal_spec", "has_theory"]


def _plain(racer) -> bool:
    """No schedule, clipping or wrapper: the rule alone, at a constant step."""
    return (
        racer is not None
        and racer.inner is None
        and racer.schedule.name == "constant"
        and math.isinf(racer.clip_norm)
        and math.isinf(racer.clip_value)
    )


def linear_form(racer) -> tuple[float, float, bool] | None:
    """(step α, momentum β, nesterov) of a racer that is the heavy ball θ' = θ − α∇f + β(θ − θ₋)
    (β = 0: gradient descent) or Nesterov's method on any quadratic; None for any other racer."""
    if not _plain(racer):
        return None
    name, hp = racer.optimizer.name, racer.hp
    if name == "gd":
        return hp["lr"], 0.0, False
    if name == "sgd":
        if hp["weight_decay"] != 0 or hp["maximize"] != 0 or (hp["momentum"] != 0 and hp["dampening"] != 0):
            return None
        return hp["lr"], hp["momentum"], bool(hp["nesterov"]) and hp["momentum"] != 0
    if name == "momentum":  # the averaged form: v ← βv + (1 − β)g is the heavy ball with α = η(1 − β)
        return hp["lr"] * (1.0 - hp["beta"]), hp["beta"], False
    if name == "nag":
        return hp["lr"], hp["momentum"], True
    return None


def predicted_rates(result, kappa=None, noise: float = 0.0) -> np.ndarray:
    """Per racer: the predicted rate ρ, or NaN where there is no prediction (another surface, noise,
    or a rule that is not linear)."""
    n = result.params.shape[0]
    out = np.full(n, np.nan)
    if not has_theory(result.surface) or noise:
        return out
    t = closed_forms(result.surface, kappa=kappa)
    for i, racer in enumerate(getattr(result, "racers", ()) or ()):
        form = linear_form(racer)
        if form is not None:
            alpha, beta, nesterov = form
            out[i] = linear_rate(alpha, beta, (t["mu"], t["L"]), nesterov=nesterov)
    return out


def predicted_gap(result, kappa=None, noise: float = 0.0) -> np.ndarray:
    """(racers, steps + 1): loss₀ · ρ^(2t) above the minimum, NaN where there is no prediction.
    Clipped to the loss panel's floor (1e-16) and to 1e300, so a log axis can draw it."""
    rho = predicted_rates(result, kappa, noise)
    gap0 = np.asarray(result.loss, dtype=float)[:, 0] - result.surface.min_value
    t = np.arange(result.params.shape[1])
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        log = np.log(gap0)[:, None] + 2.0 * t[None, :] * np.log(rho)[:, None]
        pred = np.exp(np.clip(log, math.log(1e-16), math.log(1e300)))
    return np.where(np.isfinite(rho)[:, None] & (gap0 > 0)[:, None], pred, np.nan)


def eigen_layers(surface, kappa, lk, scale: float = 1.0) -> list:
    """Two lines through the minimum along the Hessian's eigen-directions, labelled λ = μ and λ = L
    with their values (nothing for a surface without a theory)."""
    import holoviews as hv

    from .look import line, styled, text

    if not has_theory(surface):
        return []
    (x0, x1), (y0, y1) = surface.domain
    cx, cy = surface.minima[0][:2]
    layers = []
    for (dx, _dy), lam, name in eigen_directions(surface, kappa=kappa):
        # Across the whole frame, along the direction (the eigen-directions here are the axes).
        seg = [(x0, cy, x1, cy) if dx else (cx, y0, cx, y1)]
        lines = hv.Segments(seg, group="Eigen", label="")
        lines = styled(lines, line(lk.text, 1.5, scale, dash=True, alpha=0.8))
        for backend in ("bokeh", "matplotlib"):
            lines = lines.opts(show_legend=False, backend=backend)
        at = (
            (x1 - 0.03 * (x1 - x0), cy + 0.03 * (y1 - y0))
            if dx
            else (cx + 0.02 * (x1 - x0), y1 - 0.05 * (y1 - y0))
        )
        note = hv.Labels([(*at, f"λ = {name} = {lam:g}")], vdims="text", group="EigenLabel")
        note = styled(note, text(lk.text, lk.tick_font, scale))
        align = "right" if dx else "left"
        note = note.opts(text_align=align, text_baseline="bottom" if dx else "top", backend="bokeh")
        note = note.opts(horizontalalignment=align, verticalalignment="bottom" if dx else "top",
                         backend="matplotlib")  # fmt: skip
        layers += [lines, note]
    return layers


def optimal_spec(spec: dict, t: dict) -> tuple[dict, str] | None:
    """`spec` (a racer dict) set to the theory's optimal settings `t` (surfaces.theory), and a line
    saying what was set; None for a racer the theory has no optimum for. Gradient descent and SGD
    without momentum get lr_gd; the heavy ball (SGD with momentum, or the averaged momentum rule)
    gets lr_heavy_ball and momentum_heavy_ball. The schedule, clipping, weight decay, dampening and
    Nesterov are dropped: the optimum is for the plain rule; the label is kept."""
    name = spec.get("optimizer")
    keep = {"label": spec["label"]} if spec.get("label") else {}
    lr_gd, lr_hb, beta = t["lr_gd"], t["lr_heavy_ball"], t["momentum_heavy_ball"]
    if name == "gd" or (name == "sgd" and not spec.get("momentum")):
        return {"optimizer": name, "lr": lr_gd, **keep}, f"{name}: lr = {lr_gd:.4g} (2/(μ+L))"
    if name == "sgd":
        new = {"optimizer": "sgd", "lr": lr_hb, "momentum": beta, **keep}
        return new, f"sgd: lr = {lr_hb:.4g}, momentum = {beta:.4g} (heavy ball, Polyak)"
    if name == "momentum":
        lr = lr_hb / (1.0 - beta)  # the averaged form's step is lr·(1 − β)
        return {"optimizer": "momentum", "lr": lr, "beta": beta, **keep}, (
            f"momentum: lr = {lr:.4g}, beta = {beta:.4g} (heavy ball, averaged form)"
        )
    return None
