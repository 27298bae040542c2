"""The warehouse side of the spreadsheet load: its tables, and the writes of one file.

Tables (created if missing, on every load):

* ``raw_sheets.<kind>`` - the accepted rows: canonical columns, typed, plus ``_batch_id, _loaded_at,
  _source_file, _file_hash, _sheet, _row_number``.
* ``quarantine.sheet_rows`` - every rejected row, whole (``row_json``), with the rule it broke and where it was;
  a file rejected whole has one row with ``row_number`` null.
* ``meta.sheet_files`` - the registry of files by content hash: kind, scope, status (``loaded``,
  ``replaced``, ``superseded``, ``unreadable``) and ``replaced_by`` / ``replaces``.
* ``meta.sheet_replacements`` - one row each time a file's rows are replaced by a corrected file's.
* ``meta.sheet_file_events`` - what happened to each file seen by each batch (including ``duplicate``).
* ``meta.load_audit`` (shared with the PostgreSQL extract) - received / accepted / quarantined per file.
"""

from __future__ import annotations

import json
from datetime import datetime

import duckdb
import pyarrow as pa

from ingestion.meta import ensure_meta
from ingestion.sheets.mapping import SheetKind
from ingestion.sheets.validate import SheetRow
from ingestion.sheets.values import to_json_value

METADATA_COLUMNS = (
    ("_batch_id", "VARCHAR"),
    ("_loaded_at", "TIMESTAMPTZ"),
    ("_source_file", "VARCHAR"),
    ("_file_hash", "VARCHAR"),
    ("_sheet", "VARCHAR"),
    ("_row_number", "INTEGER"),
)
_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "INTEGER": pa.int32(),
    "DECIMAL(14,2)": pa.decimal128(14, 2),
    "DATE": pa.date32(),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
}

DDL = """
create table if not exists quarantine.sheet_rows (
    batch_id varchar not null,
    loaded_at timestamptz not null,
    source_file varchar not null,
    file_hash varchar not null,
    sheet varchar,
    row_number integer,          -- as the spreadsheet shows it (1-based); null when the whole file is rejected
    column_name varchar,         -- the canonical column the rule is about, when there is one
    rule varchar not null,
    reason varchar not null,
    row_json json                -- every cell of the row as sent, by header
);

create table if not exists meta.sheet_files (
    file_hash varchar primary key,   -- sha256 of the file's bytes
    file_name varchar not null,
    source_file varchar not null,    -- path inside the drop folder
    kind varchar,
    area_code varchar,
    period varchar,
    size_bytes bigint not null,
    first_seen_batch varchar not null,
    first_seen_at timestamptz not null,
    status varchar not null,         -- loaded / replaced / superseded / unreadable
    replaced_by varchar,             -- the file whose rows replaced this one's
    replaces varchar,                -- the file whose rows this one replaced
    received bigint,
    accepted bigint,
    quarantined bigint,
    reason varchar,
    updated_at timestamptz not null
);

create table if not exists meta.sheet_replacements (
    batch_id varchar not null,
    replaced_at timestamptz not null,
    kind varchar not null,
    area_code varchar not null,
    period varchar,
    old_file_hash varchar not null,
    old_source_file varchar not null,
    new_file_hash varchar not null,
    new_source_file varchar not null,
    rows_removed bigint not null
);

create table if not exists meta.sheet_file_events (
    batch_id varchar not null,
    seen_at timestamptz not null,
    source_file varchar not null,
    file_hash varchar not null,
    status varchar not null,         -- loaded / duplicate / unreadable / failed
    detail varchar
);
"""


def raw_columns(kind: SheetKind) -> list[tuple[str, str]]:
    return [(c.name, c.sql_type) for c in kind.columns] + list(METADATA_COLUMNS)


def ensure_tables(con: duckdb.DuckDBPyConnection, kinds: dict[str, SheetKind]) -> None:
    """Create the schemas and tables the spreadsheet load writes; add columns a mapping gained since."""
    ensure_meta(con)
    con.execute(DDL)
    for kind in kinds.values():
        columns = raw_columns(kind)
        body = ",\n    ".join(f'"{name}" {sql_type}' for name, sql_type in columns)
        con.execute(f"create table if not exists {kind.table} (\n    {body}\n)")
        present = {
            r[0]
            for r in con.execute(
                "select column_name from duckdb_columns() where schema_name = 'raw_sheets' and table_name = ?",
                [kind.kind],
            ).fetchall()
        }
        for name, sql_type in columns:
            if name not in present:
                con.execute(f'alter table {kind.table} add column "{name}" {sql_type}')


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, _, table = qualified.rpartition(".")
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
            [schema or "main", table],
        ).fetchone()[0]
    )


def reference_values(con: duckdb.DuckDBPyConnection, table: str, column: str) -> set[str] | None:
    """The distinct values of a reference column, or None when the table is not in the warehouse yet."""
    if not table_exists(con, table):
        return None
    rows = con.execute(f'select distinct cast("{column}" as varchar) from {table}').fetchall()
    return {r[0] for r in rows if r[0] is not None}


