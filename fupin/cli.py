"""``fupin``: the command line. Its step commands mirror the Airflow DAG's tasks and call the same functions."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console

from fupin import pipeline
from fupin.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="The precision poverty-alleviation data warehouse.")
pg_app = typer.Typer(no_args_is_help=True, help="The local PostgreSQL server of the operational database.")
app.add_typer(pg_app, name="pg")
console = Console(stderr=True)


def _print(summary: dict) -> None:
    console.print_json(json.dumps(summary, ensure_ascii=False, default=str))


@pg_app.command("start")
def pg_start() -> None:
    """Start (and on first use create) the local operational database; print its DSN."""
    from fupin.pgserver import local_postgres

    print(local_postgres().start())


@pg_app.command("stop")
def pg_stop() -> None:
    """Stop the local operational database."""
    from fupin.pgserver import local_postgres

    local_postgres().stop()


@pg_app.command("status")
def pg_status() -> None:
    from fupin.pgserver import local_postgres

    pg = local_postgres()
    print(f"running {pg.dsn}" if pg.is_running() else "stopped")


@app.command()
def extract(
    full_refresh: Annotated[bool, typer.Option(help="Reload every table whole.")] = False,
    batch_id: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Extract the operational database into the raw schema (incremental by updated_at)."""
    from rich.progress import Progress

    settings = get_settings()
    with Progress(console=console, transient=True) as bar:
        job = bar.add_task("extracting tables", total=None)
        summary = pipeline.extract(
            settings,
            batch_id or pipeline.new_batch_id(),
            full_refresh=full_refresh,
            progress=lambda table: bar.update(job, description=f"loaded {table}", advance=1),
        )
    _print(summary)


@app.command("load-sheets")
def load_sheets(batch_id: Annotated[str | None, typer.Option()] = None) -> None:
    """Load the spreadsheet drop folder (rejected rows go to quarantine)."""
    _print(pipeline.load_sheets(get_settings(), batch_id or pipeline.new_batch_id()))


@app.command()
def transform(
    full_refresh: Annotated[bool, typer.Option(help="Rebuild incremental models whole.")] = False,
) -> None:
    """Build the dbt models (staging, core and marts) and run their tests."""
    _print(pipeline.transform(get_settings(), full_refresh=full_refresh))


@app.command()
def check(run_id: Annotated[str | None, typer.Option()] = None) -> None:
    """Run the quality gate and print a table of the checks; exits non-zero when a blocking check fails."""
    from quality.checkpoint import QualityGateFailed
    from quality.summary import render, run_rows

    settings = get_settings()
    run_id = run_id or pipeline.new_batch_id()
    failed = None
    with pipeline.writer_lock(settings, "check"):
        try:
            summary = pipeline.check(settings, run_id=run_id)
        except QualityGateFailed as exc:
            failed, summary = exc, None
        finally:  # the results are stored before the scorecard is rebuilt: show them even if that failed
            render(run_rows(settings.build_path, run_id, settings), console, title=f"quality run {run_id}")
    if failed is not None:
        console.print(f"[red]{failed}")
        raise typer.Exit(1) from failed
    _print({k: v for k, v in summary.items() if k not in ("warnings", "blocking_failures")})


@app.command()
def publish(
    rollback: Annotated[
        bool, typer.Option(help="Put the previously published warehouse back (the two swap places).")
    ] = False,
) -> None:
    """Publish the checked build warehouse for readers (atomic swap), or roll back to the previous one."""
    if rollback:
        from fupin.publish import roll_back

        pub = roll_back(get_settings())
        _print({"published": str(pub.path), "version": pub.version, "previous": str(pub.previous)})
        return
    _print(pipeline.publish(get_settings()))


