"""Extract the operational PostgreSQL database into the warehouse's ``raw`` schema.

Every table of the source schema lands as ``raw.<table>`` with load metadata (``_batch_id``,
``_extracted_at``, ``_source``). Loads are incremental by ``updated_at``: each table keeps a watermark (the
greatest ``updated_at`` loaded) in ``meta.watermarks``; a run reads the rows changed since, and merges them
by primary key, so late edits and soft deletes (``deleted_at`` set, ``updated_at`` bumped) are seen and a
re-run of the same window changes nothing. The whole extract is one DuckDB transaction: if the source is
down, a table is missing or a column changed, the run fails with an error naming the table, and the
warehouse stays as it was.

DuckDB reads PostgreSQL through its postgres extension, loaded from the PyPI package (see ``fupin.duck``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import duckdb

from ingestion.meta import ensure_meta, record_audit

SOURCE_SCHEMA = "app"
EXCLUDED_TABLES = frozenset({"schema_migrations"})
METADATA_COLUMNS = ("_batch_id", "_extracted_at", "_source")


class ExtractError(RuntimeError):
    """The extract could not run; the warehouse was left as it was."""


class SourceUnavailable(ExtractError):
    pass


class SchemaDrift(ExtractError):
    pass


@dataclass
class TableLoad:
    table: str
    mode: str  # 'full' or 'incremental'
    received: int
    watermark_before: datetime | None
    watermark_after: datetime | None
    seconds: float


def _attach(con: duckdb.DuckDBPyConnection, dsn: str) -> None:
    try:
        con.execute(f"attach '{dsn}' as src (type postgres, read_only)")
    except duckdb.Error as exc:
        raise SourceUnavailable(f"cannot reach the operational database ({_redact(dsn)}): {exc}") from exc


def _redact(dsn: str) -> str:
    if "@" in dsn and ":" in dsn.split("@")[0].split("//")[-1]:
        head, tail = dsn.split("@", 1)
        return head.rsplit(":", 1)[0] + ":***@" + tail
    return dsn


def source_tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    """Tables of the source schema with their (column, DuckDB type) lists, in column order."""
    rows = con.execute(
        """
        select table_name, column_name, data_type
        from duckdb_columns()
        where database_name = 'src' and schema_name = ?
        order by table_name, column_index
        """,
        [SOURCE_SCHEMA],
    ).fetchall()
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, dtype in rows:
        if table not in EXCLUDED_TABLES:
            tables.setdefault(table, []).append((column, dtype))
    return tables


def primary_keys(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    rows = con.execute(
        f"""
        select * from postgres_query('src', $$
            select c.relname::text as table_name, a.attname::text as column_name, k.ord::int as ord
            from pg_index i
            join pg_class c on c.oid = i.indrelid
            join pg_namespace n on n.oid = c.relnamespace
            cross join lateral unnest(i.indkey) with ordinality as k(attnum, ord)
            join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
            where i.indisprimary and n.nspname = '{SOURCE_SCHEMA}'
        $$) order by table_name, ord
        """
    ).fetchall()
    keys: dict[str, list[str]] = {}
    for table, column, _ in rows:
        keys.setdefault(table, []).append(column)
    return keys


def raw_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]] | None:
    rows = con.execute(
        """
        select column_name, data_type from duckdb_columns()
        where database_name = current_database() and schema_name = 'raw' and table_name = ?
        order by column_index
        """,
        [table],
    ).fetchall()
    if not rows:
        return None
    return [(c, t) for c, t in rows if c not in METADATA_COLUMNS]


def describe_drift(table: str, source: list[tuple[str, str]], landed: list[tuple[str, str]]) -> str | None:
    src, dst = dict(source), dict(landed)
    added = [c for c in src if c not in dst]
    removed = [c for c in dst if c not in src]
    retyped = [f"{c} {dst[c]} -> {src[c]}" for c in src if c in dst and src[c] != dst[c]]
    if not (added or removed or retyped):
        return None
    parts = []
    if added:
        parts.append(f"new columns {added}")
    if removed:
        parts.append(f"columns gone {removed}")
    if retyped:
        parts.append(f"types changed {retyped}")
    return (
        f"source table {SOURCE_SCHEMA}.{table} changed since raw.{table} was loaded: {'; '.join(parts)}. "
        "Review the change, then run the extract with --full-refresh for this table."
    )


def extract_postgres(
    con: duckdb.DuckDBPyConnection,
    dsn: str,
    batch_id: str,
    *,
    tables: list[str] | None = None,
    full_refresh: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    progress=None,
) -> list[TableLoad]:
    """Load every source table (or ``tables``) into ``raw``; return what each table received.

    Without a window, each table reads the rows changed after its watermark. With ``since`` / ``until`` (an
    Airflow run's data interval), it reads the rows whose ``updated_at`` falls in ``[since, until)``: any
    window can be re-run or back-filled in any order, because a row only replaces an older version of itself.
    A first load (or ``full_refresh``) takes every row updated before ``until``.

    ``con`` must be a read-write connection to the build warehouse with the postgres extension loaded.
    """
    ensure_meta(con)
    _attach(con, dsn)
    try:
        available = source_tables(con)
        if not available:
            raise SchemaDrift(f"the operational database has no tables in schema {SOURCE_SCHEMA!r}")
        wanted = tables or sorted(available)
        missing = [t for t in wanted if t not in available]
        landed = {
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'raw'"
            ).fetchall()
        }
        if not tables:
            missing += sorted(t for t in landed if t not in available)
        if missing:
            raise SchemaDrift(
                f"table(s) {missing} missing from the operational database's schema {SOURCE_SCHEMA!r}"
            )
        keys = primary_keys(con)
        for t in wanted:
            if t not in keys:
                raise SchemaDrift(f"source table {SOURCE_SCHEMA}.{t} has no primary key; cannot merge it")
            if "updated_at" not in dict(available[t]):
                raise SchemaDrift(f"source table {SOURCE_SCHEMA}.{t} has no updated_at column")
        extracted_at = con.execute("select now()").fetchone()[0]
        loads: list[TableLoad] = []
        con.execute("begin transaction")
        try:
            for t in wanted:
                loads.append(
                    _load_table(
                        con, t, available[t], keys[t], batch_id, extracted_at, full_refresh, since, until
                    )
                )
                if progress:
                    progress(t)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        return loads
    except duckdb.Error as exc:
        raise ExtractError(f"extract failed: {exc}") from exc
    finally:
        con.execute("detach src")


def _pg_timestamp(value: datetime) -> str:
    """A PostgreSQL timestamptz literal (a naive datetime is taken as UTC, as DuckDB binds it)."""
    if value.tzinfo is None:
        return f"'{value.isoformat()}+00:00'::timestamptz"
    return f"'{value.isoformat()}'::timestamptz"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _load_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: list[tuple[str, str]],
    key: list[str],
    batch_id: str,
    extracted_at: datetime,
    full_refresh: bool,
    since: datetime | None,
    until: datetime | None,
) -> TableLoad:
    started = time.perf_counter()
    landed = raw_columns(con, table)
    if landed is not None and not full_refresh:
        drift = describe_drift(table, columns, landed)
        if drift:
            raise SchemaDrift(drift)
    row = con.execute(
        "select watermark from meta.watermarks where source = 'postgres' and table_name = ?", [table]
    ).fetchone()
    before = row[0] if row and landed is not None and not full_refresh else None
    meta = (
        f"'{batch_id}' as _batch_id, ?::timestamptz as _extracted_at, "
        f"'postgres:{SOURCE_SCHEMA}.{table}' as _source"
    )
    src = f'src.{SOURCE_SCHEMA}."{table}"'
    upper, upper_params = ("updated_at < ?", [until]) if until is not None else ("true", [])
    if landed is None or full_refresh:
        con.execute(
            f'create or replace table raw."{table}" as select *, {meta} from {src} where {upper}',
            [extracted_at, *upper_params],
        )
        received = con.execute(f'select count(*) from raw."{table}"').fetchone()[0]
        mode = "full"
    else:
        bounds = []
        if since is not None:
            bounds.append(f"updated_at >= {_pg_timestamp(since)}")
        elif before is not None:
            bounds.append(f"updated_at > {_pg_timestamp(before)}")
        if until is not None:
            bounds.append(f"updated_at < {_pg_timestamp(until)}")
        # The window is read by a query run as it is in PostgreSQL, which uses the index on updated_at. A
        # scan of the attached table is split by the extension into page ranges, each read with the filter:
        # PostgreSQL then reads the whole table (at scale M a day's 2.4 M GPS points took 12 s that way
        # against 1.4 s, out of 152 M).
        query = f'select * from {SOURCE_SCHEMA}."{table}" where {" and ".join(bounds) or "true"}'
        con.execute(
            f"create or replace temp table _delta as select * from postgres_query('src', {_literal(query)})"
        )
        received = con.execute("select count(*) from _delta").fetchone()[0]
        if received:
            match = " and ".join(f'r."{k}" = d."{k}"' for k in key)
            # Only a newer version replaces a row: windows can be loaded again, or out of order.
            con.execute(
                f"""
                create or replace temp table _newer as
                select d.* from _delta d
                where not exists (
                    select 1 from raw."{table}" r where {match} and r.updated_at >= d.updated_at
                )
                """
            )
            con.execute(f'delete from raw."{table}" r using _newer d where {match}')
            con.execute(f'insert into raw."{table}" select *, {meta} from _newer', [extracted_at])
            con.execute("drop table _newer")
        con.execute("drop table _delta")
        mode = "incremental"
    after = con.execute(f'select max(updated_at) from raw."{table}"').fetchone()[0]
    con.execute(
        """
        insert or replace into meta.watermarks (source, table_name, watermark, batch_id, loaded_at)
        values ('postgres', ?, ?, ?, ?)
        """,
        [table, after, batch_id, extracted_at],
    )
    record_audit(
        con,
        batch_id=batch_id,
        source="postgres",
        source_file=f"{SOURCE_SCHEMA}.{table}",
        table_name=f"raw.{table}",
        received=received,
        accepted=received,
        quarantined=0,
    )
    return TableLoad(table, mode, received, before, after, time.perf_counter() - started)
