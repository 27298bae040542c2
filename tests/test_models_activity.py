"""Activity models on the simulated county: visits, GPS trajectories, demands and tasks.

The first tests read the warehouse the session's real DAG run published and compare it with the simulator's
ground truth (the manifest) and with the operational database. The last one builds its own small county in
its own state directory (so the shared published warehouse is not disturbed) and checks that the GPS fact's
incremental build writes only the days that received data and equals a full refresh.
"""

from __future__ import annotations

import json
from datetime import timedelta

import psycopg
import pytest

from fupin.duck import connect

# Genuine visits in the simulator have a point every 3 minutes within ~50 m of the door, fabricated ones none
# within 2 km: there is no borderline case, so no visit outside the planted set may be flagged.
EXTRA_SUSPICIOUS_TOLERANCE = 0


@pytest.fixture(scope="module")
def warehouse(published_warehouse, settings):
    con = connect(published_warehouse, read_only=True, settings=settings)
    yield con
    con.close()


def _live_planted_visits(xs_county: dict, pg_dsn: str) -> set[int]:
    """Planted fabricated visits that are still live (not withdrawn) in the operational database."""
    planted = set(xs_county["anomalies"]["fabricated_visit"]["keys"])
    with psycopg.connect(pg_dsn) as conn:
        live = {
            r[0]
            for r in conn.execute(
                "select visit_id from app.visits where deleted_at is null and visit_id = any(%s)",
                (list(planted),),
            ).fetchall()
        }
    return live


def test_every_fabricated_visit_is_flagged_and_nothing_else(warehouse, xs_county, pg_dsn):
    planted = _live_planted_visits(xs_county, pg_dsn)
    assert planted, "the county should have planted fabricated visits"
    flagged = {
        r[0]
        for r in warehouse.sql("select visit_id from marts.visit_authenticity where is_suspicious").fetchall()
    }
    missed = planted - flagged
    extra = flagged - planted
    assert not missed, f"fabricated visits not flagged: {sorted(missed)}"
    assert len(extra) <= EXTRA_SUSPICIOUS_TOLERANCE, f"genuine visits flagged: {sorted(extra)}"
    # the dashboards' list of suspicious visits is exactly the flagged ones, each with its area's names
    listed = warehouse.sql(
        "select visit_id, town_name is not null and village_name is not null from marts.suspicious_visits"
    ).fetchall()
    assert {visit for visit, _ in listed} == flagged and len(listed) == len(flagged)
    assert all(named for _, named in listed)


def test_authenticity_covers_every_visit_with_plausible_distances(warehouse, pg_dsn):
    with psycopg.connect(pg_dsn) as conn:
        live_visits = conn.execute("select count(*) from app.visits where deleted_at is null").fetchone()[0]
    rows = warehouse.sql(
        """
        select
            count(*),
            count(*) filter (where not is_suspicious and nearest_point_m > radius_m),
            count(*) filter (where is_suspicious and nearest_point_m <= radius_m),
            max(nearest_point_m) filter (where not is_suspicious),
            min(coalesce(nearest_point_m, 1e9)) filter (where is_suspicious),
            count(*) filter (where not is_suspicious and points_near_household = 0)
        from marts.visit_authenticity
        """
    ).fetchone()
    total, genuine_far, suspicious_near, genuine_max, suspicious_min, genuine_without_point = rows
    assert total == live_visits
    assert genuine_far == 0 and suspicious_near == 0 and genuine_without_point == 0
    # The ground truth: genuine visits are at the door, fabricated ones 2 km or more away.
    assert genuine_max < 100
    assert suspicious_min > 2000


def test_planted_gps_glitches_are_not_precise(warehouse, xs_county):
    glitches = xs_county["anomalies"]["gps_outside_county"]["keys"]
    rows = warehouse.sql(
        "select point_id, is_precise from core.fct_gps_point where point_id in (select unnest($1))",
        params=[glitches],
    ).fetchall()
    assert {r[0] for r in rows} == set(glitches)
    assert not any(r[1] for r in rows)


