"""What the image runs, run here: no Docker engine, so the lock file goes into a fresh venv, the
files the Dockerfile copies go into a fresh directory, and the Dockerfile's exact ENTRYPOINT + CMD
runs there with its ENV (only the port, the loopback address and the cache directory differ).
Then the course topology: two app processes behind nginx with the committed proxy config.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ARTIFACTS, AppPage, _free_port, wait_live

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from deployfile import NGINX, ROOT, Dockerfile, nginx_config, nginx_globals  # noqa: E402

pytestmark = pytest.mark.browser
DOCKERFILE = Dockerfile.read()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """A stand-in for the built image: (venv bin dir, app dir) from the lock and the COPY lines."""
    tmp = tmp_path_factory.mktemp("image")
    venv = tmp / "venv"
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "--require-hashes", "--no-deps", "-r", str(ROOT / "requirements.lock")],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert pip.returncode == 0, pip.stderr[-3000:]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "lock-install-seconds.txt").write_text(f"{time.monotonic() - t0:.1f}\n")
    app = tmp / "app"
    app.mkdir()
    for sources, dest in DOCKERFILE.copies():
        if dest.startswith("/"):
            continue  # the lock, installed above
        for src in sources:  # Docker's rules: a directory's contents go into dest
            if (ROOT / src).is_dir():
                shutil.copytree(ROOT / src, app / dest, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                target = app / dest / Path(src).name if dest.endswith("/") else app / dest
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(ROOT / src, target)
    return venv / "bin", app, tmp


def _run_image(image, port: int, cache: Path, extra_env: dict | None = None):
    bindir, app, tmp = image
    env = {"PATH": f"{bindir}{os.pathsep}/usr/bin:/bin", "HOME": str(tmp), "LANG": "C.UTF-8"}
    env.update(DOCKERFILE.env())
    env.update({"PORT": str(port), "OPTIRACE_ADDRESS": "127.0.0.1", "JAX_COMPILATION_CACHE_DIR": str(cache)})
    env.update(extra_env or {})
    log = ARTIFACTS / f"image-cmd-{port}.log"
    argv = DOCKERFILE.exec_form("ENTRYPOINT") + DOCKERFILE.exec_form("CMD")
    proc = subprocess.Popen(argv, cwd=app, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)  # noqa: SIM115
    return proc, log, env


def _jax_entries(cache: Path) -> set[str]:
    return {p.name for p in cache.iterdir()} if cache.exists() else set()


def test_the_images_command_serves_a_real_session(image, browser):
    _, app, tmp = image
    cache = tmp / "jax-cache"
    port = _free_port()
    proc, log, env = _run_image(image, port, cache)
    try:
        wait_live(f"http://127.0.0.1:{port}", proc, log)
        # The HEALTHCHECK, as Docker runs it: exec form, in the workdir, with the image's environment.
        health = subprocess.run(DOCKERFILE.exec_form("HEALTHCHECK"), cwd=app, env=env, timeout=30)
        assert health.returncode == 0
        # No BOKEH_ALLOW_WS_ORIGIN: Bokeh accepts only localhost:PORT, which is where a student on
        # `docker run -p 5006:5006` goes.
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        ui = AppPage(page, errors, []).open(f"http://localhost:{port}/app?play=1&loop=1")
        first = ui.shown_step()
        page.wait_for_timeout(1500)
        assert ui.shown_step() != first  # it animates
        assert "Rosenbrock" in ui.text() and not errors
        ui.screenshot("image-cmd-session")
        context.close()
        entries = _jax_entries(cache)
        assert entries, "the persistent compilation cache stayed empty"
        assert "Refusing websocket connection" not in log.read_text()
    finally:
        _stop(proc)
    # A restarted container: the same cache, and the first session compiles nothing new.
    port = _free_port()
    proc, log, _ = _run_image(image, port, cache)
    try:
        wait_live(f"http://127.0.0.1:{port}", proc, log)
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        AppPage(context.new_page(), [], []).open(f"http://localhost:{port}/app")
        context.close()
        assert _jax_entries(cache) == entries
    finally:
        _stop(proc)


def _websocket_handshake(port: int, token: str, origin: str) -> int:
    """The HTTP status of a Bokeh websocket handshake from `origin` (101: accepted)."""
    import base64
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/app/ws", headers={
        "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Protocol": f"bokeh, {token}", "Origin": origin,
    })  # fmt: skip
    status = conn.getresponse().status
    conn.close()
    return status


def test_the_image_refuses_websockets_from_other_origins(image):
    port = _free_port()
    proc, log, _ = _run_image(image, port, image[2] / "jax-cache")
    try:
        wait_live(f"http://127.0.0.1:{port}", proc, log)
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/app", timeout=60).read()
        token = re.search(rb'"token":"([^"]+)"', page).group(1).decode()
        assert _websocket_handshake(port, token, "http://elsewhere.example") == 403
        assert _websocket_handshake(port, token, f"http://course.example.org:{port}") == 403  # not named yet
        assert _websocket_handshake(port, token, f"http://localhost:{port}") == 101  # the default allowlist
    finally:
        _stop(proc)


def test_the_image_serves_under_a_prefix(image):
    """A shared host: OPTIRACE_PREFIX moves the app, /liveness and the HEALTHCHECK together."""
    port = _free_port()
    proc, log, env = _run_image(image, port, image[2] / "jax-cache", {"OPTIRACE_PREFIX": "/optirace"})
    try:
        wait_live(f"http://127.0.0.1:{port}/optirace", proc, log)
        health = subprocess.run(DOCKERFILE.exec_form("HEALTHCHECK"), cwd=image[1], env=env, timeout=30)
        assert health.returncode == 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/optirace/app", timeout=60) as r:
            assert r.status == 200 and b'"token"' in r.read()
    finally:
        _stop(proc)


# ----- the course topology: replicas behind nginx ------------------------------------------------
def _affinity_lines(log: Path) -> list[tuple[str, str, str]]:
    """(request, upstream, affinity key) for every request nginx logged."""
    out = []
    for line in log.read_text().splitlines():
        m = re.search(r'"(\S+ \S+) [^"]*" \d+ \d+ upstream=(\S+) affinity=(\S+)', line)
        if m:
            out.append(m.groups())
    return out


def _wait_tls(url: str, context, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    """wait_live over HTTPS, trusting the test's certificate."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/liveness", timeout=2, context=context) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"proxy did not come up: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.3)


