"""The PostgreSQL extract against a real server: full, incremental, idempotent, and failures that change nothing."""

from __future__ import annotations

from datetime import UTC

import psycopg
import pytest

from fupin.duck import connect
from ingestion.postgres import SchemaDrift, SourceUnavailable, extract_postgres


def _fresh_database(postgres, name: str) -> str:
    """An empty database of that name on the session's server; returns its DSN."""
    server = postgres.dsn.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"drop database if exists {name}")
        conn.execute(f"create database {name}")
    return f"{server}/{name}"


@pytest.fixture()
def source(postgres):
    """A throwaway database on the session's server with a small ``app`` schema."""
    dsn = _fresh_database(postgres, "extract_test")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            """
            create schema app;
            create table app.items (
                item_id int primary key, label text,
                updated_at timestamptz not null, deleted_at timestamptz
            );
            create table app.schema_migrations (version text primary key, updated_at timestamptz);
            insert into app.items
            select g, 'v' || g, timestamptz '2017-06-01' + g * interval '1 minute', null
            from generate_series(1, 500) g;
            """
        )
    yield dsn


def _snapshot(con):
    return con.execute(
        "select item_id, label, updated_at, deleted_at from raw.items order by item_id"
    ).fetchall()


def test_full_then_incremental_then_idempotent(source, tmp_path, settings):
    con = connect(tmp_path / "w.duckdb", extensions=("postgres_scanner",), settings=settings)
    first = extract_postgres(con, source, "b1")
    assert [(t.table, t.mode, t.received) for t in first] == [("items", "full", 500)]
    assert (
        con.execute("select count(*) from duckdb_tables() where table_name = 'schema_migrations'").fetchone()[
            0
        ]
        == 0
    )

    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(
            """
            update app.items set label = 'edited', updated_at = timestamptz '2017-06-02' where item_id <= 3;
            update app.items set deleted_at = timestamptz '2017-06-02', updated_at = timestamptz '2017-06-02'
                where item_id = 10;
            insert into app.items values (501, 'new', timestamptz '2017-06-02', null);
            """
        )
    second = extract_postgres(con, source, "b2")
    assert [(t.mode, t.received) for t in second] == [("incremental", 5)]
    assert con.execute("select count(*) from raw.items").fetchone()[0] == 501
    assert con.execute("select count(*) from raw.items where label = 'edited'").fetchone()[0] == 3
    assert con.execute("select deleted_at is not null from raw.items where item_id = 10").fetchone()[0]
    assert con.execute("select _batch_id from raw.items where item_id = 501").fetchone()[0] == "b2"

    before = _snapshot(con)
    third = extract_postgres(con, source, "b3")
    assert [t.received for t in third] == [0]
    assert _snapshot(con) == before
    audit = con.execute(
        "select batch_id, received, accepted, quarantined from meta.load_audit order by 1"
    ).fetchall()
    assert audit == [("b1", 500, 500, 0), ("b2", 5, 5, 0), ("b3", 0, 0, 0)]


def test_column_change_names_table_and_leaves_warehouse(source, tmp_path, settings):
    con = connect(tmp_path / "w.duckdb", extensions=("postgres_scanner",), settings=settings)
    extract_postgres(con, source, "b1")
    before = _snapshot(con)
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute("alter table app.items add column weight int; update app.items set updated_at = now()")
    with pytest.raises(SchemaDrift, match=r"app\.items.*new columns \['weight'\]"):
        extract_postgres(con, source, "b2")
    assert _snapshot(con) == before
    full = extract_postgres(con, source, "b3", full_refresh=True)
    assert full[0].mode == "full"
    assert "weight" in [r[0] for r in con.execute("describe raw.items").fetchall()]


def test_missing_table_is_named(source, tmp_path, settings):
    con = connect(tmp_path / "w.duckdb", extensions=("postgres_scanner",), settings=settings)
    extract_postgres(con, source, "b1")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute("alter table app.items rename to items_old")
    with pytest.raises(SchemaDrift, match=r"\['items'\] missing"):
        extract_postgres(con, source, "b2")
    assert con.execute("select count(*) from raw.items").fetchone()[0] == 500


def test_source_down_leaves_warehouse_untouched(tmp_path, settings):
    from fupin.pgserver import free_port

    con = connect(tmp_path / "w.duckdb", extensions=("postgres_scanner",), settings=settings)
    con.execute("create schema raw; create table raw.items as select 1 as item_id")
    dead = f"postgresql://fupin@127.0.0.1:{free_port()}/nothing"
    with pytest.raises(SourceUnavailable, match="cannot reach the operational database"):
        extract_postgres(con, dead, "b1")
    assert con.execute("select count(*) from raw.items").fetchone()[0] == 1


