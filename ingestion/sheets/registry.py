"""The file registry (``meta.sheet_files``): which file contents were seen, and which file is current per scope.

A file is known by the sha256 of its bytes, so the same file dropped twice (under any name) loads once. Its
scope is (kind, area code, period): a later readable file of the same scope replaces the current one, whose
rows leave ``raw_sheets`` in the same transaction as the new rows arrive. The earlier file's status becomes
``replaced`` (it was loaded by an earlier batch) or ``superseded`` (a newer file of the same scope came in the
same batch), with ``replaced_by`` naming the new file; the new file records what it ``replaces``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import duckdb

from ingestion.sheets.mapping import SheetKind

CURRENT_STATUSES = ("loaded",)


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class KnownFile:
    file_hash: str
    source_file: str
    status: str
    first_seen_batch: str


def known_file(con: duckdb.DuckDBPyConnection, digest: str) -> KnownFile | None:
    row = con.execute(
        "select file_hash, source_file, status, first_seen_batch from meta.sheet_files where file_hash = ?",
        [digest],
    ).fetchone()
    return KnownFile(*row) if row else None


def current_file(
    con: duckdb.DuckDBPyConnection, kind: str, area: str, period: str | None
) -> KnownFile | None:
    """The file whose rows are in ``raw_sheets`` for this scope, if any."""
    row = con.execute(
        f"""
        select file_hash, source_file, status, first_seen_batch from meta.sheet_files
        where kind = ? and area_code = ? and period is not distinct from ?
          and status in ({", ".join("?" for _ in CURRENT_STATUSES)})
        order by first_seen_at desc limit 1
        """,
        [kind, area, period, *CURRENT_STATUSES],
    ).fetchone()
    return KnownFile(*row) if row else None


def replace_current(
    con: duckdb.DuckDBPyConnection,
    kind: SheetKind,
    old: KnownFile,
    *,
    new_hash: str,
    new_source_file: str,
    area: str,
    period: str | None,
    batch_id: str,
    at: datetime,
) -> int:
    """Delete the current file's rows of this scope and mark it replaced; return how many rows left."""
    removed = con.execute(
        f"select count(*) from {kind.table} where _file_hash = ?", [old.file_hash]
    ).fetchone()[0]
    con.execute(f"delete from {kind.table} where _file_hash = ?", [old.file_hash])
    status = "superseded" if old.first_seen_batch == batch_id else "replaced"
    con.execute(
        "update meta.sheet_files set status = ?, replaced_by = ?, updated_at = ? where file_hash = ?",
        [status, new_hash, at, old.file_hash],
    )
    con.execute(
        "insert into meta.sheet_replacements values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            batch_id,
            at,
            kind.kind,
            area,
            period,
            old.file_hash,
            old.source_file,
            new_hash,
            new_source_file,
            removed,
        ],
    )
    return removed


def register_file(
    con: duckdb.DuckDBPyConnection,
    *,
    digest: str,
    file_name: str,
    source_file: str,
    kind: str | None,
    area: str | None,
    period: str | None,
    size: int,
    batch_id: str,
    at: datetime,
    status: str,
    replaces: str | None,
    received: int,
    accepted: int,
    quarantined: int,
    reason: str | None,
) -> None:
    con.execute(
        """
        insert into meta.sheet_files
            (file_hash, file_name, source_file, kind, area_code, period, size_bytes, first_seen_batch,
             first_seen_at, status, replaced_by, replaces, received, accepted, quarantined, reason, updated_at)
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null, ?, ?, ?, ?, ?, ?)
        """,
        [
            digest,
            file_name,
            source_file,
            kind,
            area,
            period,
            size,
            batch_id,
            at,
            status,
            replaces,
            received,
            accepted,
            quarantined,
            reason,
            at,
        ],
    )
