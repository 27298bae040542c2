"""Publish the finished, checked warehouse for readers, atomically, keeping the previous one for roll-back.

Readers (Superset, analysts) open ``published/warehouse.duckdb`` read-only. The build file is never that file:
publication copies the build into a temporary file beside the published one, checks that the copy opens and
holds the marts, then renames it over the published path. A rename is atomic on one file system, so a reader
opens either the old file or the new one, never a half-written one; a reader that already has the old file
open keeps reading it until it closes. The file published before is kept as ``warehouse.previous.duckdb``.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

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


def publish(settings: Settings) -> Publication:
    started = time.perf_counter()
    build, target, previous = settings.build_path, settings.published_path, settings.previous_path
    if not build.exists():
        raise PublishError(f"no build warehouse at {build}: run the pipeline first")
    target.parent.mkdir(parents=True, exist_ok=True)
    _checkpoint(build, settings)
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(build, staging)
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
        target, previous if previous.exists() else None, target.stat().st_size, time.perf_counter() - started
    )


def roll_back(settings: Settings) -> Path:
    """Put the previously published warehouse back in place."""
    target, previous = settings.published_path, settings.previous_path
    if not previous.exists():
        raise PublishError(f"no previous warehouse at {previous} to roll back to")
    staging = target.with_name(f".{target.name}.rollback.tmp")
    shutil.copyfile(previous, staging)
    os.replace(staging, target)
    return target
