"""The data-quality checks, as code: what each check examines, how severe a failure is, and why.

Every check is one SQL query over the build warehouse that yields, for each record it examines, the columns
``key`` (what identifies the record: a person id, a household id, a table name...), ``village_code`` (the
village the record belongs to, or null when it has none) and ``ok`` (true when the record passes). The
checkpoint (``quality.checkpoint``) runs these queries inside DuckDB and hands Great Expectations only their
per-village tallies; see its docstring for why.

Severity is declared here and nowhere else, one value per check:

* ``blocking`` - the warehouse is broken or incomplete (a key not unique, a fact pointing at a missing
  dimension, a table emptied or shrunk): the publication stops and the last good warehouse keeps serving.
* ``warning`` - the records are wrong in the world, not in the load (the national registry's own checks: ID
  numbers, contradictions, exits that fail the criteria...): reported to the data stewards, attributed to
  villages in the scorecard, never stopping the publication.

The data's as-of moment is the source's clock: the greatest ``updated_at`` the extract has seen
(``meta.watermarks``). Nothing the operational database holds can be dated after the last thing it wrote, so
"dates in the future" are dates after that moment (plus one day for time zones); the wall clock is never
used (the simulated county lives in 2017).

Each check also names a quality dimension (completeness, validity, consistency, integrity, timeliness), which
the village scorecard (``marts.village_quality_scorecard``) aggregates.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

BLOCKING = "blocking"
WARNING = "warning"
SEVERITIES = (BLOCKING, WARNING)
DIMENSIONS = ("completeness", "validity", "consistency", "integrity", "timeliness")

# Per-capita net income above this is implausible for a registered household (the registry's own rule).
INCOME_PLAUSIBLE_MAX = 100_000
# GPS points farther than this outside the box of the county's village centroids are outside the county.
COUNTY_BOX_MARGIN_DEG = 0.1
# A raw table not refreshed for this long is stale.
EXTRACT_MAX_AGE_HOURS = 36
# A daily source (visits, GPS points) whose newest row is older than this, before the as-of, has stopped.
ACTIVITY_MAX_LAG_DAYS = 7
# A spreadsheet source whose latest file is older than this is stale (they are sent once a year).
SHEET_MAX_AGE_DAYS = 400
# A raw table that lost more than this share of the rows of the published warehouse is a broken load.
VOLUME_MIN_RATIO = 0.8

# The raw tables every load must hold (the operational database's tables).
RAW_TABLES = (
    "regions",
    "households",
    "persons",
    "incomes",
    "living_conditions",
    "support_teams",
    "cadres",
    "twinnings",
    "visits",
    "gps_points",
    "demands",
    "tasks",
    "status_events",
)

# GB 11643-1999: weights of the first 17 digits; the check character is CHECK_CHARS[sum mod 11].
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"


@dataclass(frozen=True)
class Check:
    name: str
    suite: str
    severity: str
    dimension: str
    description: str
    sql: str  # yields key, village_code, ok for every record examined
    requires: tuple[str, ...] = ()  # tables that must exist; the check is skipped (and says so) otherwise
    pii_key: bool = False  # the key is personal data: stored only as the salted hash staging uses

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"check {self.name}: severity {self.severity!r} not in {SEVERITIES}")
        if self.dimension not in DIMENSIONS:
            raise ValueError(f"check {self.name}: dimension {self.dimension!r} not in {DIMENSIONS}")


def pii_salt() -> str:
    """The salt of the personal-data hash keys, the same as dbt's ``pii_salt`` var (FUPIN_PII_SALT)."""
    return os.environ.get("FUPIN_PII_SALT", "fupin-local-salt")


def pii_hash_sql(column: str) -> str:
    """The same expression as the dbt macro ``pii_hash``: sha256(salt || value)."""
    salt = pii_salt().replace("'", "''")
    return f"sha256('{salt}' || {column})"


