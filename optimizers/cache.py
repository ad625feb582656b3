"""JAX's persistent compilation cache, switched on from the environment.

A server process compiles each racer structure once (about 0.3 s each); a restarted container would
compile them all again before its first sessions got a frame. With a cache directory the compiled
programs are written to disk and read back by the next process.

`OPTIRACE_JAX_CACHE` (or JAX's own `JAX_COMPILATION_CACHE_DIR`) names the directory. JAX alone
would only store programs that took over a second to compile, which is none of ours, so the
threshold drops to zero unless `JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS` says otherwise.
Importing this module applies the setting; it must happen before the first compile.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import jax

__all__ = ["cache_dir", "enable_from_env"]

ENV_VARS = ("OPTIRACE_JAX_CACHE", "JAX_COMPILATION_CACHE_DIR")


def cache_dir(environ: os._Environ | dict | None = None) -> Path | None:
    """The directory the environment names for the cache, or None when none is named."""
    env = os.environ if environ is None else environ
    for name in ENV_VARS:
        value = env.get(name, "").strip()
        if value:
            return Path(value).expanduser()
    return None


def enable_from_env() -> Path | None:
    """Point JAX's persistent cache at the named directory; returns it, or None if caching stays off.

    An unusable directory (read-only volume, wrong owner) costs only the cache, never the server:
    JAX then compiles in memory as it does without one, and a warning says why."""
    path = cache_dir()
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        warnings.warn(f"JAX compilation cache disabled: {path} is not writable ({e})", stacklevel=2)
        return None
    jax.config.update("jax_compilation_cache_dir", str(path))
    if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return path


enable_from_env()
