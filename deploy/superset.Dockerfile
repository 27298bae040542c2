# The dashboard image: Superset in its own environment, from dashboards/superset_env/uv.lock.
FROM python:3.11-slim-bookworm
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir uv==${UV_VERSION}
WORKDIR /opt/superset
COPY dashboards/superset_env/pyproject.toml dashboards/superset_env/uv.lock ./
RUN uv sync --frozen
COPY dashboards/superset_config.py ./superset_config.py
ENV PATH=/opt/superset/.venv/bin:$PATH \
    SUPERSET_CONFIG_PATH=/opt/superset/superset_config.py \
    FUPIN_STATE_DIR=/state
