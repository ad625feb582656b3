"""The container's entrypoint: turn environment variables into `panel serve` options, then exec it.

Bokeh reads a few settings from the environment itself (`BOKEH_ALLOW_WS_ORIGIN`, `BOKEH_SECRET_KEY`,
`BOKEH_SIGN_SESSIONS`); `panel serve` has no variable for the rest, so this adds them:

    PORT                                --port                        (default 5006)
    OPTIRACE_ADDRESS                    --address                     (the image sets 0.0.0.0)
    OPTIRACE_PREFIX                     --prefix                      (e.g. /optirace behind a shared host)
    OPTIRACE_NUM_PROCS                  --num-procs                   (default 1: scale with replicas)
    OPTIRACE_SESSION_TOKEN_EXPIRATION   --session-token-expiration    (seconds)
    OPTIRACE_UNUSED_SESSION_LIFETIME    --unused-session-lifetime     (milliseconds)
    OPTIRACE_USE_XHEADERS=1             --use-xheaders                (behind a reverse proxy)

An option already on the command line wins over its variable. Commands other than `panel serve`
run unchanged, so `docker run IMAGE python -c ...` still works.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

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
    if kind == "count" and number < 0:
        raise ValueError(f"{name}={number} must be >= 0 (0 means one process per core)")
    if kind == "positive" and number <= 0:
        raise ValueError(f"{name}={number} must be > 0")
    return str(number)


def _given(argv: list[str], option: str) -> bool:
    return any(a == option or a.startswith(option + "=") for a in argv)


def check_origins(environ: Mapping[str, str]) -> None:
    """Refuse a wildcard origin: it would let any web page open sessions on this server."""
    origins = [o.strip() for o in environ.get("BOKEH_ALLOW_WS_ORIGIN", "").split(",") if o.strip()]
    if any("*" in o for o in origins):
        raise ValueError(
            "BOKEH_ALLOW_WS_ORIGIN must list the host names students use (e.g. course.example.org), "
            "not a wildcard"
        )


def command(argv: list[str], environ: Mapping[str, str]) -> list[str]:
    """The command to exec: argv, plus the options the environment sets when argv is `panel serve`."""
    if argv[:2] != ["panel", "serve"]:
        return list(argv)
    check_origins(environ)
    for i, arg in enumerate(argv):
        if arg == "--allow-websocket-origin" and i + 1 < len(argv):
            origin = argv[i + 1]
        elif arg.startswith("--allow-websocket-origin="):
            origin = arg.partition("=")[2]
        else:
            continue
        if "*" in origin:
            raise ValueError("--allow-websocket-origin must name hosts, not a wildcard")
    out = list(argv)
    for name, option, kind in SPEC:
        raw = environ.get(name)
        if raw is None or _given(argv, option):
            continue
        value = _check(kind, name, raw)
        if value:
            out += [option, value]
    for name, flag in FLAGS:
        if environ.get(name, "").strip().lower() in TRUE and not _given(argv, flag):
            out.append(flag)
    return out


def main() -> None:
    argv = sys.argv[1:] or ["panel", "serve", "app.py", "--liveness"]
    try:
        cmd = command(argv, os.environ)
    except ValueError as e:
        sys.exit(f"optirace: {e}")
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main()
