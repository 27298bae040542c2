"""Orchestration on a generated XS county: backfills, a killed build, readers during a publication, Airflow.

These tests mutate a warehouse, so they use their own state directory (their own PostgreSQL, county and
Airflow home), never the session's.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import duckdb
import httpx
import pytest

from tests.conftest import ARTIFACTS, REPO_ROOT

# Wednesday to Friday: visits and GPS points every day; the last is the county's as-of day, so the source holds
# nothing newer and the warehouse passes every test (the source keeps only the latest version of a row).
FIRST, LAST = date(2017, 11, 29), date(2017, 12, 1)
# Load metadata: when and in which batch or dbt invocation a row was loaded, not what it says.
LOAD_METADATA = re.compile(r"(^_batch_id$|^_source$|extracted_at|invocation|loaded_at|built_at)")


@pytest.fixture(scope="module")
def orch():
    """A private state directory with its own PostgreSQL server and XS county (the session's is read-only).

    Outside pytest's temporary root: a concurrent pytest session resets that root's permissions, which the
    PostgreSQL server (running as the postgres user) needs to reach its data directory.
    """
    import tempfile

    from fupin.pgserver import local_postgres
    from fupin.settings import Settings
    from simulator.generate import generate
    from simulator.sheets import write_spreadsheets

    state = Path(tempfile.mkdtemp(prefix="fupin-orch-"))
    state.chmod(0o755)
    settings = Settings(state_dir=state, scale="XS", seed=7)
    pg = local_postgres(settings)
    dsn = pg.start()
    generate(dsn, scale="XS", seed=7, manifest_path=settings.state_dir / "manifest.json")
    write_spreadsheets(dsn, settings.drop_dir, seed=7)
    yield settings
    from fupin import airflow_env

    airflow_env.stop(settings)
    pg.stop()
    shutil.rmtree(state, ignore_errors=True)


def _env(settings) -> dict[str, str]:
    return {**os.environ, "FUPIN_STATE_DIR": str(settings.state_dir)}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# Built by `fupin check` from the stored results of quality runs, not from the source data: a backfill
# checks its last day, a bare build does not check at all.
BUILT_FROM_QUALITY_RUNS = {("marts", "village_quality_scorecard")}


def _compared_tables(con) -> list[tuple[str, str, list[str]]]:
    """The tables of core and marts (views are queries over them, and name the warehouse's own catalog)."""
    rows = con.execute(
        """
        select c.schema_name, c.table_name, list(c.column_name order by c.column_index)
        from duckdb_columns() c
        join duckdb_tables() t
          on t.database_name = c.database_name and t.schema_name = c.schema_name and t.table_name = c.table_name
        where c.database_name = 'a' and c.schema_name in ('core', 'marts')
        group by all order by all
        """
    ).fetchall()
    return [
        (s, t, [c for c in cols if not LOAD_METADATA.search(c)])
        for s, t, cols in rows
        if (s, t) not in BUILT_FROM_QUALITY_RUNS
    ]


def test_backfill_equals_a_fresh_full_build(orch):
    """Backfilling three past days one by one gives the same core and marts as one full build of them."""
    from fupin import pipeline

    # A fresh full build of everything up to the end of LAST.
    _, until = pipeline.day_interval(LAST)
    pipeline.extract(orch, "full", full_refresh=True, until=until)
    pipeline.load_sheets(orch, "full")
    pipeline.transform(orch, full_refresh=True)
    full = orch.state_dir / "full.duckdb"
    shutil.copyfile(orch.build_path, full)
    shutil.rmtree(orch.build_path.parent)

    # The same period as a backfill, a day at a time, the first day starting from an empty warehouse.
    result = pipeline.backfill(orch, FIRST, LAST)
    assert [d["day"] for d in result["days"]] == ["2017-11-29", "2017-11-30", "2017-12-01"]
    assert all(d["rows_extracted"] > 0 for d in result["days"]), result["days"]
    first_rows = result["days"][0]["rows_extracted"]
    assert all(d["rows_extracted"] < first_rows / 5 for d in result["days"][1:]), (
        "an incremental day must extract only its own rows"
    )
    assert result["summary"]["published_version"]
    assert orch.published_path.exists() and not orch.previous_path.exists()

    con = duckdb.connect()
    con.execute(f"attach '{orch.published_path}' as a (read_only)")
    con.execute(f"attach '{full}' as b (read_only)")
    # The last day rewrote its own days (and months) of the large incremental facts, not their history.
    for table, period, most in (
        ("core.fct_visit", "visit_date", 3),
        ("core.fct_gps_point", "recorded_date", 3),
        ("marts.visit_authenticity", "visit_date", 3),
        ("core.fct_household_status_monthly", "month_start", 2),
    ):
        written, total, periods = con.execute(
            f"select count(*) filter (where dbt_built_at = (select max(dbt_built_at) from a.{table})), "
            f"count(*), count(distinct {period}) filter "
            f"(where dbt_built_at = (select max(dbt_built_at) from a.{table})) from a.{table}"
        ).fetchone()
        assert 0 < written < total / 4 and periods <= most, (table, written, total, periods)
    # ... and of the models keyed by household or person, only the rows of what changed that day. The last
    # day's build time is dim_household's latest (two households changed that day); the audit and the risk
    # list hold few households at XS, and none of them need have changed.
    last_build = con.execute("select max(dbt_built_at) from a.core.dim_household").fetchone()[0]
    for table, some in (
        ("core.dim_household", True),
        ("core.dim_person", True),
        ("core.fct_status_change", True),
        ("marts.household_members", True),
        ("marts.visit_frequency", True),
        ("marts.household_card", True),
        ("marts.exit_audit", False),
        ("marts.return_risk", False),
        ("marts.households_without_helper", False),
    ):
        written, total = con.execute(
            f"select count(*) filter (where dbt_built_at = ?), count(*) from a.{table}", [last_build]
        ).fetchone()
        assert (written > 0 or not some) and written < total / 4, (table, written, total)
    tables = _compared_tables(con)
    assert {"core", "marts"} <= {s for s, _, _ in tables}
    assert any(t == "fct_gps_point" for _, t, _ in tables)
    for schema, table, cols in tables:
        select = ", ".join(f'"{c}"' for c in cols)
        counts = con.execute(
            f'select (select count(*) from a.{schema}."{table}"), (select count(*) from b.{schema}."{table}")'
        ).fetchone()
        assert counts[0] == counts[1], f"{schema}.{table}: backfill {counts[0]} rows, full build {counts[1]}"
        for x, y in (("a", "b"), ("b", "a")):
            diff = con.execute(
                f'select count(*) from (select {select} from {x}.{schema}."{table}" '
                f'except all select {select} from {y}.{schema}."{table}")'
            ).fetchone()[0]
            assert diff == 0, f"{schema}.{table}: {diff} rows of {x} are not in {y}"


def test_incremental_persons_follow_a_shared_id_number_into_an_unchanged_household(orch):
    """A member added to household B with the ID number of a member of household A: the daily build marks both
    as in several households, though A's rows did not change; a birthday of A's member keeps the mark; the
    daily builds equal a full rebuild."""
    import psycopg

    from fupin import pipeline
    from fupin.pgserver import source_dsn

    if not orch.build_path.exists():  # run on its own: a first build for the day's build to follow
        pipeline.extract(orch, "first")
        pipeline.load_sheets(orch, "first")
        pipeline.transform(orch)
    with psycopg.connect(source_dsn(orch), autocommit=True) as conn:
        cols = [
            r[0]
            for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = 'app' "
                "and table_name = 'persons' order by ordinal_position"
            )
        ]
        a_person, a_household, b_household = conn.execute(
            """
            select p.person_id, p.household_id,
                   (select min(h.household_id) from app.households h
                    where h.household_id != p.household_id and h.deleted_at is null)
            from app.persons p
            where p.deleted_at is null
              and (select count(*) from app.persons q where q.id_number = p.id_number and q.deleted_at is null) = 1
            order by p.person_id limit 1
            """
        ).fetchone()
        copied = [c for c in cols if c not in ("person_id", "household_id", "updated_at")]
        new_id = conn.execute("select max(person_id) + 1 from app.persons").fetchone()[0]
        conn.execute(
            f"insert into app.persons (person_id, household_id, updated_at, {', '.join(copied)}) "
            f"select %s, %s, (select max(updated_at) from app.persons) + interval '1 minute', "
            f"{', '.join(copied)} from app.persons where person_id = %s",
            [new_id, b_household, a_person],
        )

    pipeline.extract(orch, "shared-id")
    pipeline.transform(orch)
    con = duckdb.connect(str(orch.build_path), read_only=True)
    rows = con.execute(
        "select person_id, household_id, id_in_several_households, "
        "dbt_built_at = (select max(dbt_built_at) from core.dim_person) from core.dim_person "
        "where person_id in (?, ?) order by person_id",
        [a_person, new_id],
    ).fetchall()
    assert rows == [(a_person, a_household, True, True), (new_id, b_household, True, True)], rows
    written, total = con.execute(
        "select count(*) filter (where dbt_built_at = (select max(dbt_built_at) from core.dim_person)), count(*) "
        "from core.dim_person"
    ).fetchone()
    assert written < total / 4, (written, total)
    con.close()

    # A birthday alone (the stored age is no longer the age on the as-of day) rebuilds just that person, and
    # the rebuilt row keeps the ID number shared with the other household.
    with duckdb.connect(str(orch.build_path)) as rw:
        rw.execute("update core.dim_person set age = age - 1 where person_id = ?", [a_person])
    pipeline.transform(orch)
    con = duckdb.connect(str(orch.build_path), read_only=True)
    latest = con.execute(
        "select person_id, id_in_several_households from core.dim_person "
        "where dbt_built_at = (select max(dbt_built_at) from core.dim_person)"
    ).fetchall()
    assert latest == [(a_person, True)], latest
    compared = (
        "core.dim_person",
        "core.dim_household",
        "marts.household_members",
        "core.fct_household_status_monthly",
    )
    columns = {
        t: [
            f'"{c}"'
            for (c,) in con.execute(
                "select column_name from duckdb_columns() where schema_name || '.' || table_name = ? "
                "order by column_index",
                [t],
            ).fetchall()
            if not LOAD_METADATA.search(c)
        ]
        for t in compared
    }
    daily = {t: set(con.execute(f"select {', '.join(columns[t])} from {t}").fetchall()) for t in compared}
    con.close()

    pipeline.transform(orch, full_refresh=True)
    with duckdb.connect(str(orch.build_path), read_only=True) as con:
        for t in compared:
            full = set(con.execute(f"select {', '.join(columns[t])} from {t}").fetchall())
            assert daily[t] == full, f"{t}: {len(daily[t] - full)} daily rows not in the full build"


def _tables_as_sets(path: Path) -> dict[str, set]:
    """Every core and marts table of a warehouse as a set of rows, load metadata left out."""
    con = duckdb.connect()
    con.execute(f"attach '{path}' as a (read_only)")
    tables = {
        f"{s}.{t}": set(con.execute(f"select {', '.join(chr(34) + c + chr(34) for c in cols)} from a.{s}.{t}").fetchall())
        for s, t, cols in _compared_tables(con)
    }
    con.close()
    return tables


def test_incremental_marts_follow_the_as_of_day(orch):
    """Four months later (the as-of day pinned, no new data), visits leave the last 30 and 90 days, twinnings end
    and waits grow: the incremental household marts equal a full build on that day. Back on the data's own
    as-of day (earlier than the marts'), they are rebuilt whole and equal a full build again."""
    from fupin import pipeline

    if not orch.build_path.exists():  # run on its own: a first build for the later builds to follow
        pipeline.extract(orch, "first")
        pipeline.load_sheets(orch, "first")
    pipeline.transform(orch, tests=False)
    later = ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
    later += ["--vars", json.dumps({"as_of_date": "2018-03-31"})]

    pipeline.dbt(orch, "build", *later)
    con = duckdb.connect(str(orch.build_path), read_only=True)
    for table in ("visit_frequency", "household_card", "return_risk", "exit_audit", "households_without_helper"):
        as_of = con.execute(f"select list(distinct as_of_date) from marts.{table}").fetchone()[0]
        assert as_of in ([date(2018, 3, 31)], []), (table, as_of)
    con.close()
    daily = _tables_as_sets(orch.build_path)
    pipeline.dbt(orch, "build", "--full-refresh", *later)
    full = _tables_as_sets(orch.build_path)
    for table, rows in full.items():
        assert daily[table] == rows, f"{table}: {len(daily[table] ^ rows)} rows differ, 2018-03-31"

    pipeline.transform(orch, tests=False)
    daily = _tables_as_sets(orch.build_path)
    pipeline.transform(orch, full_refresh=True, tests=False)
    full = _tables_as_sets(orch.build_path)
    for table, rows in full.items():
        assert daily[table] == rows, f"{table}: {len(daily[table] ^ rows)} rows differ, back on the data's day"


def test_killed_dbt_build_leaves_the_published_warehouse_unchanged(orch):
    assert orch.published_path.exists()
    before = _sha256(orch.published_path)
    dbt_log = orch.state_dir / "dbt" / "logs" / "dbt.log"
    offset = dbt_log.stat().st_size if dbt_log.exists() else 0
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "fupin"), "transform", "--full-refresh"],
        env=_env(orch),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        started = False
        while time.monotonic() < deadline and proc.poll() is None:
            if dbt_log.exists():
                with open(dbt_log, "rb") as fh:
                    fh.seek(offset)
                    # A model has finished: dbt is writing the build warehouse.
                    if re.search(rb"OK created sql (table|incremental|view) model", fh.read()):
                        started = True
                        break
            time.sleep(0.2)
        assert started, "dbt never started writing"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert _sha256(orch.published_path) == before


