"""The county simulator against a real PostgreSQL: schema, reference figures, planted anomalies (every one in
the manifest and nothing else), byte-identical reruns, advancing the clock, spreadsheets, command line."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import psycopg
import pytest

from simulator import idnumber
from simulator.calendar import AS_OF, POVERTY_LINE, TZ
from simulator.county import TABLE_ORDER
from simulator.scales import get_scale, lixin_towns

SEED = 11
PRIMARY_KEYS = {
    "regions": "region_code",
    "households": "household_id",
    "persons": "person_id",
    "incomes": "income_id",
    "living_conditions": "household_id",
    "support_teams": "team_id",
    "cadres": "cadre_id",
    "twinnings": "twinning_id",
    "visits": "visit_id",
    "gps_points": "point_id",
    "demands": "demand_id",
    "tasks": "task_id",
    "status_events": "event_id",
}


def _database(postgres, name: str) -> str:
    """A fresh database on the session's server, for this module alone."""
    admin = postgres.dsn.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}"')
        conn.execute(f'create database "{name}"')
    return postgres.dsn.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="module")
def sim_dsn(postgres) -> str:
    return _database(postgres, "simulator_tests")


@pytest.fixture(scope="module")
def county(sim_dsn, tmp_path_factory) -> dict:
    """An XS county generated into the module's database; its manifest and generation summary."""
    from simulator.generate import generate

    path = tmp_path_factory.mktemp("manifest") / "manifest.json"
    summary = generate(sim_dsn, scale="XS", seed=SEED, manifest_path=path)
    return {"manifest": json.loads(path.read_text()), "summary": summary, "path": path}


def q(dsn: str, sql: str, params=()) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()


def planted(manifest: dict, kind: str) -> set:
    return set(manifest["anomalies"][kind]["keys"])


def dump_hashes(dsn: str) -> dict[str, str]:
    """SHA-256 of each app table's rows in primary-key order, as PostgreSQL writes them out."""
    hashes = {}
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for table in TABLE_ORDER:
            digest = hashlib.sha256()
            with cur.copy(
                f"copy (select * from app.{table} order by {PRIMARY_KEYS[table]}) to stdout"
            ) as copy:
                for block in copy:
                    digest.update(block)
            hashes[table] = digest.hexdigest()
    return hashes


# --- schema ------------------------------------------------------------------------------------------------


def test_migrations_apply_once_and_every_table_is_extractable(postgres):
    from simulator.schema import migrate, migrations

    dsn = _database(postgres, "simulator_migrations")
    versions = [m.version for m in migrations()]
    assert versions[:2] == ["001", "002"]
    assert migrate(dsn) == versions
    assert migrate(dsn) == []
    with psycopg.connect(dsn) as conn:
        recorded = [r[0] for r in conn.execute("select version from app.schema_migrations order by 1")]
        assert recorded == versions
        tables = [
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.tables where table_schema = 'app'"
                " and table_name <> 'schema_migrations' order by 1"
            )
        ]
        assert sorted(tables) == sorted(TABLE_ORDER)
        for table in tables:
            columns = {
                r[0]: r[1]
                for r in conn.execute(
                    "select column_name, data_type from information_schema.columns"
                    " where table_schema = 'app' and table_name = %s",
                    (table,),
                )
            }
            assert columns["created_at"] == columns["updated_at"] == "timestamp with time zone", table
            indexed = conn.execute(
                "select count(*) from pg_indexes where schemaname = 'app' and tablename = %s"
                " and indexdef like '%%(updated_at)'",
                (table,),
            ).fetchone()[0]
            assert indexed == 1, f"app.{table} has no index on updated_at"
        soft = {
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.columns where table_schema = 'app'"
                " and column_name = 'deleted_at'"
            )
        }
        assert {"households", "persons", "visits", "twinnings", "demands", "tasks", "incomes"} <= soft
        # A changed migration file is refused rather than silently skipped.
        conn.execute("update app.schema_migrations set checksum = 'x' where version = '001'")
        conn.commit()
    from simulator.schema import MigrationError

    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(dsn)


# --- the generated county ----------------------------------------------------------------------------------


