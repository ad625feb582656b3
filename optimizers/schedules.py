"""Learning-rate schedules with torch.optim.lr_scheduler's semantics and keyword names.

Each schedule is stepped once per optimizer step: step t (1-based) uses the lr torch's scheduler
reports after t - 1 calls of `scheduler.step()`. The racer's `lr` is the base lr (torch's
`initial_lr`), except where a schedule says otherwise in its docstring.

`sstate["epoch"]` is torch's `last_epoch`. Schedules that torch defines multiplicatively ("chainable":
StepLR, MultiStepLR, ExponentialLR, ReduceLROnPlateau) carry the current lr in `sstate["lr"]` and
update it as torch does; the others are evaluated in closed form, which equals torch's recursion up
to rounding.

Legal values are what torch's constructors accept, with these deliberate differences:
- A horizon torch requires but we can default (CosineAnnealingLR's T_max, OneCycleLR's total_steps)
  takes 0 to mean "the race's step budget" (torch rejects or divides by 0 there).
- CyclicLR's step_size_down = -1 stands for torch's None (= step_size_up).
- Values torch accepts only to divide by zero later, or that make the lr negative where torch's
  formula divides by them (OneCycleLR's div factors, CyclicLR's step sizes, StepLR's step_size,
  PolynomialLR's negative power), are rejected.
"""

import math

import jax.numpy as jnp

from .spec import HParam, Schedule

_EMPTY = ()


def _int(name, default, lo, hi, doc, **kw):
    return HParam(name, default, lo, hi, kind="int", doc=doc, **kw)


def _gamma(default, doc="multiplicative factor of the decay", lo=0.0, hi=1.0):
    return HParam("gamma", default, lo, hi, symbol=r"\gamma", doc=doc)


def _eta_min():
    return HParam("eta_min", 0.0, 0.0, 0.01, symbol=r"\eta_{\min}", doc="lowest learning rate")


def _count(s):
    return {**s, "epoch": s["epoch"] + 1.0}


def _epoch_only(base, hp, steps):
    return {"epoch": jnp.zeros(())}


def _horizon(value, steps):
    """A horizon of 0 means the race's step budget."""
    return jnp.where(value == 0.0, steps, value)


def _constant_lr(s, base, hp):
    """No schedule: every step uses the base lr."""
    return base


CONSTANT = Schedule(
    name="constant",
    title="Constant",
    hparams=_EMPTY,
    init=lambda base, hp, steps: {"epoch": jnp.zeros(())},
    lr=_constant_lr,
    step=lambda s, base, hp, loss: {"epoch": s["epoch"] + 1.0},
    torch_name="(none)",
    latex=r"\eta_t = \eta",
)


def _chained_init(base, hp, steps):
    return {"epoch": jnp.zeros(()), "lr": jnp.asarray(base, dtype=jnp.float64)}


def _step_lr(s, base, hp):
    r"""StepLR: multiply the lr by gamma every `step_size` steps.

    .. math:: \eta_t = \eta\,\gamma^{\lfloor e / \text{step\_size} \rfloor},\quad e = t - 1

    Source: torch.optim.lr_scheduler.StepLR (chainable form: the lr is multiplied in place).
    """
    return s["lr"]


def _step_step(s, base, hp, loss):
    e = s["epoch"] + 1.0
    decay = jnp.mod(e, hp["step_size"]) == 0.0
    return {"epoch": e, "lr": jnp.where(decay, s["lr"] * hp["gamma"], s["lr"])}


STEP = Schedule(
    name="step",
    title="Step decay",
    hparams=(
        _int("step_size", 100.0, 1.0, 1000.0, "period of the decay, in steps", min=1.0),
        _gamma(0.1),
    ),
    init=_chained_init,
    lr=_step_lr,
    step=_step_step,
    torch_name="StepLR",
    latex=r"\eta_t = \eta\,\gamma^{\lfloor (t-1)/\text{step\_size} \rfloor}",
)


def _milestone_factor(m, e, gamma):
    """gamma to the number of milestones equal to e (torch counts repeated milestones)."""
    return jnp.prod(jnp.where(m == e, gamma, 1.0))


