"""Publish the finished, checked warehouse for readers, atomically, keeping the previous one for roll-back.

Readers (Superset, analysts) open ``published/warehouse.duckdb`` read-only. The build file is never that file:
publication copies the build into a temporary file beside the published one, checks that the copy opens and
holds the marts, then renames it over the published path. A rename is atomic on one file system, so a reader
opens either the old file or the new one, never a half-written one; a reader that already has the old file
open keeps reading it until it closes. The file published before is kept as ``warehouse.previous.duckdb``.

Each published file names its own version in ``meta.publication`` (one row: version, the run, the end of the
data interval it holds, when it was published), written into the copy before the swap.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from fupin.duck import connect
from fupin.settings import Settings

REQUIRED_TABLES = ("marts.status_by_village",)


class PublishError(RuntimeError):
    pass


@dataclass
class Publication:
    path: Path
    previous: Path | None
    bytes: int
    seconds: float
    version: str = ""


def _checkpoint(build: Path, settings: Settings) -> None:
    """Fold the write-ahead log into the build file so that a byte copy is complete."""
    con = connect(build, settings=settings)
    try:
        con.execute("checkpoint")
    finally:
        con.close()


def _verify(path: Path, settings: Settings) -> None:
    con = connect(path, read_only=True, settings=settings)
    try:
        for table in REQUIRED_TABLES:
            schema, name = table.split(".")
            found = con.execute(
                "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
                [schema, name],
            ).fetchone()[0]
            if not found:
                raise PublishError(f"{path} has no table {table}; refusing to publish it")
    finally:
        con.close()


def _stamp(path: Path, settings: Settings, version: str, run_id: str | None, interval_end) -> None:
    """Write the publication's identity into the copy (never into the build)."""
    con = connect(path, settings=settings)
    try:
        con.execute("create schema if not exists meta")
        con.execute(
            """
            create or replace table meta.publication as
            select ?::varchar as version, ?::varchar as run_id, ?::timestamptz as data_interval_end,
                   now() as published_at
            """,
            [version, run_id, interval_end],
        )
        con.execute("checkpoint")
    finally:
        con.close()


def publish(
    settings: Settings, run_id: str | None = None, interval_end: datetime | None = None
) -> Publication:
    started = time.perf_counter()
    version = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    build, target, previous = settings.build_path, settings.published_path, settings.previous_path
    if not build.exists():
        raise PublishError(f"no build warehouse at {build}: run the pipeline first")
    target.parent.mkdir(parents=True, exist_ok=True)
    _checkpoint(build, settings)
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(build, staging)
        _stamp(staging, settings, version, run_id, interval_end)
        _verify(staging, settings)
        if target.exists():
            # Hard-link the current file as the previous one: the current path stays valid throughout.
            tmp_prev = previous.with_name(f".{previous.name}.{os.getpid()}.tmp")
            if tmp_prev.exists():
                tmp_prev.unlink()
            os.link(target, tmp_prev)
            os.replace(tmp_prev, previous)
        os.replace(staging, target)
    finally:
        if staging.exists():
            staging.unlink()
    return Publication(
        target,
        previous if previous.exists() else None,
        target.stat().st_size,
        time.perf_counter() - started,
        version,
    )


def published_version(path: Path, settings: Settings) -> str | None:
    if not path.exists():
        return None
    con = connect(path, read_only=True, settings=settings)
    try:
        row = con.execute("select version from meta.publication").fetchone()
    except duckdb.CatalogException:
        return None
    finally:
        con.close()
    return row[0] if row else None


def roll_back(settings: Settings) -> Publication:
    """Put the previously published warehouse back in place, atomically; the two swap places.

    The rolled-back file becomes ``warehouse.previous.duckdb``, so a second roll-back undoes the first.
    """
    started = time.perf_counter()
    target, previous = settings.published_path, settings.previous_path
    if not previous.exists():
        raise PublishError(f"no previous warehouse at {previous} to roll back to")
    _verify(previous, settings)
    staging = target.with_name(f".{target.name}.{os.getpid()}.rollback.tmp")
    tmp_prev = previous.with_name(f".{previous.name}.{os.getpid()}.rollback.tmp")
    try:
        shutil.copyfile(previous, staging)
        if target.exists():
            if tmp_prev.exists():
                tmp_prev.unlink()
            os.link(target, tmp_prev)
        os.replace(staging, target)
        if tmp_prev.exists():
            os.replace(tmp_prev, previous)
    finally:
        for leftover in (staging, tmp_prev):
            if leftover.exists():
                leftover.unlink()
    return Publication(
        target,
        previous,
        target.stat().st_size,
        time.perf_counter() - started,
        published_version(target, settings) or "",
    )
