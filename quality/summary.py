"""A summary of one quality run for the terminal, read back from ``meta.quality_results`` in the warehouse."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from fupin.duck import connect

_STATUS_STYLE = {"passed": "green", "failed": "red", "skipped": "yellow"}


def run_rows(warehouse_path: Path, run_id: str, settings=None) -> list[dict]:
    """The stored result of every check of the run, blocking failures first."""
    con = connect(warehouse_path, read_only=True, settings=settings)
    try:
        cursor = con.execute(
            """
            select suite, check_name, severity, status, element_count, unexpected_count, villages_failing,
                   sample_failing_keys, seconds
            from meta.quality_results
            where run_id = ?
            order by status = 'failed' and severity = 'blocking' desc, status = 'failed' desc, suite, check_name
            """,
            [run_id],
        )
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def render(rows: list[dict], console: Console, title: str = "") -> None:
    """One line per check, grouped by suite; printed at least 150 columns wide (redirected output too)."""
    table = Table(title=title, header_style="bold", pad_edge=False)
    table.add_column("suite / check", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("examined", justify="right", no_wrap=True)
    table.add_column("failing", justify="right", no_wrap=True)
    table.add_column("villages", justify="right", no_wrap=True)
    table.add_column("s", justify="right", no_wrap=True)
    table.add_column("sample of failing keys", overflow="ellipsis", no_wrap=True, max_width=36)
    suite = None
    for r in sorted(rows, key=lambda r: (r["suite"], r["status"] != "failed", r["check_name"])):
        if r["suite"] != suite:
            if suite is not None:
                table.add_section()
            suite = r["suite"]
            table.add_row(f"[bold]{suite}")
        style = _STATUS_STYLE.get(r["status"], "")
        sample = json.loads(r["sample_failing_keys"] or "[]")
        failing = r["unexpected_count"] or 0
        table.add_row(
            f"  {r['check_name']}",
            f"[bold]{r['severity']}" if r["severity"] == "blocking" else r["severity"],
            f"[{style}]{r['status']}",
            f"{r['element_count'] or 0:,}",
            f"[{style}]{failing:,}" if failing else "0",
            f"{r['villages_failing'] or 0:,}",
            f"{r['seconds'] or 0:.1f}",
            ", ".join(str(k)[:16] for k in sample[:3]),
        )
    if console.width < 150:  # a pipe or a narrow terminal: print wide rather than fold every cell
        console = Console(file=console.file, width=150, force_terminal=console.is_terminal)
    console.print(table)
    counts = {s: sum(r["status"] == s for r in rows) for s in ("passed", "failed", "skipped")}
    blocking = sum(r["status"] == "failed" and r["severity"] == "blocking" for r in rows)
    console.print(
        f"{len(rows)} checks: [green]{counts['passed']} passed[/], [red]{counts['failed']} failed[/]"
        f" ([bold red]{blocking} blocking[/]), [yellow]{counts['skipped']} skipped[/]"
    )