def _multistep_init(base, hp, steps):
    # torch's constructor already applies a milestone at epoch 0.
    lr = base * _milestone_factor(hp["milestones"], 0.0, hp["gamma"])
    return {"epoch": jnp.zeros(()), "lr": lr}


def _multistep_lr(s, base, hp):
    r"""MultiStepLR: multiply the lr by gamma at each milestone.

    .. math:: \eta_t = \eta\,\gamma^{\#\{m \in \text{milestones} : m \le t - 1\}}

    Source: torch.optim.lr_scheduler.MultiStepLR. Convention: a milestone listed twice decays twice;
    the list need not be sorted; a milestone at 0 applies from the first step (torch applies it in
    its constructor) and negative ones never fire. Up to 8 milestones, traced as 8 numbers padded
    with inf, so editing them never recompiles.
    """
    return s["lr"]


def _multistep_step(s, base, hp, loss):
    e = s["epoch"] + 1.0
    return {"epoch": e, "lr": s["lr"] * _milestone_factor(hp["milestones"], e, hp["gamma"])}


MULTISTEP = Schedule(
    name="multistep",
    title="Multi-step decay",
    hparams=(
        HParam(
            "milestones",
            "100;200",
            kind="int_list",
            doc="steps at which the lr is multiplied by gamma, e.g. 100;200;300 (at most 8)",
        ),
        _gamma(0.1),
    ),
    init=_multistep_init,
    lr=_multistep_lr,
    step=_multistep_step,
    torch_name="MultiStepLR",
    latex=r"\eta_t = \eta\,\gamma^{\#\{m \in M\,:\, m \le t-1\}}",
)


def _exponential_lr(s, base, hp):
    r"""ExponentialLR: multiply the lr by gamma after every step.

    .. math:: \eta_t = \eta\,\gamma^{t-1}

    Source: torch.optim.lr_scheduler.ExponentialLR (chainable form).
    """
    return s["lr"]


def _exponential_step(s, base, hp, loss):
    return {"epoch": s["epoch"] + 1.0, "lr": s["lr"] * hp["gamma"]}


EXPONENTIAL = Schedule(
    name="exponential",
    title="Exponential decay",
    hparams=(_gamma(0.99, lo=0.9),),
    init=_chained_init,
    lr=_exponential_lr,
    step=_exponential_step,
    torch_name="ExponentialLR",
    latex=r"\eta_t = \eta\,\gamma^{t-1}",
)


def _cosine_init(base, hp, steps):
    return {"epoch": jnp.zeros(()), "T_max": _horizon(hp["T_max"], steps)}


def _cosine_lr(s, base, hp):
    r"""CosineAnnealingLR: half a cosine from the base lr down to eta_min over T_max steps.

    .. math:: \eta_t = \eta_{\min} + \tfrac12(\eta - \eta_{\min})\left(1 + \cos\frac{\pi (t-1)}{T_{\max}}\right)

    Source: Loshchilov & Hutter, SGDR (2017); torch.optim.lr_scheduler.CosineAnnealingLR.
    Convention: no restart; past T_max the cosine goes on, so the lr climbs back to the base lr at
    2 T_max (as torch's recursion does). T_max = 0 means the race's step budget.
    """
    arg = math.pi * s["epoch"] / s["T_max"]
    return hp["eta_min"] + (base - hp["eta_min"]) * (1.0 + jnp.cos(arg)) / 2.0


COSINE = Schedule(
    name="cosine",
    title="Cosine annealing",
    hparams=(
        _int("T_max", 0.0, 0.0, 1000.0, "steps of the half cosine (0: the race's step budget)"),
        _eta_min(),
    ),
    init=_cosine_init,
    lr=_cosine_lr,
    step=lambda s, base, hp, loss: _count(s),
    torch_name="CosineAnnealingLR",
    latex=r"\eta_t = \eta_{\min} + \tfrac12(\eta - \eta_{\min})\big(1 + \cos(\pi (t-1)/T_{\max})\big)",
)


def _restarts_init(base, hp, steps):
    return {"epoch": jnp.zeros(()), "T_cur": jnp.zeros(()), "T_i": jnp.asarray(hp["T_0"], jnp.float64)}