def insert_raw(
    con: duckdb.DuckDBPyConnection,
    kind: SheetKind,
    rows: list[SheetRow],
    *,
    batch_id: str,
    loaded_at: datetime,
    source_file: str,
    file_hash: str,
) -> None:
    """Insert the accepted rows into ``raw_sheets.<kind>``."""
    if not rows:
        return
    n = len(rows)
    arrays: dict[str, pa.Array] = {}
    for spec in kind.columns:
        arrays[spec.name] = pa.array(
            [r.values.get(spec.name) for r in rows], type=_ARROW_TYPES[spec.sql_type]
        )
    arrays["_batch_id"] = pa.array([batch_id] * n, pa.string())
    arrays["_loaded_at"] = pa.array([loaded_at] * n, _ARROW_TYPES["TIMESTAMPTZ"])
    arrays["_source_file"] = pa.array([source_file] * n, pa.string())
    arrays["_file_hash"] = pa.array([file_hash] * n, pa.string())
    arrays["_sheet"] = pa.array([r.sheet for r in rows], pa.string())
    arrays["_row_number"] = pa.array([r.row_number for r in rows], pa.int32())
    _insert_arrow(con, kind.table, pa.table(arrays))


def insert_quarantine(
    con: duckdb.DuckDBPyConnection,
    rows: list[SheetRow],
    *,
    batch_id: str,
    loaded_at: datetime,
    source_file: str,
    file_hash: str,
) -> None:
    """Insert rejected rows into ``quarantine.sheet_rows``, each under the first rule it broke."""
    if not rows:
        return
    first = [r.violations[0] for r in rows]
    reasons = [
        r.violations[0].message if len(r.violations) == 1 else "; ".join(v.message for v in r.violations)
        for r in rows
    ]
    table = pa.table(
        {
            "batch_id": pa.array([batch_id] * len(rows), pa.string()),
            "loaded_at": pa.array([loaded_at] * len(rows), _ARROW_TYPES["TIMESTAMPTZ"]),
            "source_file": pa.array([source_file] * len(rows), pa.string()),
            "file_hash": pa.array([file_hash] * len(rows), pa.string()),
            "sheet": pa.array([r.sheet for r in rows], pa.string()),
            "row_number": pa.array([r.row_number for r in rows], pa.int32()),
            "column_name": pa.array([v.column for v in first], pa.string()),
            "rule": pa.array([v.rule for v in first], pa.string()),
            "reason": pa.array(reasons, pa.string()),
            "row_json": pa.array(
                [
                    json.dumps({k: to_json_value(v) for k, v in r.cells.items()}, ensure_ascii=False)
                    for r in rows
                ],
                pa.string(),
            ),
        }
    )
    _insert_arrow(con, "quarantine.sheet_rows", table)


def insert_file_rejection(
    con: duckdb.DuckDBPyConnection,
    *,
    batch_id: str,
    loaded_at: datetime,
    source_file: str,
    file_hash: str,
    rule: str,
    reason: str,
) -> None:
    """One quarantine row standing for a whole file that could not be read."""
    con.execute(
        "insert into quarantine.sheet_rows values (?, ?, ?, ?, null, null, null, ?, ?, null)",
        [batch_id, loaded_at, source_file, file_hash, rule, reason],
    )


def _insert_arrow(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table) -> None:
    view = "_sheet_load_rows"
    con.register(view, data)
    try:
        con.execute(f"insert into {table} by name select * from {view}")
    finally:
        con.unregister(view)


def record_audit(
    con: duckdb.DuckDBPyConnection,
    *,
    batch_id: str,
    source_file: str,
    table_name: str,
    received: int,
    accepted: int,
    quarantined: int,
    loaded_at: datetime,
) -> None:
    """One ``meta.load_audit`` row (source ``sheet``); refuses counts that do not add up."""
    if accepted + quarantined != received:
        raise AssertionError(
            f"load audit of {source_file}: accepted {accepted} + quarantined {quarantined} != received {received}"
        )
    con.execute(
        """
        insert into meta.load_audit
            (batch_id, source, source_file, table_name, received, accepted, quarantined, loaded_at)
        values (?, 'sheet', ?, ?, ?, ?, ?, ?)
        """,
        [batch_id, source_file, table_name, received, accepted, quarantined, loaded_at],
    )


def record_event(
    con: duckdb.DuckDBPyConnection,
    *,
    batch_id: str,
    seen_at: datetime,
    source_file: str,
    file_hash: str,
    status: str,
    detail: str | None,
) -> None:
    con.execute(
        "insert into meta.sheet_file_events values (?, ?, ?, ?, ?, ?)",
        [batch_id, seen_at, source_file, file_hash, status, detail],
    )