def test_xs_county_has_exactly_the_reference_figures(county, sim_dsn):
    spec = get_scale("XS").counties[0]
    manifest = county["manifest"]
    poor = q(
        sim_dsn,
        """
        select count(distinct h.household_id), count(p.person_id)
        from app.households h left join app.persons p on p.household_id = h.household_id
        where h.deleted_at is null and h.status_label in ('red', 'yellow')""",
    )[0]
    poor_alive_people = q(
        sim_dsn,
        """
        select count(*) from app.persons p join app.households h on h.household_id = p.household_id
        where h.deleted_at is null and p.deleted_at is null and h.status_label in ('red', 'yellow')""",
    )[0][0]
    assert poor == (spec.poor_households, spec.poor_persons)
    assert poor_alive_people == spec.poor_persons  # no member of a poor household is deleted at generation
    plan = q(
        sim_dsn,
        """
        select count(*) from app.persons p join app.households h on h.household_id = p.household_id
        where h.deleted_at is null and h.status_label in ('red', 'yellow') and h.planned_exit_year = 2017""",
    )[0][0]
    assert plan == spec.plan_persons
    green = q(
        sim_dsn, "select count(*) from app.households where deleted_at is null and status_label = 'green'"
    )
    assert green[0][0] == spec.exited_households
    ref = manifest["reference"]
    assert (ref["poor_households"], ref["poor_persons"], ref["plan_persons"]) == (
        spec.poor_households,
        spec.poor_persons,
        spec.plan_persons,
    )
    # Status counts per town and per village: the manifest's figures are the database's.
    rows = q(
        sim_dsn,
        """
        select h.village_code, v.parent_code, h.status_label, count(*),
               sum((select count(*) from app.persons p where p.household_id = h.household_id
                    and p.deleted_at is null))
        from app.households h join app.regions v on v.region_code = h.village_code
        where h.deleted_at is null group by 1, 2, 3""",
    )
    figures = manifest["counties"]["341623"]
    by_town: dict = {}
    for village, town, label, households, persons in rows:
        assert figures["status_by_village"][village][label] == {"households": households, "persons": persons}
        entry = by_town.setdefault(town, {}).setdefault(label, [0, 0])
        entry[0] += households
        entry[1] += persons
    for town, labels in by_town.items():
        for label, (households, persons) in labels.items():
            assert figures["status_by_town"][town][label] == {"households": households, "persons": persons}
    assert county["summary"]["rows"]["households"] == q(sim_dsn, "select count(*) from app.households")[0][0]


def test_regions_follow_the_division_codes(county, sim_dsn):
    rows = q(sim_dsn, "select region_code, parent_code, region_level, region_name from app.regions")
    levels = {level: [r for r in rows if r[2] == level] for level in ("county", "town", "village")}
    assert [(r[0], r[3]) for r in levels["county"]] == [("341623", "利辛县")]
    assert sorted((r[0], r[3]) for r in levels["town"]) == list(lixin_towns()[:2])
    assert len(levels["village"]) == 6
    for code, parent, _, name in levels["village"]:
        assert len(code) == 12 and code[:9] == parent and name.endswith("村")
    missing = q(
        sim_dsn,
        "select count(*) from app.households h where not exists"
        " (select 1 from app.regions r where r.region_code = h.village_code"
        " and r.region_level = 'village')",
    )
    assert missing == [(0,)]