def _restarts_lr(s, base, hp):
    r"""CosineAnnealingWarmRestarts (SGDR): cosine cycles that restart at the base lr.

    .. math::
        \eta_t = \eta_{\min} + \tfrac12(\eta - \eta_{\min})\left(1 + \cos\frac{\pi T_{cur}}{T_i}\right),
        \quad T_i \leftarrow T_{\text{mult}}\, T_i \text{ at each restart}

    Source: Loshchilov & Hutter, SGDR (2017); torch.optim.lr_scheduler.CosineAnnealingWarmRestarts
    stepped without an epoch argument: T_cur counts steps since the last restart, from 0.
    """
    return hp["eta_min"] + (base - hp["eta_min"]) * (1.0 + jnp.cos(math.pi * s["T_cur"] / s["T_i"])) / 2.0


def _restarts_step(s, base, hp, loss):
    t_cur = s["T_cur"] + 1.0
    restart = t_cur >= s["T_i"]
    return {
        "epoch": s["epoch"] + 1.0,
        "T_cur": jnp.where(restart, t_cur - s["T_i"], t_cur),
        "T_i": jnp.where(restart, s["T_i"] * hp["T_mult"], s["T_i"]),
    }


COSINE_RESTARTS = Schedule(
    name="cosine_restarts",
    title="Cosine with warm restarts",
    hparams=(
        _int("T_0", 100.0, 1.0, 1000.0, "steps until the first restart", min=1.0),
        _int("T_mult", 1.0, 1.0, 4.0, "factor by which each cycle is longer than the last", min=1.0),
        _eta_min(),
    ),
    init=_restarts_init,
    lr=_restarts_lr,
    step=_restarts_step,
    torch_name="CosineAnnealingWarmRestarts",
    latex=(
        r"\eta_t = \eta_{\min} + \tfrac12(\eta - \eta_{\min})\big(1 + \cos(\pi T_{cur}/T_i)\big),"
        r"\ T_i = T_0 T_{\text{mult}}^{i}"
    ),
)


def _cyclic_lr(s, base, hp):
    r"""CyclicLR: triangular cycles between the racer's lr (torch's base_lr) and max_lr.

    .. math::
        c = \lfloor 1 + e/(u+d) \rfloor,\ x = 1 + e/(u+d) - c,\
        s = \begin{cases} x/r & x \le r \\ (x-1)/(r-1) & \text{else}\end{cases},\ r = \frac{u}{u+d} \\
        \eta_t = \eta + (\eta_{\max} - \eta)\, s\, \kappa,\quad
        \kappa = 1,\ 2^{1-c},\ \gamma^{e} \text{ (triangular, triangular2, exp\_range)}

    Source: Smith, "Cyclical Learning Rates for Training Neural Networks" (2017);
    torch.optim.lr_scheduler.CyclicLR with e = t - 1. Convention: the racer's lr is torch's base_lr
    (the bottom of the cycle); step_size_down = -1 means torch's None (= step_size_up).
    cycle_momentum is not supported: the momentum is never cycled (torch's cycle_momentum=False).
    """
    up = hp["step_size_up"]
    down = jnp.where(hp["step_size_down"] < 0.0, up, hp["step_size_down"])
    total = up + down
    ratio = up / total
    e = s["epoch"]
    cycle = jnp.floor(1.0 + e / total)
    x = 1.0 + e / total - cycle
    # ratio = 1 (step_size_down = 0) leaves the second branch unused; keep its divisor finite.
    falling = (x - 1.0) / jnp.where(ratio == 1.0, -1.0, ratio - 1.0)
    scale = jnp.where(x <= ratio, x / ratio, falling)
    height = (hp["max_lr"] - base) * scale
    mode = hp["mode"]
    if mode == "triangular":
        amp = 1.0
    elif mode == "triangular2":
        amp = 1.0 / (2.0 ** (cycle - 1.0))
    else:
        amp = hp["gamma"] ** e
    return base + height * amp


