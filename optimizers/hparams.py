"""Shared hyperparameter specs, so each name means one thing across every optimizer.

Names are torch.optim's with the tuples split (`betas` -> `beta1`, `beta2`). Legal ranges are what
torch.optim accepts; `lo`/`hi` are only the slider's display range.
"""

from .spec import HParam


def lr(default: float, lo: float = 1e-5, hi: float = 1.0) -> HParam:
    return HParam("lr", default, lo, hi, log=True, symbol=r"\eta", doc="learning rate", min=0.0)


def momentum(default: float = 0.0, doc: str = "momentum factor") -> HParam:
    return HParam("momentum", default, 0.0, 0.999, symbol=r"\mu", doc=doc, min=0.0)


def weight_decay(default: float = 0.0, doc: str = "L2 penalty added to the gradient") -> HParam:
    return HParam("weight_decay", default, 0.0, 0.1, symbol=r"\lambda", doc=doc, min=0.0)


def eps(default: float, doc: str = "term added for numerical stability") -> HParam:
    return HParam("eps", default, 1e-12, 1e-1, log=True, symbol=r"\epsilon", doc=doc, min=0.0)


def beta1(
    default: float = 0.9,
    doc: str = "decay rate of the first moment (mean of gradients)",
) -> HParam:
    return HParam(
        "beta1",
        default,
        0.0,
        0.999,
        symbol=r"\beta_1",
        doc=doc,
        min=0.0,
        max=1.0,
        max_open=True,
    )


def beta2(
    default: float = 0.999,
    doc: str = "decay rate of the second moment (mean of squared gradients)",
) -> HParam:
    return HParam(
        "beta2",
        default,
        0.0,
        0.9999,
        symbol=r"\beta_2",
        doc=doc,
        min=0.0,
        max=1.0,
        max_open=True,
    )


def boolean(name: str, default: bool, doc: str, symbol: str = "") -> HParam:
    return HParam(name, default, 0.0, 1.0, kind="bool", doc=doc, symbol=symbol)


def maximize() -> HParam:
    return boolean("maximize", False, "ascend instead of descend (negates the gradient)")


def decoupled_weight_decay(default: bool = False) -> HParam:
    return boolean(
        "decoupled_weight_decay",
        default,
        "decay the weights directly by lr * weight_decay (AdamW style) instead of adding to the gradient",
    )


def convention(name: str, doc: str, *choices: tuple[str, str]) -> HParam:
    """A choice between the conventions papers and frameworks write one rule in.

    `choices` are (value, one sentence: what differs and why the paths part); the first is the
    default and is torch.optim's convention, so a racer that does not name it steps as torch does.
    """
    values = tuple(v for v, _ in choices)
    return HParam(
        name, values[0], kind="choice", choices=values, choice_docs=tuple(d for _, d in choices), doc=doc
    )
