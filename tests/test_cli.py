"""The `optirace` console script, run as a user would: in a subprocess."""

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import optimizers
from optirace.cli import main

ROOT = Path(__file__).resolve().parent.parent


def optirace(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.run(
        [sys.executable, "-m", "optirace.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_race_prints_an_aligned_table():
    out = optirace(
        "race",
        "--surface",
        "parabola",
        "--start",
        "0",
        "--steps",
        "60",
        "--racer",
        "gd:lr=0.3",
        "--racer",
        "sgd:lr=1e6,label=reckless",
        "--racer",
        "gd:lr=1e-5",
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("Parabola") and "60 steps" in lines[0] and "(0)" in lines[0]
    header, rule, *rows = lines[1:]
    assert header.split("  ")[0] == "racer"
    for name in ("spec", "final loss", "distance to min", "first step within 1e-06", "diverged at"):
        assert name in header
    assert set(rule.replace(" ", "")) == {"-"}
    assert len(rows) == 3
    # right-aligned numeric columns end where their headers end
    end = header.index("final loss") + len("final loss")
    for row in rows:
        assert row[end - 1] != " " and (len(row) == end or row[end] == " ")
    gd, reckless, slow = (re.split(r"\s{2,}", r.strip()) for r in rows)
    # gd with lr 0.3 reaches the minimum -1 at x = 2 and never diverges
    assert gd[:2] == ["gd", "gd:lr=0.3"]
    assert float(gd[2]) == pytest.approx(-1.0, abs=1e-12)
    assert float(gd[3]) == pytest.approx(0.0, abs=1e-9)
    assert int(gd[4]) >= 1 and gd[5] == "-"
    # the reckless racer diverges, and says when
    assert reckless[:2] == ["reckless", "sgd:lr=1e6,label=reckless"]
    assert int(reckless[5]) >= 1
    # the timid one neither reaches the minimum nor diverges
    assert slow[4] == "-" and slow[5] == "-"


def test_race_json_matches_the_engine():
    racers = ["adam:lr=0.05,beta1=0.8", "sgd:lr=0.001,momentum=0.9,schedule=step,schedule.step_size=50"]
    args = ["race", "--surface", "rosenbrock", "--steps", "200", "--start", "-1.2,1.0", "--json"]
    args += ["--noise", "0.01", "--seed", "5"]
    for r in racers:
        args += ["--racer", r]
    out = optirace(*args)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["surface"] == "rosenbrock" and data["steps"] == 200
    assert data["start"] == [-1.2, 1.0] and data["noise"] == 0.01 and data["seed"] == 5
    assert [r["spec"] for r in data["racers"]] == racers
    res = optimizers.race(
        "rosenbrock",
        [optimizers.parse_racer(r) for r in racers],
        start=(-1.2, 1.0),
        steps=200,
        noise=0.01,
        seed=5,
    )
    dist = res.distance()[:, -1]
    first = res.first_within(1e-6)
    for i, row in enumerate(data["racers"]):
        # Another process may compile differently (see engine.compile_loops_as_one_kernel): rounding.
        assert row["final_loss"] == pytest.approx(res.loss[i, -1], rel=1e-12)
        np.testing.assert_allclose(row["final_params"], res.params[i, -1], rtol=1e-12)
        assert row["distance"] == pytest.approx(dist[i], rel=1e-15)
        assert row["first_within"] == (None if first[i] < 0 else int(first[i]))
        assert row["diverged_at"] is None


def test_default_racers():
    out = optirace("race", "--surface", "quadratic", "--steps", "20", "--json")
    assert out.returncode == 0, out.stderr
    specs = [r["spec"] for r in json.loads(out.stdout)["racers"]]
    assert len(specs) == 2
    assert {s.partition(":")[0] for s in specs} == {"sgd", "adam"}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--surface", "nowhere"], r"surface: unknown surface 'nowhere'; known: .*rosenbrock"),
        (["--racer", "adamm:lr=0.1"], r"racer: unknown optimizer 'adamm'; known: .*adam"),
        (["--racer", "adam:betas=0.9"], r"adam: unknown hyperparameter 'betas'; allowed: .*beta1"),
        (["--racer", "sgd:lr=-1"], r"sgd: lr = -1.0 is not allowed; use .*0 <= lr"),
        (["--racer", "sgd:lr=fast"], r"sgd: lr = 'fast' is not a number"),
        (["--racer", "sgd:lr=0.1,schedule=sawtooth"], r"schedule: unknown schedule 'sawtooth'"),
        (["--racer", "sgd:lr"], r"'lr' is not key=value"),
        (["--start", "1,a"], r"--start '1,a' is not a point"),
        (["--start", "-1,2,3"], r"start = .*rosenbrock needs 2 coordinate"),
        (["--steps", "0"], r"steps = 0 is not allowed"),
        (["--steps", "many"], r"argument --steps: invalid int value: 'many'"),
        (["--noise", "-1"], r"noise = -1.0 is not allowed"),
        (["--batch-size", "4"], r"batch_size: rosenbrock is not a data surface"),
        (
            ["--surface", "quadratic", "--surface-param", "kappa=x"],
            r"surface_params: kappa = 'x' is not a number",
        ),
        (["--frobnicate"], r"unrecognized arguments: --frobnicate"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(args, message, capsys):
    """In-process for speed: an uncaught exception would fail the test just as a traceback would."""
    argv = ["race", *args] if "--steps" in args else ["race", "--steps", "5", *args]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("optirace: error: ")
    assert re.search(message, lines[0]), lines[0]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--surface", "nowhere"], r"surface: unknown surface 'nowhere'"),
        (["--racer", "adam:betas=0.9"], r"adam: unknown hyperparameter 'betas'"),
        (["--start", "-1,2,3"], r"start = .*rosenbrock needs 2 coordinate"),
        (["--steps", "many"], r"argument --steps: invalid int value: 'many'"),
    ],
)
def test_errors_from_the_console_script(args, message):
    out = optirace("race", *args)
    assert out.returncode == 2
    assert out.stdout == ""
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("optirace: error: "), out.stderr
    assert re.search(message, lines[0]), lines[0]


def test_no_command_is_a_usage_error():
    out = optirace()
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "optirace: error: the following arguments are required: COMMAND (see 'optirace --help')"
    ]


def test_help():
    top = optirace("--help")
    assert top.returncode == 0
    for word in ("race", "serve", "bench", "racer syntax", "schedule.step_size"):
        assert word in top.stdout
    race = optirace("race", "--help")
    assert race.returncode == 0
    for option in (
        "--surface",
        "--racer",
        "--steps",
        "--start",
        "--noise",
        "--seed",
        "--batch-size",
        "--json",
    ):
        assert option in race.stdout
    serve = optirace("serve", "--help")
    assert serve.returncode == 0 and "panel serve" in serve.stdout
    bench = optirace("bench", "--help")
    assert bench.returncode == 0 and "--repeats" in bench.stdout


@pytest.fixture(scope="module")
def quick_bench():
    out = optirace("bench", "--quick", "--repeats", "1", timeout=600)
    assert out.returncode == 0, out.stderr
    return out


def test_bench_quick_prints_every_figure(quick_bench):
    out = quick_bench
    for figure in (
        "race 8 racers x 100 steps",
        "optax scan, points + losses (constants)",
        "optax scan, points + losses (inject_hyperparams)",
        "optax scan, the same outputs as race()",
        "the same, each step packed in one row",
        "lr sweep 16 values x 100 steps",
        "basin map 16x16 x 100 steps",
    ):
        assert figure in out.stdout, figure


def test_bench_quick_races_torch_optim_to_the_same_points(quick_bench):
    # torch is installed only in the Python 3.11 job (scripts/test_py311.sh), which runs this test.
    if importlib.util.find_spec("torch") is None:
        assert "torch not installed" in quick_bench.stdout
        pytest.skip("torch (the peer) is installed only in the Python 3.11 job: bash scripts/test_py311.sh")
    out = quick_bench
    for figure in ("torch.optim, Python loop + autograd", "speedup ours vs torch.optim"):
        assert figure in out.stdout, figure
    gap = float(re.search(r"max \|ours - torch\| after 100 steps = (\S+)", out.stdout).group(1))
    assert gap < 1e-12  # the same rules as torch.optim (in float64), so the same points to rounding


def test_serve_runs_the_app():
    """`optirace serve` is `panel serve app.py` with the options passed through."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "optirace.cli",
            "serve",
            "--port",
            "0",
            "--address",
            "127.0.0.1",
            "--liveness",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        url, deadline, log = None, time.monotonic() + 90, []
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            log.append(line)
            match = re.search(r"Bokeh app running at: (http://127\.0\.0\.1:\d+)/", line)
            if match:
                url = match.group(1)
            assert proc.poll() is None or line, "".join(log)
        assert url, "".join(log)
        with urllib.request.urlopen(f"{url}/liveness", timeout=30) as resp:
            assert resp.status == 200
            assert json.loads(resp.read()) == {"/liveness": True}
        with urllib.request.urlopen(f"{url}/app", timeout=60) as resp:
            assert resp.status == 200
            assert b"<html" in resp.read().lower()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_race_table_reports_numbers_the_engine_computes():
    out = optirace(
        "race", "--surface", "himmelblau", "--steps", "300", "--racer", "gd:lr=0.01", "--start", "0,0"
    )
    assert out.returncode == 0, out.stderr
    row = re.split(r"\s{2,}", out.stdout.splitlines()[-1].strip())
    res = optimizers.race("himmelblau", [{"optimizer": "gd", "lr": 0.01}], start=(0.0, 0.0), steps=300)
    assert float(row[2]) == pytest.approx(res.loss[0, -1], rel=1e-5, abs=1e-12)  # printed to 6 digits
    assert float(row[3]) == pytest.approx(res.distance()[0, -1], rel=1e-5, abs=1e-12)
    assert int(row[4]) == res.first_within(1e-6)[0]
    assert np.isfinite(res.loss).all()
