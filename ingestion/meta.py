"""Warehouse bookkeeping shared by every loader: schemas, load batches, watermarks and the load audit."""

from __future__ import annotations

import duckdb

DDL = """
create schema if not exists raw;
create schema if not exists raw_sheets;
create schema if not exists quarantine;
create schema if not exists meta;

create table if not exists meta.load_audit (
    batch_id varchar not null,
    source varchar not null,          -- 'postgres' or 'sheet'
    source_file varchar,              -- the spreadsheet, or the source table's qualified name
    table_name varchar not null,      -- the raw table written
    received bigint not null,
    accepted bigint not null,
    quarantined bigint not null,
    loaded_at timestamptz not null
);

create table if not exists meta.watermarks (
    source varchar not null,
    table_name varchar not null,
    watermark timestamptz,            -- the greatest updated_at loaded so far
    batch_id varchar not null,
    loaded_at timestamptz not null,   -- the run's time: the _extracted_at of the rows it wrote
    primary key (source, table_name)
);
"""


def ensure_meta(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw, quarantine and meta schemas and the bookkeeping tables, if missing."""
    con.execute(DDL)


def record_audit(
    con: duckdb.DuckDBPyConnection,
    *,
    batch_id: str,
    source: str,
    source_file: str | None,
    table_name: str,
    received: int,
    accepted: int,
    quarantined: int,
) -> None:
    if accepted + quarantined != received:
        raise AssertionError(
            f"load audit of {table_name} from {source_file}: accepted {accepted} + quarantined {quarantined}"
            f" != received {received}"
        )
    con.execute(
        "insert into meta.load_audit values (?, ?, ?, ?, ?, ?, ?, now())",
        [batch_id, source, source_file, table_name, received, accepted, quarantined],
    )
