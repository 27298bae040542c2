"""``fupin dashboards``: serve Superset with the county dashboards, provision them (with roles), generate their
YAML from the spec, check them in Chromium."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fupin.settings import REPO_ROOT, get_settings

app = typer.Typer(no_args_is_help=True, help="Superset dashboards over the published warehouse.")
console = Console(stderr=True, soft_wrap=True)

DEFAULT_URL = "http://127.0.0.1:8088"
WarehouseOption = Annotated[
    Path | None, typer.Option(help="The published DuckDB file (default: the settings' published path).")
]


def _warehouse(path: Path | None) -> Path:
    return (path or get_settings().published_path).resolve()


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 8088,
    warehouse: WarehouseOption = None,
) -> None:
    """Install and initialise Superset if needed, start it, provision the dashboards; run until Ctrl-C."""
    from dashboards import server
    from dashboards.provision import provision

    settings = get_settings()
    warehouse_path = _warehouse(warehouse)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    started = time.perf_counter()
    console.print(f"Superset environment: {server.ensure_environment(settings)}")
    if server.init_metadata(settings):
        console.print("Superset metadata database initialised")
    running = server.start(settings, port=port or None)
    try:
        user, password = server.admin_credentials(settings)
        result = provision(running.url, user, password, warehouse_path)
        console.print(
            f"[bold green]Ready in {time.perf_counter() - started:.0f}s.[/] "
            f"Dashboard: [bold]{running.url}{result.dashboard_url}[/]  login: [bold]{user}[/] / [bold]{password}[/]\n"
            f"Warehouse (read-only): {warehouse_path}\nPress Ctrl-C to stop."
        )
        while not stop.is_set() and running.is_running():
            stop.wait(1)
        if not running.is_running():
            console.print(f"[red]Superset exited[/]:\n{running.log_tail()}")
            raise typer.Exit(1)
    except KeyboardInterrupt:
        pass
    finally:
        console.print("stopping Superset ...")
        running.stop()
        console.print("stopped.")


@app.command("provision")
def provision_command(
    url: Annotated[str, typer.Option(help="Superset's address.")] = DEFAULT_URL,
    warehouse: WarehouseOption = None,
) -> None:
    """Import (overwrite) the database, datasets, charts and dashboards into a running Superset; create or
    update the roles (county, town and village leaders, analyst) and their row-level security."""
    from dashboards import server
    from dashboards.provision import provision
    from dashboards.roles import dump

    user, password = server.admin_credentials(get_settings())
    result = provision(url, user, password, _warehouse(warehouse))
    for dashboard in result.dashboards.values():
        console.print(f"dashboard {dashboard.dashboard_id}: {url}{dashboard.dashboard_url}")
        for chart_uuid, name in dashboard.chart_names.items():
            console.print(f"  chart {dashboard.chart_ids[chart_uuid]}: {name}")
    if result.roles is not None:
        console.print(f"roles: {dump(result.roles)}")


@app.command()
def generate(warehouse: WarehouseOption = None) -> None:
    """Rewrite the asset YAML from dashboards/spec.py, reading columns from a built warehouse."""
    from dashboards.generate import generate as build
    from dashboards.generate import write

    generated = build(_warehouse(warehouse))
    write(generated)
    console.print(f"{len(generated.files)} asset files written")
    for line in generated.left_out:
        console.print(f"[yellow]left out[/]: {line}")


@app.command()
def screenshot(
    url: Annotated[str, typer.Option(help="Superset's address.")] = DEFAULT_URL,
    dashboard: Annotated[str, typer.Option(help="Dashboard slug or id.")] = "county-overview",
    out: Annotated[Path, typer.Option(help="PNG to write.")] = REPO_ROOT
    / "artifacts"
    / "screenshots"
    / "county-overview.png",
) -> None:
    """Open a dashboard in headless Chromium, wait for every chart, fail on chart errors, save a PNG."""
    from dashboards import server
    from dashboards.browser import DashboardCheckError, check_dashboard

    user, password = server.admin_credentials(get_settings())
    try:
        render = check_dashboard(url, user, password, dashboard, out)
    except DashboardCheckError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    console.print(
        f"{render.title}: {len(render.charts)} charts in {render.seconds:.1f}s; screenshot {render.screenshot}"
    )
    for chart in render.charts:
        console.print(f"  {chart.name} ({chart.viz_type}): {'data' if chart.has_data else 'NO DATA'}")
    if not all(chart.has_data for chart in render.charts):
        raise typer.Exit(1)
