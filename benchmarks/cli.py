"""Command line: ``python -m benchmarks extract | all | prepare | browser``."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import typer
from rich.console import Console

from benchmarks.state import BenchState, default_state_dir
from fupin.settings import REPO_ROOT

app = typer.Typer(help="Benchmarks of the pipeline on a generated county.", no_args_is_help=True)
console = Console(stderr=True)


def bytecode_cache(modules: tuple[str, ...] = ()) -> None:
    """Let measured processes reuse compiled modules.

    Where the environment forbids writing bytecode (``PYTHONDONTWRITEBYTECODE``), every fresh process would
    compile pandas, pyarrow and dbt from source again (10 s and more on these cores), which measures Python's
    compiler, not the pipeline. The cache goes under ``.state/pycache``, outside the environment's files.
    """
    prefix = str(REPO_ROOT / ".state" / "pycache")
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = prefix
    sys.dont_write_bytecode = False
    sys.pycache_prefix = prefix
    # Spawned children inherit the interpreter's start-up flags (they may not write bytecode themselves):
    # compile the heavy libraries here, once; the children read them from the cache.
    from benchmarks.measure import PRELOAD

    for module in (*PRELOAD, *modules):
        __import__(module)


def _log(message: str) -> None:
    console.print(message, markup=False, highlight=False)


def _state(scale: str, state: Path | None, seed: int, counties: int | None) -> BenchState:
    return BenchState(state or default_state_dir(scale), scale=scale, seed=seed, counties=counties)


def machine() -> str:
    import os

    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem = int(Path("/proc/meminfo").read_text().split()[1]) / 2**20
    except OSError:
        mem = float("nan")
    return f"{os.cpu_count()} cores ({model}), {mem:.0f} GiB RAM, {platform.system()} {platform.release()}"


def _describe(state: BenchState, generated: dict) -> str:
    rows = generated.get("rows") or {}
    scope = f"first {state.counties} counties of M" if state.counties else f"scale {state.scale}"
    total = f", {sum(rows.values()):,} rows in the operational tables" if rows else ""
    return f"{scope}, seed {state.seed}{total}; state {state.directory}"


@app.command()
def prepare(
    scale: str = typer.Option("S", help="XS, S or M"),
    seed: int = typer.Option(20170101),
    counties: int | None = typer.Option(None, help="scale M only: the first N counties"),
    state: Path | None = typer.Option(None, help="state directory (default .state/bench/<scale>)"),
) -> None:
    """Generate (or reuse) the operational database of a scale in its state directory."""
    st = _state(scale, state, seed, counties)
    print(json.dumps(st.ensure_generated(log=_log), indent=1))


@app.command()
def extract(
    scale: str = typer.Option("S", help="XS, S or M"),
    runs: int = typer.Option(3, min=1, help="runs per route; the table shows medians"),
    state: Path | None = typer.Option(None, help="state directory (default .state/bench/<scale>)"),
    seed: int = typer.Option(20170101),
    counties: int | None = typer.Option(None, help="scale M only: the first N counties"),
    routes: str = typer.Option("extension,adbc,parquet", help="comma-separated routes to measure"),
    tables: str | None = typer.Option(None, help="comma-separated tables (default: every extracted table)"),
) -> None:
    """Rows per second of the PostgreSQL extract: the product's, an Arrow-native driver's, and the baseline."""
    from benchmarks.extract import ROUTE_NAMES, bench_extract, extract_table, type_differences

    bytecode_cache()
    st = _state(scale, state, seed, counties)
    generated = st.ensure_generated(log=_log)
    load_before = os.getloadavg()
    results = bench_extract(
        st,
        runs=runs,
        routes=tuple(routes.split(",")),
        log=_log,
        tables=tables.split(",") if tables else None,
    )
    print(f"## PostgreSQL extract, {_describe(st, generated)}")
    print(
        f"Machine: {machine()}; load average {load_before[1]:.1f} before, {os.getloadavg()[1]:.1f} after "
        f"(5 min). Median of {runs} run(s); peak = resident set size of the measuring process."
    )
    print("Routes: " + "; ".join(f"{k} = {v}" for k, v in ROUTE_NAMES.items() if k in results))
    print()
    print(extract_table(results))
    diffs = type_differences(results)
    if diffs:
        print()
        print("Columns landing with another type through ADBC:")
        for d in diffs:
            print(f"- {d}")


@app.command("all")
def all_stages(
    scale: str = typer.Option("S", help="XS, S or M"),
    runs: int = typer.Option(3, min=1, help="runs of the short pieces; the table shows medians"),
    heavy_runs: int | None = typer.Option(
        None,
        help="runs of the full-rebuild baseline (default: --runs); 0 takes it from this run's first build",
    ),
    state: Path | None = typer.Option(None, help="state directory (default .state/bench/<scale>)"),
    seed: int = typer.Option(20170101),
    counties: int | None = typer.Option(None, help="scale M only: the first N counties"),
    json_out: Path | None = typer.Option(None, "--json", help="also write the figures as JSON here"),
    sheets: bool = typer.Option(
        True, help="write the generated spreadsheets into the drop folder (--no-sheets: leave it as it is)"
    ),
    stages: str = typer.Option(
        "extract,sheets,dbt,quality,publish,dashboards,daily", help="comma-separated stages to run, in order"
    ),
) -> None:
    """Every stage of the pipeline with its baseline: extract, spreadsheets, dbt, quality, dashboards, a day."""
    from benchmarks.stages import bench_all, stage_table

    bytecode_cache(("great_expectations", "polars"))
    st = _state(scale, state, seed, counties)
    generated = st.ensure_generated(log=_log)
    load_before = os.getloadavg()
    started = time.perf_counter()
    out = bench_all(
        st, runs=runs, heavy_runs=heavy_runs, log=_log, stages=tuple(stages.split(",")), sheets=sheets
    )
    elapsed = time.perf_counter() - started
    load_after = os.getloadavg()
    print(f"## Pipeline stages, {_describe(st, generated)}")
    print(
        f"Machine: {machine()}; load average {load_before[1]:.1f} before, {load_after[1]:.1f} after "
        f"(5 min); {elapsed / 60:.1f} min in all. Median of {runs} run(s) for extract, dbt and the daily run; "
        "dashboard queries: 95th percentile; peak = resident set size of the measuring process and the "
        "processes it waited for (PostgreSQL's own memory not included)."
    )
    print()
    print(stage_table(out["rows"]))
    if out["context"].get("direct_failures"):
        print()
        print("Compiled statements that failed when run directly:")
        for f in out["context"]["direct_failures"]:
            print(f"- {f}")
    if json_out:
        json_out.write_text(
            json.dumps(
                {
                    "scale": scale,
                    "generated": generated,
                    "rows": [{k: v for k, v in vars(r).items() if k != "raw"} for r in out["rows"]],
                    "context": out["context"],
                },
                indent=1,
                default=str,
            )
        )


@app.command()
def browser(
    scale: str = typer.Option("S", help="XS, S or M: the published warehouse of that scale's state"),
    runs: int = typer.Option(3, min=1, help="openings of each dashboard; the first is cold"),
    state: Path | None = typer.Option(None, help="state directory (default .state/bench/<scale>)"),
    seed: int = typer.Option(20170101),
    repeat: int = typer.Option(10, min=1, help="runs of each chart's SQL on DuckDB (after a warm-up)"),
    top: int = typer.Option(10, min=1, help="how many of the slowest chart queries to list"),
    sql_out: Path | None = typer.Option(None, "--sql", help="also write every chart's SQL to this file"),
) -> None:
    """Each dashboard's load time in headless Chromium as the county leader, and every chart's SQL timed."""
    from benchmarks.browser_load import measure

    bench = _state(scale, state, seed, None)
    published = bench.settings.published_path
    if not published.exists():
        raise typer.BadParameter(
            f"{published} does not exist: run `python -m benchmarks all --scale {scale}`"
        )
    _log(f"machine: {machine()}")
    out = measure(published, runs, REPO_ROOT / "artifacts" / "bench-screenshots" / scale, repeat=repeat)
    print(f"Machine: {machine()}; published warehouse {published}")
    print()
    queries = out["queries"]
    print(
        f"| dashboard ({scale}) | charts (empty) | first opening, cold cache (s) | later openings, median (s) "
        "| slowest chart request, cold (ms) | slowest chart SQL on DuckDB, p95 (ms) |"
    )
    print("|---|---|---|---|---|---|")
    for slug, f in out["dashboards"].items():
        mine = [q for q in queries if q.dashboard == slug]
        request = max((q.request_ms for q in mine if q.request_ms is not None), default=None)
        sql = max((q.p95_ms for q in mine if q.p95_ms is not None), default=None)
        print(
            f"| {slug} | {f['charts']} ({f['empty']}) | {f['cold_s']:.1f} | {f['cached_median_s']:.1f} "
            f"| {'—' if request is None else f'{request:,.0f}'} | {'—' if sql is None else f'{sql:,.1f}'} |"
        )
    print(f"provisioning: {out['provision_s']:.1f} s")
    timed = sorted((q for q in queries if q.p95_ms is not None), key=lambda q: -q.p95_ms)
    print()
    print(
        f"{len(queries)} chart queries (the SQL Superset sent for each chart on the cold openings), each run "
        f"{repeat} times after a warm-up on the published file; the slowest:"
    )
    print()
    print("| dashboard | chart | p95 on DuckDB (ms) | browser request, cold (ms) |")
    print("|---|---|---|---|")
    for q in timed[:top]:
        request = "—" if q.request_ms is None else f"{q.request_ms:,.0f}"
        print(f"| {q.dashboard} | {q.chart} | {q.p95_ms:,.1f} | {request} |")
    for q in queries:
        if q.error:
            print(f"- FAILED {q.dashboard} / {q.chart}: {q.error}")
    if sql_out:
        sql_out.write_text("\n\n".join(f"-- {q.dashboard} / {q.chart}\n{q.sql};" for q in queries) + "\n")
