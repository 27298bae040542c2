"""The pipeline's steps. The Airflow DAG and the command line call these same functions.

Each step takes the settings and returns a small JSON-serialisable summary (Airflow keeps it as the task's
return value; the command line prints it). Steps write only the build warehouse, except ``publish``, which
swaps the checked build in for readers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from fupin.settings import REPO_ROOT, Settings

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


def new_batch_id(at: datetime | None = None) -> str:
    at = at or datetime.now(UTC)
    return at.strftime("%Y%m%dT%H%M%S")


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


def load_sheets(settings: Settings, batch_id: str) -> dict:
    """The drop folder of town and village spreadsheets -> ``raw_sheets``, rejected rows -> ``quarantine``."""
    from ingestion.sheets import sheets_step

    return sheets_step(settings, batch_id)


def dbt_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        FUPIN_BUILD_PATH=str(settings.build_path),
        FUPIN_DUCKDB_HOME=str(settings.duckdb_home),
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


def transform(settings: Settings) -> dict:
    """dbt build: seeds, staging and marts, with their tests."""
    proc = dbt(settings, "build")
    summary = [line for line in proc.stdout.splitlines() if "Done. PASS=" in line]
    return {"dbt": summary[-1].split("Done. ", 1)[1] if summary else "done"}


def check(settings: Settings, run_id: str) -> dict:
    """The quality gate: run the suites; raise QualityGateFailed on a blocking failure."""
    from quality.checkpoint import QualityGateFailed, run_checks

    report = run_checks(settings.build_path, settings.quality_dir, run_id=run_id)
    result = {
        "run_id": report.run_id,
        "checks": len(report.outcomes),
        "blocking_failures": [o.check for o in report.blocking_failures],
        "warnings": [o.check for o in report.warnings],
        "data_docs": str(report.docs_index) if report.docs_index else None,
        "seconds": round(report.seconds, 2),
    }
    if not report.passed:
        raise QualityGateFailed(report)
    return result


def publish(settings: Settings) -> dict:
    from fupin.publish import publish as do_publish

    pub = do_publish(settings)
    return {"published": str(pub.path), "bytes": pub.bytes, "seconds": round(pub.seconds, 2)}


def run_all(settings: Settings, batch_id: str | None = None, full_refresh: bool = False) -> dict:
    """Every step in order, as the DAG runs them."""
    batch_id = batch_id or new_batch_id()
    return {
        "extract": extract(settings, batch_id, full_refresh=full_refresh),
        "load_sheets": load_sheets(settings, batch_id),
        "transform": transform(settings),
        "check": check(settings, run_id=batch_id),
        "publish": publish(settings),
    }
