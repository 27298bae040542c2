"""Every stage of the pipeline, timed, each next to a baseline measured in the same run.

| stage | what is timed | baseline |
|---|---|---|
| extract | the product's full extract into a fresh build warehouse | DuckDB copying the same tables to Parquet |
| spreadsheets | loading the drop folder (the generated towns' and villages' files) | — |
| dbt build | ``dbt build`` (seeds, models, tests) on a copy of the freshly extracted warehouse | the SQL dbt ran (``target/run/**/*.sql``), executed straight in DuckDB in dependency order |
| quality checkpoint | ``fupin.pipeline.check`` | — |
| publish | the atomic publication of the checked build | — |
| dashboard queries | per query, the 95th percentile of repeated runs on the published file | the same question asked of PostgreSQL (where written) |
| daily incremental | after the simulator advances a day: extract of that day, spreadsheets, dbt build | a full rebuild of the same data (full extract, spreadsheets, ``dbt build --full-refresh``) in a fresh warehouse |

Each measured piece runs in its own fresh process (``benchmarks.measure``). The daily stage advances the
benchmark's operational database by one simulated day per run (the state keeps it; the table says the day).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.extract import _fresh, operational_tables, run_extension, run_parquet
from benchmarks.measure import (
    fmt_rate,
    fmt_ratio,
    fmt_seconds,
    isolated,
    markdown_table,
    median,
    mib,
    p95,
)
from benchmarks.state import BenchState

BUILD_SCHEMAS = ("reference", "staging", "core", "marts")


@dataclass
class StageRow:
    stage: str
    rows: int | None
    seconds: float | None
    peak: int | None
    baseline: str = "—"
    baseline_seconds: float | None = None
    note: str = ""
    runs: int = 1
    raw: list = field(default_factory=list)

    def cells(self) -> list[str]:
        return [
            self.stage,
            "—" if self.rows is None else f"{self.rows:,}",
            fmt_seconds(self.seconds),
            fmt_rate(self.rows, self.seconds) if self.rows is not None else "—",
            mib(self.peak),
            self.baseline,
            fmt_seconds(self.baseline_seconds),
            fmt_ratio(self.seconds, self.baseline_seconds),
            self.note,
        ]


HEADER = [
    "stage",
    "rows",
    "seconds",
    "rows/s",
    "peak MiB",
    "baseline",
    "baseline s",
    "× baseline time",
    "note",
]


def stage_table(rows: list[StageRow]) -> str:
    return markdown_table(HEADER, [r.cells() for r in rows])


# -- pieces that run in a child process (module-level, importable) ------------------------------------------
def child_sheets(batch_id: str) -> dict:
    from fupin.pipeline import load_sheets
    from fupin.settings import get_settings

    summary = load_sheets(get_settings(), batch_id)
    return {k: summary[k] for k in ("received", "accepted", "quarantined", "by_status")}


def child_dbt_build(full_refresh: bool = False) -> dict:
    from fupin.pipeline import transform
    from fupin.settings import get_settings

    try:
        return {"ok": True, **transform(get_settings(), full_refresh=full_refresh)}
    except RuntimeError as exc:
        return {"ok": False, "error": str(exc)[-3000:]}


def child_direct_sql(path: str, statements: list[tuple[str, str, str]], raw_source: str) -> dict:
    """Execute dbt's compiled statements (unique id, kind, sql) in order on the warehouse at ``path``.

    The loaded data is read through views on ``raw_source`` (attached read-only as ``raw_source``), the
    warehouse dbt built from, so the baseline reads the same stored tables without a copy of them.
    """
    from fupin.duck import connect
    from fupin.settings import get_settings

    con = connect(path, settings=get_settings())
    con.execute(f"attach '{raw_source}' as raw_source (read_only)")
    failed = []
    for uid, kind, sql in statements:
        try:
            if kind == "test":
                con.execute(sql).fetchall()
            else:
                con.execute(sql)
        except Exception as exc:  # noqa: BLE001 - reported with the node it came from
            failed.append(f"{uid}: {str(exc).splitlines()[0][:200]}")
    con.close()
    return {"statements": len(statements), "failed": failed}


def child_check(run_id: str) -> dict:
    from fupin.pipeline import check
    from fupin.settings import get_settings
    from quality.checkpoint import QualityGateFailed

    try:
        return {"passed": True, **check(get_settings(), run_id)}
    except QualityGateFailed as exc:
        report = exc.args[0] if exc.args else None
        failures = getattr(report, "blocking_failures", [])
        return {
            "passed": False,
            "checks": len(getattr(report, "outcomes", [])),
            "blocking_failures": {o.check: o.unexpected_count for o in failures},
        }


def child_publish(run_id: str) -> dict:
    from fupin.pipeline import publish
    from fupin.settings import get_settings

    return publish(get_settings(), run_id=run_id)


def child_duck_queries(path: str, queries: list[tuple[str, str]], repeat: int) -> dict:
    from fupin.duck import connect
    from fupin.settings import get_settings

    con = connect(path, read_only=True, settings=get_settings())
    times: dict[str, list[float] | str] = {}
    for name, sql in queries:
        try:
            con.execute(sql).fetchall()  # warm-up: the dashboard's first load
            runs = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                con.execute(sql).fetchall()
                runs.append(time.perf_counter() - t0)
            times[name] = runs
        except Exception as exc:  # noqa: BLE001 - a broken query is reported, the others still run
            times[name] = f"error: {str(exc).splitlines()[0][:200]}"
    con.close()
    return times


def child_pg_queries(dsn: str, queries: list[tuple[str, str]], repeat: int) -> dict:
    import psycopg

    times: dict[str, list[float] | str] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name, sql in queries:
            try:
                conn.execute(sql).fetchall()
                runs = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    conn.execute(sql).fetchall()
                    runs.append(time.perf_counter() - t0)
                times[name] = runs
            except Exception as exc:  # noqa: BLE001
                times[name] = f"error: {str(exc).splitlines()[0][:200]}"
    return times


def child_daily(day: str) -> dict:
    """One daily run for the simulated day ``day``: its extract window, spreadsheets, dbt build."""
    from datetime import date

    from fupin.pipeline import day_interval, extract, load_sheets, new_batch_id
    from fupin.settings import get_settings

    settings = get_settings()
    since, until = day_interval(date.fromisoformat(day))
    batch = new_batch_id()
    t0 = time.perf_counter()
    moved = extract(settings, batch, since=since, until=until)["rows"]
    t1 = time.perf_counter()
    load_sheets(settings, batch)
    t2 = time.perf_counter()
    return {
        "rows": moved,
        "extract_seconds": t1 - t0,
        "sheets_seconds": t2 - t1,
        **_timed_transform(settings),
    }


def child_rebuild() -> dict:
    """A full rebuild into a fresh warehouse: full extract, spreadsheets, dbt build with full refresh."""
    from fupin.pipeline import extract, load_sheets, new_batch_id
    from fupin.settings import get_settings

    settings = get_settings()
    batch = new_batch_id()
    t0 = time.perf_counter()
    moved = extract(settings, batch, full_refresh=True)["rows"]
    t1 = time.perf_counter()
    load_sheets(settings, batch)
    t2 = time.perf_counter()
    return {
        "rows": moved,
        "extract_seconds": t1 - t0,
        "sheets_seconds": t2 - t1,
        **_timed_transform(settings, full_refresh=True),
    }


def _timed_transform(settings, full_refresh: bool = False) -> dict:
    """The run's ``dbt build``: its seconds and summary, or the failure (the measurement goes on and says so)."""
    from fupin.pipeline import transform

    t0 = time.perf_counter()
    try:
        built = {"ok": True, "dbt": transform(settings, full_refresh=full_refresh)["dbt"]}
    except RuntimeError as exc:
        built = {"ok": False, "dbt": "dbt build FAILED", "error": str(exc)[-3000:]}
    return {"dbt_seconds": time.perf_counter() - t0, **built}


