"""Fixtures that start real services: a private PostgreSQL server, a generated county, a real pipeline run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO_ROOT / "artifacts"


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory) -> Path:
    """One state directory for the session: PostgreSQL, warehouse, Airflow and Superset homes live here."""
    path = tmp_path_factory.mktemp("state")
    os.environ["FUPIN_STATE_DIR"] = str(path)
    return path


@pytest.fixture(scope="session")
def settings(state_dir):
    from fupin.settings import get_settings

    return get_settings()


@pytest.fixture(scope="session")
def postgres(settings):
    from fupin.pgserver import local_postgres

    pg = local_postgres(settings)
    pg.start()
    yield pg
    pg.stop()


@pytest.fixture(scope="session")
def pg_dsn(postgres) -> str:
    return postgres.dsn


@pytest.fixture(scope="session")
def xs_county(pg_dsn, state_dir) -> dict:
    """A small generated county (2 towns x 3 villages) in the operational database, with its manifest."""
    import json

    from fupin.settings import get_settings
    from simulator.generate import generate
    from simulator.sheets import write_spreadsheets

    manifest_path = state_dir / "manifest.json"
    generate(pg_dsn, scale="XS", seed=7, manifest_path=manifest_path)
    # The towns' and villages' spreadsheets land in the drop folder the DAG loads.
    write_spreadsheets(
        pg_dsn, get_settings().drop_dir, seed=7, manifest_path=state_dir / "sheets_manifest.json"
    )
    return json.loads(manifest_path.read_text())


@pytest.fixture(scope="session")
def source_status_counts(pg_dsn, xs_county) -> dict[tuple[str, str], int]:
    """Households per (town name, status label), counted straight in the operational database."""
    import psycopg

    with psycopg.connect(pg_dsn) as conn:
        rows = conn.execute(
            """
            select t.region_name, h.status_label, count(*)
            from app.households h
            join app.regions v on v.region_code = h.village_code
            join app.regions t on t.region_code = v.parent_code
            where h.deleted_at is null
            group by 1, 2
            """
        ).fetchall()
    return {(town, label): n for town, label, n in rows}


@pytest.fixture(scope="session")
def dag_run(settings, xs_county) -> str:
    """One real ``airflow dags test`` run of the daily DAG over the generated county; returns its log."""
    from fupin.airflow_env import airflow
    from fupin.demo import run_date_covering

    run_date = run_date_covering(xs_county["as_of"])
    proc = airflow(settings, "dags", "test", "fupin_daily", run_date, check=False, capture=True)
    log = proc.stdout + proc.stderr
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "dags_test.log").write_text(log)
    assert proc.returncode == 0, log[-4000:]
    return log


@pytest.fixture(scope="session")
def published_warehouse(settings, dag_run) -> Path:
    assert settings.published_path.exists()
    return settings.published_path


@pytest.fixture(scope="session")
def expected_status_counts(source_status_counts) -> dict[tuple[str, str], int]:
    return source_status_counts
