"""Loading generated tables into PostgreSQL with COPY.

Timestamps travel as epoch microseconds (int64) in the frames and are written as UTC text; the server stores
them as ``timestamptz``. A full load drops the secondary indexes of the loaded tables first and builds them
again afterwards, and skips the foreign-key triggers (``session_replication_role = replica``) when the role
may: the generator guarantees the references itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import polars as pl
import psycopg

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S%.6f%:z"
CHUNK_ROWS = 1_000_000


def with_timestamps(df: pl.DataFrame, columns: Iterable[str]) -> pl.DataFrame:
    """Epoch-microsecond columns as UTC datetimes (nulls stay null)."""
    return df.with_columns(
        pl.from_epoch(pl.col(c), time_unit="us").dt.replace_time_zone("UTC").alias(c) for c in columns
    )


PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in Unix microseconds
PG_EPOCH_DAYS = 10_957
_BINARY_TYPES = {pl.Int64: ">i8", pl.Float64: ">f8", pl.Float32: ">f4", pl.Int32: ">i4"}
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"


def binary_copyable(df: pl.DataFrame) -> bool:
    """Whether every column is fixed-width and has no nulls (then COPY can take PostgreSQL's binary format)."""
    for name, dtype in df.schema.items():
        fixed = dtype in _BINARY_TYPES or isinstance(dtype, pl.Datetime)
        if not fixed or df[name].null_count():
            return False
    return True


def binary_payload(df: pl.DataFrame) -> bytes:
    """The frame in PostgreSQL's binary COPY format, built with numpy (no per-row Python)."""
    fields = [("count", ">i2")]
    for i, (_name, dtype) in enumerate(df.schema.items()):
        code = ">i8" if isinstance(dtype, pl.Datetime) else _BINARY_TYPES[dtype]
        fields += [(f"len{i}", ">i4"), (f"val{i}", code)]
    rows = np.empty(df.height, dtype=np.dtype(fields))
    rows["count"] = df.width
    for i, (name, dtype) in enumerate(df.schema.items()):
        column = df[name]
        if isinstance(dtype, pl.Datetime):
            values = column.dt.epoch("us").to_numpy() - PG_EPOCH_US
        else:
            values = column.to_numpy()
        rows[f"len{i}"] = np.dtype(rows.dtype[f"val{i}"]).itemsize
        rows[f"val{i}"] = values
    return rows.tobytes()


def copy_frame(
    conn: psycopg.Connection,
    table: str,
    df: pl.DataFrame,
    progress: Callable[[int], None] | None = None,
) -> int:
    """COPY the frame's columns (named as the table's) into ``app.<table>``; return the rows written."""
    columns = ", ".join(f'"{c}"' for c in df.columns)
    if binary_copyable(df):
        with conn.cursor() as cur, cur.copy(f"copy {table} ({columns}) from stdin (format binary)") as copy:
            copy.write(_SIGNATURE)
            for start in range(0, df.height, CHUNK_ROWS):
                chunk = df.slice(start, CHUNK_ROWS)
                copy.write(binary_payload(chunk))
                if progress:
                    progress(chunk.height)
            copy.write(b"\xff\xff")
        return df.height
    with conn.cursor() as cur, cur.copy(f"copy {table} ({columns}) from stdin (format csv)") as copy:
        for start in range(0, df.height, CHUNK_ROWS):
            chunk = df.slice(start, CHUNK_ROWS)
            copy.write(
                chunk.write_csv(include_header=False, datetime_format=TIMESTAMP_FORMAT).encode("utf-8")
            )
            if progress:
                progress(chunk.height)
    return df.height


def secondary_indexes(conn: psycopg.Connection, schema: str = "app") -> list[tuple[str, str]]:
    """(name, definition) of the indexes in ``schema`` that back no constraint."""
    return conn.execute(
        """
        select i.indexname, i.indexdef
        from pg_indexes i
        where i.schemaname = %s
          and not exists (
              select 1 from pg_constraint c
              where c.conname = i.indexname and c.connamespace = %s::regnamespace
          )
        order by i.indexname
        """,
        (schema, schema),
    ).fetchall()


def primary_keys(
    conn: psycopg.Connection, tables: Iterable[str], schema: str = "app"
) -> dict[str, tuple[str, str]]:
    """table -> (primary-key constraint name, its column list) for the given tables."""
    rows = conn.execute(
        """
        select c.conrelid::regclass::text, c.conname,
               string_agg(a.attname, ', ' order by k.ord)
        from pg_constraint c
        cross join lateral unnest(c.conkey) with ordinality as k(attnum, ord)
        join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum
        where c.contype = 'p' and c.connamespace = %s::regnamespace
        group by 1, 2
        """,
        (schema,),
    ).fetchall()
    wanted = {f"{schema}.{t}": t for t in tables}
    return {wanted[r[0]]: (r[1], r[2]) for r in rows if r[0] in wanted}


def try_replica_role(conn: psycopg.Connection) -> bool:
    """Skip trigger-based foreign-key checks for this session, when the role may; say whether it could."""
    try:
        with conn.transaction():
            conn.execute("set session_replication_role = replica")
        return True
    except psycopg.Error:
        return False
