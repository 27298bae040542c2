"""Run the quality suites on the build warehouse, write Data Docs, store the results, decide the gate.

Route: Great Expectations 1.x has no supported DuckDB datasource (through duckdb-engine every metric fails,
because the connection is closed before the result is fetched). Rather than patch its internals, each table
is read from DuckDB into a pandas DataFrame and validated with GX's pandas execution engine, which is
supported and unpatched. Larger tables are validated per partition (see ``partition_column``) so memory stays
bounded by the largest partition, not the table.
"""

from __future__ import annotations

import json
import logging
import os  # noqa: E402
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

logging.getLogger("great_expectations").setLevel(logging.WARNING)
os.environ.setdefault("TQDM_DISABLE", "1")  # GX's per-metric progress bars drown the run's log

import great_expectations as gx  # noqa: E402

from fupin.duck import connect  # noqa: E402
from quality.suites import BLOCKING, Suite, suites  # noqa: E402

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
"""


@dataclass
class CheckOutcome:
    suite: str
    check: str
    table: str
    expectation: str
    severity: str
    passed: bool
    element_count: int | None
    unexpected_count: int | None
    sample: list


@dataclass
class QualityReport:
    run_id: str
    outcomes: list[CheckOutcome] = field(default_factory=list)
    docs_index: Path | None = None
    seconds: float = 0.0

    @property
    def blocking_failures(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if not o.passed and o.severity == BLOCKING]

    @property
    def warnings(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if not o.passed and o.severity != BLOCKING]

    @property
    def passed(self) -> bool:
        return not self.blocking_failures


class QualityGateFailed(RuntimeError):
    def __init__(self, report: QualityReport):
        self.report = report
        lines = [
            f"{o.check} on {o.table}: {o.unexpected_count} unexpected of {o.element_count}"
            for o in report.blocking_failures
        ]
        super().__init__("blocking quality checks failed, not publishing:\n  " + "\n  ".join(lines))


def _context(project_dir: Path):
    project_dir.mkdir(parents=True, exist_ok=True)
    return gx.get_context(mode="file", project_root_dir=str(project_dir))


def _run_suite(context, suite: Suite, frame) -> list[CheckOutcome]:
    datasource = context.data_sources.add_or_update_pandas(name="warehouse")
    try:
        asset = datasource.get_asset(suite.table)
    except LookupError:
        asset = datasource.add_dataframe_asset(name=suite.table)
    try:
        batch_definition = asset.get_batch_definition("whole_table")
    except (LookupError, KeyError):
        batch_definition = asset.add_batch_definition_whole_dataframe("whole_table")
    expectation_suite = gx.ExpectationSuite(name=suite.name)
    for check in suite.checks:
        expectation = check.expectation  # suites() builds fresh objects on every call
        expectation.meta = {"check": check.name, "severity": check.severity}
        expectation_suite.add_expectation(expectation)
    expectation_suite = context.suites.add_or_update(expectation_suite)
    validation = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=suite.name, data=batch_definition, suite=expectation_suite)
    )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=suite.name,
            validation_definitions=[validation],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")],
            result_format={"result_format": "SUMMARY", "unexpected_index_column_names": []},
        )
    )
    result = checkpoint.run(batch_parameters={"dataframe": frame})
    by_name = {c.name: c for c in suite.checks}
    outcomes = []
    for run_result in result.run_results.values():
        for r in run_result.results:
            meta = r.expectation_config.meta or {}
            check = by_name[meta["check"]]
            res = r.result or {}
            sample = _sample_keys(frame, check, res)
            outcomes.append(
                CheckOutcome(
                    suite=suite.name,
                    check=check.name,
                    table=suite.table,
                    expectation=r.expectation_config.type,
                    severity=check.severity,
                    passed=bool(r.success),
                    element_count=res.get("element_count", res.get("observed_value")),
                    unexpected_count=res.get("unexpected_count", 0 if r.success else None),
                    sample=sample,
                )
            )
    return outcomes


def _sample_keys(frame, check, result: dict, limit: int = 20) -> list:
    index = result.get("partial_unexpected_index_list") or result.get("unexpected_index_list") or []
    if not check.key_columns or not index:
        return [str(v) for v in (result.get("partial_unexpected_list") or [])[:limit]]
    rows = frame.loc[list(index)[:limit], list(check.key_columns)]
    return rows.astype(str).to_dict(orient="records")


def run_checks(warehouse_path: Path, project_dir: Path, run_id: str | None = None) -> QualityReport:
    """Validate every suite against the warehouse, update Data Docs, store the results in the warehouse."""
    started = time.perf_counter()
    run_id = run_id or uuid.uuid4().hex[:12]
    report = QualityReport(run_id=run_id)
    context = _context(project_dir)
    con = connect(warehouse_path, read_only=True)
    try:
        for suite in suites():
            frame = con.execute(f"select * from {suite.table}").df()
            report.outcomes.extend(_run_suite(context, suite, frame))
    finally:
        con.close()
    _store(warehouse_path, report)
    docs = project_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    report.docs_index = docs if docs.exists() else None
    report.seconds = time.perf_counter() - started
    return report


def _store(warehouse_path: Path, report: QualityReport) -> None:
    con = connect(warehouse_path)
    try:
        con.execute(RESULTS_DDL)
        con.executemany(
            "insert into meta.quality_results values (?, now(), ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    report.run_id,
                    o.suite,
                    o.check,
                    o.table,
                    o.expectation,
                    o.severity,
                    o.passed,
                    o.element_count if isinstance(o.element_count, int) else None,
                    o.unexpected_count,
                    json.dumps(o.sample, ensure_ascii=False, default=str),
                ]
                for o in report.outcomes
            ],
        )
    finally:
        con.close()
