"""The quality gate on the generated county: planted anomalies found exactly, results stored, loads blocked.

Runs on the session's county (``xs_county``) and the warehouse its real Airflow run published
(``published_warehouse``): the DAG's check task ran the same checkpoint these tests read the results of.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import duckdb
import pytest

# Planted anomaly kinds (simulator/anomalies.py) and the check that covers each: same names.
COVERED = (
    "invalid_id_check_digit",
    "person_in_two_households",
    "gps_outside_county",
    "cause_contradicts_members",
    "poor_without_helper",
    "exited_income_below_line",
    "exited_without_guarantee",
)


def _latest_run(con) -> str:
    return con.execute("select run_id from meta.quality_results order by run_at desc limit 1").fetchone()[0]


@pytest.fixture(scope="module")
def published(published_warehouse):
    con = duckdb.connect(str(published_warehouse), read_only=True)
    yield con
    con.close()


def _expected_keys(kind: str, manifest: dict) -> set[str]:
    from quality.suites import pii_salt

    keys = manifest["anomalies"][kind]["keys"]
    if kind == "person_in_two_households":  # ID numbers: stored only as the salted hash staging uses
        return {hashlib.sha256((pii_salt() + k).encode()).hexdigest() for k in keys}
    return {str(k) for k in keys}


@pytest.mark.parametrize("kind", COVERED)
def test_planted_anomaly_reported_with_the_manifest_count_and_keys(published, xs_county, kind):
    run_id = _latest_run(published)
    severity, status, failing, examined, sample = published.execute(
        """
        select severity, status, unexpected_count, element_count, sample_failing_keys
        from meta.quality_results where run_id = ? and check_name = ?
        """,
        [run_id, kind],
    ).fetchone()
    planted = xs_county["anomalies"][kind]["count"]
    assert planted >= 1
    assert (status, severity) == ("failed", "warning")
    assert failing == planted, f"{kind}: {failing} reported, {planted} planted"
    assert examined > failing
    keys = {
        r[0]
        for r in published.execute(
            "select key from meta.quality_failures where run_id = ? and check_name = ?", [run_id, kind]
        ).fetchall()
    }
    assert keys == _expected_keys(kind, xs_county)
    assert set(json.loads(sample)) <= keys


def test_the_published_run_passed_the_gate_with_every_check_recorded(published):
    from quality.suites import checks

    run_id = _latest_run(published)
    rows = published.execute(
        "select check_name, severity, status, passed, checked_at from meta.quality_results where run_id = ?",
        [run_id],
    ).fetchall()
    declared = {c.name: c.severity for c in checks()}
    assert {r[0]: r[1] for r in rows} == declared
    assert not [r for r in rows if r[1] == "blocking" and r[2] != "passed"]
    assert all(r[4] is not None for r in rows if r[2] != "skipped")
    # Checks that found nothing wrong in a clean generated county (integrity, plausibility) really ran.
    for name in (
        "person_household_exists",
        "household_id_unique",
        "raw_volume_kept",
        "status_by_village_reconciles",
    ):
        assert dict((r[0], r[2]) for r in rows)[name] in ("passed",), name


def test_village_tallies_add_up_and_attribute_failures(published, xs_county):
    run_id = _latest_run(published)
    mismatched = published.execute(
        """
        select r.check_name, r.unexpected_count, sum(v.failed)
        from meta.quality_results r
        join meta.quality_village_results v on v.run_id = r.run_id and v.check_name = r.check_name
        where r.run_id = ?
        group by 1, 2
        having r.unexpected_count <> sum(v.failed)
        """,
        [run_id],
    ).fetchall()
    assert not mismatched
    # Every failing key of a household-level check sits in its household's village.
    wrong_village = published.execute(
        """
        select count(*) from meta.quality_failures f
        join raw.households h on cast(h.household_id as varchar) = f.key
        where f.run_id = ? and f.check_name = 'poor_without_helper' and f.village_code <> h.village_code
        """,
        [run_id],
    ).fetchone()[0]
    assert wrong_village == 0


def test_scorecard_describes_the_published_run(published, xs_county):
    run_id = _latest_run(published)
    rows = published.execute(
        """
        select village_code, completeness, validity, timeliness, quarantined_rows, failed_checks, score,
               quality_run_id
        from marts.village_quality_scorecard
        """
    ).fetchall()
    villages = published.execute(
        "select count(*) from raw.regions where region_level = 'village' and deleted_at is null"
    ).fetchone()[0]
    assert len(rows) == villages == len({r[0] for r in rows})
    assert {r[7] for r in rows} == {run_id}
    for _, completeness, validity, timeliness, quarantined, failed, score, _ in rows:
        assert failed >= 0
        assert 0 <= completeness <= 1 and 0 <= validity <= 1 and 0 <= timeliness <= 1
        assert 0 <= score <= 100 and quarantined >= 0
    by_village = {r[0]: r for r in rows}
    # A village holding a planted bad ID number fails at least that check and scores below 100 on validity.
    village = published.execute(
        """
        select village_code from meta.quality_failures
        where run_id = ? and check_name = 'invalid_id_check_digit' limit 1
        """,
        [run_id],
    ).fetchone()[0]
    assert by_village[village][5] >= 1 and by_village[village][2] < 1
    # Quarantined spreadsheet rows are attributed to the villages whose files they came from.
    quarantined = published.execute(
        """
        select count(*) from quarantine.sheet_rows q
        join meta.sheet_files f on f.file_hash = q.file_hash
        where f.area_code in (select village_code from marts.village_quality_scorecard)
        """
    ).fetchone()[0]
    assert sum(r[4] for r in rows) == quarantined


def test_data_docs_html_for_stewards(dag_run, settings):
    from quality.checkpoint import data_docs_index

    index = data_docs_index(settings.quality_dir)
    assert index.exists()
    html = index.read_text()
    for suite in ("raw_persons", "raw_households", "raw_activity", "marts"):
        assert suite in html
    pages = list((index.parent / "validations").rglob("*.html"))
    assert pages
    assert any("invalid_id_check_digit" in p.read_text() for p in pages)


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_half_emptied_households_are_blocked_and_the_published_warehouse_stays(published_warehouse, settings):
    """Half of raw.households deleted in the build: the gate stops it; readers keep the last good file."""
    from fupin import pipeline
    from quality.checkpoint import QualityGateFailed

    before = _digest(published_warehouse)
    backup = settings.build_path.with_name("quality-test-backup.duckdb")
    shutil.copyfile(settings.build_path, backup)
    try:
        con = duckdb.connect(str(settings.build_path))
        total = con.execute("select count(*) from raw.households").fetchone()[0]
        con.execute(
            "delete from raw.households where household_id in "
            "(select household_id from raw.households order by household_id limit ?)",
            [total // 2],
        )
        con.close()
        with pipeline.writer_lock(settings, "check"), pytest.raises(QualityGateFailed) as raised:
            pipeline.check(settings, run_id="test-half-households")
        blocking = {o.check: o for o in raised.value.report.blocking_failures}
        assert {"raw_volume_kept", "person_household_exists", "status_by_village_reconciles"} <= set(blocking)
        assert blocking["raw_volume_kept"].sample == ["households"]
        assert "raw_volume_kept" in str(raised.value)
        # The run's verdict is stored in the build for the stewards, the published file is untouched.
        con = duckdb.connect(str(settings.build_path), read_only=True)
        stored = con.execute(
            "select count(*) from meta.quality_results where run_id = 'test-half-households'"
            " and severity = 'blocking' and not passed"
        ).fetchone()[0]
        con.close()
        assert stored == len(blocking)
        assert _digest(published_warehouse) == before
        con = duckdb.connect(str(published_warehouse), read_only=True)
        assert con.execute("select count(*) from raw.households").fetchone()[0] == total
        assert con.execute("select sum(households) from marts.status_by_village").fetchone()[0] > 0
        con.close()
    finally:
        shutil.move(backup, settings.build_path)


def test_a_duplicated_key_is_a_blocking_failure(published_warehouse, settings, tmp_path):
    """A person row loaded twice breaks a key: blocking, with the key named (checked on a copy)."""
    from quality.checkpoint import run_checks

    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(published_warehouse, copy)
    con = duckdb.connect(str(copy))
    person_id = con.execute("select min(person_id) from raw.persons").fetchone()[0]
    con.execute("insert into raw.persons select * from raw.persons where person_id = ?", [person_id])
    con.close()
    report = run_checks(copy, tmp_path / "quality", run_id="dup", baseline_path=published_warehouse)
    assert not report.passed
    assert [o.check for o in report.blocking_failures] == ["person_id_unique"]
    assert report.outcome("person_id_unique").sample == [str(person_id)]


def test_cli_check_prints_the_summary_table(published_warehouse, settings, monkeypatch):
    from rich.console import Console
    from typer.testing import CliRunner

    from fupin import cli

    monkeypatch.setattr(cli, "console", Console(stderr=True, width=220))
    result = CliRunner().invoke(cli.app, ["check", "--run-id", "test-cli"])
    assert result.exit_code == 0, result.output
    for text in (
        "quality run test-cli",
        "invalid_id_check_digit",
        "gps_outside_county",
        "blocking",
        "passed",
    ):
        assert text in result.output
    con = duckdb.connect(str(settings.build_path), read_only=True)
    assert (
        con.execute("select count(*) from meta.quality_results where run_id = 'test-cli'").fetchone()[0] > 0
    )
    run = con.execute("select distinct quality_run_id from marts.village_quality_scorecard").fetchall()
    con.close()
    assert run == [("test-cli",)]
