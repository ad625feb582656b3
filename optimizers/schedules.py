"""Learning-rate schedules with torch.optim.lr_scheduler's semantics and keyword names.

Each schedule is stepped once per optimizer step: step t (1-based) uses the lr torch's scheduler
reports after t - 1 calls of `scheduler.step()`. The racer's `lr` is the base lr (torch's
`initial_lr`), except where a schedule says otherwise in its docstring.

`sstate["epoch"]` is torch's `last_epoch`. Schedules that torch defines multiplicatively ("chainable":
StepLR, MultiStepLR, ExponentialLR, ReduceLROnPlateau) carry the current lr in `sstate["lr"]` and
update it as torch does; the others are evaluated in closed form, which equals torch's recursion up
to rounding.

Every keyword of torch's constructor is accepted with torch's meaning (a racer is data, so
CyclicLR's `scale_fn`, a Python function, is the one exception). `last_epoch` resumes a schedule:
step 1 of the race uses the lr of epoch last_epoch + 1, as a fresh run's scheduler would after
last_epoch + 1 calls of `step()` (what torch's constructor gives when the optimizer holds that
run's state). Where torch's scheduler sets the lr itself (CyclicLR's `base_lr`, OneCycleLR's
`max_lr`), the schedule's value wins over the racer's lr when given, as in torch; left at -1, the
racer's lr plays that part. CyclicLR and OneCycleLR cycle the momentum by default, as torch does
(`cycle_momentum`, `base_momentum`, `max_momentum`): SGD's and RMSprop's `momentum`, or `beta1`
of the Adam family and the other optimizers that have one, moves inversely to the lr.

Legal values are what torch's constructors accept, with these deliberate differences:
- A horizon torch requires but we can default (CosineAnnealingLR's T_max, OneCycleLR's total_steps)
  takes 0 to mean "the race's step budget" (torch rejects or divides by 0 there).
- CyclicLR's step_size_down = -1 stands for torch's None (= step_size_up); OneCycleLR's epochs and
  steps_per_epoch = 0 stand for None.
- CyclicLR's base_lr and OneCycleLR's max_lr take -1 (the default) for the racer's lr, so a given
  one is a number >= 0; base_momentum and max_momentum are >= 0 (a negative beta1 has no real
  beta1^t, where torch takes any number).
- last_epoch follows a fresh run even where torch's constructor does not: it restarts
  CosineAnnealingWarmRestarts' T_cur at last_epoch (right only within the first cycle), and
  applies a MultiStepLR milestone at last_epoch + 1 a second time to the lr it was given.
- Values torch accepts only to divide by zero later, or that make the lr negative where torch's
  formula divides by them (OneCycleLR's div factors, CyclicLR's step sizes, StepLR's step_size,
  PolynomialLR's negative power), are rejected.
"""

import math

import jax
import jax.numpy as jnp

from .spec import HParam, Schedule, flag

_EMPTY = ()


class _OrRacerLr(HParam):
    """A learning rate torch's scheduler takes itself; -1 leaves the part to the racer's lr."""

    def legal_text(self) -> str:
        return f"a number with 0 <= {self.name}, or -1 for the racer's lr"


def _lr_of_its_own(name, default, doc, symbol):
    return _OrRacerLr(name, default, 1e-5, 1.0, log=True, symbol=symbol, doc=doc, min=-1.0)


def _check_lr_of_its_own(hp, schedule, names):
    for name in names:
        if -1.0 < hp[name] < 0.0:
            raise ValueError(
                f"schedule {schedule}: {name} = {hp[name]!r} is not allowed; use a number with "
                f"0 <= {name}, or -1 for the racer's lr"
            )


def _or_racer_lr(value, base):
    return jnp.where(value < 0.0, base, value)


def _last_epoch():
    return HParam(
        "last_epoch",
        -1.0,
        -1.0,
        1000.0,
        kind="int",
        doc="index of the last step the schedule has seen: the race resumes it at last_epoch + 1 (-1: from the start)",
        min=-1.0,
    )


def _first_epoch(hp):
    """The epoch of the race's first step: torch's constructor steps once past last_epoch."""
    return jnp.asarray(hp["last_epoch"], jnp.float64) + 1.0


def momentum_name(optimizer) -> str | None:
    """The hyperparameter a cycled momentum drives, as torch picks it: `beta1` where the optimizer
    has betas, else `momentum`; None when it has neither."""
    names = {h.name for h in optimizer.hparams}
    return "beta1" if "beta1" in names else "momentum" if "momentum" in names else None