def test_trajectory_is_in_playback_order(warehouse):
    bad = warehouse.sql(
        """
        with ordered as (
            select
                cadre_id, recorded_date, seq, recorded_at,
                lag(recorded_at) over (partition by cadre_id, recorded_date order by seq) as previous_at,
                count(*) over (partition by cadre_id, recorded_date) as n
            from marts.cadre_trajectory
        )
        select
            count(*) filter (where previous_at > recorded_at),
            count(*) filter (where seq < 1 or seq > n),
            count(*)
        from ordered
        """
    ).fetchone()
    assert bad[0] == 0 and bad[1] == 0
    assert bad[2] == warehouse.sql("select count(*) from core.fct_gps_point").fetchone()[0]

    # Playback of one cadre's busiest week: every point of the week, in time order, numbered 1.. per day.
    cadre_id, day = warehouse.sql(
        """
        select cadre_id, min(recorded_date) from core.fct_gps_point
        group by cadre_id order by count(*) desc, cadre_id limit 1
        """
    ).fetchone()
    week = warehouse.sql(
        """
        select recorded_date, seq, recorded_at, town_code from marts.cadre_trajectory
        where cadre_id = $1 and recorded_date between $2 and $3
        order by recorded_date, seq
        """,
        params=[cadre_id, day, day + timedelta(days=6)],
    ).fetchall()
    expected = warehouse.sql(
        "select count(*) from core.fct_gps_point where cadre_id = $1 and recorded_date between $2 and $3",
        params=[cadre_id, day, day + timedelta(days=6)],
    ).fetchone()[0]
    assert len(week) == expected > 0
    assert [r[2] for r in week] == sorted(r[2] for r in week)
    assert all(r[3] is not None for r in week)


def test_visit_frequency_adds_up_to_the_source(warehouse, pg_dsn):
    as_of = warehouse.sql("select as_of_date from core.data_as_of").fetchone()[0]
    with psycopg.connect(pg_dsn) as conn:
        expected = dict(
            conn.execute(
                """
                select v.household_id, count(*)
                from app.visits v
                join app.households h using (household_id)
                where v.deleted_at is null and h.deleted_at is null
                  and (v.started_at at time zone 'Asia/Shanghai')::date
                      between %s::date - 89 and %s::date
                group by 1
                """,
                (as_of, as_of),
            ).fetchall()
        )
        households = conn.execute("select count(*) from app.households where deleted_at is null").fetchone()[
            0
        ]
    got = dict(warehouse.sql("select household_id, visits_last_90d from marts.visit_frequency").fetchall())
    assert len(got) == households
    assert {h: n for h, n in got.items() if n} == expected
    by_cadre = warehouse.sql("select sum(visits_last_90d) from marts.visit_frequency_by_cadre").fetchone()[0]
    assert by_cadre == sum(expected.values())


def test_open_demands_and_overdue_tasks_match_the_source(warehouse, pg_dsn):
    as_of = warehouse.sql("select as_of_date from core.data_as_of").fetchone()[0]
    with psycopg.connect(pg_dsn) as conn:
        open_demands = {
            r[0]
            for r in conn.execute(
                "select demand_id from app.demands"
                " where deleted_at is null and status in ('pending', 'in_progress')"
            ).fetchall()
        }
        overdue = {
            r[0]
            for r in conn.execute(
                "select task_id from app.tasks where deleted_at is null"
                " and status in ('pending', 'in_progress') and due_date < %s",
                (as_of,),
            ).fetchall()
        }
        completed = dict(
            conn.execute(
                "select task_id, (completed_at at time zone 'Asia/Shanghai')::date"
                " - (issued_at at time zone 'Asia/Shanghai')::date"
                " from app.tasks where deleted_at is null and status = 'completed'"
            ).fetchall()
        )
    assert open_demands, "the county should have open demands"
    assert {
        r[0] for r in warehouse.sql("select demand_id from marts.open_demands").fetchall()
    } == open_demands
    got_overdue = {
        r[0] for r in warehouse.sql("select task_id from marts.task_performance where is_overdue").fetchall()
    }
    assert got_overdue == overdue
    got_days = dict(
        warehouse.sql(
            "select task_id, days_to_complete from marts.task_performance where status = 'completed'"
        ).fetchall()
    )
    assert got_days == completed
    # the per-cadre roll-up adds up to the tasks, cadre by cadre
    by_cadre = warehouse.sql(
        """
        select coalesce(t.assignee_cadre_id, r.assignee_cadre_id), t.n, t.overdue, t.done, t.days,
            r.n, r.overdue, r.done, r.days
        from (
            select assignee_cadre_id, count(*) as n, count(*) filter (where is_overdue) as overdue,
                count(days_to_complete) as done, coalesce(sum(days_to_complete), 0) as days
            from marts.task_performance group by 1
        ) as t
        full join (
            select assignee_cadre_id, sum(task_count) as n, sum(overdue_tasks) as overdue,
                sum(completed_tasks) as done, sum(days_to_complete_total) as days
            from marts.task_performance_by_cadre group by 1
        ) as r on t.assignee_cadre_id = r.assignee_cadre_id
        """
    ).fetchall()
    assert by_cadre and all(row[1:5] == row[5:9] for row in by_cadre), [
        row for row in by_cadre if row[1:5] != row[5:9]
    ][:5]


# -- incremental build of the GPS fact, in its own state directory -----------------------------------------


