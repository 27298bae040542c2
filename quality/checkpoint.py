"""Run the quality checks on the build warehouse, validate them with Great Expectations, store the results.

Route, and why. Great Expectations 1.x has no supported DuckDB datasource: through duckdb-engine every metric
fails (GX closes the connection before it fetches, which rolls back DuckDB's result set), and regex
expectations are not implemented for the duckdb dialect. Patching GX internals to get around that would break
on the next GX release. Its pandas route is supported and works unpatched, but it needs the data in memory:
at scale M (10 M persons, 100 M+ GPS points) whole tables, or even the columns a check needs, do not fit.

So the work is split where each tool is strong:

1. DuckDB does the row-level work. Every check (``quality.suites``) is a SQL query yielding ``key,
   village_code, ok`` per record examined; the checkpoint runs it inside DuckDB as an aggregation
   ``group by village_code`` (records examined, records failing), so what comes back to Python is one row per
   village, whatever the table's size. Only when a check fails is it run a second time to keep its failing
   keys, written by DuckDB straight into ``meta.quality_failures`` (at most ``FAILING_KEYS_CAP`` per check;
   the per-village tallies stay exact). DuckDB streams the scans and spills joins to disk under a memory
   limit (``FUPIN_QUALITY_MEMORY_LIMIT``, by default the pipeline's DuckDB limit), so memory does not grow
   with the county.
2. Great Expectations validates those tallies with core expectations on its pandas route: one batch per suite
   (a data frame of villages x checks, cells = failing records), one
   ``expect_column_values_to_be_between(check, 0, 0)`` per check, run through a ValidationDefinition and a
   Checkpoint whose action updates the Data Docs site the data stewards read (which villages fail which check,
   by how many records). GX's verdict is the check's verdict.
3. The results of the run go to the warehouse: ``meta.quality_results`` (one row per check: suite, severity,
   passed, records examined, failing records, failing villages, a sample of failing keys),
   ``meta.quality_village_results`` (per check and village: examined, failing; feeds
   ``marts.village_quality_scorecard``) and ``meta.quality_failures`` (the failing keys with their village).
   Keys that are personal data (ID numbers) are stored only as the salted hash staging uses.

The gate: a failing ``blocking`` check raises ``QualityGateFailed`` (in ``fupin.pipeline.check``), so the
publication never runs and the published warehouse stays as it was.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

logging.getLogger("great_expectations").setLevel(logging.WARNING)
os.environ.setdefault("TQDM_DISABLE", "1")  # GX's per-metric progress bars drown the run's log

import great_expectations as gx  # noqa: E402
import great_expectations.expectations as gxe  # noqa: E402
import pandas as pd  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402

from fupin.duck import connect  # noqa: E402
from quality.suites import (  # noqa: E402
    AS_OF_FALLBACK_SQL,
    AS_OF_SQL,
    BLOCKING,
    PERSONS_SQL,
    POVERTY_LINE_SQL,
    RAW_TABLES,
    Check,
    pii_hash_sql,
    suites,
)

FAILING_KEYS_CAP = 100_000  # failing keys kept per check and run (the per-village tallies are exact)
SAMPLE_SIZE = 20  # failing keys quoted in meta.quality_results
KEEP_RUNS = 30  # runs whose failing keys are kept in meta.quality_failures
NO_VILLAGE = "(none)"  # tally label of records that belong to no village (tables, sources, orphans)

RESULTS_DDL = """
create schema if not exists meta;
create table if not exists meta.quality_results (
    run_id varchar not null,
    run_at timestamptz not null,
    suite varchar not null,
    check_name varchar not null,
    table_name varchar not null,
    expectation varchar not null,
    severity varchar not null,
    passed boolean not null,
    element_count bigint,
    unexpected_count bigint,
    sample_failing_keys json
);
alter table meta.quality_results add column if not exists status varchar;
alter table meta.quality_results add column if not exists dimension varchar;
alter table meta.quality_results add column if not exists description varchar;
alter table meta.quality_results add column if not exists villages_failing bigint;
alter table meta.quality_results add column if not exists seconds double;
alter table meta.quality_results add column if not exists checked_at timestamptz;

create table if not exists meta.quality_village_results (
    run_id varchar not null,
    run_at timestamptz not null,
    suite varchar not null,
    check_name varchar not null,
    severity varchar not null,
    dimension varchar not null,
    village_code varchar,          -- null: records that belong to no village
    checked bigint not null,
    failed bigint not null
);