def check_cycle_momentum(owner: str, schedule: Schedule, hp, optimizer) -> None:
    """torch's CyclicLR and OneCycleLR refuse cycle_momentum on an optimizer without momentum."""
    if schedule.momentum is None or not hp.get("cycle_momentum"):
        return
    if momentum_name(optimizer) is None:
        raise ValueError(
            f"{owner}: schedule {schedule.name}: cycle_momentum = true needs an optimizer with "
            f"momentum or beta1 ({optimizer.name} has neither), as torch's {schedule.torch_name} "
            "requires; set cycle_momentum = false"
        )


def _momentum_specs(base, top):
    return (
        HParam(
            "cycle_momentum",
            True,
            kind="bool",
            doc="cycle the optimizer's momentum (or beta1) inversely to the lr, between base_momentum and max_momentum",
        ),
        HParam("base_momentum", base, 0.0, 0.999, doc="momentum (or beta1) where the lr is highest", min=0.0),
        HParam("max_momentum", top, 0.0, 0.999, doc="momentum (or beta1) where the lr is lowest", min=0.0),
    )


def _int(name, default, lo, hi, doc, **kw):
    return HParam(name, default, lo, hi, kind="int", doc=doc, **kw)


def _gamma(default, doc="multiplicative factor of the decay", lo=0.0, hi=1.0):
    return HParam("gamma", default, lo, hi, symbol=r"\gamma", doc=doc)


def _eta_min():
    return HParam("eta_min", 0.0, 0.0, 0.01, symbol=r"\eta_{\min}", doc="lowest learning rate")


def _count(s):
    return {**s, "epoch": s["epoch"] + 1.0}


def _epoch_only(base, hp, steps):
    return {"epoch": _first_epoch(hp)}


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


def _chained(e, lr):
    return {"epoch": e, "lr": jnp.asarray(lr, dtype=jnp.float64)}


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


def _step_init(base, hp, steps):
    e = _first_epoch(hp)
    return _chained(e, base * hp["gamma"] ** jnp.floor(e / hp["step_size"]))


STEP = Schedule(
    name="step",
    title="Step decay",
    hparams=(
        _int("step_size", 100.0, 1.0, 1000.0, "period of the decay, in steps", min=1.0),
        _gamma(0.1),
        _last_epoch(),
    ),
    init=_step_init,
    lr=_step_lr,
    step=_step_step,
    torch_name="StepLR",
    latex=r"\eta_t = \eta\,\gamma^{\lfloor (t-1)/\text{step\_size} \rfloor}",
)


def _milestone_factor(m, e, gamma):
    """gamma to the number of milestones equal to e (torch counts repeated milestones)."""
    return jnp.prod(jnp.where(m == e, gamma, 1.0))


def _multistep_init(base, hp, steps):
    # torch's constructor already applies a milestone at epoch 0, and a resumed schedule every
    # milestone it has passed.
    e, m = _first_epoch(hp), hp["milestones"]
    lr = base * jnp.prod(jnp.where((m >= 0.0) & (m <= e), hp["gamma"], 1.0))
    return _chained(e, lr)


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
        _last_epoch(),
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


def _exponential_init(base, hp, steps):
    e = _first_epoch(hp)
    return _chained(e, base * hp["gamma"] ** e)


EXPONENTIAL = Schedule(
    name="exponential",
    title="Exponential decay",
    hparams=(_gamma(0.99, lo=0.9), _last_epoch()),
    init=_exponential_init,
    lr=_exponential_lr,
    step=_exponential_step,
    torch_name="ExponentialLR",
    latex=r"\eta_t = \eta\,\gamma^{t-1}",
)


def _cosine_init(base, hp, steps):
    return {"epoch": _first_epoch(hp), "T_max": _horizon(hp["T_max"], steps)}


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
        _last_epoch(),
    ),
    init=_cosine_init,
    lr=_cosine_lr,
    step=lambda s, base, hp, loss: _count(s),
    torch_name="CosineAnnealingLR",
    latex=r"\eta_t = \eta_{\min} + \tfrac12(\eta - \eta_{\min})\big(1 + \cos(\pi (t-1)/T_{\max})\big)",
)


def _restarts_init(base, hp, steps):
    # Where a fresh run's T_cur and T_i are at the first epoch: whole cycles of T_0 when T_mult = 1,
    # else cycles that grow T_mult-fold (under 64 of them before float64 runs out of integers).
    e = _first_epoch(hp)
    t0, mult = jnp.asarray(hp["T_0"], jnp.float64), hp["T_mult"]
    t_cur = jnp.where(mult == 1.0, jnp.mod(e, t0), e)

    def restart(_, c):
        t_cur, t_i = c
        done = t_cur >= t_i
        return jnp.where(done, t_cur - t_i, t_cur), jnp.where(done, t_i * mult, t_i)

    t_cur, t_i = jax.lax.fori_loop(0, 64, restart, (t_cur, t0))
    return {"epoch": e, "T_cur": t_cur, "T_i": t_i}


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
        _last_epoch(),
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