def _id_check_char_sql(number: str) -> str:
    """The GB 11643 check character of ``number``, the first 17 digits as a BIGINT (integer arithmetic is
    about twice as fast in DuckDB as 17 substrings)."""
    terms = " + ".join(f"(({number} // {10 ** (16 - i)}) % 10) * {w}" for i, w in enumerate(ID_WEIGHTS))
    return f"substr('{ID_CHECK_CHARS}', cast((({terms}) % 11) + 1 as bigint), 1)"


# Temporary tables every check may use, created once per run on the checkpoint's connection.
AS_OF_SQL = """
create or replace temp table q_as_of as
select coalesce(max(watermark), now()) as as_of_ts,
       cast(timezone('Asia/Shanghai', coalesce(max(watermark), now())) as date) as as_of_date
from meta.watermarks
where source = 'postgres'
"""
AS_OF_FALLBACK_SQL = (
    "create or replace temp table q_as_of as"
    " select now() as as_of_ts, cast(timezone('Asia/Shanghai', now()) as date) as as_of_date"
)
# The national rural poverty line by year: the dbt seed `poverty_lines` (NBS figures, source in the seed), the
# same table the models use, so a check and a mart never disagree on the line.
POVERTY_LINE_SQL = """
create or replace temp table q_poverty_line as
select poverty_line_year as year, poverty_line_yuan as line from reference.poverty_lines
"""
# Live persons with their household's village and their age in the as-of year (a view: nothing is copied).
PERSONS_SQL = """
create or replace temp view q_persons as
select
    p.person_id,
    p.household_id,
    h.village_code,
    upper(trim(p.id_number)) as id_number,
    p.name,
    p.sex,
    p.birth_date,
    p.relation_to_head,
    p.schooling,
    p.health,
    p.labour_ability,
    year(a.as_of_date) - year(p.birth_date) as age
from raw.persons p
left join raw.households h on h.household_id = p.household_id
cross join q_as_of a
where p.deleted_at is null
"""


def _blank(column: str) -> str:
    return f"({column} is null or trim(cast({column} as varchar)) = '')"


def _ri(name, suite, child, key, column, parent, parent_key, village_sql, where="c.deleted_at is null"):
    """A referential-integrity check: every live ``child.column`` names an existing ``parent`` row."""
    return Check(
        name,
        suite,
        BLOCKING,
        "integrity",
        f"every {child}.{column} names an existing {parent} row",
        f"""
        select cast(c.{key} as varchar) as key, {village_sql} as village_code,
               c.{column} is null or exists (select 1 from {parent} p where p.{parent_key} = c.{column}) as ok
        from {child} c
        where {where}
        """,
        requires=(child, parent),
    )


def _unique(name, suite, table, key, village_sql="null", where="true"):
    return Check(
        name,
        suite,
        BLOCKING,
        "integrity",
        f"{table}.{key} is unique",
        f"""
        select cast({key} as varchar) as key, min({village_sql}) as village_code, count(*) = 1 as ok
        from {table} where {where} group by {key}
        """,
        requires=(table,),
    )


def _not_empty(table: str) -> Check:
    return Check(
        f"{table}_not_empty",
        "raw_load",
        BLOCKING,
        "completeness",
        f"raw.{table} holds live rows",
        f"""
        select '{table}' as key, null as village_code,
               exists (select 1 from raw.{table} where deleted_at is null) as ok
        """,
        requires=(f"raw.{table}",),
    )