# -- helpers in the parent ---------------------------------------------------------------------------------
def _peak(measured: dict) -> int:
    return max(measured["peak_rss"], measured["children_peak_rss"])


def table_rows(path: Path, schemas: tuple[str, ...], settings) -> int:
    from fupin.duck import connect

    con = connect(path, read_only=True, settings=settings)
    try:
        tables = con.execute(
            f"select schema_name, table_name from duckdb_tables() "
            f"where schema_name in ({', '.join('?' for _ in schemas)})",
            list(schemas),
        ).fetchall()
        return sum(con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0] for s, t in tables)
    finally:
        con.close()


def ensure_sheets(state: BenchState, log=print) -> Path:
    """The generated towns' and villages' spreadsheets in the state's drop folder (written once per key)."""
    from simulator.sheets import write_spreadsheets

    drop = state.settings.drop_dir
    marker = state.directory / "sheets.json"
    key = json.dumps(state.key, sort_keys=True)
    if marker.exists() and marker.read_text() == key and drop.exists():
        return drop
    shutil.rmtree(drop, ignore_errors=True)
    log(f"writing the towns' and villages' spreadsheets into {drop} ...")
    started = time.perf_counter()
    write_spreadsheets(state.start(), drop, seed=state.seed)
    log(f"  {time.perf_counter() - started:.1f} s")
    marker.write_text(key)
    return drop