create table if not exists meta.quality_failures (
    run_id varchar not null,
    suite varchar not null,
    check_name varchar not null,
    severity varchar not null,
    key varchar not null,          -- the failing record; personal data only as its salted hash
    village_code varchar
);
"""


@dataclass
class CheckOutcome:
    suite: str
    check: str
    severity: str
    dimension: str
    description: str
    status: str  # passed / failed / skipped
    element_count: int = 0
    unexpected_count: int = 0
    villages_failing: int = 0
    sample: list = field(default_factory=list)
    seconds: float = 0.0
    checked_at: datetime | None = None
    villages: dict[str, tuple[int, int]] = field(default_factory=dict)  # village -> (checked, failed)
    table: str = ""

    @property
    def passed(self) -> bool:
        return self.status != "failed"


@dataclass
class QualityReport:
    run_id: str
    run_at: datetime
    outcomes: list[CheckOutcome] = field(default_factory=list)
    docs_index: Path | None = None
    seconds: float = 0.0
    sql_seconds: float = 0.0
    gx_seconds: float = 0.0

    @property
    def blocking_failures(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if o.status == "failed" and o.severity == BLOCKING]

    @property
    def warnings(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if o.status == "failed" and o.severity != BLOCKING]

    @property
    def skipped(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if o.status == "skipped"]

    @property
    def passed(self) -> bool:
        return not self.blocking_failures

    def outcome(self, check: str) -> CheckOutcome:
        return next(o for o in self.outcomes if o.check == check)


class QualityGateFailed(RuntimeError):
    def __init__(self, report: QualityReport):
        self.report = report
        lines = [
            f"{o.check} ({o.suite}): {o.unexpected_count} failing of {o.element_count}; e.g. {o.sample[:3]}"
            for o in report.blocking_failures
        ]
        super().__init__("blocking quality checks failed, not publishing:\n  " + "\n  ".join(lines))


def data_docs_index(project_dir: Path) -> Path:
    return project_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


# -- DuckDB: the row-level work -----------------------------------------------------------------------------


def _table_exists(con, qualified: str) -> bool:
    schema, name = qualified.split(".")
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where database_name = current_database()"
            " and schema_name = ? and table_name = ?",
            [schema, name],
        ).fetchone()[0]
    )


def _prepare(con, baseline_path: Path | None) -> None:
    """The temporary tables the checks share: the as-of moment, the poverty line, persons, row volumes."""
    con.execute(AS_OF_SQL if _table_exists(con, "meta.watermarks") else AS_OF_FALLBACK_SQL)
    if not _table_exists(con, "reference.poverty_lines"):
        raise RuntimeError(
            "reference.poverty_lines is missing from the warehouse: the checks read the poverty line from the"
            " dbt seed, so run `fupin transform` before `fupin check`"
        )
    con.execute(POVERTY_LINE_SQL)
    if _table_exists(con, "raw.persons") and _table_exists(con, "raw.households"):
        con.execute(PERSONS_SQL)
    # Row volumes of the build and of the published warehouse, to catch a load that lost rows.
    build_rows = {
        t: con.execute(f"select count(*) from raw.{t}").fetchone()[0]
        for t in RAW_TABLES
        if _table_exists(con, f"raw.{t}")
    }
    published: dict[str, int] = {}
    if baseline_path and baseline_path.exists():
        con.execute(f"attach '{baseline_path}' as q_published (read_only)")
        try:
            present = {
                r[0]
                for r in con.execute(
                    "select table_name from duckdb_tables() where database_name = 'q_published'"
                    " and schema_name = 'raw'"
                ).fetchall()
            }
            published = {
                t: con.execute(f"select count(*) from q_published.raw.{t}").fetchone()[0]
                for t in RAW_TABLES
                if t in present
            }
        finally:
            con.execute("detach q_published")
    con.execute(
        "create or replace temp table q_volume (table_name varchar, rows bigint, published_rows bigint)"
    )
    rows = [[t, build_rows.get(t, 0), published.get(t)] for t in RAW_TABLES if t in published]
    if rows:
        con.executemany("insert into q_volume values (?, ?, ?)", rows)


def _run_check(con, check: Check, run_id: str) -> CheckOutcome:
    outcome = CheckOutcome(
        suite=check.suite,
        check=check.name,
        severity=check.severity,
        dimension=check.dimension,
        description=check.description,
        status="passed",
        table=(check.requires[0] if check.requires else check.suite),
    )
    started = time.perf_counter()
    missing = [t for t in check.requires if not _table_exists(con, t)]
    if missing:
        outcome.status = "skipped"
        outcome.sample = [f"missing table {t}" for t in missing]
    else:
        tallies = con.execute(
            f"""
            select coalesce(village_code, '{NO_VILLAGE}') as village_code, count(*) as checked,
                   count(*) filter (where not coalesce(ok, false)) as failed
            from ({check.sql}) as q
            group by 1
            """
        ).fetchall()
        outcome.villages = {v: (int(c), int(f)) for v, c, f in tallies}
        outcome.element_count = sum(c for c, _ in outcome.villages.values())
        outcome.unexpected_count = sum(f for _, f in outcome.villages.values())
        if outcome.unexpected_count:
            key = pii_hash_sql("key") if check.pii_key else "cast(key as varchar)"
            con.execute(
                f"""
                create or replace temp table q_fail as
                select {key} as key, village_code
                from ({check.sql}) as q
                where not coalesce(ok, false)
                order by 1
                limit {FAILING_KEYS_CAP}
                """
            )
            outcome.sample = [
                r[0] for r in con.execute(f"select key from q_fail limit {SAMPLE_SIZE}").fetchall()
            ]
            con.execute(
                "insert into meta.quality_failures select ?, ?, ?, ?, key, village_code from q_fail",
                [run_id, check.suite, check.name, check.severity],
            )
    outcome.seconds = time.perf_counter() - started
    outcome.checked_at = datetime.now(UTC)
    return outcome


# -- Great Expectations: the verdicts, the Data Docs --------------------------------------------------------


def _context(project_dir: Path):
    project_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(project_dir))
    if (context.variables.progress_bars or {}).get("globally") is not False:
        # The per-metric progress bars drown the run's log (Airflow keeps every line).
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        context.variables.save()
    return context


def _suite_frame(outcomes: list[CheckOutcome]) -> pd.DataFrame:
    """Villages x checks of one suite; each cell holds the records of that village failing that check."""
    villages = sorted({v for o in outcomes for v in o.villages})
    data: dict[str, list] = {"village_code": villages}
    for o in outcomes:
        data[o.check] = [o.villages.get(v, (0, 0))[1] for v in villages]
    return pd.DataFrame(data)


def _validate_suite(context, suite: str, outcomes: list[CheckOutcome]) -> None:
    """Validate one suite's tallies with GX (pandas route); set each outcome's verdict from GX's result."""
    validated = [o for o in outcomes if o.status != "skipped"]
    if not validated:
        return
    frame = _suite_frame(validated)
    datasource = context.data_sources.add_or_update_pandas(name="quality_tallies")
    try:
        asset = datasource.get_asset(suite)
    except LookupError:
        asset = datasource.add_dataframe_asset(name=suite)
    try:
        batch_definition = asset.get_batch_definition("per_village")
    except (LookupError, KeyError):
        batch_definition = asset.add_batch_definition_whole_dataframe("per_village")
    expectation_suite = gx.ExpectationSuite(name=suite)
    for o in validated:
        expectation_suite.add_expectation(
            gxe.ExpectColumnValuesToBeBetween(
                column=o.check,
                min_value=0,
                max_value=0,
                description=f"[{o.severity}] {o.description}",
                meta={"check": o.check, "severity": o.severity, "dimension": o.dimension},
            )
        )
    expectation_suite = context.suites.add_or_update(expectation_suite)
    validation = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite, data=batch_definition, suite=expectation_suite)
    )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=suite,
            validation_definitions=[validation],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")],
            result_format={"result_format": "SUMMARY", "unexpected_index_column_names": ["village_code"]},
        )
    )
    result = checkpoint.run(batch_parameters={"dataframe": frame})
    by_check = {o.check: o for o in validated}
    for run_result in result.run_results.values():
        for r in run_result.results:
            o = by_check[(r.expectation_config.meta or {})["check"]]
            o.status = "passed" if r.success else "failed"
            o.villages_failing = int((r.result or {}).get("unexpected_count") or 0)


