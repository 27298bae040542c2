"""Command line of the county simulator: ``python -m simulator generate | advance-day | write-sheets``.

The DSN defaults to the product's operational database (``fupin.pgserver.source_dsn()``), starting the local
PostgreSQL server first when it is the one meant and it is not running.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

app = typer.Typer(
    help="The county simulator: the APP's operational database and the villages' spreadsheets.",
    no_args_is_help=True,
)
console = Console()


def default_dsn() -> str:
    from fupin.pgserver import local_postgres, source_dsn

    if os.environ.get("FUPIN_SOURCE_DSN"):
        return source_dsn()
    return local_postgres().start()


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    )


@app.command()
def generate(
    scale: str = typer.Option(
        "S", help="XS (tests), S (the reference county) or M (about 10 million people)"
    ),
    seed: int = typer.Option(20170101, help="the same seed gives byte-identical data"),
    manifest: Path | None = typer.Option(None, help="where to write the ground-truth manifest (JSON)"),
    counties: int | None = typer.Option(None, help="scale M only: generate just the first N counties"),
    dsn: str | None = typer.Option(None, help="PostgreSQL DSN (default: the product's operational database)"),
) -> None:
    """Replace the operational database's data with a generated county (or counties)."""
    from simulator.generate import generate as run

    target = dsn or default_dsn()
    with _progress() as bar:
        task = bar.add_task(f"generating scale {scale}", total=None)

        def step(_name: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = run(
            target, scale=scale, seed=seed, manifest_path=manifest, progress=step, counties=counties
        )
    console.print_json(json.dumps(summary, ensure_ascii=False))


@app.command("advance-day")
def advance_day(
    days: int = typer.Option(1, min=1, help="how many days to advance"),
    seed: int | None = typer.Option(None, help="default: the seed the database was generated with"),
    dsn: str | None = typer.Option(None, help="PostgreSQL DSN (default: the product's operational database)"),
) -> None:
    """Move the simulated clock forward, writing each day's visits, trajectories, tasks and edits."""
    from simulator.advance import advance_day as run

    target = dsn or default_dsn()
    with _progress() as bar:
        task = bar.add_task("advancing", total=days)
        results = []
        for _ in range(days):
            results.append(run(target, seed=seed))
            bar.update(task, advance=1, description=f"advanced to {results[-1]['day']}")
    console.print_json(json.dumps(results, ensure_ascii=False))


@app.command("write-sheets")
def write_sheets(
    out: Path = typer.Option(..., help="folder to write the towns' and villages' spreadsheets into"),
    seed: int = typer.Option(20170101, help="the same seed gives the same files and the same mess"),
    manifest: Path | None = typer.Option(None, help="where to write the sheets' manifest (JSON)"),
    dsn: str | None = typer.Option(None, help="PostgreSQL DSN (default: the product's operational database)"),
) -> None:
    """Write the exit plans, income verification sheets and household registers, messy as villages send them."""
    from simulator.sheets import write_spreadsheets

    target = dsn or default_dsn()
    with _progress() as bar:
        task = bar.add_task("writing spreadsheets", total=None)

        def step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = write_spreadsheets(target, out, seed=seed, manifest_path=manifest, progress=step)
    bad = sum(len(f["bad_rows"]) for f in result["files"].values())
    console.print(f"{len(result['files'])} files in {out}, {bad} rows planted to be rejected")


if __name__ == "__main__":
    app()
