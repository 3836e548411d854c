# immybot-slack container image.
#   docker build -t immybot-slack .
#   docker run --env-file .env -v immybot-data:/data -p 3000:3000 immybot-slack          # starts `run`
#   docker run --env-file .env -v immybot-data:/data immybot-slack doctor                # any other command
# The audit database lives on the /data volume (AUDIT_DB); back it up (README → Operations).

# ---- builder: resolve every dependency from pyproject.toml into wheels, install them into a venv ----
FROM python:3.11-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot

# Every dependency ships binary wheels for linux/amd64 and arm64, so no compiler is needed here either.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip wheel --no-cache-dir --wheel-dir /wheels . \
    && /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /wheels immybot-slack

# ---- runtime: the venv only; no compilers, no pip cache, no sources; a non-root user ----
FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AUDIT_DB=/data/immybot-slack.db \
    PORT=3000

RUN groupadd --system --gid 10001 immybot \
    && useradd --system --uid 10001 --gid immybot --home-dir /data --shell /usr/sbin/nologin immybot \
    && mkdir -p /data \
    && chown immybot:immybot /data

COPY --from=builder /opt/venv /opt/venv

USER 10001:10001
WORKDIR /data
VOLUME /data
EXPOSE 3000

# /healthz answers 503 when the database, the Slack token or the ImmyBot token is unusable; urlopen
# raises on any status >= 400, so the check fails. Slim images have no curl: python does the request.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]

ENTRYPOINT ["immybot-slack"]
CMD ["run"]