CYCLIC = Schedule(
    name="cyclic",
    title="Cyclic (CLR)",
    hparams=(
        HParam("max_lr", 0.01, 1e-5, 1.0, log=True, symbol=r"\eta_{\max}", doc="top of the cycle"),
        _int("step_size_up", 2000.0, 1.0, 1000.0, "steps in the rising half of a cycle", min=1.0),
        _int(
            "step_size_down",
            -1.0,
            -1.0,
            1000.0,
            "steps in the falling half (-1: same as step_size_up)",
            min=-1.0,
        ),
        HParam(
            "mode",
            "triangular",
            kind="choice",
            choices=("triangular", "triangular2", "exp_range"),
            doc="amplitude policy: constant, halved every cycle, or gamma^step",
        ),
        _gamma(1.0, doc="exp_range: the amplitude is multiplied by gamma every step", lo=0.99),
    ),
    init=_epoch_only,
    lr=_cyclic_lr,
    step=lambda s, base, hp, loss: _count(s),
    torch_name="CyclicLR",
    latex=r"\eta_t = \eta + (\eta_{\max} - \eta)\cdot \mathrm{tri}(t-1)\cdot \kappa(t-1)",
)


def _anneal(hp, start, end, pct):
    if hp["anneal_strategy"] == "cos":
        return end + (start - end) / 2.0 * (jnp.cos(math.pi * pct) + 1.0)
    return (end - start) * pct + start


def _phases(hp, e, phases):
    """torch's phase walk: the first phase whose end_step >= e, else the last one."""
    out = None
    starts = [0.0] + [end for end, _, _ in phases[:-1]]
    for (end, lo, hi), start in reversed(list(zip(phases, starts, strict=True))):
        span = end - start
        # A phase of zero length (pct_start * total_steps = 1) is where torch divides by zero;
        # here it just reaches its end value.
        pct = jnp.where(span == 0.0, 1.0, (e - start) / jnp.where(span == 0.0, 1.0, span))
        value = _anneal(hp, lo, hi, pct)
        out = value if out is None else jnp.where(e <= end, value, out)
    return out


def _onecycle_init(base, hp, steps):
    return {"epoch": jnp.zeros(()), "total_steps": _horizon(hp["total_steps"], steps)}


def _onecycle_lr(s, base, hp):
    r"""OneCycleLR: warm up from max_lr / div_factor to max_lr, then anneal far below the start.

    .. math::
        \eta_0 = \eta / d,\ \eta_{\min} = \eta_0 / d_f;\ \text{two phases: } \eta_0 \to \eta
        \text{ over } pT - 1 \text{ steps},\ \eta \to \eta_{\min} \text{ until } T - 1;\
        \text{three phases: } \eta_0 \to \eta \to \eta_0 \to \eta_{\min}

    Source: Smith & Topin, "Super-Convergence" (2019); torch.optim.lr_scheduler.OneCycleLR.
    Convention: the racer's lr is torch's max_lr; each phase anneals by a cosine
    (end + (start - end)(1 + cos(pi pct)) / 2) or linearly; total_steps = 0 means the race's step
    budget. cycle_momentum is not supported (torch's cycle_momentum=False). Past the cycle
    (t > total_steps), where torch raises, the lr stays at its last value eta_min.
    """
    T = s["total_steps"]
    e = jnp.minimum(s["epoch"], T - 1.0)
    top = base
    first = top / hp["div_factor"]
    low = first / hp["final_div_factor"]
    p = hp["pct_start"]
    two = _phases(hp, e, [(p * T - 1.0, first, top), (T - 1.0, top, low)])
    three = _phases(
        hp,
        e,
        [(p * T - 1.0, first, top), (2.0 * p * T - 2.0, top, first), (T - 1.0, first, low)],
    )
    return jnp.where(hp["three_phase"] > 0.5, three, two)


def _onecycle_check(hp):
    if hp["total_steps"] > 0 and hp["pct_start"] * hp["total_steps"] == 1.0:
        raise ValueError(
            "schedule onecycle: pct_start * total_steps = 1 gives a warm-up of zero steps, "
            "where torch's OneCycleLR divides by zero; change pct_start or total_steps"
        )


