"""Command line of the spreadsheet load: ``python -m ingestion.sheets.cli load [--drop-dir DIR] [--warehouse PATH]``.

Shows a progress bar over the drop folder's files and ends with a table of what happened to each file.
Exits 1 when a file failed to load for a reason other than its content (it will be tried again next run).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ingestion.sheets.loader import FileResult, SheetLoadSummary
from ingestion.sheets.run import load_sheets

app = typer.Typer(no_args_is_help=True, help="Load the towns' and villages' spreadsheets into the warehouse.")
console = Console()

STATUS_STYLE = {"loaded": "green", "duplicate": "dim", "unreadable": "yellow", "failed": "bold red"}


@app.callback()
def main() -> None:
    """Spreadsheet ingestion."""


def summary_table(summary: SheetLoadSummary) -> Table:
    """One line per file (file, kind, received, accepted, quarantined, status) and the totals."""
    table = Table(title=f"spreadsheet load {summary.batch_id}", show_footer=True)
    table.add_column("file", footer="total")
    table.add_column("kind")
    table.add_column("received", justify="right", footer=str(summary.received))
    table.add_column("accepted", justify="right", footer=str(summary.accepted))
    table.add_column("quarantined", justify="right", footer=str(summary.quarantined))
    table.add_column("status")
    for f in summary.files:
        table.add_row(
            f.source_file,
            f.kind or "?",
            str(f.received),
            str(f.accepted),
            str(f.quarantined),
            _status(f),
        )
    return table


def _status(f: FileResult) -> str:
    style = STATUS_STYLE.get(f.status, "")
    text = f"[{style}]{f.status}[/{style}]" if style else f.status
    if f.replaces:
        text += f" (replaces {f.replaces})"
    return text


@app.command()
def load(
    drop_dir: Annotated[
        Path | None, typer.Option(help="The drop folder (default: FUPIN_DROP_DIR or <state>/drop).")
    ] = None,
    warehouse: Annotated[
        Path | None, typer.Option(help="The DuckDB warehouse file (default: the build warehouse).")
    ] = None,
    batch_id: Annotated[
        str | None, typer.Option(help="The batch id (default: the current UTC time).")
    ] = None,
) -> None:
    """Load every new spreadsheet of the drop folder; print a summary table."""
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("reading the drop folder", total=None)

        def progress(done: int, total: int, source_file: str, result: FileResult | None) -> None:
            bar.update(task, total=total, completed=done, description=source_file)

        try:
            summary = load_sheets(
                batch_id=batch_id, drop_dir=drop_dir, warehouse=warehouse, progress=progress
            )
        except FileNotFoundError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
    console.print(summary_table(summary))
    for f in summary.files:
        if f.status in ("unreadable", "failed"):
            console.print(f"[yellow]{f.status}:[/yellow] {f.source_file}: {f.reason}")
    for warning in summary.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    console.print(
        f"{len(summary.files)} files ({', '.join(f'{n} {s}' for s, n in summary.by_status.items()) or 'none'}),"
        f" {summary.received} rows received, {summary.accepted} accepted, {summary.quarantined} quarantined"
        f" in {summary.seconds:.1f} s"
    )
    if summary.failed:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