@pytest.fixture(scope="module")
def own_county(postgres, tmp_path_factory):
    """Its own XS county (own database, own warehouse, own dbt target), extracted and built once."""
    from fupin.settings import Settings
    from simulator.generate import generate

    server = postgres.dsn.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute("drop database if exists activity_incremental")
        conn.execute("create database activity_incremental")
    dsn = f"{server}/activity_incremental"
    generate(dsn, scale="XS", seed=11, manifest_path=tmp_path_factory.mktemp("act_manifest") / "m.json")
    own = Settings(state_dir=tmp_path_factory.mktemp("act_incremental"))
    _extract(own, dsn, "b1")
    _build_gps(own)
    return own, dsn


def _extract(settings, dsn: str, batch_id: str) -> None:
    from ingestion.postgres import extract_postgres

    con = connect(settings.build_path, extensions=("postgres_scanner",), settings=settings)
    try:
        extract_postgres(con, dsn, batch_id, tables=["gps_points"])
    finally:
        con.close()


def _build_gps(settings, *extra: str) -> str:
    """``dbt build`` of the GPS fact (and its staging view and tests); returns the invocation id."""
    from fupin.pipeline import dbt

    dbt(settings, "build", "--select", "stg_app__gps_points", "fct_gps_point", *extra)
    results = json.loads((settings.state_dir / "dbt" / "target" / "run_results.json").read_text())
    return results["metadata"]["invocation_id"]


def _fact(settings) -> dict[int, tuple]:
    con = connect(settings.build_path, read_only=True, settings=settings)
    try:
        rows = con.sql(
            """
            select point_id, cadre_id, recorded_date, seq, recorded_at, lat, lon, accuracy_m, is_precise,
                   extracted_at, dbt_invocation_id
            from core.fct_gps_point
            """
        ).fetchall()
    finally:
        con.close()
    return {r[0]: r for r in rows}


def test_gps_fact_incremental_writes_only_new_days_and_equals_full_refresh(own_county):
    from simulator.advance import advance_day

    settings, dsn = own_county
    before = _fact(settings)
    last_day = max(r[2] for r in before.values())

    # Advance until a working day brings GPS points (weekends have no visit trips).
    with psycopg.connect(dsn) as conn:
        max_point = conn.execute("select max(point_id) from app.gps_points").fetchone()[0]
    for _ in range(4):
        advance_day(dsn)
        with psycopg.connect(dsn) as conn:
            new_points = conn.execute(
                "select count(*) from app.gps_points where point_id > %s", (max_point,)
            ).fetchone()[0]
        if new_points:
            break
    assert new_points > 0
    _extract(settings, dsn, "b2")
    run = _build_gps(settings)
    after = _fact(settings)

    written = {pid for pid, r in after.items() if r[10] == run}
    assert written == set(after) - set(before), "the daily build must write exactly the new points"
    assert all(after[pid][2] > last_day for pid in written)
    assert all(after[pid] == row for pid, row in before.items()), "earlier days must stay untouched"

    # A late point for an old day and a re-sent (edited) point: both their days are rebuilt, nothing else.
    with psycopg.connect(dsn) as conn:
        late_day_point = conn.execute(
            "select point_id, cadre_id, recorded_at from app.gps_points order by point_id limit 1 offset 100"
        ).fetchone()
        edited = conn.execute(
            "select point_id from app.gps_points order by point_id desc limit 1 offset 2000"
        ).fetchone()[0]
        now = conn.execute("select max(updated_at) + interval '1 hour' from app.gps_points").fetchone()[0]
        conn.execute(
            """
            insert into app.gps_points
                (point_id, cadre_id, recorded_at, lat, lon, accuracy_m, created_at, updated_at)
            select max(point_id) + 1, %s, %s - interval '30 seconds', 33.2, 116.2, 9.5, %s, %s
            from app.gps_points
            """,
            (late_day_point[1], late_day_point[2], now, now),
        )
        conn.execute(
            "update app.gps_points set lat = lat + 0.0001, updated_at = %s where point_id = %s", (now, edited)
        )
    _extract(settings, dsn, "b3")
    run = _build_gps(settings)
    patched = _fact(settings)
    touched = {after[late_day_point[0]][2], after[edited][2]}
    rewritten_days = {r[2] for r in patched.values() if r[10] == run}
    assert rewritten_days == touched
    assert len(patched) == len(after) + 1
    late = max(patched)
    assert patched[late][3] < patched[late_day_point[0]][3], "the late point is numbered before the next one"

    # The same rows as a full rebuild (apart from which run wrote them).
    _build_gps(settings, "--full-refresh")
    full = _fact(settings)
    assert {k: v[:10] for k, v in full.items()} == {k: v[:10] for k, v in patched.items()}