def test_values_are_the_standard_lists(county, sim_dsn):
    attributes = {r[0] for r in q(sim_dsn, "select distinct attribute from app.households")}
    assert attributes <= {"一般贫困户", "低保贫困户", "特困供养贫困户"}
    causes = {
        r[0]
        for r in q(
            sim_dsn,
            "select main_cause from app.households union select secondary_cause"
            " from app.households where secondary_cause is not null",
        )
    }
    assert causes <= {
        "因病",
        "因残",
        "因学",
        "因灾",
        "缺土地",
        "缺水",
        "缺技术",
        "缺劳力",
        "缺资金",
        "交通条件落后",
        "自身发展动力不足",
        "其他",
    }
    heads = q(
        sim_dsn,
        "select household_id, count(*) filter (where relation_to_head = '户主') from app.persons"
        " group by 1 having count(*) filter (where relation_to_head = '户主') <> 1",
    )
    assert heads == []
    names = q(
        sim_dsn,
        "select count(*) from app.households h join app.persons p on p.household_id ="
        " h.household_id and p.relation_to_head = '户主' where p.name <> h.head_name",
    )
    assert names == [(0,)]
    # Sex agrees with the ID number (odd 17th digit = male) and the birth date is in it.
    for id_number, sex, birth in q(sim_dsn, "select id_number, sex, birth_date from app.persons"):
        assert (int(id_number[16]) % 2 == 1) == (sex == "男")
        assert id_number[6:14] == birth.strftime("%Y%m%d")
    # Every timestamp is on or before the as-of day (Beijing time) and updated_at >= created_at.
    end = datetime(AS_OF.year, AS_OF.month, AS_OF.day, tzinfo=TZ) + timedelta(days=1)
    for table in TABLE_ORDER:
        bad = q(
            sim_dsn,
            f"select count(*) from app.{table} where updated_at >= %s or updated_at < created_at",
            (end,),
        )
        assert bad == [(0,)], table
    incomes = q(
        sim_dsn,
        """
        select count(*) from app.incomes where net_income <> wage_income + operating_income - operating_cost
        + transfer_income + property_income or abs(per_capita_net_income - net_income / household_size) > 0.01""",
    )
    assert incomes == [(0,)]


def test_cadres_are_about_one_to_ten_and_visit_regularly(county, sim_dsn):
    households = q(sim_dsn, "select count(*) from app.households where deleted_at is null")[0][0]
    helpers = q(sim_dsn, "select count(distinct cadre_id) from app.twinnings where end_date is null")[0][0]
    assert 8 <= households / helpers <= 11
    # Poor households are visited monthly: in a 4-week window nearly every helped poor household once.
    visited = q(
        sim_dsn,
        """
        select count(distinct h.household_id)::float / count(distinct t.household_id)
        from app.twinnings t join app.households h on h.household_id = t.household_id
        left join app.visits v on v.household_id = h.household_id
        where t.end_date is null and h.status_label <> 'green' and h.deleted_at is null""",
    )[0][0]
    assert visited > 0.6
    # One trip a day per cadre: a cadre's visits never overlap.
    overlaps = q(
        sim_dsn,
        """
        select count(*) from app.visits a join app.visits b on a.cadre_id = b.cadre_id
        and a.visit_id < b.visit_id and a.started_at < b.ended_at and b.started_at < a.ended_at""",
    )
    assert overlaps == [(0,)]


# --- planted anomalies: the manifest lists exactly what is in the data ------------------------------------


def test_every_anomaly_kind_is_planted(county):
    for kind, entry in county["manifest"]["anomalies"].items():
        assert entry["count"] >= 1 and len(entry["keys"]) == entry["count"], kind


def test_invalid_id_check_digits(county, sim_dsn):
    found = {
        pid
        for pid, number in q(sim_dsn, "select person_id, id_number from app.persons")
        if not idnumber.is_valid(number)
    }
    assert found == planted(county["manifest"], "invalid_id_check_digit")


def test_one_person_in_two_households(county, sim_dsn):
    found = {
        r[0]
        for r in q(
            sim_dsn,
            """
        select id_number from app.persons where deleted_at is null
        group by id_number having count(distinct household_id) > 1""",
        )
    }
    assert found == planted(county["manifest"], "person_in_two_households")
    for detail in county["manifest"]["anomalies"]["person_in_two_households"]["details"]:
        rows = q(
            sim_dsn,
            "select person_id, household_id from app.persons where id_number = %s",
            (detail["id_number"],),
        )
        assert sorted(r[0] for r in rows) == sorted(detail["person_ids"])


def test_causes_that_contradict_the_members(county, sim_dsn):
    found = {
        r[0]
        for r in q(
            sim_dsn,
            """
        select h.household_id from app.households h join app.persons p on p.household_id = h.household_id
        where h.deleted_at is null and p.deleted_at is null and h.main_cause in ('因病', '因残')
        group by h.household_id, h.main_cause
        having (h.main_cause = '因病' and bool_and(p.health = '健康'))
            or (h.main_cause = '因残' and not bool_or(p.health = '残疾'))""",
        )
    }
    assert found == planted(county["manifest"], "cause_contradicts_members")


