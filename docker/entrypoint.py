"""The container's entrypoint: turn environment variables into `panel serve` options, then exec it.

Bokeh reads a few settings from the environment itself (`BOKEH_ALLOW_WS_ORIGIN`, `BOKEH_SECRET_KEY`,
`BOKEH_SIGN_SESSIONS`); `panel serve` has no variable for the rest, so this adds them:

    PORT                                --port                        (default 5006)
    OPTIRACE_ADDRESS                    --address                     (the image sets 0.0.0.0)
    OPTIRACE_PREFIX                     --prefix                      (e.g. /optirace behind a shared host)
    OPTIRACE_NUM_PROCS                  --num-procs                   (default 1: scale with replicas; at most 32)
    OPTIRACE_SESSION_TOKEN_EXPIRATION   --session-token-expiration    (seconds)
    OPTIRACE_UNUSED_SESSION_LIFETIME    --unused-session-lifetime     (milliseconds)
    OPTIRACE_USE_XHEADERS=1             --use-xheaders                (behind a reverse proxy)
    OPTIRACE_FRAME_ANCESTORS            the CSP's frame-ancestors     (unset: any page may embed the app)

An option already on the command line wins over its variable. `panel serve` always gets
`--plugins optirace.serve_plugin` (security headers, strict websocket origin check). Sessions are
signed unless BOKEH_SIGN_SESSIONS says otherwise: with BOKEH_SECRET_KEY when given, else with a
random key made here for this container. What the server finally receives is parsed with
`panel serve`'s own option definitions, abbreviations included, and checked. Commands other than
`panel serve` run unchanged, so `docker run IMAGE python -c ...` still works.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path

# The app's own modules (optirace.server_security) live next to docker/, as in the repository.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# (variable, option, check): check returns the option's value or raises ValueError with why.
SPEC = (
    ("PORT", "--port", "port"),
    ("OPTIRACE_ADDRESS", "--address", "text"),
    ("OPTIRACE_PREFIX", "--prefix", "prefix"),
    ("OPTIRACE_NUM_PROCS", "--num-procs", "count"),
    ("OPTIRACE_SESSION_TOKEN_EXPIRATION", "--session-token-expiration", "positive"),
    ("OPTIRACE_UNUSED_SESSION_LIFETIME", "--unused-session-lifetime", "positive"),
)
FLAGS = (("OPTIRACE_USE_XHEADERS", "--use-xheaders"),)
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")
PLUGIN = "optirace.serve_plugin"
# More processes than this is a typo, not a plan: each holds the app (~300 MB) and the class is
# better served by replicas (docs/deploy.md).
MAX_NUM_PROCS = 32
# host, IPv4 or [IPv6], then an optional :port; nothing else reaches Bokeh's allow-list.
_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*)(:(\d{1,5}))?")  # fmt: skip


def _check(kind: str, name: str, raw: str) -> str:
    value = raw.strip()
    if kind == "text":
        if not value:
            raise ValueError(f"{name} is empty")
        return value
    if kind == "prefix":
        return "/" + value.strip("/") if value.strip("/") else ""
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a whole number") from None
    if kind == "port" and not 1 <= number <= 65535:
        raise ValueError(f"{name}={number} is not a TCP port (1..65535)")
    if kind == "count" and not 0 <= number <= MAX_NUM_PROCS:
        raise ValueError(f"{name}={number} must be 0..{MAX_NUM_PROCS} (0 means one process per core)")
    if kind == "positive" and number <= 0:
        raise ValueError(f"{name}={number} must be > 0")
    return str(number)


def check_origin(name: str, origin: str) -> None:
    """One allow-list entry: host[:port], as Bokeh compares it with a page's Origin."""
    if "*" in origin:
        raise ValueError(
            f"{name} must list the host names students use (e.g. course.example.org), not a wildcard"
        )
    m = _HOST_PORT.fullmatch(origin)
    if m is None:
        raise ValueError(
            f"{name}={origin!r}: give host[:port], e.g. course.example.org or course.example.org:8080, "
            "without a scheme (http://) or a path; Bokeh would refuse every websocket otherwise"
        )
    if m.group(6) is not None and not 1 <= int(m.group(6)) <= 65535:
        raise ValueError(f"{name}={origin!r}: {m.group(6)} is not a TCP port (1..65535)")


def check_origins(environ: Mapping[str, str]) -> None:
    """BOKEH_ALLOW_WS_ORIGIN, which Bokeh reads itself and which replaces the command line's list."""
    for origin in environ.get("BOKEH_ALLOW_WS_ORIGIN", "").split(","):
        if origin.strip():
            check_origin("BOKEH_ALLOW_WS_ORIGIN", origin.strip())


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's documented hook: raise instead of exiting
        raise ValueError(f"panel serve: {message}")


