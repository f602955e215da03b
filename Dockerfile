# Asgard Basis: one image for the API, the workers and the one-shot jobs (migrate, temporal
# setup). Dependencies are installed from the lock file, so the image is reproducible.
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m pip install uv==0.13.9
WORKDIR /src
COPY requirements.lock pyproject.toml README.md ./
RUN uv venv /opt/venv && \
    uv pip sync --python /opt/venv/bin/python requirements.lock
COPY basis ./basis
COPY models ./models
COPY strategy ./strategy
COPY venues ./venues
COPY activities ./activities
COPY workflows ./workflows
COPY api ./api
COPY migrations ./migrations
COPY worker.py ./
RUN uv pip install --python /opt/venv/bin/python --no-deps .

FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BASIS_SECRETS_DIR=/run/secrets \
    BASIS_STATE_DIR=/tmp/basis
COPY --from=build /opt/venv /opt/venv
RUN groupadd --system --gid 10001 basis && \
    useradd --system --uid 10001 --gid basis --no-create-home --shell /usr/sbin/nologin basis
USER 10001:10001
WORKDIR /tmp
ENTRYPOINT ["basis"]
CMD ["--help"]
