"""Generate the operational database of a county (or of many counties) and the ground-truth manifest.

``generate(dsn, scale, seed, manifest_path)`` applies the migrations, replaces every row of schema ``app``
with a freshly generated county (the same seed gives byte-identical data), records the simulated clock and the
planted anomalies in schema ``sim``, and writes the manifest. The database is as of the end of 2017-12-01.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from simulator.calendar import AS_OF
from simulator.county import TABLE_ORDER, CountyData, build_county
from simulator.load import copy_frame, primary_keys, secondary_indexes, try_replica_role
from simulator.manifest import write_manifest
from simulator.scales import get_scale
from simulator.schema import migrate
from simulator.tables import finish

BULK_TABLES = ("gps_points", "visits")
Progress = Callable[[str, int, int], None]  # (step, done, total)


def generate(
    dsn: str,
    scale: str = "S",
    seed: int = 20170101,
    manifest_path: Path | None = None,
    progress: Progress | None = None,
    counties: int | None = None,
) -> dict:
    """Replace the operational database's data with a generated one; return a summary with row counts.

    ``counties`` limits scale M to its first n counties (to measure a fraction of it).
    """
    started = time.perf_counter()
    spec = get_scale(scale)
    chosen = spec.counties[:counties] if counties else spec.counties
    migrate(dsn)
    rows = {t: 0 for t in TABLE_ORDER}
    built: list[CountyData] = []
    timings: dict[str, float] = {}
    with psycopg.connect(dsn) as conn:
        fast = try_replica_role(conn)
        indexes = secondary_indexes(conn)
        for name, _ in indexes:
            conn.execute(f'drop index app."{name}"')
        # The big tables take their primary keys after the load (one sorted build beats row-by-row upkeep).
        keys = primary_keys(conn, BULK_TABLES)
        for table, (constraint, _) in keys.items():
            conn.execute(f'alter table app.{table} drop constraint "{constraint}"')
        tables = ", ".join(f"app.{t}" for t in TABLE_ORDER)
        conn.execute(f"truncate {tables}, sim.anomalies, sim.clock")
        for number, county in enumerate(chosen, start=1):
            t0 = time.perf_counter()
            data = build_county(county, seed, spec.visit_days)
            timings[f"build {county.code}"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            for table in TABLE_ORDER:
                t1 = time.perf_counter()
                rows[table] += copy_frame(conn, f"app.{table}", finish(table, data.tables[table]))
                timings[f"load {table}"] = timings.get(f"load {table}", 0.0) + time.perf_counter() - t1
            timings[f"load {county.code}"] = time.perf_counter() - t0
            _record_anomalies(conn, data)
            data.tables = {}  # keep only figures and planted keys
            built.append(data)
            if progress:
                progress("counties", number, len(chosen))
        t0 = time.perf_counter()
        for table, (constraint, columns) in keys.items():
            conn.execute(f'alter table app.{table} add constraint "{constraint}" primary key ({columns})')
        for _, definition in indexes:
            conn.execute(definition)
        conn.execute(
            "insert into sim.clock (clock_id, scale, seed, as_of, days_advanced) values (1, %s, %s, %s, 0)",
            (spec.name, seed, AS_OF),
        )
        conn.commit()
        timings["indexes"] = time.perf_counter() - t0
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in TABLE_ORDER:
            conn.execute(f"analyze app.{table}")
    summary = {
        "scale": spec.name,
        "seed": seed,
        "as_of": AS_OF.isoformat(),
        "counties": [c.code for c in chosen],
        "rows": rows,
        "foreign_key_triggers_skipped": fast,
        "seconds": round(time.perf_counter() - started, 1),
        "timings": {k: round(v, 2) for k, v in timings.items()},
    }
    if manifest_path is not None:
        write_manifest(Path(manifest_path), spec, seed, built, summary)
        summary["manifest"] = str(manifest_path)
    return summary


def _record_anomalies(conn: psycopg.Connection, data: CountyData) -> None:
    from simulator.anomalies import KINDS

    with (
        conn.cursor() as cur,
        cur.copy("copy sim.anomalies (kind, key_name, key_value, planted_on) from stdin") as cp,
    ):
        for kind, keys in data.planted.keys.items():
            key_name = KINDS[kind][0]
            for key in dict.fromkeys(keys):
                cp.write_row((kind, key_name, str(key), AS_OF))
