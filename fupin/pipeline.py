"""The pipeline's steps. The Airflow DAG and the command line call these same functions.

Each step takes the settings and returns a small JSON-serialisable summary (Airflow keeps it as the task's
return value; the command line prints it). Steps write only the build warehouse, except ``publish``, which
swaps the checked build in for readers.

One writer: every step that opens the build warehouse holds ``writer_lock`` (an exclusive lock on a file
beside the build), so a command-line run and an Airflow task, or two Airflow runs, never write it at once;
the second one waits. A step is idempotent for its data interval: the extract replaces rows only by newer
versions of themselves, dbt rebuilds or merges by key, and publication swaps a whole file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fupin.settings import REPO_ROOT, Settings

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
COUNTY_TZ = ZoneInfo("Asia/Shanghai")
log = logging.getLogger("fupin.pipeline")


def new_batch_id(at: datetime | None = None) -> str:
    at = at or datetime.now(UTC)
    return at.strftime("%Y%m%dT%H%M%S")


@contextlib.contextmanager
def writer_lock(settings: Settings, step: str, wait_log_every: float = 30.0) -> Iterator[None]:
    """Hold the one-writer lock of the build warehouse while ``step`` runs (waits for the current holder)."""
    path = settings.build_path.parent / ".writer.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        waited = 0.0
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if waited % wait_log_every == 0:
                    fh.seek(0)
                    log.warning("%s waits for the warehouse writer lock held by %s", step, fh.read().strip())
                time.sleep(1)
                waited += 1
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} step {step} since {datetime.now(UTC).isoformat(timespec='seconds')}")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fh.flush()
            fcntl.flock(fh, fcntl.LOCK_UN)


def day_interval(day: date) -> tuple[datetime, datetime]:
    """The data interval of one county day: [day 00:00, next day 00:00) in Asia/Shanghai."""
    start = datetime(day.year, day.month, day.day, tzinfo=COUNTY_TZ)
    return start, start + timedelta(days=1)


def day_intervals(first: date, last: date) -> list[tuple[datetime, datetime]]:
    """The daily data intervals of the days ``first`` .. ``last`` (both included), oldest first."""
    if last < first:
        raise ValueError(f"the range ends ({last}) before it starts ({first})")
    return [day_interval(first + timedelta(days=n)) for n in range((last - first).days + 1)]


def extract(
    settings: Settings,
    batch_id: str,
    full_refresh: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    progress=None,
) -> dict:
    """Operational PostgreSQL -> ``raw`` schema of the build warehouse.

    With ``since``/``until`` (a run's data interval) only rows updated in that window are read; without,
    each table reads what changed after its watermark.
    """
    from fupin.duck import connect
    from fupin.pgserver import source_dsn
    from ingestion.postgres import extract_postgres

    with writer_lock(settings, "extract"):
        con = connect(settings.build_path, extensions=("postgres_scanner",), settings=settings)
        try:
            loads = extract_postgres(
                con,
                source_dsn(settings),
                batch_id,
                full_refresh=full_refresh,
                since=since,
                until=until,
                progress=progress,
            )
        finally:
            con.close()
    return {
        "batch_id": batch_id,
        "window": [str(since) if since else None, str(until) if until else None],
        "tables": {
            t.table: {"mode": t.mode, "rows": t.received, "seconds": round(t.seconds, 3)} for t in loads
        },
        "rows": sum(t.received for t in loads),
    }


def extract_with_retries(
    settings: Settings, batch_id: str, retries: int = 3, first_delay: float = 10.0, **kwargs
) -> dict:
    """``extract``, retried with exponential back-off while the operational database is unreachable.

    The DAG relies on Airflow's task retries instead (same back-off, visible in the UI).
    """
    from ingestion.postgres import SourceUnavailable

    delay = first_delay
    for attempt in range(retries + 1):
        try:
            return extract(settings, batch_id, **kwargs)
        except SourceUnavailable as exc:
            if attempt == retries:
                raise
            log.warning("extract: source unavailable (%s); retry %d in %.0fs", exc, attempt + 1, delay)
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def load_sheets(settings: Settings, batch_id: str) -> dict:
    """The drop folder of town and village spreadsheets -> ``raw_sheets``, rejected rows -> ``quarantine``."""
    from ingestion.sheets import sheets_step

    with writer_lock(settings, "load_sheets"):
        return sheets_step(settings, batch_id)


def dbt_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        FUPIN_BUILD_PATH=str(settings.build_path),
        FUPIN_DUCKDB_HOME=str(settings.duckdb_home),
        FUPIN_DUCKDB_MEMORY_LIMIT=settings.duckdb_memory_limit,
        DBT_PROFILES_DIR=str(DBT_PROJECT_DIR),
        DBT_SEND_ANONYMOUS_USAGE_STATS="False",
        DBT_TARGET_PATH=str(settings.state_dir / "dbt" / "target"),
        DBT_LOG_PATH=str(settings.state_dir / "dbt" / "logs"),
    )
    return env


def dbt(settings: Settings, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a dbt command against the build warehouse, in a child process (so its file lock ends with it)."""
    settings.duckdb_home.mkdir(parents=True, exist_ok=True)
    executable = Path(sys.executable).parent / "dbt"
    proc = subprocess.run(
        [str(executable), *args, "--project-dir", str(DBT_PROJECT_DIR)],
        env=dbt_env(settings),
        cwd=DBT_PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise RuntimeError(f"dbt {' '.join(args)} failed (exit {proc.returncode}):\n{tail}")
    return proc


def _has_models(settings: Settings) -> bool:
    """Whether dbt has built the warehouse before (its core schema has tables)."""
    if not settings.build_path.exists():
        return False
    from fupin.duck import connect

    con = connect(settings.build_path, read_only=True, settings=settings)
    try:
        return bool(
            con.execute("select count(*) from duckdb_tables() where schema_name = 'core'").fetchone()[0]
        )
    finally:
        con.close()


def transform(
    settings: Settings,
    full_refresh: bool = False,
    tests: bool = True,
    test_all_rows: bool = False,
) -> dict:
    """dbt build: seeds, staging, core and marts, with their tests (``tests=False``: without them).

    Incremental models add what the extract brought in (never forced to rebuild: ``full_refresh`` is only for
    an explicit rebuild). They find their work in the data (what was loaded since they were last built), not
    in the run's interval, which is not passed to dbt: vars that change every run would make dbt parse the
    whole project again each time instead of reusing its saved parse. dbt's unit tests
    (fixed rows through the SQL logic) run on a first or full build; a daily run, whose code has not changed,
    runs the data tests only. The tests of the large incremental facts check the rows this build wrote;
    ``test_all_rows`` makes them check every row (the last day of a back-fill whose earlier days ran no tests).
    """
    started = time.perf_counter()
    with writer_lock(settings, "transform"):
        args = ["build"]
        if full_refresh:
            args.append("--full-refresh")
        if not tests:
            args += ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
        elif not full_refresh and _has_models(settings):
            # a daily build of an existing warehouse: its code has not changed, its data has
            args += ["--exclude-resource-type", "unit_test"]
        if tests and test_all_rows:
            args += ["--vars", json.dumps({"test_all_rows": True})]
        proc = dbt(settings, *args)
    summary = [line for line in proc.stdout.splitlines() if "Done. PASS=" in line]
    return {
        "dbt": summary[-1].split("Done. ", 1)[1] if summary else "done",
        "full_refresh": full_refresh,
        "seconds": round(time.perf_counter() - started, 2),
    }


def check(settings: Settings, run_id: str) -> dict:
    """The quality gate: run the checks, store their results, rebuild the village scorecard from them.

    The checks run after ``dbt build`` (they cover the marts too), so the scorecard mart, which reads this
    run's results from ``meta.quality_village_results``, is rebuilt here with
    ``dbt build --select village_quality_scorecard`` once the results are stored. The raw row counts are
    compared with the published warehouse's (a load that lost rows is blocked). Raises ``QualityGateFailed``
    when a blocking check fails: publication does not run and the published warehouse stays as it was.
    The caller holds the writer lock (the DAG's task and ``run_interval`` do).
    """
    from quality.checkpoint import QualityGateFailed, run_checks

    report = run_checks(
        settings.build_path,
        settings.quality_dir,
        run_id=run_id,
        baseline_path=settings.published_path,
        settings=settings,
    )
    scorecard_started = time.perf_counter()
    scorecard = dbt(settings, "build", "--select", "village_quality_scorecard", check=report.passed)
    result = {
        "run_id": report.run_id,
        "checks": len(report.outcomes),
        "passed": sum(o.status == "passed" for o in report.outcomes),
        "blocking_failures": {o.check: o.unexpected_count for o in report.blocking_failures},
        "warnings": {o.check: o.unexpected_count for o in report.warnings},
        "skipped": [o.check for o in report.skipped],
        "data_docs": str(report.docs_index) if report.docs_index else None,
        "scorecard": "rebuilt" if scorecard.returncode == 0 else "failed",
        "seconds": round(report.seconds, 2),
        "sql_seconds": round(report.sql_seconds, 2),
        "gx_seconds": round(report.gx_seconds, 2),
        "scorecard_seconds": round(time.perf_counter() - scorecard_started, 2),
    }
    if not report.passed:
        raise QualityGateFailed(report)
    return result


def publish(settings: Settings, run_id: str | None = None, interval_end: datetime | None = None) -> dict:
    """Swap the checked build in for readers, atomically; the file published before is kept for roll-back."""
    from fupin.publish import publish as do_publish

    with writer_lock(settings, "publish"):
        pub = do_publish(settings, run_id=run_id, interval_end=interval_end)
    return {
        "published": str(pub.path),
        "version": pub.version,
        "bytes": pub.bytes,
        "seconds": round(pub.seconds, 2),
    }


SUMMARY_SCHEMAS = ("raw", "raw_sheets", "quarantine", "core", "marts")


def run_summary(settings: Settings, results: dict | None = None) -> dict:
    """Rows per layer of the published warehouse, its version, and the quality result; logged as one line.

    Reads the published file read-only, as any reader would.
    """
    import duckdb

    from fupin.duck import connect
    from fupin.publish import published_version

    con = connect(settings.published_path, read_only=True, settings=settings)
    try:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where schema_name in "
            f"({', '.join('?' for _ in SUMMARY_SCHEMAS)}) order by 1, 2",
            list(SUMMARY_SCHEMAS),
        ).fetchall()
        layers: dict[str, dict[str, int]] = {}
        for schema, table in tables:
            n = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            layers.setdefault(schema, {})[table] = n
        try:
            quality = con.execute(
                """
                select run_id, count(*), count(*) filter (where not passed and severity = 'blocking'),
                       count(*) filter (where not passed and severity <> 'blocking')
                from meta.quality_results
                where run_id = (select arg_max(run_id, run_at) from meta.quality_results)
                group by run_id
                """
            ).fetchone()
        except duckdb.CatalogException:
            quality = None
    finally:
        con.close()
    version = published_version(settings.published_path, settings)
    summary = {
        "published_version": version,
        "rows_per_layer": {schema: sum(t.values()) for schema, t in layers.items()},
        "rows_per_table": layers,
        "quality": dict(zip(("run_id", "checks", "blocking_failures", "warnings"), quality, strict=True))
        if quality
        else None,
    }
    if results:
        summary["steps"] = results
    log.info(
        "run summary: published %s; rows per layer %s; quality %s",
        version,
        summary["rows_per_layer"],
        summary["quality"],
    )
    return summary


def run_interval(
    settings: Settings,
    since: datetime | None,
    until: datetime | None,
    *,
    publish_result: bool = True,
    full_refresh: bool = False,
    test_all_rows: bool = False,
) -> dict:
    """Every step of one daily run, in the DAG's order, for the data interval [since, until).

    Without ``publish_result`` (the inner days of a back-fill) dbt's tests and the quality gate are left to
    the day that publishes: they check the whole warehouse, which then holds every earlier day too. An
    inner day cannot pass them anyway: the source keeps only the latest version of a row, so a row changed
    after that day (a demand taken up later) is missing while rows that point at it are there.
    """
    batch_id = new_batch_id(since)
    results = {
        "extract": extract_with_retries(
            settings, batch_id, full_refresh=full_refresh, since=since, until=until
        ),
        "load_sheets": load_sheets(settings, batch_id),
        "transform": transform(
            settings, full_refresh=full_refresh, tests=publish_result, test_all_rows=test_all_rows
        ),
    }
    if publish_result:
        with writer_lock(settings, "check"):
            results["check"] = check(settings, run_id=batch_id)
        results["publish"] = publish(settings, run_id=batch_id, interval_end=until)
    return results


def run_all(settings: Settings, batch_id: str | None = None, full_refresh: bool = False) -> dict:
    """Every step in order, as the DAG runs them, over whatever changed since the last extract."""
    batch_id = batch_id or new_batch_id()
    results = {
        "extract": extract_with_retries(settings, batch_id, full_refresh=full_refresh),
        "load_sheets": load_sheets(settings, batch_id),
        "transform": transform(settings, full_refresh=full_refresh),
    }
    with writer_lock(settings, "check"):
        results["check"] = check(settings, run_id=batch_id)
    results["publish"] = publish(settings, run_id=batch_id)
    return results


def backfill(
    settings: Settings, first: date, last: date, *, publish_each: bool = False, progress=None
) -> dict:
    """Run the daily steps for every county day ``first`` .. ``last``, oldest first, one day at a time.

    Each day extracts only the rows updated in that day and dbt adds them (incremental models are not
    forced to rebuild), so the cost grows with the range, not range x a full rebuild. dbt's tests and the
    quality gate run before each publication: after the last day (or after each day with ``publish_each``).
    End a range on the source's current day for a warehouse that passes them (see ``run_interval``). On a
    failure nothing more is published and the days done so far stay in the build, so a re-run of the same
    range redoes them harmlessly.
    """
    intervals = day_intervals(first, last)
    started = time.perf_counter()
    days = []
    for n, (since, until) in enumerate(intervals):
        day_started = time.perf_counter()
        last_one = n == len(intervals) - 1
        # The last day tests every row when earlier days ran no tests (they publish nothing).
        result = run_interval(
            settings,
            since,
            until,
            publish_result=publish_each or last_one,
            test_all_rows=last_one and not publish_each and len(intervals) > 1,
        )
        days.append(
            {
                "day": since.date().isoformat(),
                "rows_extracted": result["extract"]["rows"],
                "dbt": result["transform"]["dbt"],
                "seconds": round(time.perf_counter() - day_started, 2),
            }
        )
        if progress:
            progress(days[-1])
    return {
        "first": first.isoformat(),
        "last": last.isoformat(),
        "days": days,
        "seconds": round(time.perf_counter() - started, 2),
        "summary": run_summary(settings),
    }
