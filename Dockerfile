# syntax=docker/dockerfile:1
# One image for the four Tandem services; the command picks the service:
#   python -m tandem_profiles | python -m tandem_matching | python -m tandem_notifications
#   | python -m tandem_relationships
# Settings come from TANDEM_* environment variables (see chassis/src/tandem_chassis/settings.py).

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: resolve the workspace from uv.lock into a self-contained virtualenv --------------
FROM ${PYTHON_IMAGE} AS build

# Same uv as the Makefile, installed from PyPI.
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}"

# Use the image's interpreter; compile bytecode now so the runtime can have a read-only root fs;
# copy (not hard-link) files out of the uv cache mount.
ENV UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /app

# Third-party dependencies first: this layer changes only when uv.lock or a pyproject does.
COPY pyproject.toml uv.lock ./
COPY contracts/pyproject.toml contracts/
COPY chassis/pyproject.toml chassis/
COPY services/profiles/pyproject.toml services/profiles/
COPY services/matching/pyproject.toml services/matching/
COPY services/notifications/pyproject.toml services/notifications/
COPY services/relationships/pyproject.toml services/relationships/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --all-packages --no-install-workspace

# Then the workspace packages themselves, as real (non-editable) installs so the runtime stage
# needs only the virtualenv, not the source tree.
COPY contracts contracts
COPY chassis chassis
COPY services services
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --all-packages --no-editable

# --- runtime: the virtualenv and nothing else, as a non-root user ----------------------------
FROM ${PYTHON_IMAGE} AS runtime

# Numeric uid/gid so Kubernetes' runAsNonRoot can verify the user without /etc/passwd.
RUN groupadd --system --gid 10001 tandem \
 && useradd --system --uid 10001 --gid tandem --home-dir /app --no-create-home tandem

COPY --from=build --chown=root:root /app/.venv /app/.venv

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TANDEM_HTTP_HOST=0.0.0.0

WORKDIR /app
USER 10001:10001

# profiles 8001, matching 8002, notifications 8003, relationships 8004 (each Settings class's
# default http_port).
EXPOSE 8001-8004

# No HEALTHCHECK here: the port depends on the service the command picks, and compose and
# Kubernetes probe /health/ready and /health/live themselves.
# Default service; compose and the Kubernetes Deployments always name theirs.
CMD ["python", "-m", "tandem_profiles"]
