"""What the Dockerfile says, read the way Docker reads it: the deploy tests run exactly this.

Only the instructions the image uses are understood (FROM, RUN, COPY, ENV, USER, WORKDIR, EXPOSE,
HEALTHCHECK, ENTRYPOINT, CMD); line continuations are joined, exec forms are JSON.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # Debian installs it in /usr/sbin


@dataclass
class Dockerfile:
    instructions: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path = ROOT / "Dockerfile") -> Dockerfile:
        lines, current = [], ""
        for raw in path.read_text().splitlines():
            stripped = raw.strip()
            if not current and (not stripped or stripped.startswith("#")):
                continue
            if stripped.startswith("#"):
                continue  # a comment inside a continued instruction
            if stripped.endswith("\\"):
                current += stripped[:-1] + " "
                continue
            lines.append(current + stripped)
            current = ""
        out = cls()
        for line in lines:
            word, _, rest = line.partition(" ")
            out.instructions.append((word.upper(), rest.strip()))
        return out

    def all(self, word: str) -> list[str]:
        return [rest for w, rest in self.instructions if w == word]

    def one(self, word: str) -> str:
        found = self.all(word)
        assert len(found) == 1, f"expected one {word}, found {len(found)}"
        return found[0]

    def exec_form(self, word: str) -> list[str]:
        """ENTRYPOINT/CMD/HEALTHCHECK's CMD as an argv; raises if it is not exec (JSON) form."""
        text = self.one(word)
        if word == "HEALTHCHECK":
            text = text[text.index("CMD") + 3 :].strip()
        argv = json.loads(text)
        assert isinstance(argv, list) and all(isinstance(a, str) for a in argv)
        return argv

    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for rest in self.all("ENV"):
            for item in shlex.split(rest):
                key, sep, value = item.partition("=")
                assert sep, f"ENV {item!r} is not KEY=VALUE"
                out[key] = value
        return out

    def copies(self) -> list[tuple[list[str], str]]:
        """(sources, destination) of every COPY, without its --flags."""
        out = []
        for rest in self.all("COPY"):
            parts = [p for p in shlex.split(rest) if not p.startswith("--")]
            out.append((parts[:-1], parts[-1]))
        return out


def image_env(dockerfile: Dockerfile, **overrides: str) -> dict[str, str]:
    """The environment the image's ENTRYPOINT + CMD run with here: this machine's (without its
    BOKEH_, OPTIRACE_ and JAX_ settings), the Dockerfile's ENV, `overrides`, and this interpreter's
    directory first on PATH. In the image `python` and the `panel` its CMD names are one
    installation's; here the interpreter may be a virtual environment no PATH names (a fresh CI
    machine: the entrypoint found no `panel`), and the server must be that environment's, not
    whatever else the PATH holds."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BOKEH_", "OPTIRACE_", "JAX_"))}
    path = os.pathsep.join(p for p in (str(Path(sys.executable).parent), clean.get("PATH", "")) if p)
    return {**clean, **dockerfile.env(), "PATH": path, **overrides}


def self_signed_cert(tmp: Path) -> Path:
    """A throwaway certificate for localhost and 127.0.0.1 (openssl CLI); returns its directory,
    holding fullchain.pem and privkey.pem as docker/nginx.conf expects. Trust fullchain.pem."""
    certs = tmp / "certs"
    certs.mkdir(exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(certs / "privkey.pem"), "-out", str(certs / "fullchain.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return certs


def nginx_config(tmp: Path, http: int, https: int, upstreams: list[int]) -> Path:
    """docker/nginx.conf with only its listen ports, upstream servers, certificate directory and
    scratch directory swapped for loopback ports and `tmp` (the pid file goes to nginx_globals)."""
    text = (ROOT / "docker" / "nginx.conf").read_text()
    servers = " ".join(f"server 127.0.0.1:{p};" for p in upstreams)
    swaps = [
        (r"server app:5006;[^\n]*", servers),
        (r"listen 8080;", f"listen 127.0.0.1:{http};"),
        (r"listen 8443 ssl;", f"listen 127.0.0.1:{https} ssl;"),
        (r"\npid /tmp/nginx.pid;", ""),
        (r" /tmp/", f" {tmp}/"),
        (r"/etc/nginx/certs/", f"{self_signed_cert(tmp)}/"),
    ]
    for pattern, replacement in swaps:
        text, n = re.subn(pattern, replacement, text)
        assert n >= 1, f"nginx.conf no longer has {pattern!r}, which the tests swap"
    shutil.copy("/etc/nginx/mime.types", tmp / "mime.types")
    (tmp / "logs").mkdir(exist_ok=True)
    path = tmp / "nginx.conf"
    path.write_text(text)
    return path


def nginx_globals(tmp: Path) -> str:
    return f"pid {tmp}/nginx.pid; error_log {tmp}/logs/error.log; daemon off;"
