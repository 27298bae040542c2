"""Advance the operational database by one simulated day.

The day's work, as the APP would record it: visit trips with their GPS trajectories (fabricated trips and
positioning glitches planted at the usual rates and added to ``sim.anomalies``), new demands and their tasks,
progress on open demands and tasks, December exits of the households planned to leave poverty this year
(only those that meet every criterion) and other status changes, helper hand-overs, edits of persons and
households, and soft deletes (a member who died, a visit logged twice). Every changed row gets the day's
timestamps, so an incremental extract by ``updated_at`` sees exactly the day's changes.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import psycopg

from simulator.activity import Places, daily_intents, trips_and_points
from simulator.anomalies import KINDS
from simulator.calendar import WORK_YEAR, day_number, local_midnight_us
from simulator.county import ID_BASE
from simulator.load import copy_frame
from simulator.rng import stream
from simulator.tables import finish
from simulator.timestamps import office_time
from simulator.workflow import CATEGORIES, build_workflow


class ClockError(RuntimeError):
    """The database has no simulated clock (generate a county first)."""


def _frame(conn: psycopg.Connection, sql: str, params: tuple = ()) -> pl.DataFrame:
    cur = conn.execute(sql, params)
    names = [d.name for d in cur.description]
    return pl.DataFrame(cur.fetchall(), schema=names, orient="row", infer_schema_length=None)


def advance_day(dsn: str, seed: int | None = None) -> dict:
    """Move the simulated clock one day forward and write that day's changes; return what changed.

    ``seed`` defaults to the seed the database was generated with; the same database and seed always give
    the same day.
    """
    with psycopg.connect(dsn) as conn:
        clock = conn.execute(
            "select as_of, seed, scale from sim.clock where clock_id = 1 for update"
        ).fetchone()
        if clock is None:
            raise ClockError("sim.clock is empty: generate a county first (simulator generate)")
        as_of, base_seed, scale = clock
        seed = base_seed if seed is None else seed
        day = as_of + timedelta(days=1)
        changes: dict[str, dict[str, int]] = {}
        counties = [
            r[0]
            for r in conn.execute(
                "select region_code from app.regions where region_level = 'county' order by region_code"
            ).fetchall()
        ]
        for county in counties:
            _advance_county(conn, county, day, seed, changes)
        conn.execute(
            "update sim.clock set as_of = %s, days_advanced = days_advanced + 1 where clock_id = 1", (day,)
        )
        conn.commit()
    return {"day": day.isoformat(), "scale": scale, "seed": seed, "changes": changes}


def _count(changes: dict, table: str, what: str, n: int) -> None:
    if n:
        changes.setdefault(table, {}).setdefault(what, 0)
        changes[table][what] += int(n)


def _next_id(conn: psycopg.Connection, table: str, column: str, county: str) -> int:
    base = int(county) * ID_BASE[table]
    top = conn.execute(
        f"select max({column}) from app.{table} where {column} >= %s and {column} < %s",
        (base, base + ID_BASE[table]),
    ).fetchone()[0]
    return (top or base) + 1


def _advance_county(conn: psycopg.Connection, county: str, day: date, seed: int, changes: dict) -> None:
    code = int(county)
    dn = day_number(day)
    rng = stream(seed, "advance", code, dn)
    day_start = int(local_midnight_us(dn))

    towns = _frame(
        conn,
        "select region_code as town_code, lat, lon from app.regions where parent_code = %s"
        " order by region_code",
        (county,),
    )
    villages = _frame(
        conn,
        "select region_code as village_code, parent_code as town_code, lat, lon from app.regions"
        " where region_level = 'village' and parent_code like %s order by region_code",
        (county + "%",),
    )
    center = conn.execute("select lat, lon from app.regions where region_code = %s", (county,)).fetchone()
    hh = _frame(
        conn,
        "select h.household_id, h.village_code, h.lat, h.lon, h.status_label, h.planned_exit_year,"
        " h.attribute, h.deleted_at is not null as deleted, v.parent_code as town_code"
        " from app.households h join app.regions v on v.region_code = h.village_code"
        " where h.village_code like %s order by h.household_id",
        (county + "%",),
    )
    hh = hh.with_columns(
        village_index=pl.col("village_code").replace_strict(
            dict(zip(villages["village_code"], range(villages.height), strict=True)), return_dtype=pl.Int64
        ),
        kind=pl.when(pl.col("deleted")).then(2).when(pl.col("status_label") == "green").then(1).otherwise(0),
    )
    index_of = dict(zip(hh["household_id"].to_list(), range(hh.height), strict=True))
    tw = _frame(
        conn,
        "select t.twinning_id, t.cadre_id, t.household_id, t.start_date, t.end_date from app.twinnings t"
        " where t.twinning_id >= %s and t.twinning_id < %s and t.deleted_at is null order by t.twinning_id",
        (code * ID_BASE["twinnings"], (code + 1) * ID_BASE["twinnings"]),
    )
    tw = tw.with_columns(
        household_index=pl.col("household_id").replace_strict(index_of, return_dtype=pl.Int64),
        start_day=pl.col("start_date").cast(pl.Int64),
        end_day=pl.col("end_date").cast(pl.Int64),
    )
    alive = ~hh["deleted"].to_numpy()
    tw = tw.filter(pl.Series(alive[tw["household_index"].to_numpy()]))

    # -- visits and trajectories ----------------------------------------------------------------------
    places = Places(
        hh_lat=hh["lat"].to_numpy(),
        hh_lon=hh["lon"].to_numpy(),
        hh_village=hh["village_index"].to_numpy(),
        village_lat=villages["lat"].to_numpy(),
        village_lon=villages["lon"].to_numpy(),
        village_town=np.searchsorted(towns["town_code"].to_numpy(), villages["town_code"].to_numpy()),
        town_lat=towns["lat"].to_numpy(),
        town_lon=towns["lon"].to_numpy(),
        center=(center[0], center[1]),
    )
    intents = daily_intents(stream(seed, "advance-visits", code, dn), tw, hh["kind"].to_numpy(), dn)
    act = trips_and_points(
        stream(seed, "advance-trajectories", code, dn),
        intents,
        tw,
        places,
        _next_id(conn, "visits", "visit_id", county),
        _next_id(conn, "gps_points", "point_id", county),
    )
    visits = act.visits.with_columns(updated_at=pl.col("created_at"), deleted_at=pl.lit(None, pl.Int64))
    _count(changes, "visits", "inserted", copy_frame(conn, "app.visits", finish("visits", visits)))
    _count(
        changes,
        "gps_points",
        "inserted",
        copy_frame(conn, "app.gps_points", finish("gps_points", act.points)),
    )
    _plant(conn, act.planted.keys, day)

    # -- demands and tasks ------------------------------------------------------------------------------
    officers: dict[str, np.ndarray] = {}
    for town, cadre in conn.execute(
        "select town_code, cadre_id from app.cadres where role = '乡镇扶贫专干' and town_code like %s"
        " and deleted_at is null order by cadre_id",
        (county + "%",),
    ).fetchall():
        officers.setdefault(town, np.array([], dtype=np.int64))
        officers[town] = np.append(officers[town], cadre)
    hh_wf = hh.with_columns(deleted_on=pl.when(pl.col("deleted")).then(pl.lit(0)).otherwise(pl.lit(None)))
    wf = build_workflow(
        seed,
        code,
        hh_wf,
        tw,
        officers,
        dn,
        dn,
        _next_id(conn, "demands", "demand_id", county),
        _next_id(conn, "tasks", "task_id", county),
        salt=dn,
        income_campaign=False,
    )
    _count(changes, "demands", "inserted", copy_frame(conn, "app.demands", finish("demands", wf.demands)))
    tasks = wf.tasks.with_columns(due_date=pl.col("due_day").cast(pl.Int32).cast(pl.Date))
    _count(changes, "tasks", "inserted", copy_frame(conn, "app.tasks", finish("tasks", tasks)))
    _issue_waiting_tasks(conn, county, code, rng, dn, officers, changes)
    _progress_open_work(conn, county, code, rng, day_start, changes)

    # -- status changes: December exits of this year's plan; red households getting a help plan ---------
    if day.year == WORK_YEAR and day.month == 12 and day.day <= 28:
        share = 1.0 / (29 - day.day)
        ready = conn.execute(
            """
            select h.household_id from app.households h
            join app.living_conditions l on l.household_id = h.household_id
            join app.incomes i on i.household_id = h.household_id and i.year = %s
            where h.village_code like %s and h.deleted_at is null and h.status_label = 'yellow'
              and h.planned_exit_year = %s
              and l.food_secure and l.clothing_secure and l.education_guaranteed and l.medical_guaranteed
              and l.housing_guaranteed and l.safe_drinking_water and l.house_safety_grade in ('A', 'B')
              and i.per_capita_net_income >= 1.1 * %s
            order by h.household_id
            """,
            (WORK_YEAR, county + "%", WORK_YEAR, _line()),
        ).fetchall()
        exiting = [r[0] for r in ready if rng.random() < share]
        _change_status(
            conn,
            exiting,
            "yellow",
            "green",
            "达到脱贫标准，经村评议、乡审核、县审定退出",
            rng,
            dn,
            code,
            changes,
            exit_year=WORK_YEAR,
        )
    red = [
        r[0]
        for r in conn.execute(
            "select household_id from app.households where village_code like %s and deleted_at is null"
            " and status_label = 'red' order by household_id",
            (county + "%",),
        ).fetchall()
    ]
    helped = [h for h in red if rng.random() < 0.002]
    _change_status(conn, helped, "red", "yellow", "落实结对帮扶和帮扶计划", rng, dn, code, changes)

    # -- edits and soft deletes -------------------------------------------------------------------------
    _edit_people(conn, county, rng, dn, changes)
    _handovers(conn, code, county, rng, dn, changes)
    stale = conn.execute(
        "select visit_id from app.visits where visit_id >= %s and visit_id < %s and deleted_at is null"
        " and started_at >= %s::timestamptz - interval '3 days' and visit_id <> all(%s) order by visit_id",
        (
            code * ID_BASE["visits"],
            (code + 1) * ID_BASE["visits"],
            _ts(day_start),
            _planted(conn, "fabricated_visit"),
        ),
    ).fetchall()
    doubled = [r[0] for r in stale if rng.random() < 0.002]
    if doubled:
        times = office_time(rng, np.full(len(doubled), dn))
        conn.cursor().executemany(
            "update app.visits set deleted_at = %s, updated_at = %s where visit_id = %s",
            [(_ts(t), _ts(t), v) for v, t in zip(doubled, times.tolist(), strict=True)],
        )
        _count(changes, "visits", "soft_deleted", len(doubled))


def _line() -> int:
    from simulator.calendar import POVERTY_LINE

    return POVERTY_LINE[WORK_YEAR]


def _ts(us: int):
    from simulator.calendar import as_datetime

    return as_datetime(int(us))


def _planted(conn: psycopg.Connection, kind: str) -> list[int]:
    return [
        int(r[0])
        for r in conn.execute("select key_value from sim.anomalies where kind = %s", (kind,)).fetchall()
    ]


def _plant(conn: psycopg.Connection, keys: dict[str, list], day: date) -> None:
    rows = [(kind, KINDS[kind][0], str(k), day) for kind, ks in keys.items() for k in ks]
    if rows:
        conn.cursor().executemany(
            "insert into sim.anomalies (kind, key_name, key_value, planted_on) values (%s, %s, %s, %s)"
            " on conflict do nothing",
            rows,
        )


def _change_status(conn, households, old, new, reason, rng, dn, code, changes, exit_year=None) -> None:
    if not households:
        return
    times = office_time(rng, np.full(len(households), dn), 9.0, 17.0).tolist()
    first = _next_event_id(conn, code)
    cur = conn.cursor()
    cur.executemany(
        "update app.households set status_label = %s, actual_exit_year = coalesce(%s, actual_exit_year),"
        " updated_at = %s where household_id = %s",
        [(new, exit_year, _ts(t), h) for h, t in zip(households, times, strict=True)],
    )
    cur.executemany(
        "insert into app.status_events (event_id, household_id, event_at, from_label, to_label, reason,"
        " created_at, updated_at) values (%s, %s, %s, %s, %s, %s, %s, %s)",
        [
            (first + i, h, _ts(t), old, new, reason, _ts(t), _ts(t))
            for i, (h, t) in enumerate(zip(households, times, strict=True))
        ],
    )
    _count(changes, "households", f"{old}_to_{new}", len(households))
    _count(changes, "status_events", "inserted", len(households))


def _next_event_id(conn, code: int) -> int:
    base = code * ID_BASE["status_events"]
    top = conn.execute(
        "select max(event_id) from app.status_events where event_id >= %s and event_id < %s",
        (base, base + ID_BASE["status_events"]),
    ).fetchone()[0]
    return (top or base) + 1


def _issue_waiting_tasks(conn, county: str, code: int, rng, dn: int, officers: dict, changes: dict) -> None:
    """Demands raised before today that have no task yet get one today, for the household's helper."""
    waiting = conn.execute(
        """
        select d.demand_id, d.household_id, d.category, v.parent_code, t.cadre_id
        from app.demands d
        join app.households h on h.household_id = d.household_id
        join app.regions v on v.region_code = h.village_code
        join app.twinnings t on t.household_id = d.household_id and t.end_date is null and t.deleted_at is null
        where d.demand_id >= %s and d.demand_id < %s and d.status in ('pending', 'in_progress')
          and d.raised_at < %s and not exists (select 1 from app.tasks k where k.demand_id = d.demand_id)
        order by d.demand_id
        """,
        (code * ID_BASE["demands"], (code + 1) * ID_BASE["demands"], _ts(local_midnight_us(dn))),
    ).fetchall()
    if not waiting:
        return
    first = _next_id(conn, "tasks", "task_id", county)
    times = office_time(rng, np.full(len(waiting), dn), 8.5, 12.0).tolist()
    rows = []
    for i, ((demand_id, household_id, category, town, cadre), t) in enumerate(
        zip(waiting, times, strict=True)
    ):
        pool = officers.get(town)
        issuer = int(pool[int(rng.integers(len(pool)))]) if pool is not None and len(pool) else cadre
        due = date.fromordinal(date(1970, 1, 1).toordinal() + dn + CATEGORIES[category][2])
        rows.append(
            (
                first + i,
                issuer,
                cadre,
                household_id,
                demand_id,
                f"处理诉求：{category}",
                _ts(t),
                due,
                "pending",
                _ts(t),
                _ts(t),
            )
        )
    conn.cursor().executemany(
        "insert into app.tasks (task_id, issued_by, assignee_cadre_id, household_id, demand_id, title, issued_at,"
        " due_date, status, created_at, updated_at) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        rows,
    )
    _count(changes, "tasks", "inserted", len(rows))