def direct_statements(target: Path) -> list[tuple[str, str, str]]:
    """The SQL the last ``dbt build`` ran, from ``target/run``, in dependency order, made self-standing.

    dbt-duckdb writes a table or view as ``<name>__dbt_tmp`` and renames it; executed directly, each statement
    creates the final name instead. Seeds (loaded from CSV, no SQL) and unit tests are not in ``target/run``.
    """
    manifest = json.loads((target / "manifest.json").read_text())
    results = json.loads((target / "run_results.json").read_text())["results"]
    ran = [r["unique_id"] for r in results if r.get("status") in ("success", "pass", "warn", "fail")]
    order = {uid: n for n, uid in enumerate(ran)}
    nodes = manifest["nodes"]
    wanted = [u for u in ran if u in nodes and nodes[u]["resource_type"] in ("model", "test")]
    # Topological order by depends_on, ties broken by dbt's execution order.
    done: set[str] = set()
    ordered: list[str] = []
    pending = sorted(wanted, key=order.get)
    while pending:
        progressed = False
        for uid in list(pending):
            deps = [d for d in nodes[uid]["depends_on"]["nodes"] if d in order and d in wanted]
            if all(d in done for d in deps):
                ordered.append(uid)
                done.add(uid)
                pending.remove(uid)
                progressed = True
                break
        if not progressed:
            ordered += pending
            break
    statements = []
    schemas = sorted({nodes[u]["schema"] for u in ordered if nodes[u]["resource_type"] == "model"})
    for schema in schemas:
        statements.append(("schema", "ddl", f'create schema if not exists "{schema}"'))
    for uid in ordered:
        node = nodes[uid]
        package = node["package_name"]
        candidates = [
            target / "run" / package / node["original_file_path"] / node["path"],
            target / "run" / package / node["original_file_path"],
            target / "run" / package / node["path"],
        ]
        file = next((c for c in candidates if c.is_file()), None)
        if file is None:
            continue
        sql = re.sub(r'"(\w+?)__dbt_tmp\w*"', r'"\1"', file.read_text())
        statements.append((uid, node["resource_type"], sql))
    return statements


def _strip_models(path: Path, settings) -> None:
    """Drop what dbt built (``BUILD_SCHEMAS``), keeping the loaded data: the warehouse as before a first build."""
    from fupin.duck import connect

    con = connect(path, settings=settings)
    try:
        for schema in BUILD_SCHEMAS:
            con.execute(f'drop schema if exists "{schema}" cascade')
        con.execute("checkpoint")
    finally:
        con.close()


