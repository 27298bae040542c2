"""Smoke tests of the benchmarks (``python -m benchmarks``), on the session's XS county, one run each.

They keep the measuring code from rotting: every route and stage must run and report rows that agree with
the source. They assert no timing (the figures are the benchmark's output, not a test's).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


def _parse(table: str) -> list[dict[str, str]]:
    """The rows of a printed Markdown table, keyed by its header."""
    lines = [line for line in table.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    return [
        dict(zip(header, (c.strip() for c in line.strip("|").split("|")), strict=True)) for line in lines[2:]
    ]


def _rows(cell: str) -> int:
    return int(cell.replace(",", ""))


def _source_counts(dsn: str, tables: list[str]) -> dict[str, int]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        return {t: conn.execute(f'select count(*) from app."{t}"').fetchone()[0] for t in tables}


def test_extract_benchmark_routes_move_every_row(pg_dsn, xs_county, tmp_path):
    from benchmarks.extract import ROUTES, bench_extract, extract_table, operational_tables
    from benchmarks.state import BenchState

    state = BenchState(tmp_path / "bench", "XS", dsn=pg_dsn)
    results = bench_extract(state, runs=1, log=lambda _m: None)
    printed = _parse(extract_table(results))
    tables = operational_tables(pg_dsn)
    expected = _source_counts(pg_dsn, tables)
    assert expected["households"] > 0 and expected["gps_points"] > 0
    for route in ROUTES:
        per_table = {r["table"]: _rows(r["rows"]) for r in printed if r["route"] == route}
        assert {t: per_table[t] for t in tables} == expected, route
        total = next(r for r in printed if r["route"] == route and r["table"] == "TOTAL")
        assert _rows(total["rows"]) == sum(expected.values())
        assert float(total["seconds"].replace(",", "")) > 0
        assert total["× baseline time"].endswith("×")
    # The baseline's own ratio is 1 by definition; the others are measured against it.
    assert {r["× baseline time"] for r in printed if r["route"] == "parquet"} == {"1.00×"}


def test_stage_harness_on_the_published_warehouse(pg_dsn, published_warehouse, tmp_path):
    from benchmarks.extract import operational_tables
    from benchmarks.stages import bench_all, stage_table
    from benchmarks.state import BenchState

    state = BenchState(tmp_path / "bench", "XS", dsn=pg_dsn)
    out = bench_all(
        state, runs=1, stages=("extract", "dashboards"), published=published_warehouse, log=lambda _m: None
    )
    printed = {r["stage"]: r for r in _parse(stage_table(out["rows"]))}
    extract = printed["extract (PostgreSQL -> raw)"]
    assert _rows(extract["rows"]) == sum(_source_counts(pg_dsn, operational_tables(pg_dsn)).values())
    assert extract["baseline"] == "DuckDB COPY to Parquet" and extract["× baseline time"].endswith("×")
    # Every mart has an overview query; the named questions are also asked of PostgreSQL.
    overview = [s for s in printed if s.startswith("dashboard: ") and s.endswith(": overview")]
    assert "dashboard: status_by_village: overview" in overview
    town = printed["dashboard: status by town"]
    assert _rows(town["rows"]) > 0
    assert town["baseline"] == "same question on PostgreSQL"
    assert float(town["seconds"]) > 0 and float(town["baseline s"]) > 0
    assert not [s for s, r in printed.items() if "error" in r["note"]], printed


@pytest.mark.skipif(not os.environ.get("FUPIN_SLOW_TESTS"), reason="set FUPIN_SLOW_TESTS=1 (a few minutes)")
def test_all_stages_command_on_its_own_county(tmp_path):
    """The whole command on a county of its own (the daily stage advances the simulated clock)."""
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "all", "--scale", "XS", "--runs", "1", "--state", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k not in ("FUPIN_STATE_DIR", "FUPIN_SOURCE_DSN")},
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    printed = {r["stage"]: r for r in _parse(proc.stdout)}
    for stage in (
        "extract (PostgreSQL -> raw)",
        "spreadsheets (drop folder -> raw_sheets)",
        "dbt build (seeds, models, tests)",
        "quality checkpoint",
        "publish (atomic swap)",
        "dashboard: status by town",
        "daily incremental (extract, sheets, dbt)",
    ):
        assert _rows(printed[stage]["rows"]) > 0, stage
        assert float(printed[stage]["seconds"].replace(",", "")) > 0, stage
    assert printed["dbt build (seeds, models, tests)"]["× baseline time"].endswith("×")
    assert printed["daily incremental (extract, sheets, dbt)"]["baseline"] == "full rebuild"


def test_failed_dbt_build_is_reported_not_raised(monkeypatch):
    """A daily run whose dbt build fails still returns its timings, with the failure and dbt's message."""
    import fupin.pipeline
    from benchmarks import stages

    def failing(settings, full_refresh=False):
        raise RuntimeError(
            "dbt build failed:\nOut of Memory Error: could not allocate block (5.0 GiB/5.0 GiB used)"
        )

    monkeypatch.setattr(fupin.pipeline, "transform", failing)
    result = stages._timed_transform(settings=None)
    assert result["ok"] is False
    assert result["dbt"] == "dbt build FAILED"
    assert "Out of Memory" in result["error"]
    assert result["dbt_seconds"] >= 0