def _progress_open_work(conn, county: str, code: int, rng, day_start: int, changes: dict) -> None:
    """Open demands move on: pending ones are taken up, in-progress ones are completed at their category's
    pace; the tasks of a completed demand are completed with it."""
    dn = int((day_start + 8 * 3_600_000_000) // 86_400_000_000)
    median = {k: v[1] for k, v in CATEGORIES.items()}
    open_rows = conn.execute(
        "select demand_id, category, status from app.demands where demand_id >= %s and demand_id < %s"
        " and status in ('pending', 'in_progress') order by demand_id",
        (code * ID_BASE["demands"], (code + 1) * ID_BASE["demands"]),
    ).fetchall()
    taken, done = [], []
    for demand_id, category, status in open_rows:
        u = rng.random()
        if status == "pending" and u < 0.3:
            taken.append(demand_id)
        elif status == "in_progress" and u < np.log(2) / median[category]:
            done.append(demand_id)
    cur = conn.cursor()
    if taken:
        times = office_time(rng, np.full(len(taken), dn)).tolist()
        cur.executemany(
            "update app.demands set status = 'in_progress', updated_at = %s where demand_id = %s",
            [(_ts(t), d) for d, t in zip(taken, times, strict=True)],
        )
        cur.executemany(
            "update app.tasks set status = 'in_progress', updated_at = %s where demand_id = %s and status = 'pending'",
            [(_ts(t), d) for d, t in zip(taken, times, strict=True)],
        )
        _count(changes, "demands", "taken_up", len(taken))
    if done:
        times = office_time(rng, np.full(len(done), dn)).tolist()
        cur.executemany(
            "update app.demands set status = 'completed', completed_at = %s, updated_at = %s where demand_id = %s",
            [(_ts(t), _ts(t), d) for d, t in zip(done, times, strict=True)],
        )
        cur.executemany(
            "update app.tasks set status = 'completed', completed_at = %s, updated_at = %s"
            " where demand_id = %s and status in ('pending', 'in_progress')",
            [(_ts(t), _ts(t), d) for d, t in zip(done, times, strict=True)],
        )
        _count(changes, "demands", "completed", len(done))
    campaign = conn.execute(
        "select task_id from app.tasks where task_id >= %s and task_id < %s and demand_id is null"
        " and status = 'in_progress' order by task_id",
        (code * ID_BASE["tasks"], (code + 1) * ID_BASE["tasks"]),
    ).fetchall()
    finished = [r[0] for r in campaign if rng.random() < 0.15]
    if finished:
        times = office_time(rng, np.full(len(finished), dn)).tolist()
        cur.executemany(
            "update app.tasks set status = 'completed', completed_at = %s, updated_at = %s where task_id = %s",
            [(_ts(t), _ts(t), d) for d, t in zip(finished, times, strict=True)],
        )
    _count(changes, "tasks", "completed", len(finished) + len(done))
    del county


def _edit_people(conn, county: str, rng, dn: int, changes: dict) -> None:
    """A few phone numbers and addresses change; a few elderly members die (soft delete), never one whose
    deletion would change a planted anomaly or make a household's cause contradict its members."""
    protected = set(_planted(conn, "invalid_id_check_digit"))
    persons = conn.execute(
        """
        select p.person_id, p.birth_date, p.health, p.relation_to_head
        from app.persons p
        join app.households h on h.household_id = p.household_id
        where h.village_code like %s and p.deleted_at is null and h.deleted_at is null
        order by p.person_id
        """,
        (county + "%",),
    ).fetchall()
    doubled = {
        r[0]
        for r in conn.execute(
            "select id_number from app.persons group by id_number having count(*) > 1"
        ).fetchall()
    }
    cur = conn.cursor()
    phones, deaths = [], []
    cutoff = date.fromordinal(date(1970, 1, 1).toordinal() + dn - 75 * 365)
    for person_id, birth, health, relation in persons:
        u = rng.random()
        if u < 0.0005:
            phones.append(person_id)
        elif (
            u > 0.99997
            and birth < cutoff
            and relation != "户主"
            and health == "健康"
            and person_id not in protected
        ):
            deaths.append(person_id)
    if doubled:
        deaths = [p for p in deaths if p not in _persons_with_ids(conn, doubled)]
    if phones:
        times = office_time(rng, np.full(len(phones), dn)).tolist()
        numbers = rng.integers(10**7, 10**8, len(phones)).tolist()
        cur.executemany(
            "update app.persons set phone = %s, updated_at = %s where person_id = %s",
            [(f"158{n:08d}", _ts(t), p) for p, n, t in zip(phones, numbers, times, strict=True)],
        )
        _count(changes, "persons", "updated", len(phones))
    if deaths:
        times = office_time(rng, np.full(len(deaths), dn)).tolist()
        cur.executemany(
            "update app.persons set deleted_at = %s, updated_at = %s where person_id = %s",
            [(_ts(t), _ts(t), p) for p, t in zip(deaths, times, strict=True)],
        )
        _count(changes, "persons", "soft_deleted", len(deaths))
    addresses = conn.execute(
        "select household_id, address from app.households where village_code like %s and deleted_at is null"
        " order by household_id",
        (county + "%",),
    ).fetchall()
    moved = [(h, a) for h, a in addresses if rng.random() < 0.0003]
    if moved:
        times = office_time(rng, np.full(len(moved), dn)).tolist()
        cur.executemany(
            "update app.households set address = %s, updated_at = greatest(updated_at, %s) where household_id = %s",
            [
                (a.split("组")[0] + "组" + f"{int(rng.integers(1, 81))}号", _ts(t), h)
                for (h, a), t in zip(moved, times, strict=True)
            ],
        )
        _count(changes, "households", "address_updated", len(moved))


def _persons_with_ids(conn, ids: set[str]) -> set[int]:
    return {
        r[0]
        for r in conn.execute(
            "select person_id from app.persons where id_number = any(%s)", (list(ids),)
        ).fetchall()
    }


def _handovers(conn, code: int, county: str, rng, dn: int, changes: dict) -> None:
    """A few households get a new helper from the same village (never to or from an overloaded cadre)."""
    overloaded = set(_planted(conn, "overloaded_cadre"))
    active = conn.execute(
        """
        select t.twinning_id, t.household_id, t.cadre_id, c.village_code
        from app.twinnings t join app.cadres c on c.cadre_id = t.cadre_id
        where t.twinning_id >= %s and t.twinning_id < %s and t.end_date is null and t.deleted_at is null
        order by t.twinning_id
        """,
        (code * ID_BASE["twinnings"], (code + 1) * ID_BASE["twinnings"]),
    ).fetchall()
    helpers: dict[str, list[int]] = {}
    for village, cadre in conn.execute(
        "select village_code, cadre_id from app.cadres where village_code like %s and role <> '乡镇扶贫专干'"
        " order by cadre_id",
        (county + "%",),
    ).fetchall():
        if cadre not in overloaded:
            helpers.setdefault(village, []).append(cadre)
    chosen = [row for row in active if row[2] not in overloaded and rng.random() < 0.0003]
    if not chosen:
        return
    top = conn.execute(
        "select max(twinning_id) from app.twinnings where twinning_id >= %s and twinning_id < %s",
        (code * ID_BASE["twinnings"], (code + 1) * ID_BASE["twinnings"]),
    ).fetchone()[0]
    cur = conn.cursor()
    day = date.fromordinal(date(1970, 1, 1).toordinal() + dn)
    times = office_time(rng, np.full(len(chosen), dn)).tolist()
    made = 0
    for (twinning_id, household_id, cadre_id, village), t in zip(chosen, times, strict=True):
        others = [c for c in helpers.get(village, []) if c != cadre_id]
        if not others:
            continue
        new_cadre = others[int(rng.integers(len(others)))]
        cur.execute(
            "update app.twinnings set end_date = %s, updated_at = %s where twinning_id = %s",
            (day - timedelta(days=1), _ts(t), twinning_id),
        )
        top += 1
        cur.execute(
            "insert into app.twinnings (twinning_id, cadre_id, household_id, start_date, end_date, created_at,"
            " updated_at) values (%s, %s, %s, %s, null, %s, %s)",
            (top, new_cadre, household_id, day, _ts(t), _ts(t)),
        )
        made += 1
    _count(changes, "twinnings", "handed_over", made)
