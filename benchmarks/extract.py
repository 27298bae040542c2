"""The PostgreSQL extract, three ways, table by table, on the same operational database in the same run.

- ``extension``: the product's extract (``ingestion.postgres.extract_postgres``, full refresh) into a fresh
  DuckDB file through DuckDB's postgres extension;
- ``adbc``: the same full load with an Arrow-native driver (ADBC PostgreSQL, binary COPY into Arrow record
  batches) streamed into a DuckDB file, with the same load metadata columns, in one transaction;
- ``parquet`` (the baseline): DuckDB, through the postgres extension, copying each table straight to a
  Parquet file (``COPY (select * from pg.app.t) TO 't.parquet'``): no warehouse, no transaction, no merge.

Each route runs in a fresh process per run (see ``benchmarks.measure``); runs are interleaved so that noise
from other work on the machine falls on every route alike.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.measure import (
    fmt_rate,
    fmt_ratio,
    fmt_seconds,
    isolated,
    markdown_table,
    median,
    mib,
    sampler,
)
from benchmarks.state import BenchState

ROUTES = ("extension", "adbc", "parquet")
BASELINE = "parquet"
ROUTE_NAMES = {
    "extension": "product extract (DuckDB postgres extension)",
    "adbc": "ADBC PostgreSQL driver -> DuckDB",
    "parquet": "baseline: DuckDB COPY to Parquet",
}


def operational_tables(dsn: str) -> list[str]:
    """The tables the product extracts: every base table of schema ``app`` but the migrations ledger."""
    import psycopg

    from ingestion.postgres import EXCLUDED_TABLES, SOURCE_SCHEMA

    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select table_name from information_schema.tables "
            "where table_schema = %s and table_type = 'BASE TABLE' order by table_name",
            (SOURCE_SCHEMA,),
        ).fetchall()
    return [r[0] for r in rows if r[0] not in EXCLUDED_TABLES]


def _fresh(path: Path) -> Path:
    if path.is_dir():
        shutil.rmtree(path)
    for p in (path, Path(f"{path}.wal")):
        p.unlink(missing_ok=True)
    return path


# -- the routes (each runs in a child process) -------------------------------------------------------------
def run_extension(dsn: str, target: str, tables: list[str]) -> dict:
    from fupin.duck import connect
    from fupin.settings import get_settings
    from ingestion.postgres import extract_postgres

    con = connect(_fresh(Path(target)), extensions=("postgres_scanner",), settings=get_settings())
    peaks = sampler()
    started = time.perf_counter()
    loads = extract_postgres(con, dsn, "bench", tables=tables, full_refresh=True, progress=peaks.cut)
    total = time.perf_counter() - started
    con.close()
    return {
        "seconds": total,
        "tables": {t.table: {"rows": t.received, "seconds": t.seconds} for t in loads},
        "types": _landed_types(target),
    }


def run_adbc(dsn: str, target: str, tables: list[str]) -> dict:
    import adbc_driver_postgresql.dbapi as adbc

    from fupin.duck import connect
    from fupin.settings import get_settings
    from ingestion.postgres import SOURCE_SCHEMA

    con = connect(_fresh(Path(target)), settings=get_settings())
    peaks = sampler()
    started = time.perf_counter()
    out: dict[str, dict] = {}
    with adbc.connect(dsn) as pg:
        extracted_at = con.execute("select now()").fetchone()[0]
        con.execute("begin transaction")
        con.execute("create schema if not exists raw")
        for t in tables:
            t0 = time.perf_counter()
            with pg.cursor() as cur:
                cur.execute(f'select * from {SOURCE_SCHEMA}."{t}"')
                con.register("_arrow_source", cur.fetch_record_batch())
                con.execute(
                    f'create table raw."{t}" as select *, ? as _batch_id, ?::timestamptz as _extracted_at, '
                    f"? as _source from _arrow_source",
                    ["bench", extracted_at, f"postgres:{SOURCE_SCHEMA}.{t}"],
                )
                con.unregister("_arrow_source")
            rows = con.execute(f'select count(*) from raw."{t}"').fetchone()[0]
            out[t] = {"rows": rows, "seconds": time.perf_counter() - t0}
            peaks.cut(t)
        con.execute("commit")
    total = time.perf_counter() - started
    con.close()
    return {"seconds": total, "tables": out, "types": _landed_types(target)}


def run_parquet(dsn: str, target: str, tables: list[str]) -> dict:
    from fupin.duck import connect
    from fupin.settings import get_settings
    from ingestion.postgres import SOURCE_SCHEMA

    folder = _fresh(Path(target))
    folder.mkdir(parents=True)
    con = connect(":memory:", extensions=("postgres_scanner",), settings=get_settings())
    peaks = sampler()
    started = time.perf_counter()
    con.execute(f"attach '{dsn}' as pg (type postgres, read_only)")
    out: dict[str, dict] = {}
    for t in tables:
        t0 = time.perf_counter()
        rows = con.execute(
            f"copy (select * from pg.{SOURCE_SCHEMA}.\"{t}\") to '{folder / t}.parquet' (format parquet)"
        ).fetchone()[0]
        out[t] = {"rows": rows, "seconds": time.perf_counter() - t0}
        peaks.cut(t)
    total = time.perf_counter() - started
    con.close()
    return {"seconds": total, "tables": out}


def _landed_types(path: str) -> dict[str, dict[str, str]]:
    import duckdb

    con = duckdb.connect(path, read_only=True)
    try:
        rows = con.execute(
            "select table_name, column_name, data_type from duckdb_columns() where schema_name = 'raw'"
        ).fetchall()
    finally:
        con.close()
    types: dict[str, dict[str, str]] = {}
    for t, c, d in rows:
        types.setdefault(t, {})[c] = d
    return types


RUNNERS = {"extension": run_extension, "adbc": run_adbc, "parquet": run_parquet}
TARGETS = {"extension": "extract_extension.duckdb", "adbc": "extract_adbc.duckdb", "parquet": "parquet"}


# -- the benchmark -----------------------------------------------------------------------------------------
@dataclass
class RouteResult:
    route: str
    runs: list[dict] = field(default_factory=list)

    def table_seconds(self, table: str) -> float:
        return median(r["result"]["tables"][table]["seconds"] for r in self.runs)

    def table_rows(self, table: str) -> int:
        return self.runs[-1]["result"]["tables"][table]["rows"]

    def table_peak(self, table: str) -> int:
        return max(r["part_peaks"].get(table, 0) for r in self.runs)

    @property
    def seconds(self) -> float:
        return median(r["result"]["seconds"] for r in self.runs)

    @property
    def peak(self) -> int:
        return max(r["peak_rss"] for r in self.runs)

    @property
    def rows(self) -> int:
        return sum(t["rows"] for t in self.runs[-1]["result"]["tables"].values())


def bench_extract(
    state: BenchState,
    runs: int = 3,
    routes: tuple[str, ...] = ROUTES,
    log=print,
    keep: bool = False,
    tables: list[str] | None = None,
) -> dict[str, RouteResult]:
    dsn = state.start()
    available = operational_tables(dsn)
    unknown = [t for t in tables or [] if t not in available]
    if unknown:
        raise ValueError(f"no such operational table(s): {unknown}")
    tables = tables or available
    results = {r: RouteResult(r) for r in routes}
    for n in range(1, runs + 1):
        for route in routes:
            target = state.work_dir / TARGETS[route]
            log(f"run {n}/{runs}: {ROUTE_NAMES[route]} ...")
            measured = isolated(RUNNERS[route], dsn, str(target), tables, environ=state.environ())
            results[route].runs.append(measured)
            rate = fmt_rate(results[route].rows, measured["result"]["seconds"])
            log(
                f"  {fmt_seconds(measured['result']['seconds'])} s, {rate} rows/s, "
                f"peak {mib(measured['peak_rss'])} MiB"
            )
            if not keep:
                _fresh(target)
    return results


def type_differences(results: dict[str, RouteResult]) -> list[str]:
    """Columns that land with another type through ADBC than through the product's extract."""
    if "extension" not in results or "adbc" not in results:
        return []
    ext = results["extension"].runs[-1]["result"]["types"]
    adbc = results["adbc"].runs[-1]["result"]["types"]
    diffs = []
    for t in sorted(ext):
        for c, d in ext[t].items():
            other = adbc.get(t, {}).get(c)
            if other != d:
                diffs.append(f"{t}.{c}: {d} (extension) vs {other} (adbc)")
    return diffs


def extract_table(results: dict[str, RouteResult]) -> str:
    header = ["table", "rows", "route", "seconds", "rows/s", "× baseline time", "peak MiB"]
    base = results.get(BASELINE)
    any_route = next(iter(results.values()))
    tables = sorted(any_route.runs[-1]["result"]["tables"], key=lambda t: -any_route.table_rows(t))
    body = []
    for t in tables:
        for route, res in results.items():
            s = res.table_seconds(t)
            body.append(
                [
                    t,
                    f"{res.table_rows(t):,}",
                    route,
                    fmt_seconds(s),
                    fmt_rate(res.table_rows(t), s),
                    fmt_ratio(s, base.table_seconds(t) if base else None),
                    mib(res.table_peak(t)),
                ]
            )
    for route, res in results.items():
        body.append(
            [
                "TOTAL",
                f"{res.rows:,}",
                route,
                fmt_seconds(res.seconds),
                fmt_rate(res.rows, res.seconds),
                fmt_ratio(res.seconds, base.seconds if base else None),
                mib(res.peak),
            ]
        )
    return markdown_table(header, body)