def _direct_warehouse(built: Path, dst: Path, settings) -> None:
    """A fresh warehouse for the direct SQL: views on the loaded data of ``built``, a copy of its seeds.

    The views need ``built`` attached as ``raw_source`` (``child_direct_sql`` does it). Seeds are loaded by
    dbt from CSV, with no SQL in ``target/run``, so they are copied (untimed).
    """
    from fupin.duck import connect

    _fresh(dst)
    con = connect(dst, settings=settings)
    try:
        con.execute(f"attach '{built}' as raw_source (read_only)")
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = 'raw_source'"
        ).fetchall()
        for s, t in tables:
            con.execute(f'create schema if not exists "{s}"')
            if s == "reference":
                con.execute(f'create table "{s}"."{t}" as select * from raw_source."{s}"."{t}"')
            elif s not in BUILD_SCHEMAS:
                con.execute(f'create view "{s}"."{t}" as select * from raw_source."{s}"."{t}"')
        con.execute("detach raw_source")
    finally:
        con.close()


# -- the harness -------------------------------------------------------------------------------------------
STAGES = ("extract", "sheets", "dbt", "quality", "publish", "dashboards", "daily")


def bench_all(
    state: BenchState,
    runs: int = 3,
    heavy_runs: int | None = None,
    log=print,
    stages: tuple[str, ...] = STAGES,
    published: Path | None = None,
    sheets: bool = True,
) -> dict:
    """Run the chosen stages in order; return ``{"rows": [StageRow...], "context": {...}}``.

    ``runs`` repeats the short pieces (extract, dbt build, direct SQL, daily run); ``heavy_runs`` (default:
    ``runs``) the full-rebuild baseline. ``published`` points the dashboard queries at another published
    warehouse (default: the one this run publishes). ``sheets`` False leaves the drop folder as it is
    instead of writing the generated spreadsheets into it (at scale M writing them takes most of an hour).
    """
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise ValueError(f"unknown stages {sorted(unknown)}; known: {', '.join(STAGES)}")
    heavy_runs = runs if heavy_runs is None else heavy_runs
    settings = state.settings
    env = state.environ()
    rows: list[StageRow] = []
    context: dict = {}
    if sheets and ("sheets" in stages or "daily" in stages):
        ensure_sheets(state, log=log)
    if "extract" in stages:
        rows.append(stage_extract(state, runs, log))
    if "sheets" in stages:
        rows.append(stage_sheets(state, log))
    if "dbt" in stages:
        rows.append(stage_dbt(state, runs, log, context))
    warehouse_rows = None
    if "quality" in stages or "publish" in stages:
        warehouse_rows = table_rows(settings.build_path, ("raw", "raw_sheets", *BUILD_SCHEMAS), settings)
    if "quality" in stages:
        log("quality checkpoint ...")
        checked = isolated(child_check, "bench", environ=env)
        c = checked["result"]
        note = f"{c.get('checks', '?')} checks, " + (
            "passed" if c["passed"] else f"BLOCKED by {sorted(c['blocking_failures'])}"
        )
        rows.append(
            StageRow("quality checkpoint", warehouse_rows, checked["wall_seconds"], _peak(checked), note=note)
        )
    if "publish" in stages:
        log("publish ...")
        out = isolated(child_publish, "bench", environ=env)
        rows.append(
            StageRow(
                "publish (atomic swap)",
                warehouse_rows,
                out["wall_seconds"],
                _peak(out),
                note=f"{out['result']['bytes'] / 2**20:,.0f} MiB file",
            )
        )
    if "dashboards" in stages:
        rows += stage_dashboards(state, published or settings.published_path, log)
    if "daily" in stages:
        first_build = None
        by_stage = {r.stage.split(" (")[0]: r for r in rows}
        parts = ("extract", "spreadsheets", "dbt build")
        if heavy_runs == 0 and all(k in by_stage for k in parts):
            first_build = sum(by_stage[k].seconds for k in parts)
        rows.append(stage_daily(state, runs, heavy_runs, log, context, first_build))
    return {"rows": rows, "context": context}


