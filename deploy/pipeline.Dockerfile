# The pipeline image: Airflow, dbt, DuckDB, Great Expectations, installed from the committed uv.lock.
FROM python:3.11-slim-bookworm
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir uv==${UV_VERSION}
WORKDIR /opt/fupin
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY fupin ./fupin
COPY ingestion ./ingestion
COPY quality ./quality
COPY simulator ./simulator
COPY dashboards ./dashboards
COPY dags ./dags
COPY dbt_project ./dbt_project
RUN uv sync --frozen --no-dev
ENV PATH=/opt/fupin/.venv/bin:$PATH \
    FUPIN_STATE_DIR=/state \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/fupin/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False