def checks() -> list[Check]:
    raw_tables_values = ", ".join(f"('{t}')" for t in RAW_TABLES)
    id_format = "regexp_full_match(id_number, '[0-9]{17}[0-9X]')"
    return [
        # -- the load as a whole -------------------------------------------------------------------------
        Check(
            "raw_tables_present",
            "raw_load",
            BLOCKING,
            "completeness",
            "every table of the operational database landed in raw",
            f"""
            select t.table_name as key, null as village_code,
                   exists (select 1 from duckdb_tables() d
                           where d.schema_name = 'raw' and d.table_name = t.table_name) as ok
            from (values {raw_tables_values}) as t(table_name)
            """,
        ),
        *(_not_empty(t) for t in ("regions", "households", "persons")),
        Check(
            "raw_volume_kept",
            "raw_load",
            BLOCKING,
            "completeness",
            f"no raw table holds fewer than {VOLUME_MIN_RATIO:.0%} of the rows of the published warehouse",
            f"""
            select table_name as key, null as village_code, rows >= {VOLUME_MIN_RATIO} * published_rows as ok
            from q_volume
            """,
        ),
        Check(
            "source_extracted_recently",
            "raw_freshness",
            WARNING,
            "timeliness",
            f"every raw table was refreshed by the extract within {EXTRACT_MAX_AGE_HOURS} hours",
            f"""
            select table_name as key, null as village_code,
                   loaded_at >= now() - interval {EXTRACT_MAX_AGE_HOURS} hour as ok
            from meta.watermarks
            where source = 'postgres'
            """,
            requires=("meta.watermarks",),
        ),
        Check(
            "activity_source_current",
            "raw_freshness",
            WARNING,
            "timeliness",
            f"the daily sources (visits, GPS points) hold rows written within {ACTIVITY_MAX_LAG_DAYS} days of"
            " the data's as-of moment",
            f"""
            select w.table_name as key, null as village_code,
                   w.watermark >= a.as_of_ts - interval {ACTIVITY_MAX_LAG_DAYS} day as ok
            from meta.watermarks w cross join q_as_of a
            where w.source = 'postgres' and w.table_name in ('visits', 'gps_points')
            """,
            requires=("meta.watermarks",),
        ),
        Check(
            "sheet_source_recent",
            "raw_freshness",
            WARNING,
            "timeliness",
            f"each kind of spreadsheet had a file loaded within {SHEET_MAX_AGE_DAYS} days",
            f"""
            select kind as key, null as village_code,
                   max(first_seen_at) >= now() - interval {SHEET_MAX_AGE_DAYS} day as ok
            from meta.sheet_files
            where status in ('loaded', 'replaced') and kind is not null
            group by kind
            """,
            requires=("meta.sheet_files",),
        ),
        # -- persons -------------------------------------------------------------------------------------
        _unique("person_id_unique", "raw_persons", "raw.persons", "person_id"),
        _ri(
            "person_household_exists",
            "raw_persons",
            "raw.persons",
            "person_id",
            "household_id",
            "raw.households",
            "household_id",
            "null",
        ),
        Check(
            "id_number_length",
            "raw_persons",
            WARNING,
            "validity",
            "an ID number has 18 characters: 17 digits and a digit or X",
            f"""
            select cast(person_id as varchar) as key, village_code,
                   coalesce({id_format}, false) as ok
            from q_persons
            """,
            requires=("raw.persons",),
        ),
        Check(
            "invalid_id_check_digit",
            "raw_persons",
            WARNING,
            "validity",
            "the ID number's check character is the GB 11643 one (of those well formed)",
            f"""
            select key, village_code, substr(id_number, 18, 1) = {_id_check_char_sql("n")} as ok
            from (
                select cast(person_id as varchar) as key, village_code, id_number,
                       cast(left(id_number, 17) as bigint) as n
                from q_persons
                where {id_format}
            )
            """,
            requires=("raw.persons",),
        ),
        Check(
            "id_birth_date_matches",
            "raw_persons",
            WARNING,
            "consistency",
            "the birth date inside the ID number is the recorded birth date",
            f"""
            select cast(person_id as varchar) as key, village_code,
                   coalesce(try_strptime(substr(id_number, 7, 8), '%Y%m%d')::date = birth_date, false) as ok
            from q_persons
            where {id_format}
            """,
            requires=("raw.persons",),
        ),
        Check(
            "person_in_two_households",
            "raw_persons",
            WARNING,
            "consistency",
            "one ID number is a member of one live household only (key: the ID number's hash)",
            """
            select id_number as key, min(village_code) as village_code,
                   count(distinct household_id) = 1 as ok
            from q_persons
            where id_number is not null and village_code is not null
            group by id_number
            """,
            requires=("raw.persons",),
            pii_key=True,
        ),
        Check(
            "person_key_fields_present",
            "raw_persons",
            WARNING,
            "completeness",
            "name, ID number, sex, birth date and relation to the head are filled",
            f"""
            select cast(person_id as varchar) as key, village_code,
                   not ({_blank("name")} or {_blank("id_number")} or {_blank("sex")}
                        or birth_date is null or {_blank("relation_to_head")}) as ok
            from q_persons
            """,
            requires=("raw.persons",),
        ),
        Check(
            "labour_ability_present_16_65",
            "raw_persons",
            WARNING,
            "completeness",
            "labour ability is filled for people aged 16 to 65",
            f"""
            select cast(person_id as varchar) as key, village_code, not {_blank("labour_ability")} as ok
            from q_persons where age between 16 and 65
            """,
            requires=("raw.persons",),
        ),
        Check(
            "schooling_present_6_23",
            "raw_persons",
            WARNING,
            "completeness",
            "schooling is filled for people aged 6 to 23",
            f"""
            select cast(person_id as varchar) as key, village_code, not {_blank("schooling")} as ok
            from q_persons where age between 6 and 23
            """,
            requires=("raw.persons",),
        ),
        Check(
            "labour_ability_matches_age",
            "raw_persons",
            WARNING,
            "consistency",
            "under 16: 无劳动力; 16 to 64: not 无劳动力; 65 and over: not 普通/技能劳动力",
            """
            select cast(person_id as varchar) as key, village_code,
                   case
                       when age < 16 then labour_ability = '无劳动力'
                       when age < 65 then labour_ability <> '无劳动力'
                       else labour_ability not in ('普通劳动力', '技能劳动力')
                   end as ok
            from q_persons
            where labour_ability is not null and age is not null
            """,
            requires=("raw.persons",),
        ),
        Check(
            "birth_date_not_future",
            "raw_persons",
            WARNING,
            "validity",
            "no birth date after the data's as-of day",
            """
            select cast(person_id as varchar) as key, village_code,
                   birth_date <= (select as_of_date from q_as_of) as ok
            from q_persons where birth_date is not null
            """,
            requires=("raw.persons",),
        ),
        # -- households ----------------------------------------------------------------------------------
        _unique("household_id_unique", "raw_households", "raw.households", "household_id", "village_code"),
        _ri(
            "household_village_exists",
            "raw_households",
            "raw.households",
            "household_id",
            "village_code",
            "raw.regions",
            "region_code",
            "null",
        ),
        Check(
            "household_status_label_known",
            "raw_households",
            BLOCKING,
            "validity",
            "the status label is red, yellow or green",
            """
            select cast(household_id as varchar) as key, village_code,
                   coalesce(status_label in ('red', 'yellow', 'green'), false) as ok
            from raw.households where deleted_at is null
            """,
            requires=("raw.households",),
        ),
        Check(
            "household_key_fields_present",
            "raw_households",
            WARNING,
            "completeness",
            "head name, attribute and main cause of poverty are filled, and a live member is the head (户主)",
            f"""
            select cast(h.household_id as varchar) as key, h.village_code,
                   not ({_blank("h.head_name")} or {_blank("h.attribute")} or {_blank("h.main_cause")})
                   and exists (select 1 from q_persons p
                               where p.household_id = h.household_id and p.relation_to_head = '户主') as ok
            from raw.households h where h.deleted_at is null
            """,
            requires=("raw.households", "raw.persons"),
        ),
        Check(
            "cause_contradicts_members",
            "raw_households",
            WARNING,
            "consistency",
            "因病 (illness) with a sick member; 因残 (disability) with a disabled member",
            """
            with m as (
                select household_id,
                       bool_or(health in ('长期慢性病', '患有大病')) as any_sick,
                       bool_or(health = '残疾') as any_disabled
                from q_persons group by household_id
            )
            select cast(h.household_id as varchar) as key, h.village_code,
                   case h.main_cause when '因病' then coalesce(m.any_sick, false)
                                     else coalesce(m.any_disabled, false) end as ok
            from raw.households h left join m on m.household_id = h.household_id
            where h.deleted_at is null and h.main_cause in ('因病', '因残')
            """,
            requires=("raw.households", "raw.persons"),
        ),
        Check(
            "cause_study_without_student",
            "raw_households",
            WARNING,
            "consistency",
            "因学 (schooling costs) with a member at school (在读)",
            """
            select cast(h.household_id as varchar) as key, h.village_code,
                   exists (select 1 from q_persons p
                           where p.household_id = h.household_id and p.schooling like '%在读') as ok
            from raw.households h
            where h.deleted_at is null and h.main_cause = '因学'
            """,
            requires=("raw.households", "raw.persons"),
        ),
        Check(
            "poor_without_helper",
            "raw_households",
            WARNING,
            "consistency",
            "a poor (red or yellow) household has a twinning in force on the as-of day",
            """
            with helped as (
                select distinct t.household_id
                from raw.twinnings t cross join q_as_of a
                where t.deleted_at is null and t.start_date <= a.as_of_date
                  and (t.end_date is null or t.end_date >= a.as_of_date)
            )
            select cast(h.household_id as varchar) as key, h.village_code,
                   h.household_id in (select household_id from helped) as ok
            from raw.households h
            where h.deleted_at is null and h.status_label in ('red', 'yellow')
            """,
            requires=("raw.households", "raw.twinnings"),
        ),
        Check(
            "exited_income_below_line",
            "raw_households",
            WARNING,
            "consistency",
            "an exited (green) household's latest per-capita net income since its exit year is at least the"
            " poverty line of that year",
            """
            with latest as (
                select i.household_id, arg_max(i.per_capita_net_income, i.year) as income,
                       max(i.year) as year
                from raw.incomes i join raw.households h on h.household_id = i.household_id
                where i.deleted_at is null and i.year >= h.actual_exit_year
                group by i.household_id
            )
            select cast(h.household_id as varchar) as key, h.village_code,
                   coalesce(l.income >= pl.line, false) as ok
            from raw.households h
            left join latest l on l.household_id = h.household_id
            left join q_poverty_line pl on pl.year = l.year
            where h.deleted_at is null and h.status_label = 'green'
            """,
            requires=("raw.households", "raw.incomes"),
        ),
        Check(
            "exited_without_guarantee",
            "raw_households",
            WARNING,
            "consistency",
            "an exited (green) household has food, clothing, schooling, medical care, housing and safe"
            " water guaranteed, and a safe house (grade A or B)",
            """
            select cast(h.household_id as varchar) as key, h.village_code,
                   coalesce(l.food_secure and l.clothing_secure and l.education_guaranteed
                            and l.medical_guaranteed and l.housing_guaranteed and l.safe_drinking_water
                            and l.house_safety_grade in ('A', 'B'), false) as ok
            from raw.households h
            left join raw.living_conditions l on l.household_id = h.household_id and l.deleted_at is null
            where h.deleted_at is null and h.status_label = 'green'
            """,
            requires=("raw.households", "raw.living_conditions"),
        ),
        Check(
            "household_years_not_future",
            "raw_households",
            WARNING,
            "validity",
            "registration and exit years are not after the as-of year",
            """
            select cast(household_id as varchar) as key, village_code,
                   registration_year <= year(a.as_of_date)
                   and coalesce(actual_exit_year <= year(a.as_of_date), true) as ok
            from raw.households cross join q_as_of a where deleted_at is null
            """,
            requires=("raw.households",),
        ),
        Check(
            "income_recorded_this_year",
            "raw_households",
            WARNING,
            "timeliness",
            "a live household has its income of the as-of year recorded",
            """
            select cast(h.household_id as varchar) as key, h.village_code,
                   exists (select 1 from raw.incomes i
                           where i.household_id = h.household_id and i.deleted_at is null
                             and i.year = year(a.as_of_date)) as ok
            from raw.households h cross join q_as_of a
            where h.deleted_at is null
            """,
            requires=("raw.households", "raw.incomes"),
        ),
        # -- incomes -------------------------------------------------------------------------------------
        _ri(
            "income_household_exists",
            "raw_incomes",
            "raw.incomes",
            "income_id",
            "household_id",
            "raw.households",
            "household_id",
            "null",
        ),
        Check(
            "income_per_capita_plausible",
            "raw_incomes",
            WARNING,
            "validity",
            f"per-capita net income is between 0 and {INCOME_PLAUSIBLE_MAX:,} yuan",
            f"""
            select cast(i.income_id as varchar) as key, h.village_code,
                   i.per_capita_net_income between 0 and {INCOME_PLAUSIBLE_MAX} as ok
            from raw.incomes i left join raw.households h on h.household_id = i.household_id
            where i.deleted_at is null
            """,
            requires=("raw.incomes", "raw.households"),
        ),
        Check(
            "operating_income_without_cost",
            "raw_incomes",
            WARNING,
            "consistency",
            "an operating income comes with an operating cost",
            """
            select cast(i.income_id as varchar) as key, h.village_code,
                   not (i.operating_income > 0 and coalesce(i.operating_cost, 0) = 0) as ok
            from raw.incomes i left join raw.households h on h.household_id = i.household_id
            where i.deleted_at is null
            """,
            requires=("raw.incomes", "raw.households"),
        ),
        Check(
            "income_year_not_future",
            "raw_incomes",
            WARNING,
            "validity",
            "no income of a year after the as-of year",
            """
            select cast(i.income_id as varchar) as key, h.village_code,
                   i.year <= year(a.as_of_date) as ok
            from raw.incomes i left join raw.households h on h.household_id = i.household_id
            cross join q_as_of a
            where i.deleted_at is null
            """,
            requires=("raw.incomes", "raw.households"),
        ),
        _ri(
            "living_conditions_household_exists",
            "raw_incomes",
            "raw.living_conditions",
            "household_id",
            "household_id",
            "raw.households",
            "household_id",
            "null",
        ),
        # -- support: cadres, twinnings ------------------------------------------------------------------
        _unique("cadre_id_unique", "raw_support", "raw.cadres", "cadre_id", "village_code"),
        _ri(
            "twinning_household_exists",
            "raw_support",
            "raw.twinnings",
            "twinning_id",
            "household_id",
            "raw.households",
            "household_id",
            "null",
        ),
        _ri(
            "twinning_cadre_exists",
            "raw_support",
            "raw.twinnings",
            "twinning_id",
            "cadre_id",
            "raw.cadres",
            "cadre_id",
            "(select h.village_code from raw.households h where h.household_id = c.household_id)",
        ),
        # -- activity: visits, GPS points, demands, tasks, status events ---------------------------------
        _ri(
            "visit_household_exists",
            "raw_activity",
            "raw.visits",
            "visit_id",
            "household_id",
            "raw.households",
            "household_id",
            "null",
        ),
        _ri(
            "visit_cadre_exists",
            "raw_activity",
            "raw.visits",
            "visit_id",
            "cadre_id",
            "raw.cadres",
            "cadre_id",
            "(select h.village_code from raw.households h where h.household_id = c.household_id)",
        ),
        Check(
            "visit_not_future",
            "raw_activity",
            WARNING,
            "validity",
            "no visit starts after the data's as-of moment (plus a day)",
            """
            select cast(v.visit_id as varchar) as key, h.village_code,
                   v.started_at <= a.as_of_ts + interval 1 day and v.ended_at >= v.started_at as ok
            from raw.visits v left join raw.households h on h.household_id = v.household_id
            cross join q_as_of a
            where v.deleted_at is null
            """,
            requires=("raw.visits", "raw.households"),
        ),
        _ri(
            "gps_point_cadre_exists",
            "raw_activity",
            "raw.gps_points",
            "point_id",
            "cadre_id",
            "raw.cadres",
            "cadre_id",
            "null",
            where="true",
        ),
        Check(
            "gps_outside_county",
            "raw_activity",
            WARNING,
            "validity",
            f"a GPS point lies inside its cadre's county: the box of the county's village centroids plus"
            f" {COUNTY_BOX_MARGIN_DEG} degree",
            f"""
            with box as (
                select left(region_code, 6) as county_code,
                       min(lat) - {COUNTY_BOX_MARGIN_DEG} as lat_min,
                       max(lat) + {COUNTY_BOX_MARGIN_DEG} as lat_max,
                       min(lon) - {COUNTY_BOX_MARGIN_DEG} as lon_min,
                       max(lon) + {COUNTY_BOX_MARGIN_DEG} as lon_max
                from raw.regions
                where region_level = 'village' and deleted_at is null and lat is not null
                group by 1
            )
            select cast(g.point_id as varchar) as key, c.village_code,
                   g.lat between b.lat_min and b.lat_max and g.lon between b.lon_min and b.lon_max as ok
            from raw.gps_points g
            join raw.cadres c on c.cadre_id = g.cadre_id
            join box b on b.county_code = left(c.town_code, 6)
            """,
            requires=("raw.gps_points", "raw.cadres", "raw.regions"),
        ),
        Check(
            "gps_point_not_future",
            "raw_activity",
            WARNING,
            "validity",
            "no GPS point recorded after the data's as-of moment (plus a day)",
            """
            select cast(g.point_id as varchar) as key, null as village_code,
                   g.recorded_at <= a.as_of_ts + interval 1 day as ok
            from raw.gps_points g cross join q_as_of a
            """,
            requires=("raw.gps_points",),
        ),
        _ri(
            "demand_household_exists",
            "raw_activity",
            "raw.demands",
            "demand_id",
            "household_id",
            "raw.households",
            "household_id",
            "null",
        ),
        _ri(
            "task_assignee_exists",
            "raw_activity",
            "raw.tasks",
            "task_id",
            "assignee_cadre_id",
            "raw.cadres",
            "cadre_id",
            "(select h.village_code from raw.households h where h.household_id = c.household_id)",
        ),
        _ri(
            "status_event_household_exists",
            "raw_activity",
            "raw.status_events",
            "event_id",
            "household_id",
            "raw.households",
            "household_id",
            "null",
            where="true",
        ),
        Check(
            "status_event_not_future",
            "raw_activity",
            WARNING,
            "validity",
            "no status change dated after the data's as-of moment (plus a day)",
            """
            select cast(e.event_id as varchar) as key, h.village_code,
                   e.event_at <= a.as_of_ts + interval 1 day as ok
            from raw.status_events e left join raw.households h on h.household_id = e.household_id
            cross join q_as_of a
            """,
            requires=("raw.status_events", "raw.households"),
        ),
        # -- marts ---------------------------------------------------------------------------------------
        Check(
            "status_by_village_grain",
            "marts",
            BLOCKING,
            "integrity",
            "marts.status_by_village has one row per village and label",
            """
            select village_code || '/' || status_label as key, min(village_code) as village_code,
                   count(*) = 1 as ok
            from marts.status_by_village group by village_code, status_label
            """,
            requires=("marts.status_by_village",),
        ),
        Check(
            "status_by_village_reconciles",
            "marts",
            BLOCKING,
            "integrity",
            "marts.status_by_village counts the live households of raw per village and label",
            """
            with r as (
                select village_code, status_label, count(*) as n
                from raw.households where deleted_at is null group by 1, 2
            ),
            m as (
                select village_code, status_label, sum(households) as n
                from marts.status_by_village group by 1, 2
            )
            select coalesce(r.village_code, m.village_code) || '/' || coalesce(r.status_label, m.status_label)
                       as key,
                   coalesce(r.village_code, m.village_code) as village_code,
                   coalesce(r.n, 0) = coalesce(m.n, 0) as ok
            from r full join m on m.village_code = r.village_code and m.status_label = r.status_label
            """,
            requires=("marts.status_by_village", "raw.households"),
        ),
        Check(
            "status_by_village_counts_non_negative",
            "marts",
            BLOCKING,
            "validity",
            "household and person counts are not negative",
            """
            select village_code || '/' || status_label as key, village_code,
                   households >= 0 and persons >= 0 as ok
            from marts.status_by_village
            """,
            requires=("marts.status_by_village",),
        ),
    ]


def suites() -> dict[str, list[Check]]:
    """The checks grouped by suite, in declaration order."""
    grouped: dict[str, list[Check]] = {}
    for check in checks():
        grouped.setdefault(check.suite, []).append(check)
    return grouped


def severity_of(name: str) -> str:
    return {c.name: c.severity for c in checks()}[name]