def test_two_replicas_behind_nginx(browser, tmp_path):
    import ssl

    listen, plain = _free_port(), _free_port()
    origin = f"127.0.0.1:{listen}"
    apps, logs = [], []
    ports = [_free_port(), _free_port()]
    # One session key for all replicas, as docker-compose.yml asks.
    key = base64.urlsafe_b64encode(os.urandom(36)).decode()
    try:
        for port in ports:
            # The CMD's `panel` is this Python's (the image has one Python), not another on the PATH.
            env = {**os.environ, **DOCKERFILE.env(), "PORT": str(port), "OPTIRACE_ADDRESS": "127.0.0.1",
                   "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                   "BOKEH_ALLOW_WS_ORIGIN": origin, "OPTIRACE_USE_XHEADERS": "1", "BOKEH_SECRET_KEY": key,
                   "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "jax")}  # fmt: skip
            log = ARTIFACTS / f"replica-{port}.log"
            apps.append(subprocess.Popen([sys.executable, "docker/entrypoint.py", *DOCKERFILE.exec_form("CMD")],
                                         cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT))  # fmt: skip  # noqa: SIM115
            logs.append(log)
        for port, proc, log in zip(ports, apps, logs, strict=True):
            wait_live(f"http://127.0.0.1:{port}", proc, log)
        conf = nginx_config(tmp_path, plain, listen, ports)
        tls = ssl.create_default_context(cafile=str(tmp_path / "certs" / "fullchain.pem"))
        access = tmp_path / "access.log"
        nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf), "-g", nginx_globals(tmp_path)],
                                 stdout=open(access, "w"), stderr=subprocess.STDOUT)  # fmt: skip  # noqa: SIM115
        apps.append(nginx)
        base = f"https://{origin}"
        _wait_tls(base, tls, nginx, tmp_path / "logs" / "error.log")

        # New visitors (no cookie) spread over both replicas; each gets an affinity cookie.
        time.sleep(0.5)
        seen = len(_affinity_lines(access))
        cookies = []
        for _ in range(16):
            with urllib.request.urlopen(f"{base}/liveness", timeout=10, context=tls) as r:
                cookies.append(r.headers["Set-Cookie"])
        assert all(c and c.startswith("optirace_affinity=") for c in cookies)
        # A returning visitor keeps its replica and gets no new cookie.
        key = cookies[0].split(";")[0]
        for _ in range(6):
            req = urllib.request.Request(f"{base}/liveness", headers={"Cookie": key})
            with urllib.request.urlopen(req, timeout=10, context=tls) as r:
                assert r.headers["Set-Cookie"] is None
        time.sleep(0.5)  # nginx writes its access log line after the response
        lines = _affinity_lines(access)[seen:]
        fresh = {up for req, up, aff in lines[:16]}
        assert fresh == {f"127.0.0.1:{p}" for p in ports}, "cookie-less visitors all went to one replica"
        returning = {up for req, up, aff in lines[16:22]}
        assert len(returning) == 1 and returning == {lines[0][1]}

        # A real tab through the proxy: page, static files and the websocket (upgraded by nginx).
        # (The test's own certificate: Chromium is told to accept it.)
        context = browser.new_context(viewport={"width": 1280, "height": 720}, ignore_https_errors=True)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        ui = AppPage(page, errors, []).open(f"{base}/app?play=1&loop=1")
        first = ui.shown_step()
        page.wait_for_timeout(1500)
        assert ui.shown_step() != first and not errors
        ui.page.get_by_role("button", name="❚❚ Pause").click()
        page.wait_for_timeout(500)
        paused = ui.shown_step()
        page.wait_for_timeout(700)
        assert ui.shown_step() == paused  # the click went up the websocket through nginx
        context.close()
        time.sleep(0.5)
        tab = [(req, up) for req, up, aff in _affinity_lines(access)[seen + 22 :]]
        assert any(req.startswith("GET /app/ws") for req, _ in tab), "the websocket did not go through nginx"
        assert len({up for _, up in tab}) == 1, f"one tab's requests reached both replicas: {tab}"
    finally:
        for proc in apps:
            _stop(proc)