def test_poor_households_without_a_helper(county, sim_dsn):
    found = {
        r[0]
        for r in q(
            sim_dsn,
            """
        select h.household_id from app.households h
        where h.deleted_at is null and h.status_label in ('red', 'yellow') and not exists (
            select 1 from app.twinnings t where t.household_id = h.household_id and t.deleted_at is null
            and t.start_date <= %s and (t.end_date is null or t.end_date >= %s))""",
            (AS_OF, AS_OF),
        )
    }
    assert found == planted(county["manifest"], "poor_without_helper")


def test_overloaded_cadres(county, sim_dsn):
    loads = dict(
        q(
            sim_dsn,
            """
        select cadre_id, count(*) from app.twinnings t join app.households h on h.household_id = t.household_id
        where t.end_date is null and t.deleted_at is null and h.deleted_at is null group by 1""",
        )
    )
    limits = county["manifest"]["thresholds"]
    found = {c for c, n in loads.items() if n >= limits["overloaded_min_households"]}
    assert found == planted(county["manifest"], "overloaded_cadre")
    assert max(n for c, n in loads.items() if c not in found) <= limits["normal_max_households"]


def test_exited_households_failing_the_exit_criteria(county, sim_dsn):
    manifest = county["manifest"]
    low, high = (
        manifest["thresholds"]["exited_income_max_ratio_to_line"],
        manifest["thresholds"]["exited_income_min_ratio_genuine"],
    )
    rows = q(
        sim_dsn,
        """
        select h.household_id, i.year, i.per_capita_net_income from app.households h
        join app.incomes i on i.household_id = h.household_id and i.year >= h.actual_exit_year
        where h.status_label = 'green' and h.deleted_at is null""",
    )
    under = {h for h, year, income in rows if float(income) < low * POVERTY_LINE[year]}
    assert under == planted(manifest, "exited_income_below_line")
    for h, year, income in rows:  # the others are well above the line in every year since they exited
        if h not in under:
            assert float(income) >= high * POVERTY_LINE[year]
    lacking = {
        r[0]
        for r in q(
            sim_dsn,
            """
        select h.household_id from app.households h join app.living_conditions l using (household_id)
        where h.status_label = 'green' and h.deleted_at is null and not (l.food_secure and l.clothing_secure
        and l.education_guaranteed and l.medical_guaranteed and l.housing_guaranteed and l.safe_drinking_water
        and l.house_safety_grade in ('A', 'B'))""",
        )
    }
    assert lacking == planted(manifest, "exited_without_guarantee")


def test_gps_points_outside_the_county(county, sim_dsn):
    box = county["manifest"]["counties"]["341623"]["bbox"]
    found = {
        r[0]
        for r in q(
            sim_dsn,
            "select point_id from app.gps_points where not (lat between %s and %s and lon between %s and %s)",
            (box["lat_min"], box["lat_max"], box["lon_min"], box["lon_max"]),
        )
    }
    assert found == planted(county["manifest"], "gps_outside_county")


DISTANCE = """sqrt(power((g.lat - h.lat) * 110574, 2)
                   + power((g.lon - h.lon) * 111320 * cos(radians(h.lat)), 2))"""


def test_fabricated_visits_are_the_ones_whose_trajectory_never_comes_near(county, sim_dsn):
    thresholds = county["manifest"]["thresholds"]
    rows = q(
        sim_dsn,
        f"""
        select v.visit_id,
               (select min({DISTANCE}) from app.gps_points g where g.cadre_id = v.cadre_id
                and g.recorded_at between v.started_at and v.ended_at) as during,
               (select min({DISTANCE}) from app.gps_points g where g.cadre_id = v.cadre_id
                and g.recorded_at between v.started_at - interval '12 hours'
                and v.ended_at + interval '12 hours') as that_day
        from app.visits v join app.households h on h.household_id = v.household_id
        where v.deleted_at is null""",
    )
    not_near = {v for v, during, _ in rows if during is None or during > thresholds["visit_near_m"]}
    assert not_near == planted(county["manifest"], "fabricated_visit")
    for v, _, that_day in rows:
        if v in not_near:
            assert that_day > thresholds["fabricated_min_distance_m"]


