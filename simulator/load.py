"""Loading generated tables into PostgreSQL with COPY.

Timestamps travel as epoch microseconds (int64) in the frames and are written as UTC text; the server stores
them as ``timestamptz``. A full load drops the secondary indexes of the loaded tables first and builds them
again afterwards, and skips the foreign-key triggers (``session_replication_role = replica``) when the role
may: the generator guarantees the references itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import polars as pl
import psycopg

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S%.6f%:z"
CHUNK_ROWS = 1_000_000


def with_timestamps(df: pl.DataFrame, columns: Iterable[str]) -> pl.DataFrame:
    """Epoch-microsecond columns as UTC datetimes (nulls stay null)."""
    return df.with_columns(
        pl.from_epoch(pl.col(c), time_unit="us").dt.replace_time_zone("UTC").alias(c) for c in columns
    )


def copy_frame(
    conn: psycopg.Connection,
    table: str,
    df: pl.DataFrame,
    progress: Callable[[int], None] | None = None,
) -> int:
    """COPY the frame's columns (named as the table's) into ``app.<table>``; return the rows written."""
    columns = ", ".join(f'"{c}"' for c in df.columns)
    with conn.cursor() as cur, cur.copy(f"copy {table} ({columns}) from stdin (format csv)") as copy:
        for start in range(0, df.height, CHUNK_ROWS):
            chunk = df.slice(start, CHUNK_ROWS)
            copy.write(chunk.write_csv(include_header=False, datetime_format=TIMESTAMP_FORMAT).encode("utf-8"))
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


def try_replica_role(conn: psycopg.Connection) -> bool:
    """Skip trigger-based foreign-key checks for this session, when the role may; say whether it could."""
    try:
        with conn.transaction():
            conn.execute("set session_replication_role = replica")
        return True
    except psycopg.Error:
        return False