def test_windows_in_any_order_equal_a_full_load(source, tmp_path, settings):
    """Back-filling day windows, even out of order and twice, gives the same raw table as one full load."""
    from datetime import datetime, timedelta

    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(
            """
            update app.items set label = 'day2', updated_at = timestamptz '2017-06-02 08:00+00' where item_id <= 50;
            update app.items set label = 'day3', updated_at = timestamptz '2017-06-03 08:00+00' where item_id <= 20;
            """
        )
    day = datetime(2017, 6, 1, tzinfo=UTC)
    windows = [(day + timedelta(days=i), day + timedelta(days=i + 1)) for i in range(3)]
    end = windows[-1][1]

    full = connect(tmp_path / "full.duckdb", extensions=("postgres_scanner",), settings=settings)
    extract_postgres(full, source, "full", until=end)

    inc = connect(tmp_path / "inc.duckdb", extensions=("postgres_scanner",), settings=settings)
    extract_postgres(inc, source, "first", until=windows[0][1])
    for since, until in [windows[2], windows[1], windows[2], windows[1]]:
        extract_postgres(inc, source, f"w{since:%d}", since=since, until=until)
    assert _snapshot(inc) == _snapshot(full)
    assert inc.execute("select count(*) from raw.items where label = 'day3'").fetchone()[0] == 20


@pytest.fixture()
def county_db(postgres):
    """A generated XS county in its own database on the session's server."""
    from simulator.generate import generate

    dsn = _fresh_database(postgres, "advance_test")
    generate(dsn, scale="XS", seed=11)
    return dsn


def _source_counts(dsn: str, tables: list[str]) -> dict[str, tuple[int, int]]:
    out = {}
    with psycopg.connect(dsn) as conn:
        for t in tables:
            has_deleted = conn.execute(
                "select count(*) from information_schema.columns "
                "where table_schema = 'app' and table_name = %s and column_name = 'deleted_at'",
                (t,),
            ).fetchone()[0]
            deleted = "count(deleted_at)" if has_deleted else "0"
            out[t] = conn.execute(f"select count(*), {deleted} from app.{t}").fetchone()
    return out


def test_a_simulated_day_moves_only_the_changed_rows(county_db, tmp_path, settings):
    from simulator.advance import advance_day

    con = connect(tmp_path / "w.duckdb", extensions=("postgres_scanner",), settings=settings)
    first = {t.table: t for t in extract_postgres(con, county_db, "day0")}
    tables = sorted(first)
    assert "households" in tables and "gps_points" in tables

    watermarks = dict(con.execute("select table_name, watermark from meta.watermarks").fetchall())
    advance_day(county_db, seed=11)
    with psycopg.connect(county_db, autocommit=True) as conn:
        # The APP also soft-deletes a member during the day (the simulator's day may hold none at XS).
        gone = conn.execute(
            "update app.persons set deleted_at = timestamptz '2017-12-02 15:00+08',"
            " updated_at = timestamptz '2017-12-02 15:00+08'"
            " where person_id = (select min(person_id) from app.persons where deleted_at is null)"
            " returning person_id"
        ).fetchone()[0]
    with psycopg.connect(county_db) as conn:
        changed = {
            t: conn.execute(
                f"select count(*) from app.{t} where updated_at > %s", (watermarks[t],)
            ).fetchone()[0]
            for t in tables
        }
    assert sum(changed.values()) > 0
    second = {t.table: t for t in extract_postgres(con, county_db, "day1")}
    assert {t: second[t].received for t in tables} == changed
    assert all(second[t].mode == "incremental" for t in tables)

    # Raw now mirrors the source: same rows, same soft deletes.
    source = _source_counts(county_db, tables)
    for t in tables:
        landed = con.execute(f"select count(*) from raw.{t}").fetchone()[0]
        assert landed == source[t][0], t
        if source[t][1]:
            assert con.execute(f"select count(deleted_at) from raw.{t}").fetchone()[0] == source[t][1], t

    assert con.execute(
        "select deleted_at is not null from raw.persons where person_id = ?", [gone]
    ).fetchone()[0]

    again = extract_postgres(con, county_db, "day1-again")
    assert sum(t.received for t in again) == 0
