"""End to end: a real Airflow run of the daily DAG over a generated county, and what it publishes."""

from __future__ import annotations

import re
import shutil

import duckdb
import pytest

from tests.conftest import REPO_ROOT


def test_dag_folder_imports_cleanly(settings):
    from fupin.airflow_env import airflow

    proc = airflow(settings, "dags", "list-import-errors", "--output", "json", capture=True)
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout
    listed = airflow(settings, "dags", "list", "--local", "--output", "json", capture=True).stdout
    assert "fupin_daily" in listed


def test_dag_run_succeeded_every_task(dag_run):
    assert re.search(r"DagRun Finished: dag_id=fupin_daily.*state=success", dag_run), dag_run[-3000:]
    for task in ("extract", "load_sheets", "transform", "check", "publish", "summary"):
        assert re.search(rf"task_id='{task}'", dag_run)


def test_run_summary_names_the_published_version(dag_run, published_warehouse):
    """The summary task logs rows per layer, the quality result and the version readers now open."""
    con = duckdb.connect(str(published_warehouse), read_only=True)
    version = con.execute("select version from meta.publication").fetchone()[0]
    line = re.search(r"run summary: published (\S+); rows per layer (\{[^}]*\}); quality", dag_run)
    assert line, dag_run[-3000:]
    assert line.group(1) == version
    for layer in ("'raw'", "'core'", "'marts'"):
        assert layer in line.group(2)


def test_published_counts_equal_the_operational_database(published_warehouse, source_status_counts):
    con = duckdb.connect(str(published_warehouse), read_only=True)
    rows = con.execute(
        "select town_name, status_label, sum(households) from marts.status_by_village group by 1, 2 having sum(households) > 0"
    ).fetchall()
    assert {(t, s): n for t, s, n in rows} == source_status_counts
    assert len({t for t, _ in source_status_counts}) >= 2


def test_every_village_has_all_three_labels(published_warehouse):
    con = duckdb.connect(str(published_warehouse), read_only=True)
    per_village = con.execute(
        "select village_code, count(distinct status_label) from marts.status_by_village group by 1"
    ).fetchall()
    assert per_village and all(n == 3 for _, n in per_village)
    assert all(len(code) == 12 for code, _ in per_village)


def test_no_clear_personal_data_after_staging(published_warehouse, pg_dsn):
    """No ID or phone number of the source appears in any staging view or mart of the published warehouse."""
    import psycopg

    with psycopg.connect(pg_dsn) as conn:
        secrets = {
            r[0] for r in conn.execute("select id_number from app.persons where id_number is not null")
        }
        secrets |= {r[0] for r in conn.execute("select phone from app.persons where phone is not null")}
    assert secrets
    con = duckdb.connect(str(published_warehouse), read_only=True)
    columns = con.execute(
        """
        select table_schema, table_name, column_name from information_schema.columns
        where table_schema in ('staging', 'marts') and data_type = 'VARCHAR'
        """
    ).fetchall()
    for schema, table, column in columns:
        values = {r[0] for r in con.execute(f'select distinct "{column}" from {schema}."{table}"').fetchall()}
        leaked = values & secrets
        assert not leaked, f"{schema}.{table}.{column} holds personal data in clear: {sorted(leaked)[:3]}"
    masked = con.execute("select id_number_masked from staging.stg_app__persons limit 1").fetchone()[0]
    assert re.fullmatch(r"\d{6}\*{8}[\dX]{4}", masked)


def test_data_docs_written(dag_run, settings):
    index = settings.quality_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    assert index.exists()
    assert "raw_households" in index.read_text()


def test_blocking_failure_keeps_last_good_warehouse(published_warehouse, settings):
    """A corrupted build (households emptied) is stopped by the gate; readers keep the published file."""
    from fupin import pipeline
    from quality.checkpoint import QualityGateFailed

    before = published_warehouse.read_bytes()
    backup = settings.build_path.with_suffix(".bak")
    shutil.copyfile(settings.build_path, backup)
    try:
        con = duckdb.connect(str(settings.build_path))
        con.execute("delete from raw.households")
        con.close()
        with pytest.raises(QualityGateFailed, match="households_not_empty"):
            pipeline.check(settings, run_id="corrupted")
        assert published_warehouse.read_bytes() == before
        con = duckdb.connect(str(published_warehouse), read_only=True)
        assert con.execute("select sum(households) from marts.status_by_village").fetchone()[0] > 0
    finally:
        shutil.move(backup, settings.build_path)


def test_publish_keeps_previous_for_roll_back(published_warehouse, settings):
    from fupin.publish import publish

    publish(settings)
    assert settings.previous_path.exists()
    con = duckdb.connect(str(settings.previous_path), read_only=True)
    assert con.execute("select count(*) from marts.status_by_village").fetchone()[0] > 0


def test_readme_starts_with_the_two_commands():
    readme = (REPO_ROOT / "README.md").read_text()
    head = readme[:1500]
    assert "make demo" in head and "make test" in head
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text()
