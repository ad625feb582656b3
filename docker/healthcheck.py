"""The container's HEALTHCHECK: exit 0 when the server answers /liveness, 1 otherwise.

Slim images have no curl, so this uses the standard library. It reads the same variables as the
entrypoint, so a changed port or prefix is checked where the server really listens."""

from __future__ import annotations

import os
import sys
import urllib.request


def url(environ=os.environ) -> str:
    port = environ.get("PORT", "5006").strip() or "5006"
    prefix = environ.get("OPTIRACE_PREFIX", "").strip().strip("/")
    return f"http://127.0.0.1:{port}{'/' + prefix if prefix else ''}/liveness"


def main() -> int:
    try:
        with urllib.request.urlopen(url(), timeout=4) as r:
            return 0 if r.status == 200 else 1
    except OSError as e:
        print(f"unhealthy: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