def _cyclic_shape(s, hp):
    """torch's CyclicLR at epoch e: the triangle's height in [0, 1] times the mode's amplitude."""
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
    mode = hp["mode"]
    if mode == "triangular":
        amp = 1.0
    elif mode == "triangular2":
        amp = 1.0 / (2.0 ** (cycle - 1.0))
    else:
        amp = hp["gamma"] ** e
    return scale, amp


def _cyclic_lr(s, base, hp):
    r"""CyclicLR: triangular cycles between base_lr and max_lr; the momentum cycles the other way.

    .. math::
        c = \lfloor 1 + e/(u+d) \rfloor,\ x = 1 + e/(u+d) - c,\
        s = \begin{cases} x/r & x \le r \\ (x-1)/(r-1) & \text{else}\end{cases},\ r = \frac{u}{u+d} \\
        \eta_t = \eta_b + (\eta_{\max} - \eta_b)\, s\, \kappa,\quad
        \mu_t = \mu_{\max} - (\mu_{\max} - \mu_b)\, s\, \kappa,\quad
        \kappa = 1,\ 2^{1-c},\ \gamma^{e} \text{ (triangular, triangular2, exp\_range)}

    Source: Smith, "Cyclical Learning Rates for Training Neural Networks" (2017);
    torch.optim.lr_scheduler.CyclicLR with e = t - 1 + last_epoch + 1. Convention: base_lr = -1
    (the default) means the racer's lr; step_size_down = -1 means torch's None (= step_size_up);
    scale_mode only matters to torch with a custom scale_fn, which a racer cannot carry, so torch
    and this schedule both follow the mode. With cycle_momentum (torch's default) the optimizer's
    momentum or beta1 takes the cycled value mu_t at every step, whatever the racer set.
    """
    scale, amp = _cyclic_shape(s, hp)
    bottom = _or_racer_lr(hp["base_lr"], base)
    height = (hp["max_lr"] - bottom) * scale
    return bottom + height * amp


def _cyclic_momentum(s, hp):
    scale, amp = _cyclic_shape(s, hp)
    top = hp["max_momentum"]
    return top - (top - hp["base_momentum"]) * scale * amp


def _cyclic_check(hp):
    _check_lr_of_its_own(hp, "cyclic", ("base_lr",))