ONECYCLE = Schedule(
    name="onecycle",
    title="One cycle",
    hparams=(
        _int("total_steps", 0.0, 0.0, 1000.0, "steps in the cycle (0: the race's step budget)", min=0.0),
        HParam("pct_start", 0.3, 0.0, 1.0, doc="fraction of the cycle spent warming up", min=0.0, max=1.0),
        HParam(
            "anneal_strategy",
            "cos",
            kind="choice",
            choices=("cos", "linear"),
            doc="shape of each phase",
        ),
        HParam(
            "div_factor",
            25.0,
            1.0,
            100.0,
            log=True,
            doc="initial lr = lr / div_factor",
            min=0.0,
            min_open=True,
        ),
        HParam(
            "final_div_factor",
            1e4,
            1.0,
            1e5,
            log=True,
            doc="final lr = initial lr / final_div_factor",
            min=0.0,
            min_open=True,
        ),
        HParam("three_phase", False, kind="bool", doc="warm up, cool down to the start, then annihilate"),
    ),
    init=_onecycle_init,
    lr=_onecycle_lr,
    step=lambda s, base, hp, loss: _count(s),
    torch_name="OneCycleLR",
    latex=r"\eta_t:\ \eta/d \nearrow \eta \searrow \eta/(d\,d_f)\ \text{(cosine or linear phases)}",
    check=_onecycle_check,
)


def _fraction(total, e):
    """min(total, e) / total, and 0 when total <= 0 (torch then never leaves its first value)."""
    safe = jnp.where(total > 0.0, total, 1.0)
    return jnp.where(total > 0.0, jnp.minimum(total, e) / safe, 0.0)


def _linear_lr(s, base, hp):
    r"""LinearLR: scale the lr by a factor moving linearly from start_factor to end_factor.

    .. math:: \eta_t = \eta\left(f_s + (f_e - f_s)\,\frac{\min(T, t-1)}{T}\right)

    Source: torch.optim.lr_scheduler.LinearLR. Convention: after total_iters the factor stays at
    end_factor; total_iters <= 0 keeps start_factor throughout, as torch's recursion does.
    """
    fs, fe = hp["start_factor"], hp["end_factor"]
    return base * (fs + (fe - fs) * _fraction(hp["total_iters"], s["epoch"]))


LINEAR = Schedule(
    name="linear",
    title="Linear warm-up / decay",
    hparams=(
        HParam(
            "start_factor",
            1.0 / 3.0,
            0.01,
            1.0,
            doc="lr multiplier at the first step",
            min=0.0,
            min_open=True,
            max=1.0,
        ),
        HParam("end_factor", 1.0, 0.0, 1.0, doc="lr multiplier after total_iters", min=0.0, max=1.0),
        _int("total_iters", 5.0, 0.0, 1000.0, "steps over which the multiplier moves"),
    ),
    init=_epoch_only,
    lr=_linear_lr,
    step=lambda s, base, hp, loss: _count(s),
    torch_name="LinearLR",
    latex=r"\eta_t = \eta\,\big(f_s + (f_e - f_s)\min(T, t-1)/T\big)",
)


def _polynomial_lr(s, base, hp):
    r"""PolynomialLR: decay the lr to 0 over total_iters steps along a power curve.

    .. math:: \eta_t = \eta\left(1 - \frac{\min(T, t-1)}{T}\right)^{p}

    Source: torch.optim.lr_scheduler.PolynomialLR. Convention: after total_iters the lr stays at 0
    (power > 0); total_iters <= 0 keeps the base lr, as torch's recursion does.
    """
    return base * (1.0 - _fraction(hp["total_iters"], s["epoch"])) ** hp["power"]


POLYNOMIAL = Schedule(
    name="polynomial",
    title="Polynomial decay",
    hparams=(
        _int("total_iters", 5.0, 0.0, 1000.0, "steps over which the lr decays to 0"),
        HParam("power", 1.0, 0.0, 5.0, doc="power of the polynomial", min=0.0),
    ),
    init=_epoch_only,
    lr=_polynomial_lr,
    step=lambda s, base, hp, loss: _count(s),
    torch_name="PolynomialLR",
    latex=r"\eta_t = \eta\,\big(1 - \min(T, t-1)/T\big)^{p}",
)