def parser() -> argparse.ArgumentParser:
    """`panel serve`'s own argument parser: the same options, defaults and abbreviation rules."""
    from panel.command.serve import Serve

    p = _Parser(prog="panel serve", exit_on_error=False)
    Serve(parser=p)
    return p


def _options() -> list[str]:
    from panel.command.serve import Serve

    out = []
    for flags, _ in Serve.args:
        out += [f for f in (flags if isinstance(flags, tuple) else (flags,)) if f.startswith("--")]
    return out


def canonical(argv: list[str]) -> list[str]:
    """argv with every abbreviated option spelled out, as argparse would resolve it; so
    `--allow-websocket-orig=*` is seen as `--allow-websocket-origin=*`. Tokens after `--args`
    belong to the app and stay as they are."""
    options = _options()
    out = list(argv[:2])
    for i, arg in enumerate(argv[2:], start=2):
        if arg in ("--args", "--"):
            return out + argv[i:]
        name, eq, value = arg.partition("=")
        if arg.startswith("--") and name not in options:
            matches = [o for o in options if o.startswith(name)]
            if len(matches) == 1:
                arg = matches[0] + eq + value
        out.append(arg)
    return out


def _given(argv: list[str], option: str) -> bool:
    return any(a == option or a.startswith(option + "=") for a in argv)


def resolve(argv: list[str]) -> argparse.Namespace:
    """The options `panel serve` will act on, however they were spelled (unknown ones it refuses itself)."""
    try:
        return parser().parse_known_args(argv[2:])[0]
    except argparse.ArgumentError as e:
        raise ValueError(f"panel serve {e}") from None


def check_resolved(argv: list[str], environ: Mapping[str, str]) -> None:
    """Check the values `panel serve` will act on, however they were spelled."""
    from optirace.server_security import frame_ancestors

    args = resolve(argv)
    for origin in args.allow_websocket_origin or []:
        check_origin("--allow-websocket-origin", origin)
    check_origins(environ)
    if args.port is not None and not 0 <= args.port <= 65535:
        raise ValueError(f"--port {args.port} is not a TCP port (0..65535)")
    if args.num_procs is not None and not 0 <= args.num_procs <= MAX_NUM_PROCS:
        raise ValueError(f"--num-procs {args.num_procs} must be 0..{MAX_NUM_PROCS} (0 means one per core)")
    for option, value in (("--session-token-expiration", args.session_token_expiration),
                          ("--unused-session-lifetime", args.unused_session_lifetime)):  # fmt: skip
        if value is not None and value <= 0:
            raise ValueError(f"{option} {value} must be > 0")
    if PLUGIN not in (args.plugins or []):
        raise ValueError(f"--plugins {PLUGIN} is missing")
    frame_ancestors(environ)


def command(argv: list[str], environ: Mapping[str, str]) -> list[str]:
    """The command to exec: argv, plus the options the environment sets when argv is `panel serve`."""
    if argv[:2] != ["panel", "serve"]:
        return list(argv)
    out = canonical(argv)
    given = list(out)
    for name, option, kind in SPEC:
        raw = environ.get(name)
        if raw is None or _given(given, option):
            continue
        value = _check(kind, name, raw)
        if value:
            out += [option, value]
    for name, flag in FLAGS:
        if environ.get(name, "").strip().lower() in TRUE and not _given(given, flag):
            out.append(flag)
    if PLUGIN not in (resolve(out).plugins or []):
        out += ["--plugins", PLUGIN]
    check_resolved(out, environ)
    return out


def environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The server's environment: sessions signed unless BOKEH_SIGN_SESSIONS turns it off, with
    BOKEH_SECRET_KEY or else a random key for this container (see docs/deploy.md on replicas)."""
    env = dict(environ)
    sign = env.get("BOKEH_SIGN_SESSIONS", "").strip().lower()
    if sign not in ("", *TRUE, *FALSE):
        raise ValueError(f"BOKEH_SIGN_SESSIONS={env['BOKEH_SIGN_SESSIONS']!r} is not true or false")
    if sign in FALSE:
        return env
    env["BOKEH_SIGN_SESSIONS"] = "true"
    key = env.get("BOKEH_SECRET_KEY", "")
    if not key:
        env["BOKEH_SECRET_KEY"] = secrets.token_urlsafe(48)
    elif len(key) < 32:
        raise ValueError("BOKEH_SECRET_KEY must be at least 32 characters (`bokeh secret` makes one)")
    return env


def main() -> None:
    argv = sys.argv[1:] or ["panel", "serve", "app.py", "--liveness"]
    try:
        cmd = command(argv, os.environ)
        env = environment(os.environ) if argv[:2] == ["panel", "serve"] else dict(os.environ)
    except ValueError as e:
        sys.exit(f"optirace: {e}")
    os.execvpe(cmd[0], cmd, env)


if __name__ == "__main__":
    main()