def test_rerun_completes_while_readers_query_without_an_error(orch):
    """After the killed build, a re-run of the day completes and publishes; a reader loops all along."""
    from fupin import pipeline
    from fupin.publish import published_version

    old_version = published_version(orch.published_path, orch)
    stop = orch.state_dir / "reader.stop"
    out = orch.state_dir / "reader.json"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(orch.published_path), str(stop), str(out)],
        env=_env(orch),
        cwd=REPO_ROOT,
    )
    try:
        since, until = pipeline.day_interval(LAST)
        result = pipeline.run_interval(orch, since, until)
        time.sleep(1)
    finally:
        stop.touch()
        reader.wait(timeout=60)
    seen = json.loads(out.read_text())
    assert seen["errors"] == [], seen["errors"][:5]
    assert seen["queries"] > 20
    assert result["publish"]["version"] != old_version
    assert set(seen["versions"]) == {old_version, result["publish"]["version"]}, seen["versions"]
    assert published_version(orch.previous_path, orch) == old_version


READER = textwrap.dedent(
    """
    import json, sys, time, duckdb
    path, stop, out = sys.argv[1:4]
    from pathlib import Path
    queries, errors, versions = 0, [], []
    while not Path(stop).exists():
        try:
            con = duckdb.connect(path, read_only=True)
            try:
                n = con.execute("select sum(households) from marts.status_by_village").fetchone()[0]
                v = con.execute("select version from meta.publication").fetchone()[0]
                assert n and n > 0, n
            finally:
                con.close()
            queries += 1
            if v not in versions:
                versions.append(v)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        time.sleep(0.05)
    Path(out).write_text(json.dumps({"queries": queries, "errors": errors, "versions": versions}))
    """
)


