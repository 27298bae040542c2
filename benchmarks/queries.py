"""Dashboard queries: representative SQL on the published marts, and the same questions asked of PostgreSQL.

Every table of the ``marts`` schema gets two generic queries, the shapes a dashboard sends: an overview (the
table grouped by its coarsest area or label, numeric columns summed) and a drill-down (one town's rows, as a
town filter or a town role's row-level security gives). Three questions also have a hand-written form on
both sides, as a county would ask them without the warehouse: households by status per town, poor households
without a helper in force, and visit frequency per town over the last 30 days.
"""

from __future__ import annotations

from dataclasses import dataclass

# The questions asked both ways. The PostgreSQL side reads the operational schema directly (soft deletes
# excluded, the simulated as-of day from the data itself), as an analyst would without the warehouse.
NAMED = [
    (
        "status by town",
        "marts.status_by_village",
        """
        select town_code, town_name, status_label, sum(households) as households, sum(persons) as persons
        from marts.status_by_village
        group by all
        order by town_code, status_label
        """,
        """
        select t.region_code, t.region_name, h.status_label, count(distinct h.household_id) as households,
               count(p.person_id) as persons
        from app.households h
        join app.regions v on v.region_code = h.village_code
        join app.regions t on t.region_code = v.parent_code
        left join app.persons p on p.household_id = h.household_id and p.deleted_at is null
        where h.deleted_at is null
        group by 1, 2, 3
        order by 1, 3
        """,
    ),
    (
        "households without helper",
        "marts.households_without_helper",
        """
        select town_code, town_name, status_label, count(*) as households
        from marts.households_without_helper
        group by all
        order by town_code, status_label
        """,
        """
        with as_of as (select max(started_at)::date as day from app.visits where deleted_at is null)
        select t.region_code, t.region_name, h.status_label, count(*) as households
        from app.households h
        join app.regions v on v.region_code = h.village_code
        join app.regions t on t.region_code = v.parent_code
        cross join as_of
        where h.deleted_at is null and h.status_label in ('red', 'yellow')
          and not exists (
              select 1 from app.twinnings w
              where w.household_id = h.household_id and w.deleted_at is null
                and w.start_date <= as_of.day and (w.end_date is null or w.end_date >= as_of.day)
          )
        group by 1, 2, 3
        order by 1, 3
        """,
    ),
    (
        "visit frequency",
        "marts.visit_frequency",
        """
        select town_code, count(*) as households, avg(visits_last_30d) as visits_per_household_30d,
               count(*) filter (where visits_last_30d = 0) as not_visited_30d
        from marts.visit_frequency
        group by town_code
        order by town_code
        """,
        """
        with as_of as (select max(started_at)::date as day from app.visits where deleted_at is null),
        per_household as (
            select h.household_id, v.parent_code as town_code, count(vi.visit_id) as visits_30d
            from app.households h
            join app.regions v on v.region_code = h.village_code
            cross join as_of
            left join app.visits vi on vi.household_id = h.household_id and vi.deleted_at is null
                 and vi.started_at::date > as_of.day - 30 and vi.started_at::date <= as_of.day
            where h.deleted_at is null and h.status_label in ('red', 'yellow')
            group by 1, 2
        )
        select town_code, count(*), avg(visits_30d), count(*) filter (where visits_30d = 0)
        from per_household
        group by town_code
        order by town_code
        """,
    ),
]

_AREA_COLUMNS = ("town_code", "county_code", "region_level", "status_label", "indicator", "village_code")
_NUMERIC = ("INTEGER", "BIGINT", "HUGEINT", "DOUBLE", "FLOAT", "DECIMAL", "SMALLINT", "TINYINT", "UBIGINT")


@dataclass
class Query:
    name: str
    table: str
    duck_sql: str
    pg_sql: str | None = None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def mart_queries(con) -> list[Query]:
    """The generic overview and drill-down queries of every mart, then the named questions."""
    rows = con.execute(
        """
        select c.table_name, c.column_name, c.data_type
        from duckdb_columns() c
        join duckdb_tables() t using (database_name, schema_name, table_name)
        where c.schema_name = 'marts' and c.database_name = current_database()
        order by c.table_name, c.column_index
        """
    ).fetchall()
    tables: dict[str, list[tuple[str, str]]] = {}
    for t, c, d in rows:
        tables.setdefault(t, []).append((c, d))
    town = None
    if any(c == "town_code" for cols in tables.values() for c, _ in cols):
        table = next(t for t, cols in tables.items() if any(c == "town_code" for c, _ in cols))
        town = con.execute(
            f"select min(town_code) from marts.{_quote(table)} where town_code is not null"
        ).fetchone()[0]
    queries = []
    for t, cols in tables.items():
        names = [c for c, _ in cols]
        rel = f"marts.{_quote(t)}"
        group = next((c for c in _AREA_COLUMNS if c in names), None)
        sums = [
            f"sum({_quote(c)}) as {_quote(c)}"
            for c, d in cols
            if d.split("(")[0] in _NUMERIC and not c.endswith("_id") and c not in ("seq",)
        ][:6]
        select = ", ".join(["count(*) as n", *sums])
        if group:
            sql = f"select {_quote(group)}, {select} from {rel} group by 1 order by 1"
        else:
            sql = f"select {select} from {rel}"
        queries.append(Query(f"{t}: overview", t, sql))
        if town and "town_code" in names:
            queries.append(
                Query(
                    f"{t}: one town",
                    t,
                    f"select * from {rel} where town_code = '{town}' limit 1000",
                )
            )
    for name, table, duck_sql, pg_sql in NAMED:
        schema, t = table.split(".")
        if t in tables:
            queries.append(Query(name, t, " ".join(duck_sql.split()), " ".join(pg_sql.split())))
    return queries
