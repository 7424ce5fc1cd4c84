# pgask service image. Used by docker-compose.yaml with an external PostgreSQL (DATABASE_URL);
# the embedded server is not used in containers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PGASK_DATA_DIR=/data

WORKDIR /srv/pgask
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY ingest ./ingest
COPY migrations ./migrations
# git: the `git` source kind reads repositories through the git CLI (docs/sources.md).
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && pip install . \
    && useradd --create-home --uid 10001 pgask \
    && mkdir -p /data && chown pgask /data

USER pgask
EXPOSE 8000
# `pgask serve` applies migrations, then serves; the model is fetched into /data on first use.
CMD ["pgask", "serve"]
