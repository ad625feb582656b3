# OptiRace for a course: `docker build -t optirace . && docker run -p 5006:5006 optirace`,
# then open http://localhost:5006/app. Scaling out to a class, Kubernetes and Hugging Face Spaces:
# docs/deploy.md. Every setting is an environment variable (docker/entrypoint.py lists them).
FROM python:3.12-slim-bookworm

# The runtime dependencies come only from the committed lock: exact versions, checked hashes, no
# resolver at build time. Regenerate it with the command at its top, run under Python 3.12 (the
# image's), when pyproject.toml changes.
COPY requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir --disable-pip-version-check --require-hashes --no-deps \
        -r /tmp/requirements.lock \
    && rm /tmp/requirements.lock

# UID 1000: Hugging Face Spaces runs containers as this user, and nothing here needs root.
RUN useradd --create-home --uid 1000 --shell /usr/sbin/nologin user \
    && mkdir -p /home/user/.cache/jax \
    && chown -R user:user /home/user/.cache
USER 1000:1000
WORKDIR /home/user/app

# JAX on CPU in float64 (the trajectories are what the tool teaches). The persistent compilation
# cache keeps compiled racers across restarts; JAX would only keep programs that took over a second
# to compile, and ours take about 0.3 s, hence the zero threshold. Mount a volume on the cache
# directory to keep it across re-created containers too.
# PYTHONMALLOC=malloc: Python's small-object arenas stay pinned by a few survivors after tabs close
# (the replica kept +47% of its baseline memory after 40 tabs); with glibc's allocator and the
# app's malloc_trim it falls back to within 6% (python benchmarks/load.py), for ~5% more per frame.
# The websocket origin check stays on: BOKEH_ALLOW_WS_ORIGIN is unset, so Bokeh accepts only
# localhost:$PORT until the deployment names its host(s), e.g. BOKEH_ALLOW_WS_ORIGIN=course.example.org.
# The plugin in CMD checks it on every upgrade and adds the security headers; the entrypoint signs
# sessions (BOKEH_SECRET_KEY, or a random key per container) and checks the final options.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONMALLOC=malloc \
    JAX_PLATFORMS=cpu \
    JAX_ENABLE_X64=1 \
    JAX_COMPILATION_CACHE_DIR=/home/user/.cache/jax \
    JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 \
    PORT=5006 \
    OPTIRACE_ADDRESS=0.0.0.0 \
    OPTIRACE_PREFIX= \
    OPTIRACE_NUM_PROCS=1

COPY --chown=1000:1000 app.py ./
COPY --chown=1000:1000 optimizers/ optimizers/
COPY --chown=1000:1000 surfaces/ surfaces/
COPY --chown=1000:1000 optirace/ optirace/
COPY --chown=1000:1000 static/ static/
COPY --chown=1000:1000 docker/entrypoint.py docker/healthcheck.py docker/

EXPOSE 5006
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "docker/healthcheck.py"]
ENTRYPOINT ["python", "docker/entrypoint.py"]
CMD ["panel", "serve", "app.py", "--liveness", "--static-dirs", "assets=static", "--plugins", "optirace.serve_plugin"]
