"""``make demo``: a generated county, a real Airflow run of the daily DAG, the Airflow UI and the dashboards,
until Ctrl-C."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

from rich.console import Console

from fupin.settings import Settings

console = Console()


def run_demo(settings: Settings, scale: str = "S", port: int = 8088, airflow_port: int = 8080) -> None:
    from dashboards import server
    from dashboards.provision import provision
    from fupin import airflow_env
    from fupin.airflow_env import airflow
    from fupin.pgserver import free_port, local_postgres
    from simulator.generate import generate
    from simulator.sheets import write_spreadsheets

    pg = local_postgres(settings)
    superset = None
    orchestrator = None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        started = time.perf_counter()
        console.rule("1/4 operational database")
        dsn = pg.start()
        console.print(f"PostgreSQL running: {dsn}")

        console.rule(f"2/4 generating a county at scale {scale}")
        summary = generate(
            dsn, scale=scale, seed=settings.seed, manifest_path=settings.state_dir / "manifest.json"
        )
        console.print(summary)
        sheets = write_spreadsheets(dsn, settings.drop_dir, seed=settings.seed)
        console.print(
            f"spreadsheets from towns and villages dropped in {settings.drop_dir}: {len(sheets['files'])} files"
        )

        console.rule("3/4 the daily DAG (airflow dags test)")
        run_date = run_date_covering(summary["as_of"])
        proc = airflow(settings, "dags", "test", "fupin_daily", run_date, check=False, capture=True)
        log_path = settings.airflow_home / "demo-dags-test.log"
        log_path.write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0 or "state=success" not in proc.stdout + proc.stderr:
            raise SystemExit(f"the DAG run failed; see {log_path}")
        console.print(f"DAG run succeeded (log: {log_path}); published {settings.published_path}")

        console.rule("4/4 Airflow UI and dashboards")
        # The scheduler takes over from here: the DAG is unpaused, so it runs the latest daily interval.
        orchestrator = airflow_env.start(settings, port=airflow_port or free_port())
        airflow_user, airflow_password = orchestrator.credentials()
        server.ensure_environment(settings)
        server.init_metadata(settings)
        superset = server.start(settings, port=port or None)
        user, password = server.admin_credentials(settings)
        provision(superset.url, user, password, settings.published_path)
        elapsed = time.perf_counter() - started
        console.print(
            f"\n[bold green]Ready in {elapsed:.0f}s.[/] Dashboards: [bold]{superset.url}[/]  "
            f"login: [bold]{user}[/] / [bold]{password}[/]\n"
            f"Airflow UI: [bold]{orchestrator.url}[/]  login: [bold]{airflow_user}[/] / [bold]{airflow_password}[/]\n"
            f"Data Docs: {_data_docs(settings)}\nPress Ctrl-C to stop."
        )
        while not stop.is_set():
            stop.wait(1)
    except KeyboardInterrupt:
        pass
    finally:
        console.print("stopping ...")
        if superset is not None:
            superset.stop()
        if orchestrator is not None:
            airflow_env.stop(settings)
        pg.stop()
        console.print("stopped.")


def run_date_covering(day: str) -> str:
    """The logical date of the daily run whose data interval is ``day`` (the county's calendar day).

    A daily run's data interval ends at the latest midnight (Asia/Shanghai) before its logical date, so the
    run for a day is the one dated the next day.
    """
    from datetime import date, timedelta

    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def _data_docs(settings: Settings) -> Path:
    return settings.quality_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