# -- the run ------------------------------------------------------------------------------------------------


def _memory_limit(settings=None) -> str:
    """DuckDB's limit for the checks: ``FUPIN_QUALITY_MEMORY_LIMIT``, else the pipeline's own limit.

    An earlier default of 2 GB ran out of memory at scale M (a daily run's warehouse, 207 M source rows)
    in a per-village tally that does not spill; 4 GiB passed.
    """
    from fupin.settings import get_settings

    return os.environ.get("FUPIN_QUALITY_MEMORY_LIMIT") or (settings or get_settings()).duckdb_memory_limit


def run_checks(
    warehouse_path: Path,
    project_dir: Path,
    run_id: str | None = None,
    baseline_path: Path | None = None,
    settings=None,
) -> QualityReport:
    """Run every check on the warehouse, validate with GX, update Data Docs, store the results.

    ``baseline_path``: the last published warehouse, whose raw row counts a new load must keep.
    The caller holds the warehouse's writer lock; the results are written into the warehouse checked.
    """
    started = time.perf_counter()
    report = QualityReport(run_id=run_id or uuid.uuid4().hex[:12], run_at=datetime.now(UTC))
    con = connect(warehouse_path, settings=settings)
    try:
        con.execute("set enable_progress_bar = false")
        con.execute(f"set memory_limit = '{_memory_limit(settings)}'")
        con.execute("set preserve_insertion_order = false")
        con.execute(RESULTS_DDL)
        con.execute("delete from meta.quality_failures where run_id = ?", [report.run_id])
        _prepare(con, baseline_path if baseline_path != warehouse_path else None)
        grouped = suites()
        by_suite: dict[str, list[CheckOutcome]] = {}
        for suite, checks in grouped.items():
            by_suite[suite] = [_run_check(con, c, report.run_id) for c in checks]
        report.sql_seconds = time.perf_counter() - started
        gx_started = time.perf_counter()
        context = _context(project_dir)
        for suite, outcomes in by_suite.items():
            _validate_suite(context, suite, outcomes)
            report.outcomes.extend(outcomes)
        report.gx_seconds = time.perf_counter() - gx_started
        _store(con, report)
    finally:
        con.close()
    docs = data_docs_index(project_dir)
    report.docs_index = docs if docs.exists() else None
    report.seconds = time.perf_counter() - started
    return report


