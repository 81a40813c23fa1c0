# syntax=docker/dockerfile:1
# Build: docker build -t campaign-analytics .
# Run:   docker run -p 8080:8080 campaign-analytics   (serves the baked-in sample data)
# The same image runs every role of docker-compose.yml (API, scheduler, migrate, load, and
# the benchmark service, whose SQLite file lives in /var/lib/benchmarks, a volume there).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# The locked, hashed runtime set first (its own layer, rebuilt only when the lock changes),
# then the project itself without dependencies; `pip check` proves the set is complete.
COPY requirements/runtime.txt ./requirements/runtime.txt
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --require-hashes -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY src ./src
COPY sql ./sql
COPY migrations ./migrations
RUN /opt/venv/bin/pip install --no-deps . \
    && /opt/venv/bin/pip check

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DATA_DIR=/app/data/visible \
    BENCHMARK_FIXTURES_FILE=/app/data/visible/benchmarks.json
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin analytics \
    && install -d -o analytics -g analytics /var/lib/benchmarks
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --chown=analytics:analytics data/visible /app/data/visible
USER analytics
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import json, sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=2); sys.exit(0 if json.load(r)['database'] == 'ok' else 1)"]
CMD ["analytics", "serve", "--host", "0.0.0.0", "--port", "8080"]