@app.command()
def backfill(
    start: Annotated[str, typer.Option(help="First county day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option(help="Last county day, YYYY-MM-DD (included).")],
    publish_each: Annotated[bool, typer.Option(help="Check and publish after every day.")] = False,
) -> None:
    """Run the daily steps for each day of a past range, oldest first; publish after the last day.

    The same functions as the DAG's tasks, one data interval at a time: each day extracts only its own rows.
    """
    from datetime import date

    summary = pipeline.backfill(
        get_settings(),
        date.fromisoformat(start),
        date.fromisoformat(end),
        publish_each=publish_each,
        progress=lambda day: console.print(
            f"{day['day']}: {day['rows_extracted']} rows extracted, dbt {day['dbt']}, {day['seconds']}s"
        ),
    )
    summary["summary"].pop("rows_per_table", None)
    _print(summary)


airflow_app = typer.Typer(no_args_is_help=True, help="Local Airflow: API server with the UI, scheduler.")
app.add_typer(airflow_app, name="airflow")


@airflow_app.command("start")
def airflow_start(port: Annotated[int, typer.Option(help="Port of the UI and API.")] = 8080) -> None:
    """Start the API server (UI), scheduler and DAG processor in the background; print the URL and login."""
    from fupin import airflow_env

    af = airflow_env.start(get_settings(), port=port)
    user, password = af.credentials()
    console.print(f"Airflow UI: [bold]{af.url}[/]  login: [bold]{user}[/] / [bold]{password}[/]")


@airflow_app.command("stop")
def airflow_stop() -> None:
    """Stop the Airflow services started by `fupin airflow start`."""
    from fupin import airflow_env

    stopped = airflow_env.stop(get_settings())
    console.print(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@airflow_app.command(
    "cmd",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
)
def airflow_cmd(ctx: typer.Context) -> None:
    """Any `airflow` command with the product's environment, e.g. `fupin airflow cmd backfill create ...`."""
    from fupin.airflow_env import airflow

    raise typer.Exit(airflow(get_settings(), *ctx.args, check=False).returncode)


@airflow_app.command("status")
def airflow_status() -> None:
    from fupin import airflow_env

    settings = get_settings()
    pids = airflow_env.running_pids(settings)
    port = airflow_env._port(settings, None)
    health = airflow_env.health(f"http://127.0.0.1:{port}")
    _print({"running": pids, "url": f"http://127.0.0.1:{port}", "health": health})


@app.command()
def run(full_refresh: bool = False) -> None:
    """Every step in order: extract, transform, check, publish."""
    _print(pipeline.run_all(get_settings(), full_refresh=full_refresh))


@app.command("dag-test")
def dag_test(date: Annotated[str, typer.Argument(help="Logical date, YYYY-MM-DD.")] = "") -> None:
    """Run the daily DAG once with ``airflow dags test`` (a real Airflow run, no scheduler needed)."""
    from fupin.airflow_env import airflow

    date = date or datetime.now().strftime("%Y-%m-%d")
    proc = airflow(get_settings(), "dags", "test", "fupin_daily", date, check=False)
    raise typer.Exit(proc.returncode)


@app.command()
def demo(
    scale: Annotated[str, typer.Option(help="County size: XS, S (the reference county) or M.")] = "S",
    port: Annotated[int, typer.Option(help="Port for the dashboards (0: a free port).")] = 8088,
    airflow_port: Annotated[int, typer.Option(help="Port for the Airflow UI (0: a free port).")] = 8080,
) -> None:
    """Generate a county, run the daily DAG in Airflow, and serve the Airflow UI and the dashboards until
    Ctrl-C."""
    from fupin.demo import run_demo

    run_demo(get_settings(), scale=scale, port=port, airflow_port=airflow_port)


def _mount(module: str, name: str, help_text: str) -> None:
    sub = __import__(module, fromlist=["app"]).app
    app.add_typer(sub, name=name, help=help_text)


_mount("simulator.cli", "simulate", "The county simulator: generate, advance a day, write spreadsheets.")
_mount("ingestion.sheets.cli", "sheets", "The spreadsheet drop folder: load with a summary table.")
_mount("dashboards.cli", "dashboards", "Superset as code: serve, provision, screenshot.")