def stage_extract(state: BenchState, runs: int, log) -> StageRow:
    """The product's extract into the build warehouse vs DuckDB copying the same tables to Parquet."""
    settings, dsn, env, work = state.settings, state.start(), state.environ(), state.work_dir
    tables = operational_tables(dsn)
    ext_runs, pq_runs = [], []
    for n in range(1, runs + 1):
        log(f"extract run {n}/{runs} ...")
        ext_runs.append(isolated(run_extension, dsn, str(settings.build_path), tables, environ=env))
        pq_runs.append(isolated(run_parquet, dsn, str(work / "stage_parquet"), tables, environ=env))
    _fresh(work / "stage_parquet")
    return StageRow(
        "extract (PostgreSQL -> raw)",
        sum(t["rows"] for t in ext_runs[-1]["result"]["tables"].values()),
        median(r["result"]["seconds"] for r in ext_runs),
        max(_peak(r) for r in ext_runs),
        "DuckDB COPY to Parquet",
        median(r["result"]["seconds"] for r in pq_runs),
        note=f"{len(tables)} tables",
        runs=runs,
    )


def stage_sheets(state: BenchState, log) -> StageRow:
    log("spreadsheets ...")
    sheets = isolated(child_sheets, "bench", environ=state.environ())
    return StageRow(
        "spreadsheets (drop folder -> raw_sheets)",
        sheets["result"]["received"],
        sheets["wall_seconds"],
        _peak(sheets),
        note=f"{sheets['result']['accepted']:,} accepted, {sheets['result']['quarantined']:,} quarantined",
    )


def stage_dbt(state: BenchState, runs: int, log, context: dict) -> StageRow:
    """``dbt build`` from the loaded data vs the SQL it ran, executed straight in DuckDB.

    Each dbt run starts from the extracted warehouse with dbt's schemas dropped (a first build). The direct
    run writes into a fresh file that reads the same loaded tables through views (no copy: at scale M the
    warehouse is over 10 GiB).
    """
    settings, env, work = state.settings, state.environ(), state.work_dir
    dbt_runs = []
    for n in range(1, runs + 1):
        log(f"dbt build run {n}/{runs} ...")
        _strip_models(settings.build_path, settings)
        dbt_runs.append(isolated(child_dbt_build, environ=env))
        if not dbt_runs[-1]["result"]["ok"]:
            log(dbt_runs[-1]["result"]["error"])
    statements = direct_statements(settings.state_dir / "dbt" / "target")
    built_rows = table_rows(settings.build_path, BUILD_SCHEMAS, settings)
    direct = work / "direct" / "warehouse.duckdb"
    direct_runs = []
    for n in range(1, runs + 1):
        log(f"compiled SQL run {n}/{runs} ({len(statements)} statements) ...")
        _direct_warehouse(settings.build_path, direct, settings)
        direct_runs.append(
            isolated(child_direct_sql, str(direct), statements, str(settings.build_path), environ=env)
        )
    _fresh(direct)
    failed = direct_runs[-1]["result"]["failed"]
    ok = all(r["result"]["ok"] for r in dbt_runs)
    note = dbt_runs[-1]["result"].get("dbt", "") if ok else "dbt build FAILED"
    if failed:
        note += f"; {len(failed)} compiled statements failed directly"
        context["direct_failures"] = failed
    context["direct_statements"] = len(statements)
    return StageRow(
        "dbt build (seeds, models, tests)",
        built_rows,
        median(r["wall_seconds"] for r in dbt_runs),
        max(_peak(r) for r in dbt_runs),
        "compiled SQL straight in DuckDB",
        median(r["wall_seconds"] for r in direct_runs),
        note=note,
        runs=runs,
    )


