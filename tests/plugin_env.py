"""Environments with plug-ins installed, shared by the plug-in tests (tests/test_plugins.py and
tests/browser/test_plugins_served.py): a fresh venv holding the example plug-in, and a directory of
deliberately broken plug-ins (a distribution's metadata with entry points, as pip would install it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "optirace-example-plugin"


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def env(*paths: Path) -> dict[str, str]:
    """The environment a plug-in run gets: this checkout (and `paths`) first on the import path."""
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join([*map(str, paths), str(ROOT)])
    out.setdefault("JAX_PLATFORMS", "cpu")
    return out


def example_venv(where: Path) -> Path:
    """A fresh venv (seeing this interpreter's packages) with the example plug-in pip-installed from
    a copy of its source (a build must not leave files in the checkout). Returns its python."""
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
                   check=True)  # fmt: skip
    python = venv_python(venv)
    if sys.prefix != sys.base_prefix:
        # Run from a venv (the primary stack's .venv/), `--system-site-packages` sees the base
        # interpreter's packages, not this one's: a .pth line adds this interpreter's site
        # directories, whose own .pth files (the editable optirace) are then read too.
        inner = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip
        dirs = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
        Path(inner, "outer_site.pth").write_text(
            "".join(f"import site; site.addsitedir({d!r})\n" for d in dirs)
        )
    source = shutil.copytree(EXAMPLE, where / "example-src")
    # --without-pip: the system's pip (seen through --system-site-packages) installs into the venv.
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(source)],
        check=True, env=env(), cwd=where,
    )  # fmt: skip
    return python


BROKEN_MODULE = "raise RuntimeError('this plug-in is broken on purpose')\n"

BAD_PLUGINS = textwrap.dedent(
    '''
    """Plug-ins that break the contract in each way the loader names, and two good ones."""
    import dataclasses

    import jax.numpy as jnp

    from optimizers import Optimizer, hparams
    from surfaces import SURFACES, Surface

    NOT_A_SURFACE = "a string"
    ROSENBROCK = dataclasses.replace(SURFACES["rosenbrock"])  # a built-in's name
    NO_DESCRIPTION = dataclasses.replace(SURFACES["booth"], name="no_description", description="")
    OTHER_NAME = dataclasses.replace(SURFACES["booth"], name="something_else")
    NOT_JAX = dataclasses.replace(SURFACES["booth"], name="not_jax", fn=lambda x: float(x[0]))
    GOOD_BOWL = Surface(
        name="good_bowl", title="Good bowl", fn=lambda x: jnp.sum(x * x), dim=2,
        domain=((-2.0, 2.0), (-2.0, 2.0)), minima=((0.0, 0.0),), start=(1.5, 1.0),
        formula="f(x, y) = x^2 + y^2", description="A round bowl.",
    )

    def _gd(p, g, state, hp, ctx):
        """Gradient descent (Cauchy 1847)."""
        return p - ctx.lr * g, state

    BAD_LR = Optimizer(name="bad_lr", title="Bad", hparams=(hparams.lr(0.1),), init=lambda p, hp: {},
                       update=_gd, latex="x", source="Cauchy 1847", lr_name="nope")
    NO_SOURCE = Optimizer(name="no_source", title="No source", hparams=(hparams.lr(0.1),),
                          init=lambda p, hp: {}, update=_gd, latex="x", source="")
    GOOD_GD = Optimizer(name="good_gd", title="Good GD", hparams=(hparams.lr(0.1),),
                        init=lambda p, hp: {}, update=_gd, latex="x", source="Cauchy 1847")
    '''
)

ENTRY_POINTS = textwrap.dedent(
    """
    [optirace.surfaces]
    broken = broken_plugin_module:ANYTHING
    not_a_surface = bad_plugins:NOT_A_SURFACE
    rosenbrock = bad_plugins:ROSENBROCK
    no_description = bad_plugins:NO_DESCRIPTION
    misnamed = bad_plugins:OTHER_NAME
    not_jax = bad_plugins:NOT_JAX
    good_bowl = bad_plugins:GOOD_BOWL

    [optirace.optimizers]
    broken_opt = broken_plugin_module:ANYTHING
    adam = bad_plugins:GOOD_GD
    bad_lr = bad_plugins:BAD_LR
    no_source = bad_plugins:NO_SOURCE
    good_gd = bad_plugins:GOOD_GD
    """
)


def broken_plugins(where: Path) -> Path:
    """A directory that, on the import path, installs the plug-ins above (as a wheel would: modules
    plus a .dist-info with METADATA and entry_points.txt). Returns it."""
    site = where / "plugins-site"
    info = site / "demo_broken_plugins-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-broken-plugins\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    (site / "broken_plugin_module.py").write_text(BROKEN_MODULE)
    (site / "bad_plugins.py").write_text(BAD_PLUGINS)
    return site