def test_roll_back_swaps_in_the_previous_version(orch):
    from fupin.publish import published_version

    current = published_version(orch.published_path, orch)
    previous = published_version(orch.previous_path, orch)
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "fupin"), "publish", "--rollback"],
        env=_env(orch),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert published_version(orch.published_path, orch) == previous
    assert published_version(orch.previous_path, orch) == current


def test_airflow_services_run_a_backfill(orch):
    """`fupin airflow start`'s services: the UI answers, and `airflow backfill create` runs a day through
    the scheduler to success."""
    from fupin import airflow_env
    from fupin.pgserver import free_port

    af = airflow_env.start(orch, port=free_port())
    try:
        health = httpx.get(af.url + airflow_env.HEALTH_PATH, timeout=10).json()
        assert health["metadatabase"]["status"] == "healthy"
        assert health["scheduler"]["status"] == "healthy"
        ui = httpx.get(af.url + "/", timeout=10, follow_redirects=True)
        assert ui.status_code == 200 and "<html" in ui.text.lower()
        user, password = af.credentials()
        assert user == "admin" and password
        day = LAST.isoformat() + "T00:00:00+08:00"
        # The DAG processor must have parsed the DAG before a backfill can be created.
        deadline = time.monotonic() + 120
        while True:
            listed = airflow_env.airflow(orch, "dags", "list", "-o", "json", capture=True, check=False)
            if "fupin_daily" in listed.stdout or time.monotonic() > deadline:
                break
            time.sleep(3)
        created = airflow_env.airflow(
            orch,
            *("backfill", "create", "--dag-id", "fupin_daily", "--from-date", day, "--to-date", day),
            *("--max-active-runs", "1"),
            capture=True,
            check=False,
        )
        assert created.returncode == 0, created.stdout[-2000:] + created.stderr[-2000:]
        # By default wait until the scheduler has run the first task (short); FUPIN_SLOW_TESTS=1 waits for
        # the whole run to succeed.
        whole_run = os.environ.get("FUPIN_SLOW_TESTS") == "1"
        deadline = time.monotonic() + (900 if whole_run else 300)
        done = None
        while time.monotonic() < deadline:
            runs = _json_tail(
                airflow_env.airflow(
                    orch, "dags", "list-runs", "fupin_daily", "-o", "json", capture=True, check=False
                ).stdout
            )
            # `dags list-runs` prints no run type: a backfill's runs are named backfill__<date>
            backfill = [r for r in runs if r.get("run_id", "").startswith("backfill__")]
            if backfill and whole_run:
                done = backfill[0]["state"] if backfill[0]["state"] in ("success", "failed") else None
            elif backfill:
                tasks = _json_tail(
                    airflow_env.airflow(
                        orch,
                        *("tasks", "states-for-dag-run", "fupin_daily", backfill[0]["run_id"], "-o", "json"),
                        capture=True,
                        check=False,
                    ).stdout
                )
                extract = [t for t in tasks if t.get("task_id") == "extract"]
                done = (
                    extract[0]["state"] if extract and extract[0]["state"] in ("success", "failed") else None
                )
            if done:
                break
            time.sleep(5)
        if done != "success":
            logs = orch.airflow_home / "logs"
            tail = "\n".join(p.read_text(errors="replace")[-1500:] for p in sorted(logs.rglob("*.log"))[-6:])
            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / "airflow_backfill.log").write_text(tail)
        assert done == "success", f"backfill run: {done}; see artifacts/airflow_backfill.log"
    finally:
        airflow_env.stop(orch)
    assert not airflow_env.running_pids(orch)


def _json_tail(stdout: str) -> list[dict]:
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("["):
            return json.loads(line)
    return []