def stage_dashboards(state: BenchState, published: Path, log) -> list[StageRow]:
    """Every mart's representative queries on the published file vs the same questions asked of PostgreSQL."""
    from benchmarks.queries import mart_queries
    from fupin.duck import connect

    log("dashboard queries ...")
    settings, dsn, env = state.settings, state.start(), state.environ()
    con = connect(published, read_only=True, settings=settings)
    try:
        queries = mart_queries(con)
        mart_rows = {
            q.table: con.execute(f'select count(*) from marts."{q.table}"').fetchone()[0] for q in queries
        }
    finally:
        con.close()
    repeat = 20
    pg_repeat = 5 if state.scale in ("XS", "S") else 2
    duck = isolated(
        child_duck_queries, str(published), [(q.name, q.duck_sql) for q in queries], repeat, environ=env
    )
    pg = isolated(
        child_pg_queries, dsn, [(q.name, q.pg_sql) for q in queries if q.pg_sql], pg_repeat, environ=env
    )
    rows = []
    for q in queries:
        t = duck["result"][q.name]
        base = pg["result"].get(q.name)
        note = t if isinstance(t, str) else f"p95 of {repeat}"
        if isinstance(base, list):
            note += f"; PostgreSQL p95 of {pg_repeat}"
        elif base:
            note += f"; PostgreSQL {base}"
        rows.append(
            StageRow(
                f"dashboard: {q.name}",
                mart_rows[q.table],
                p95(t) if isinstance(t, list) else None,
                _peak(duck),
                "same question on PostgreSQL" if q.pg_sql else "—",
                p95(base) if isinstance(base, list) else None,
                note=note,
            )
        )
    return rows


def stage_daily(
    state: BenchState, runs: int, heavy_runs: int, log, context: dict, first_build: float | None = None
) -> StageRow:
    """After the simulator advances a day: that day's run vs a full rebuild of the same data.

    With ``heavy_runs`` 0 the rebuild is not run again: its time is ``first_build``, the extract, spreadsheet
    and dbt stages measured earlier in the same run (the same work on one day less of data), or no baseline
    when those stages were not run.
    """
    from simulator.advance import advance_day

    settings, dsn, env, work = state.settings, state.start(), state.environ(), state.work_dir
    daily_runs, rebuild_runs, days = [], [], []
    rebuild_state = work / "rebuild"
    rebuild_env = {**env, "FUPIN_STATE_DIR": str(rebuild_state), "FUPIN_DROP_DIR": str(settings.drop_dir)}
    for n in range(1, runs + 1):
        day = advance_day(dsn)["day"]
        days.append(str(day))
        log(f"daily run {n}/{runs} for {day} ...")
        daily_runs.append(isolated(child_daily, str(day), environ=env))
        if not daily_runs[-1]["result"]["ok"]:
            log(daily_runs[-1]["result"]["error"])
    for n in range(1, heavy_runs + 1):
        log(f"full rebuild {n}/{heavy_runs} ...")
        shutil.rmtree(rebuild_state, ignore_errors=True)
        rebuild_runs.append(isolated(child_rebuild, environ=rebuild_env))
        if not rebuild_runs[-1]["result"]["ok"]:
            log(rebuild_runs[-1]["result"]["error"])
    shutil.rmtree(rebuild_state, ignore_errors=True)
    d = daily_runs[-1]["result"]
    note = (
        f"days {', '.join(days)}; last: extract {d['extract_seconds']:.1f} s, "
        f"sheets {d['sheets_seconds']:.1f} s, dbt {d['dbt_seconds']:.1f} s ({d['dbt']})"
    )
    if not all(x["result"]["ok"] for x in daily_runs):
        note += "; a daily dbt build FAILED"
    if rebuild_runs:
        r = rebuild_runs[-1]["result"]
        context["rebuild"] = {k: round(v, 1) if isinstance(v, float) else v for k, v in r.items()}
        note += f"; rebuild: extract {r['extract_seconds']:.1f} s, dbt {r['dbt_seconds']:.1f} s ({r['dbt']})"
        baseline, baseline_s = "full rebuild", median(x["wall_seconds"] for x in rebuild_runs)
    elif first_build is not None:
        baseline, baseline_s = "first build above (extract + sheets + dbt)", first_build
    else:
        baseline, baseline_s = "—", None
    context["days"] = days
    return StageRow(
        "daily incremental (extract, sheets, dbt)",
        d["rows"],
        median(x["wall_seconds"] for x in daily_runs),
        max(_peak(x) for x in daily_runs),
        baseline,
        baseline_s,
        note=note,
        runs=runs,
    )