def _plateau_init(base, hp, steps):
    worst = math.inf if hp["mode"] == "min" else -math.inf
    zero = jnp.zeros(())
    return {
        "epoch": zero,
        "lr": jnp.asarray(base, jnp.float64),
        "best": zero + worst,
        "bad": zero,
        "cool": zero,
    }


def _better(hp, a, best):
    th = hp["threshold"]
    if hp["mode"] == "min":
        return a < (best * (1.0 - th) if hp["threshold_mode"] == "rel" else best - th)
    return a > (best * (th + 1.0) if hp["threshold_mode"] == "rel" else best + th)


def _plateau_lr(s, base, hp):
    r"""ReduceLROnPlateau: multiply the lr by `factor` once the loss has not improved for
    more than `patience` steps, then wait `cooldown` steps.

    .. math::
        \text{better}(a) = a < b(1 - \tau)\ (\text{min, rel}),\ a < b - \tau\ (\text{min, abs}),\ \dots;\quad
        \eta \leftarrow \max(\phi\,\eta, \eta_{\min}) \text{ if } n_{bad} > \text{patience}

    Source: torch.optim.lr_scheduler.ReduceLROnPlateau. Convention: the metric is the loss at the
    point the step's gradient was taken at (`loss = f(p); opt.step(); sched.step(loss)`); a
    reduction smaller than eps is skipped; bad steps during cooldown are not counted.
    """
    return s["lr"]


def _plateau_step(s, base, hp, loss):
    better = _better(hp, loss, s["best"])
    best = jnp.where(better, loss, s["best"])
    bad = jnp.where(better, 0.0, s["bad"] + 1.0)
    cooling = s["cool"] > 0.0
    cool = jnp.where(cooling, s["cool"] - 1.0, s["cool"])
    bad = jnp.where(cooling, 0.0, bad)
    reduce = bad > hp["patience"]
    new_lr = jnp.maximum(s["lr"] * hp["factor"], hp["min_lr"])
    lr = jnp.where(reduce & (s["lr"] - new_lr > hp["eps"]), new_lr, s["lr"])
    return {
        "epoch": s["epoch"] + 1.0,
        "lr": lr,
        "best": best,
        "bad": jnp.where(reduce, 0.0, bad),
        "cool": jnp.where(reduce, hp["cooldown"], cool),
    }


PLATEAU = Schedule(
    name="plateau",
    title="Reduce on plateau",
    hparams=(
        HParam("mode", "min", kind="choice", choices=("min", "max"), doc="min: the loss should fall"),
        HParam(
            "factor",
            0.1,
            0.01,
            0.99,
            symbol=r"\phi",
            doc="new lr = lr * factor",
            max=1.0,
            max_open=True,
        ),
        _int("patience", 10.0, 0.0, 100.0, "steps without improvement tolerated before a reduction"),
        HParam("threshold", 1e-4, 0.0, 0.1, symbol=r"\tau", doc="how much better counts as better"),
        HParam(
            "threshold_mode",
            "rel",
            kind="choice",
            choices=("rel", "abs"),
            doc="threshold relative to the best loss, or absolute",
        ),
        _int("cooldown", 0.0, 0.0, 100.0, "steps to wait after a reduction"),
        HParam("min_lr", 0.0, 0.0, 0.01, doc="lower bound on the lr"),
        HParam("eps", 1e-8, 0.0, 1e-6, doc="reductions smaller than this are skipped"),
    ),
    init=_plateau_init,
    lr=_plateau_lr,
    step=_plateau_step,
    torch_name="ReduceLROnPlateau",
    latex=r"\eta \leftarrow \max(\phi\,\eta,\ \eta_{\min})\ \text{after patience steps without improvement}",
)

ALL = (
    CONSTANT,
    STEP,
    MULTISTEP,
    EXPONENTIAL,
    COSINE,
    COSINE_RESTARTS,
    CYCLIC,
    ONECYCLE,
    LINEAR,
    POLYNOMIAL,
    PLATEAU,
)
