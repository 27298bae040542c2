"""The operational database's schema: versioned SQL files ``V<nnn>__<name>.sql`` applied in order.

``migrate(dsn)`` applies the files not yet recorded in ``app.schema_migrations`` (each in its own
transaction, with its checksum) and returns the versions it applied; running it again applies nothing. A file
whose content changed after it was applied is an error: a new migration must be written instead.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

SCHEMA_DIR = Path(__file__).resolve().parent
_NAME = re.compile(r"^V(\d{3})__([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    """A migration file is malformed, changed after it was applied, or failed to apply."""


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def migrations(directory: Path = SCHEMA_DIR) -> list[Migration]:
    """The migration files in version order; a ``.sql`` file not named ``V<nnn>__<name>.sql`` is an error."""
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path}: migration files are named V<nnn>__<snake_case_name>.sql")
        found.append(Migration(match.group(1), match.group(2), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"{directory}: two migration files share a version: {versions}")
    return found


_BOOKKEEPING = """
create schema if not exists app;
create table if not exists app.schema_migrations (
    version     text primary key,
    name        text not null,
    checksum    text not null,
    applied_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);
"""


def applied(conn: psycopg.Connection) -> dict[str, str]:
    """Version -> checksum of the migrations recorded in the database."""
    exists = conn.execute("select to_regclass('app.schema_migrations')").fetchone()[0]
    if exists is None:
        return {}
    return dict(conn.execute("select version, checksum from app.schema_migrations").fetchall())


def migrate(dsn: str, directory: Path = SCHEMA_DIR) -> list[str]:
    """Apply the pending migrations to the database at ``dsn``; return the versions applied (in order)."""
    done: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        # One migrator at a time: a transaction-level advisory lock around each step.
        for migration in migrations(directory):
            with conn.transaction():
                conn.execute("select pg_advisory_xact_lock(20170101)")
                conn.execute(_BOOKKEEPING)
                recorded = applied(conn)
                if migration.version in recorded:
                    if recorded[migration.version] != migration.checksum:
                        raise MigrationError(
                            f"{migration.path.name} changed after it was applied (checksum"
                            f" {recorded[migration.version][:12]} in app.schema_migrations, file"
                            f" {migration.checksum[:12]}); write a new migration instead"
                        )
                    continue
                try:
                    conn.execute(migration.sql)
                except psycopg.Error as exc:
                    raise MigrationError(f"{migration.path.name} failed: {exc}") from exc
                conn.execute(
                    "insert into app.schema_migrations (version, name, checksum) values (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
                done.append(migration.version)
    return done
