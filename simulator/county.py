"""One county, generated whole: every table of the operational database as frames ready for COPY, the
planted anomalies, and the county's reference figures."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from simulator.activity import Places, monthly_intents, trips_and_points
from simulator.anomalies import Planted
from simulator.calendar import AS_OF, US_PER_DAY, day_number, local_midnight_us
from simulator.economy import build_economy
from simulator.frames import nullable
from simulator.geography import Geography, build_geography
from simulator.population import build_population, year_day
from simulator.rng import stream
from simulator.scales import CountySpec
from simulator.support import build_support
from simulator.timestamps import later, office_time
from simulator.workflow import build_workflow

# Id ranges: every id of a county is its 6-digit code times a power of ten plus a sequence number.
ID_BASE = {
    "incomes": 10**7,
    "twinnings": 10**7,
    "visits": 10**9,
    "gps_points": 10**11,
    "demands": 10**8,
    "tasks": 10**8,
    "status_events": 10**8,
}
TABLE_ORDER = (
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


@dataclass
class CountyData:
    code: str
    tables: dict[str, pl.DataFrame]
    planted: Planted
    figures: dict = field(default_factory=dict)
    bbox: tuple[float, float, float, float] = (0, 0, 0, 0)


def _us_day(day) -> np.ndarray:
    return (np.asarray(day, dtype=np.int64) * US_PER_DAY).astype(np.int64)


def build_county(
    county: CountySpec, seed: int, visit_days: int, with_regions_of_county: bool = True
) -> CountyData:
    code = int(county.code)
    rng = stream(seed, "timestamps", code)
    as_of = day_number(AS_OF)
    end_us = int(local_midnight_us(as_of + 1)) - 1_000_000  # the last second of the as-of day
    geo: Geography = build_geography(county, seed)
    pop = build_population(county, geo, seed)
    hh = pop.households
    planted = Planted()
    planted.extend(pop.planted)

    # -- households and their status history -----------------------------------------------------------
    n = hh.height
    created = office_time(rng, hh["registered_on"].to_numpy())
    support = build_support(county, geo, hh, seed)
    planted.extend(support.planted)
    first_help = (
        support.twinnings.group_by("household_index").agg(pl.col("start_day").min()).sort("household_index")
    )
    help_day = hh["registered_on"].to_numpy() + 60
    help_day[first_help["household_index"].to_numpy()] = first_help["start_day"].to_numpy()
    status = hh["status_label"].to_numpy()
    exit_year = hh["actual_exit_year"].fill_null(0).to_numpy()
    helped_at = office_time(rng, help_day)
    exited_at = office_time(rng, year_day(np.maximum(exit_year, 2014), 12, 10) + rng.integers(0, 18, n))
    ids = hh["household_id"].to_numpy()
    ev_h = [ids, ids[status != "red"], ids[status == "green"]]
    ev_at = [created, helped_at[status != "red"], exited_at[status == "green"]]
    ev_from = [
        np.full(n, ""),
        np.full(int((status != "red").sum()), "red"),
        np.full(int((status == "green").sum()), "yellow"),
    ]
    ev_to = [
        np.full(n, "red"),
        np.full(int((status != "red").sum()), "yellow"),
        np.full(int((status == "green").sum()), "green"),
    ]
    ev_reason = [
        np.full(n, "建档立卡识别"),
        np.full(int((status != "red").sum()), "落实结对帮扶和帮扶计划"),
        np.full(int((status == "green").sum()), "达到脱贫标准，经村评议、乡审核、县审定退出"),
    ]
    events = pl.DataFrame(
        {
            "household_id": np.concatenate(ev_h),
            "event_at": np.concatenate(ev_at),
            "from_label": nullable(np.concatenate(ev_from), np.concatenate(ev_from) != ""),
            "to_label": np.concatenate(ev_to),
            "reason": np.concatenate(ev_reason),
        },
        strict=False,
    ).sort(["event_at", "household_id"], maintain_order=True)
    events = events.with_columns(
        event_id=code * ID_BASE["status_events"] + pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
        created_at=pl.col("event_at"),
        updated_at=pl.col("event_at"),
    )
    last_event = events.group_by("household_id").agg(pl.col("event_at").max()).sort("household_id")
    edited = np.where(rng.random(n) < 0.3, office_time(rng, as_of - rng.integers(0, 300, n)), 0)
    deleted_on = hh["deleted_on"].fill_null(-1).to_numpy()
    deleted_at = np.where(deleted_on >= 0, office_time(rng, np.maximum(deleted_on, 0)), 0)
    updated = np.maximum.reduce([created, last_event["event_at"].to_numpy(), edited, deleted_at])
    households = hh.with_columns(
        created_at=pl.Series(created),
        updated_at=pl.Series(np.minimum(updated, end_us)),
        deleted_at=nullable(deleted_at, deleted_at > 0),
    )

    # -- persons --------------------------------------------------------------------------------------
    persons = pop.persons
    p_created = later(rng, created[np.searchsorted(ids, persons["household_id"].to_numpy())], 5, 120)
    p_del_day = persons["deleted_on"].fill_null(-1).to_numpy()
    p_deleted = np.where(p_del_day >= 0, office_time(rng, np.maximum(p_del_day, 0)), 0)
    p_edit = np.where(
        rng.random(persons.height) < 0.2, office_time(rng, as_of - rng.integers(0, 330, persons.height)), 0
    )
    p_updated = np.minimum(np.maximum.reduce([p_created, p_deleted, p_edit]), end_us)
    persons = persons.with_columns(
        created_at=pl.Series(p_created),
        updated_at=pl.Series(p_updated),
        deleted_at=nullable(p_deleted, p_deleted > 0),
    )

    # -- incomes and living conditions ---------------------------------------------------------------
    eco = build_economy(county, hh, seed)
    planted.extend(eco.planted)
    inc = eco.incomes
    i_created = office_time(rng, inc["verified_day"].to_numpy())
    i_updated = np.where(rng.random(inc.height) < 0.05, later(rng, i_created, 60, 20 * 1440), i_created)
    hh_deleted = dict(zip(ids.tolist(), households["deleted_at"].to_list(), strict=True))
    incomes = inc.with_columns(
        created_at=pl.Series(i_created),
        updated_at=pl.Series(np.minimum(i_updated, end_us)),
        deleted_at=pl.col("household_id").replace_strict(hh_deleted, return_dtype=pl.Int64),
    ).with_columns(pl.max_horizontal("updated_at", "deleted_at").alias("updated_at"))
    for col in (
        "wage_income",
        "operating_income",
        "operating_cost",
        "transfer_income",
        "property_income",
        "net_income",
        "per_capita_net_income",
    ):
        incomes = incomes.with_columns((pl.col(col) / 100).cast(pl.Decimal(12, 2)).alias(col))
    living = eco.living.with_columns(
        created_at=pl.Series(office_time(rng, eco.living["assessed_day"].to_numpy())),
        deleted_at=pl.col("household_id").replace_strict(hh_deleted, return_dtype=pl.Int64),
    ).with_columns(updated_at=pl.max_horizontal("created_at", "deleted_at"))

    # -- cadres, teams, twinnings --------------------------------------------------------------------
    cadres = support.cadres.with_columns(
        created_at=pl.Series(office_time(rng, support.cadres["created_day"].to_numpy()))
    )
    cadres = cadres.with_columns(updated_at=pl.col("created_at"))
    teams = support.teams.with_columns(
        created_at=pl.Series(office_time(rng, support.teams["created_day"].to_numpy()))
    )
    teams = teams.with_columns(updated_at=pl.col("created_at"))
    tw = support.twinnings
    t_created = office_time(rng, tw["start_day"].to_numpy())
    t_end = tw["end_day"].fill_null(-1).to_numpy()
    t_updated = np.where(t_end >= 0, office_time(rng, np.maximum(t_end, 0)), t_created)
    twinnings = tw.with_columns(
        created_at=pl.Series(t_created), updated_at=pl.Series(np.maximum(t_created, t_updated))
    )

    # -- visits and GPS trajectories over the window ----------------------------------------------------
    first_day = as_of - visit_days + 1
    village_idx = hh["village_index"].to_numpy()
    town_of_village = np.searchsorted(geo.towns["town_code"].to_numpy(), geo.villages["town_code"].to_numpy())
    places = Places(
        hh_lat=hh["lat"].to_numpy(),
        hh_lon=hh["lon"].to_numpy(),
        hh_village=village_idx,
        village_lat=geo.villages["lat"].to_numpy(),
        village_lon=geo.villages["lon"].to_numpy(),
        village_town=town_of_village,
        town_lat=geo.towns["lat"].to_numpy(),
        town_lon=geo.towns["lon"].to_numpy(),
        center=county.center,
    )
    if not np.all(np.diff(geo.towns["town_code"].to_numpy().astype(np.int64)) > 0):
        raise ValueError(f"towns of county {county.code} are not in code order")
    hh_kind = hh["kind"].to_numpy()
    intents = monthly_intents(stream(seed, "visits", code), twinnings, hh_kind, first_day, as_of)
    act = trips_and_points(
        stream(seed, "trajectories", code),
        intents,
        twinnings,
        places,
        code * ID_BASE["visits"] + 1,
        code * ID_BASE["gps_points"] + 1,
        minimum=1,
    )
    planted.extend(act.planted)
    visits = act.visits
    v_edit = rng.random(visits.height) < 0.02
    v_updated = np.where(
        v_edit, later(rng, visits["created_at"].to_numpy(), 600, 7 * 1440), visits["created_at"].to_numpy()
    )
    v_deleted = (rng.random(visits.height) < 0.003) & ~visits["fabricated"].to_numpy()
    v_updated = np.minimum(v_updated, end_us)
    visits = visits.with_columns(
        updated_at=pl.Series(v_updated),
        deleted_at=nullable(v_updated, v_deleted),
    ).drop("fabricated")

    # -- demands and tasks ------------------------------------------------------------------------------
    officers = (
        cadres.filter(pl.col("role") == "乡镇扶贫专干")
        .group_by("town_code", maintain_order=True)
        .agg(pl.col("cadre_id"))
    )
    officer_map = {t: np.array(c) for t, c in officers.iter_rows()}
    wf = build_workflow(
        seed,
        code,
        hh,
        twinnings,
        officer_map,
        first_day,
        as_of,
        code * ID_BASE["demands"] + 1,
        code * ID_BASE["tasks"] + 1,
    )
    tasks = wf.tasks.with_columns(
        due_date=pl.col("due_day").cast(pl.Int32).cast(pl.Date),
        updated_at=pl.min_horizontal("updated_at", pl.lit(end_us)),
    )

    # -- regions ------------------------------------------------------------------------------------
    region_created = int(local_midnight_us(day_number(AS_OF) - 1430)) + 9 * 3_600_000_000
    regions = geo.regions.with_columns(created_at=pl.lit(region_created), updated_at=pl.lit(region_created))

    tables = {
        "regions": regions,
        "households": households,
        "persons": persons,
        "incomes": incomes,
        "living_conditions": living,
        "support_teams": teams,
        "cadres": cadres,
        "twinnings": twinnings,
        "visits": visits,
        "gps_points": act.points,
        "demands": wf.demands,
        "tasks": tasks,
        "status_events": events,
    }
    data = CountyData(county.code, tables, planted, bbox=geo.bbox)
    data.figures = figures(county, households, persons, geo)
    data.figures["cadres"] = cadres.height
    data.figures["village_cadres"] = int(cadres["village_code"].is_not_null().sum())
    return data


def figures(county: CountySpec, households: pl.DataFrame, persons: pl.DataFrame, geo: Geography) -> dict:
    """Reference figures counted from the generated frames: households and persons per status label, per
    county, town and village (households not deleted; persons not deleted, in those households)."""
    live = households.filter(pl.col("deleted_at").is_null())
    members = (
        persons.filter(pl.col("deleted_at").is_null()).group_by("household_id").agg(pl.len().alias("members"))
    )
    live = live.join(members, on="household_id", how="left").with_columns(pl.col("members").fill_null(0))

    def counts(by: str | None) -> dict:
        keys = [by, "status_label"] if by else ["status_label"]
        table = live.group_by(keys).agg(
            pl.len().alias("households"), pl.col("members").sum().alias("persons")
        )
        out: dict = {}
        for row in table.sort(keys).iter_rows(named=True):
            area = row[by] if by else county.code
            out.setdefault(area, {})[row["status_label"]] = {
                "households": row["households"],
                "persons": row["persons"],
            }
        return out

    poor = live.filter(pl.col("status_label").is_in(["red", "yellow"]))
    plan = poor.filter(pl.col("planned_exit_year") == 2017)
    plan_by_village = (
        plan.group_by("village_code")
        .agg(pl.len().alias("households"), pl.col("members").sum().alias("persons"))
        .sort("village_code")
    )
    return {
        "county": county.code,
        "county_name": county.name,
        "towns": geo.towns.height,
        "villages": geo.villages.height,
        "poor_households": poor.height,
        "poor_persons": int(poor["members"].sum()),
        "exited_households": live.filter(pl.col("status_label") == "green").height,
        "exited_persons": int(live.filter(pl.col("status_label") == "green")["members"].sum()),
        "deleted_households": households.height - live.height,
        "plan_year": 2017,
        "plan_households": plan.height,
        "plan_persons": int(plan["members"].sum()),
        "plan_by_village": {r[0]: {"households": r[1], "persons": r[2]} for r in plan_by_village.iter_rows()},
        "status_by_county": counts(None),
        "status_by_town": counts("town_code"),
        "status_by_village": counts("village_code"),
    }