def _store(con, report: QualityReport) -> None:
    con.execute("begin transaction")
    try:
        for table in ("quality_results", "quality_village_results"):
            con.execute(f"delete from meta.{table} where run_id = ?", [report.run_id])
        con.executemany(
            """
            insert into meta.quality_results (
                run_id, run_at, suite, check_name, table_name, expectation, severity, passed, element_count,
                unexpected_count, sample_failing_keys, status, dimension, description, villages_failing,
                seconds, checked_at
            ) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                [
                    report.run_id,
                    report.run_at,
                    o.suite,
                    o.check,
                    o.table,
                    "expect_column_values_to_be_between",
                    o.severity,
                    o.passed,
                    o.element_count,
                    o.unexpected_count,
                    json.dumps(o.sample, ensure_ascii=False, default=str),
                    o.status,
                    o.dimension,
                    o.description,
                    o.villages_failing,
                    round(o.seconds, 3),
                    o.checked_at,
                ]
                for o in report.outcomes
            ],
        )
        rows = [
            [
                report.run_id,
                report.run_at,
                o.suite,
                o.check,
                o.severity,
                o.dimension,
                None if v == NO_VILLAGE else v,
                c,
                f,
            ]
            for o in report.outcomes
            for v, (c, f) in o.villages.items()
        ]
        if rows:
            village_rows = pd.DataFrame(
                rows,
                columns=[
                    "run_id",
                    "run_at",
                    "suite",
                    "check_name",
                    "severity",
                    "dimension",
                    "village_code",
                    "checked",
                    "failed",
                ],
            )
            con.register("q_village_rows", village_rows)
            con.execute("insert into meta.quality_village_results select * from q_village_rows")
            con.unregister("q_village_rows")
        con.execute(
            f"""
            delete from meta.quality_failures where run_id not in (
                select run_id from meta.quality_results group by run_id
                order by max(run_at) desc limit {KEEP_RUNS}
            )
            """
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