CYCLIC = Schedule(
    name="cyclic",
    title="Cyclic (CLR)",
    hparams=(
        _lr_of_its_own(
            "base_lr",
            -1.0,
            "bottom of the cycle; when given, it wins over the racer's lr (as in torch)",
            r"\eta_b",
        ),
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
        HParam(
            "scale_mode",
            "cycle",
            kind="choice",
            choices=("cycle", "iterations"),
            doc="torch reads it only with a custom scale_fn; without one, the mode decides (as in torch)",
        ),
        *_momentum_specs(0.8, 0.9),
        _last_epoch(),
    ),
    init=_epoch_only,
    lr=_cyclic_lr,
    step=lambda s, base, hp, loss: _count(s),
    torch_name="CyclicLR",
    latex=(
        r"\eta_t = \eta_b + (\eta_{\max} - \eta_b)\cdot \mathrm{tri}(t-1)\cdot \kappa(t-1),\ "
        r"\mu_t = \mu_{\max} - (\mu_{\max} - \mu_b)\cdot \mathrm{tri}(t-1)\cdot \kappa(t-1)"
    ),
    check=_cyclic_check,
    momentum=_cyclic_momentum,
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


def _onecycle_total(hp, steps):
    """torch's total_steps: given, else epochs * steps_per_epoch, else (here) the race's budget."""
    product = hp["epochs"] * hp["steps_per_epoch"]
    return jnp.where(hp["total_steps"] > 0.0, hp["total_steps"], jnp.where(product > 0.0, product, steps))


def _onecycle_init(base, hp, steps):
    return {"epoch": _first_epoch(hp), "total_steps": _onecycle_total(hp, steps)}


def _onecycle_lr(s, base, hp):
    r"""OneCycleLR: warm up from max_lr / div_factor to max_lr, then anneal far below the start;
    the momentum does the opposite.

    .. math::
        \eta_0 = \eta / d,\ \eta_{\min} = \eta_0 / d_f;\ \text{two phases: } \eta_0 \to \eta
        \text{ over } pT - 1 \text{ steps},\ \eta \to \eta_{\min} \text{ until } T - 1;\
        \text{three phases: } \eta_0 \to \eta \to \eta_0 \to \eta_{\min} \\
        \mu:\ \mu_{\max} \to \mu_b \to \mu_{\max}\ (\text{three phases: then } \mu_{\max} \text{ held})

    Source: Smith & Topin, "Super-Convergence" (2019); torch.optim.lr_scheduler.OneCycleLR.
    Convention: max_lr = -1 (the default) means the racer's lr is torch's max_lr; given, max_lr
    wins. Each phase anneals by a cosine (end + (start - end)(1 + cos(pi pct)) / 2) or linearly.
    The cycle is total_steps long, else epochs * steps_per_epoch (both needed, as in torch), else
    the race's step budget. Past the cycle, where torch raises, the lr and the momentum stay at
    their last values. With cycle_momentum (torch's default) the optimizer's momentum or beta1
    takes the cycled value at every step, whatever the racer set.
    """
    top = _or_racer_lr(hp["max_lr"], base)
    first = top / hp["div_factor"]
    low = first / hp["final_div_factor"]
    return _onecycle_walk(s, hp, (first, top, low))


def _onecycle_momentum(s, hp):
    top, bottom = hp["max_momentum"], hp["base_momentum"]
    return _onecycle_walk(s, hp, (top, bottom, top))


def _onecycle_walk(s, hp, values):
    """torch's phases through values = (start, peak, end): start -> peak -> end, or with three
    phases start -> peak -> start -> end."""
    start, peak, end = values
    T = s["total_steps"]
    e = jnp.minimum(s["epoch"], T - 1.0)
    p = hp["pct_start"]
    two = _phases(hp, e, [(p * T - 1.0, start, peak), (T - 1.0, peak, end)])
    three = _phases(
        hp,
        e,
        [(p * T - 1.0, start, peak), (2.0 * p * T - 2.0, peak, start), (T - 1.0, start, end)],
    )
    return jnp.where(flag(hp["three_phase"]), three, two)


def _onecycle_check(hp):
    _check_lr_of_its_own(hp, "onecycle", ("max_lr",))
    if hp["total_steps"] == 0 and (hp["epochs"] > 0) != (hp["steps_per_epoch"] > 0):
        missing = "steps_per_epoch" if hp["epochs"] > 0 else "epochs"
        raise ValueError(
            f"schedule onecycle: {missing} is missing; give total_steps, or both epochs and "
            "steps_per_epoch (total_steps = epochs * steps_per_epoch), as torch's OneCycleLR requires"
        )
    total = hp["total_steps"] or hp["epochs"] * hp["steps_per_epoch"]
    if total > 0 and hp["pct_start"] * total == 1.0:
        raise ValueError(
            "schedule onecycle: pct_start * total_steps = 1 gives a warm-up of zero steps, "
            "where torch's OneCycleLR divides by zero; change pct_start or total_steps"
        )
    if total > 0 and hp["last_epoch"] + 1.0 > total:
        raise ValueError(
            f"schedule onecycle: last_epoch = {hp['last_epoch']:g} is past the cycle of {total:g} steps, "
            "where torch's OneCycleLR raises; use a last_epoch below total_steps"
        )


ONECYCLE = Schedule(
    name="onecycle",
    title="One cycle",
    hparams=(
        _lr_of_its_own(
            "max_lr",
            -1.0,
            "top of the cycle; when given, it wins over the racer's lr (as in torch)",
            r"\eta_{\max}",
        ),
        _int(
            "total_steps",
            0.0,
            0.0,
            1000.0,
            "steps in the cycle (0: epochs * steps_per_epoch, else the race's step budget)",
            min=0.0,
        ),
        _int(
            "epochs",
            0.0,
            0.0,
            100.0,
            "with steps_per_epoch, sets total_steps when it is 0 (0: not given)",
            min=0.0,
        ),
        _int(
            "steps_per_epoch",
            0.0,
            0.0,
            1000.0,
            "with epochs, sets total_steps when it is 0 (0: not given)",
            min=0.0,
        ),
        HParam("pct_start", 0.3, 0.0, 1.0, doc="fraction of the cycle spent warming up", min=0.0, max=1.0),
        HParam(
            "anneal_strategy",
            "cos",
            kind="choice",
            choices=("cos", "linear"),
            doc="shape of each phase",
        ),
        *_momentum_specs(0.85, 0.95),
        HParam(
            "div_factor",
            25.0,
            1.0,
            100.0,
            log=True,
            doc="initial lr = max_lr / div_factor",
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
        _last_epoch(),
    ),
    init=_onecycle_init,
    lr=_onecycle_lr,
    step=lambda s, base, hp, loss: _count(s),
    torch_name="OneCycleLR",
    latex=(
        r"\eta_t:\ \eta/d \nearrow \eta \searrow \eta/(d\,d_f),\quad "
        r"\mu_t:\ \mu_{\max} \searrow \mu_b \nearrow \mu_{\max}\ \text{(cosine or linear phases)}"
    ),
    check=_onecycle_check,
    momentum=_onecycle_momentum,
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
        _last_epoch(),
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
        _last_epoch(),
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