def test_sim_schema_holds_the_same_ground_truth(county, sim_dsn):
    rows = q(sim_dsn, "select kind, key_value from sim.anomalies")
    for kind, entry in county["manifest"]["anomalies"].items():
        assert {k for c, k in rows if c == kind} == {str(k) for k in entry["keys"]}, kind


# --- determinism -------------------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_data_and_another_seed_does_not(postgres, county, sim_dsn):
    from simulator.generate import generate

    first = dump_hashes(sim_dsn)
    other = _database(postgres, "simulator_rerun")
    generate(other, scale="XS", seed=SEED)
    assert dump_hashes(other) == first
    generate(other, scale="XS", seed=SEED + 1)
    changed = dump_hashes(other)
    assert all(changed[t] != first[t] for t in ("households", "persons", "visits", "gps_points"))


# --- time moves --------------------------------------------------------------------------------------------


def test_advance_day_writes_one_day_of_changes_deterministically(postgres):
    from simulator.advance import advance_day
    from simulator.generate import generate

    runs = []
    for name in ("simulator_advance_a", "simulator_advance_b"):
        dsn = _database(postgres, name)
        generate(dsn, scale="XS", seed=SEED)
        results = [advance_day(dsn) for _ in range(3)]  # Sat 2 Dec, Sun 3 Dec, Mon 4 Dec 2017
        runs.append((dsn, results, dump_hashes(dsn)))
    (dsn, results, hashes), (_, results_b, hashes_b) = runs
    assert results == results_b and hashes == hashes_b
    assert [r["day"] for r in results] == ["2017-12-02", "2017-12-03", "2017-12-04"]
    assert q(dsn, "select as_of, days_advanced from sim.clock") == [(date(2017, 12, 4), 3)]
    monday = results[2]["changes"]
    assert monday["visits"]["inserted"] > 0 and monday["gps_points"]["inserted"] > 0
    exits = sum(r["changes"].get("households", {}).get("yellow_to_green", 0) for r in results)
    assert exits > 0
    start = datetime(2017, 12, 4, tzinfo=TZ)
    # Everything the day changed carries the day's timestamps, and the day's visits happened that day.
    for table in TABLE_ORDER:
        late = q(
            dsn, f"select count(*) from app.{table} where updated_at >= %s", (start + timedelta(days=1),)
        )
        assert late == [(0,)], table
    new_visits = q(dsn, "select started_at from app.visits where created_at >= %s", (start,))
    assert len(new_visits) == monday["visits"]["inserted"]
    assert all(start <= s < start + timedelta(days=1) for (s,) in new_visits)
    changed = q(
        dsn, "select count(*) from app.households where updated_at >= %s", (datetime(2017, 12, 2, tzinfo=TZ),)
    )
    assert changed[0][0] >= exits
    events = q(
        dsn,
        "select count(*) from app.status_events where to_label = 'green' and event_at >= %s",
        (datetime(2017, 12, 2, tzinfo=TZ),),
    )
    assert events == [(exits,)]
    # Households that exited in December meet the criteria (none was planted by the advance).
    failing = q(
        dsn,
        """
        select count(*) from app.households h join app.living_conditions l using (household_id)
        join app.incomes i on i.household_id = h.household_id and i.year = 2017
        where h.actual_exit_year = 2017 and (i.per_capita_net_income < %s or not l.housing_guaranteed)""",
        (POVERTY_LINE[2017],),
    )
    assert failing == [(0,)]


# --- spreadsheets ------------------------------------------------------------------------------------------


def _data_rows(path: Path, entry: dict) -> list[tuple[int, list]]:
    """(row number, cells) of the non-blank rows below the header, as the file holds them."""
    if path.suffix == ".csv":
        text = path.read_bytes().decode(entry["encoding"])
        rows = list(enumerate(csv.reader(io.StringIO(text)), 1))
    else:
        sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
        rows = [(i, list(r)) for i, r in enumerate(sheet.iter_rows(values_only=True), 1)]
    filled = [(n, cells) for n, cells in rows if any(c not in (None, "") for c in cells)]
    header_at = next(i for i, (_, cells) in enumerate(filled) if sum(c not in (None, "") for c in cells) > 3)
    return filled[header_at + 1 :]


