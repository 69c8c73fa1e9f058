# syntax=docker/dockerfile:1
#
# requestbot: build with `docker build -t requestbot .` from the repository root.
# Runs `requestbot serve` in HTTP mode on port 3000 as a non-root user. The default
# database is SQLite in the /data volume; set DATABASE_URL to PostgreSQL for more than
# one replica (see deploy/).

# Build stage: install the package and its dependencies into a virtualenv, so the runtime
# image carries neither the source tree nor pip's build leftovers.
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot/ bot/
COPY models/ models/
COPY migrations/ migrations/
RUN pip install --no-cache-dir .


FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    DATABASE_URL=sqlite:////data/requestbot.db

# A fixed numeric uid/gid, so Kubernetes' runAsNonRoot can verify it.
RUN groupadd --system --gid 10001 requestbot \
    && useradd --system --uid 10001 --gid requestbot --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin requestbot \
    && mkdir /data \
    && chown requestbot:requestbot /data

COPY --from=build /opt/venv /opt/venv

# Declared after the chown above: a fresh named volume copies /data's ownership.
VOLUME ["/data"]
WORKDIR /data
USER 10001:10001

EXPOSE 3000

# slim has no curl: ask /healthz with the standard library. urlopen raises on any
# non-2xx answer or connection error, which exits non-zero.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4)"]

CMD ["requestbot", "serve", "--host", "0.0.0.0"]
