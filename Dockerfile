# The airbnb_assets code location, for Dagster+ Hybrid (built by .github/workflows/deploy-test.yml)
# and for teams that self-host Dagster (deploy/self-hosted/). Installs exactly uv.lock (no dev tools).
# Spark steps of TEST and PROD run on Databricks, so the image needs no Java.
# docker build --build-arg VERSION=1.2.0 -t airbnb_assets:1.2.0 .
FROM python:3.11-slim-bookworm AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.8 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /src
# Dependencies first (a layer that changes only with uv.lock), then the package itself.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY README.md setup.cfg ./
COPY airbnb_assets ./airbnb_assets
# No .git in the build context: the version (the release tag) is passed in.
ARG VERSION=0.0.0
RUN SETUPTOOLS_SCM_PRETEND_VERSION="${VERSION}" uv sync --frozen --no-dev --no-editable

FROM python:3.11-slim-bookworm
ARG VERSION=0.0.0
LABEL org.opencontainers.image.title="airbnb_assets" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.description="Dagster code location: SF Airbnb price lakehouse and ML (Data: Inside Airbnb, insideairbnb.com)"
RUN useradd --create-home --uid 1000 dagster
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1
USER dagster
WORKDIR /home/dagster
EXPOSE 4000
# Self-hosted: the gRPC code server that deploy/self-hosted/workspace.yaml points at. Dagster+
# agents start the image with their own command.
CMD ["dagster", "code-server", "start", "--host", "0.0.0.0", "--port", "4000", \
     "--module-name", "airbnb_assets.definitions", "--attribute", "defs"]