def test_spreadsheets_are_deterministic_and_their_manifest_counts_the_rows(county, sim_dsn, tmp_path):
    from simulator.sheets import write_spreadsheets

    first = write_spreadsheets(sim_dsn, tmp_path / "a", seed=SEED, manifest_path=tmp_path / "sheets.json")
    second = write_spreadsheets(sim_dsn, tmp_path / "b", seed=SEED)
    names = sorted(first["files"])
    assert names == sorted(second["files"])
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert json.loads((tmp_path / "sheets.json").read_text())["totals"] == first["totals"]
    villages = [
        r[0] for r in q(sim_dsn, "select region_code from app.regions where region_level = 'village'")
    ]
    kinds = {e["kind"] for e in first["files"].values()}
    assert kinds == {"exit_plan", "income_verification", "household_register"}
    for village in villages:
        assert f"收入核实表_{village}_2017.xlsx" in names or f"收入核实表_{village}_2017.csv" in names
    assert first["totals"]["should_reject"] > 0
    for name, entry in first["files"].items():
        if entry["unreadable"]:
            with pytest.raises(Exception):  # noqa: B017 - any reader error: the file is cut short
                openpyxl.load_workbook(tmp_path / "a" / name)
            continue
        data = _data_rows(tmp_path / "a" / name, entry)
        assert len(data) == entry["rows_written"], name
        numbers = {n for n, _ in data}
        assert {b["row"] for b in entry["bad_rows"]} <= numbers, name
    # The exit plans carry the county's plan: households planned to exit this year and their people.
    plan_rows = [
        row
        for name, e in first["files"].items()
        if e["kind"] == "exit_plan"
        for _, row in _data_rows(tmp_path / "a" / name, e)
    ]
    assert len(plan_rows) == len(villages)


# --- command line ------------------------------------------------------------------------------------------


def test_command_line_generates_advances_and_writes_sheets(postgres, tmp_path):
    from typer.testing import CliRunner

    from simulator.cli import app

    dsn = _database(postgres, "simulator_cli")
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["generate", "--scale", "XS", "--seed", "3", "--dsn", dsn, "--manifest", str(tmp_path / "m.json")],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "m.json").read_text())["scale"] == "XS"
    result = runner.invoke(app, ["advance-day", "--dsn", dsn])
    assert result.exit_code == 0, result.output
    assert q(dsn, "select as_of from sim.clock") == [(date(2017, 12, 2),)]
    result = runner.invoke(app, ["write-sheets", "--out", str(tmp_path / "drop"), "--dsn", dsn])
    assert result.exit_code == 0, result.output
    assert any((tmp_path / "drop").glob("年度脱贫计划表_*.xlsx"))


# --- scale S: the reference county ---------------------------------------------------------------------------


@pytest.mark.skipif(
    os.environ.get("FUPIN_SLOW_TESTS") != "1", reason="scale S takes about a minute; set FUPIN_SLOW_TESTS=1"
)
def test_scale_s_reproduces_lixin_county(postgres, tmp_path):
    from simulator.generate import generate

    dsn = _database(postgres, "simulator_scale_s")
    started = time.perf_counter()
    summary = generate(dsn, scale="S", seed=20170101, manifest_path=tmp_path / "s.json")
    seconds = time.perf_counter() - started
    assert seconds < 120, summary["timings"]
    poor = q(
        dsn,
        """
        select count(distinct h.household_id), count(p.person_id),
               count(p.person_id) filter (where h.planned_exit_year = 2017)
        from app.households h join app.persons p on p.household_id = h.household_id
        where h.deleted_at is null and p.deleted_at is null and h.status_label in ('red', 'yellow')""",
    )[0]
    assert poor == (49_014, 97_323, 68_293)
    towns = q(dsn, "select region_code, region_name from app.regions where region_level = 'town' order by 1")
    assert towns == list(lixin_towns())
    cadres = q(dsn, "select count(*) from app.cadres")[0][0]
    assert 5_700 <= cadres <= 6_500
    visits = q(dsn, "select min(started_at), max(started_at) from app.visits")[0]
    assert visits[0].astimezone(TZ).date() <= date(2016, 12, 5) and visits[1].astimezone(TZ).date() == AS_OF
