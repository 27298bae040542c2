"""Visits and GPS trajectories.

Cadres visit their twinned households regularly (poor households once a month, exited ones every other
month), several households of one village per trip, on working days. Before each trip the cadre switches the
APP's positioning on: the trajectory runs from the town office out to the village, stays at each household
during its visit, and back (a point every 5 minutes on the road, every 3 minutes at a household); it is
uploaded when positioning is switched off. Planted: fabricated trips (the cadre stayed 3+ km away with
positioning on and logged the visits anyway), and positioning glitches far outside the county (only on the
road, never during a visit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from simulator.anomalies import KINDS, Planted
from simulator.calendar import US_PER_MINUTE, is_workday, local_midnight_us

ROAD_INTERVAL_S = 300
STAY_INTERVAL_S = 180
ROAD_SPEED_KMH = 25.0
FABRICATED_OFFSET_DEG = 0.045
NOTES = np.array(
    [
        "入户走访，了解家庭收入和生产生活情况",
        "宣传健康扶贫政策，核实家庭成员就医情况",
        "了解子女上学情况，宣传教育资助政策",
        "查看住房安全情况，宣传危房改造政策",
        "了解务工就业意向，推荐就业岗位",
        "指导种养殖产业发展，落实到户产业奖补",
        "核实收入台账，填写扶贫手册",
        "了解饮水安全情况",
        "宣传小额信贷政策，了解资金需求",
        "节日慰问，了解困难和诉求",
    ]
)


@dataclass
class Places:
    """Where things are: households (by index) and the office each cadre starts from."""

    hh_lat: np.ndarray
    hh_lon: np.ndarray
    hh_village: np.ndarray
    village_lat: np.ndarray
    village_lon: np.ndarray
    village_town: np.ndarray  # index of the village's town
    town_lat: np.ndarray
    town_lon: np.ndarray
    center: tuple[float, float]


@dataclass
class Activity:
    visits: pl.DataFrame
    points: pl.DataFrame
    planted: Planted


def km(lat0, lon0, lat1, lon1) -> np.ndarray:
    """Equirectangular distance in km (good to a few metres at county scale)."""
    dy = (lat1 - lat0) * 110.574
    dx = (lon1 - lon0) * 111.320 * np.cos(np.radians((lat0 + lat1) / 2))
    return np.sqrt(dx * dx + dy * dy)


def monthly_intents(
    rng: np.random.Generator,
    twinnings: pl.DataFrame,
    hh_kind: np.ndarray,
    first_day: int,
    last_day: int,
) -> pl.DataFrame:
    """(twinning row, day) of the visits of a window: poor households monthly, exited every other month,
    spread over each cadre's working days so one cadre makes at most one trip a day."""
    n_periods = max(1, -(-(last_day - first_day + 1) // 30))
    cadre = twinnings["cadre_id"].to_numpy()
    household = twinnings["household_index"].to_numpy()
    t = len(cadre)
    rows = np.repeat(np.arange(t), n_periods)
    period = np.tile(np.arange(n_periods), t)
    green = hh_kind[household[rows]] == 1
    keep = ~green | ((household[rows] + period) % 2 == 0)
    rows, period = rows[keep], period[keep]
    # Each cadre visits 2, 3 or 4 households per trip.
    unique_cadres, cadre_index = np.unique(cadre, return_inverse=True)
    per_cadre_size = np.array([2, 3, 4])[rng.integers(0, 3, len(unique_cadres))][cadre_index]
    order = np.lexsort((rng.random(len(rows)), period, cadre[rows]))
    rows, period = rows[order], period[order]
    key = cadre[rows] * 1000 + period
    starts = np.r_[0, np.flatnonzero(np.diff(key)) + 1] if len(key) else np.zeros(0, dtype=np.int64)
    lengths = np.diff(np.r_[starts, len(key)])
    rank = np.arange(len(key)) - np.repeat(starts, lengths)
    group = rank // per_cadre_size[rows]
    groups_in = np.repeat(np.ceil(lengths / per_cadre_size[rows][starts]).astype(np.int64), lengths)
    offset = np.repeat(rng.integers(0, 10_000, len(starts)), lengths)
    # Working days of each period.
    days = np.arange(first_day, last_day + 1)
    work = days[is_workday(days)]
    if len(work) == 0:
        work = days
    period_of_day = (last_day - work) // 30
    day = np.empty(len(rows), dtype=np.int64)
    for p in range(n_periods):
        wd = np.sort(work[period_of_day == p]) if np.any(period_of_day == p) else work[-1:]
        mask = period == p
        w = len(wd)
        index = (offset[mask] + (group[mask] * w) // np.maximum(groups_in[mask], 1)) % w
        day[mask] = wd[index]
    intents = pl.DataFrame({"tw_row": rows, "day": day})
    start = twinnings["start_day"].to_numpy()[rows]
    end = twinnings["end_day"].fill_null(10**9).to_numpy()[rows]
    inside = (day >= start) & (day <= end)
    return intents.filter(pl.Series(inside))


def daily_intents(
    rng: np.random.Generator, twinnings: pl.DataFrame, hh_kind: np.ndarray, day: int
) -> pl.DataFrame:
    """(twinning row, day) of one day's visits: each twinning in force is visited with the monthly rate."""
    if not is_workday(np.array([day]))[0]:
        return pl.DataFrame({"tw_row": [], "day": []}, schema={"tw_row": pl.Int64, "day": pl.Int64})
    start = twinnings["start_day"].to_numpy()
    end = twinnings["end_day"].fill_null(10**9).to_numpy()
    household = twinnings["household_index"].to_numpy()
    rate = np.where(hh_kind[household] == 1, 1 / 44, 1 / 22)
    go = (start <= day) & (end >= day) & (rng.random(len(start)) < rate)
    rows = np.flatnonzero(go)
    return pl.DataFrame(
        {"tw_row": rows, "day": np.full(len(rows), day)}, schema={"tw_row": pl.Int64, "day": pl.Int64}
    )


def trips_and_points(
    rng: np.random.Generator,
    intents: pl.DataFrame,
    twinnings: pl.DataFrame,
    places: Places,
    visit_id_start: int,
    point_id_start: int,
    fabricated_rate: float | None = None,
    glitch_rate: float | None = None,
    minimum: int = 0,
) -> Activity:
    """Trips (one per cadre and day) with their visits and GPS points; fabricated trips and glitches planted
    (exactly round(rate x trips) and round(rate x points), at least ``minimum`` of each)."""
    planted = Planted()
    fabricated_rate = KINDS["fabricated_visit"][1] if fabricated_rate is None else fabricated_rate
    glitch_rate = KINDS["gps_outside_county"][1] if glitch_rate is None else glitch_rate
    rows = intents["tw_row"].to_numpy()
    day = intents["day"].to_numpy().astype(np.int64)
    cadre = twinnings["cadre_id"].to_numpy()[rows]
    hh = twinnings["household_index"].to_numpy()[rows]
    household_id = twinnings["household_id"].to_numpy()[rows]
    order = np.lexsort((rng.random(len(rows)), cadre, day))
    day, cadre, hh, household_id = day[order], cadre[order], hh[order], household_id[order]
    n = len(day)
    if n == 0:
        return _empty()
    new_trip = np.r_[True, (np.diff(day) != 0) | (np.diff(cadre) != 0)]
    trip = np.cumsum(new_trip) - 1
    n_trips = int(trip[-1]) + 1
    trip_first = np.flatnonzero(new_trip)
    position = np.arange(n) - np.repeat(trip_first, np.diff(np.r_[trip_first, n]))
    last_in_trip = np.r_[new_trip[1:], True]

    # -- timeline --------------------------------------------------------------------------------------
    village = places.hh_village[hh]
    town = places.village_town[village]
    office_lat, office_lon = places.town_lat[town], places.town_lon[town]
    lat, lon = places.hh_lat[hh], places.hh_lon[hh]
    morning = rng.random(n_trips) < 0.7
    trip_start = (
        local_midnight_us(day[trip_first])
        + np.where(morning, rng.uniform(8.0, 9.5, n_trips), rng.uniform(14.0, 15.0, n_trips)) * 3_600_000_000
    )
    trip_start = (trip_start // 1_000_000 * 1_000_000).astype(np.int64)
    prev_lat = np.where(position == 0, office_lat, np.r_[lat[:1], lat[:-1]])
    prev_lon = np.where(position == 0, office_lon, np.r_[lon[:1], lon[:-1]])
    leg_km = km(prev_lat, prev_lon, lat, lon)
    road = position == 0
    leg_min = np.where(
        road, leg_km / ROAD_SPEED_KMH * 60 + rng.uniform(5, 15, n), leg_km / 4.0 * 60 + rng.uniform(2, 6, n)
    )
    stay_min = rng.uniform(15, 45, n)
    leg_us = (leg_min * US_PER_MINUTE // 1_000_000 * 1_000_000).astype(np.int64)
    stay_us = (stay_min * US_PER_MINUTE // 1_000_000 * 1_000_000).astype(np.int64)
    step = leg_us + stay_us
    cum = np.cumsum(step)
    before_trip = np.repeat(np.r_[0, cum[trip_first[1:] - 1]], np.diff(np.r_[trip_first, n]))
    ended = trip_start[trip] + cum - before_trip
    started = ended - stay_us
    leg_start = started - leg_us
    back_km = km(lat[last_in_trip], lon[last_in_trip], office_lat[last_in_trip], office_lon[last_in_trip])
    back_us = (
        (back_km / ROAD_SPEED_KMH * 60 + rng.uniform(5, 15, n_trips)) * US_PER_MINUTE // 1e6 * 1e6
    ).astype(np.int64)
    trip_end = ended[last_in_trip] + back_us
    upload = trip_end + (rng.uniform(1, 10, n_trips) * US_PER_MINUTE // 1e6 * 1e6).astype(np.int64)

    # -- fabricated trips: the cadre stays 3+ km from the village with positioning on --------------------
    fabricated_trip = np.zeros(n_trips, dtype=bool)
    n_fab = min(n_trips, max(minimum, round(fabricated_rate * n_trips)))
    fabricated_trip[rng.choice(n_trips, size=n_fab, replace=False)] = True
    fab = fabricated_trip[trip]
    vlat, vlon = places.village_lat[village], places.village_lon[village]
    dlat, dlon = places.center[0] - vlat, places.center[1] - vlon
    norm = np.hypot(dlat, dlon)
    toward = norm > 0.06
    unit_lat = np.where(norm > 1e-9, dlat / np.maximum(norm, 1e-9), 1.0) * np.where(toward, 1, -1)
    unit_lon = np.where(norm > 1e-9, dlon / np.maximum(norm, 1e-9), 0.0) * np.where(toward, 1, -1)
    stay_lat = (vlat + FABRICATED_OFFSET_DEG * unit_lat)[trip_first][trip]
    stay_lon = (vlon + FABRICATED_OFFSET_DEG * unit_lon)[trip_first][trip]

    # -- segments: the road or walk to each household, the stay there, and the road back -----------------
    seg_t0 = np.concatenate([leg_start, started, ended[last_in_trip]])
    seg_t1 = np.concatenate([started, ended, trip_end])
    seg_lat0 = np.concatenate([prev_lat, lat, lat[last_in_trip]])
    seg_lon0 = np.concatenate([prev_lon, lon, lon[last_in_trip]])
    seg_lat1 = np.concatenate([lat, lat, office_lat[last_in_trip]])
    seg_lon1 = np.concatenate([lon, lon, office_lon[last_in_trip]])
    seg_stay = np.concatenate([np.zeros(n, bool), np.ones(n, bool), np.zeros(n_trips, bool)])
    seg_trip = np.concatenate([trip, trip, np.arange(n_trips)])
    interval = np.where(seg_stay, STAY_INTERVAL_S, ROAD_INTERVAL_S) * 1_000_000
    count = np.maximum(1, (seg_t1 - seg_t0) // interval)
    m = int(count.sum())
    seg = np.repeat(np.arange(len(count)), count)
    j = np.arange(m) - np.repeat(np.r_[0, np.cumsum(count)[:-1]], count)
    t = seg_t0[seg] + ((j + rng.uniform(0, 0.8, m)) * interval[seg] // 1e6 * 1e6).astype(np.int64)
    span = np.maximum(seg_t1 - seg_t0, 1)[seg]
    frac = (t - seg_t0[seg]) / span
    noise = np.where(seg_stay[seg], 0.00011, 0.00015)
    p_lat = seg_lat0[seg] + (seg_lat1[seg] - seg_lat0[seg]) * frac + rng.normal(0, 1, m) * noise
    p_lon = seg_lon0[seg] + (seg_lon1[seg] - seg_lon0[seg]) * frac + rng.normal(0, 1, m) * noise
    p_trip = seg_trip[seg]
    p_fab = fabricated_trip[p_trip]
    p_lat = np.where(p_fab, stay_lat[trip_first][p_trip] + rng.normal(0, 0.0002, m), p_lat)
    p_lon = np.where(p_fab, stay_lon[trip_first][p_trip] + rng.normal(0, 0.0002, m), p_lon)
    accuracy = np.round(np.exp(rng.normal(np.log(12), 0.4, m)), 1)
    # Glitches: only on the road of genuine trips, never while at a household.
    can_glitch = ~seg_stay[seg] & ~p_fab
    eligible = np.flatnonzero(can_glitch)
    n_glitch = min(len(eligible), max(minimum, round(glitch_rate * m)))
    g = np.sort(rng.choice(eligible, size=n_glitch, replace=False))
    glitch = np.zeros(m, dtype=bool)
    glitch[g] = True
    zero = rng.random(len(g)) < 0.5
    jump_lat = rng.choice([-1, 1], len(g)) * rng.uniform(0.6, 2.0, len(g))
    jump_lon = rng.choice([-1, 1], len(g)) * rng.uniform(0.6, 2.0, len(g))
    p_lat[g] = np.where(zero, 0.0, p_lat[g] + jump_lat)
    p_lon[g] = np.where(zero, 0.0, p_lon[g] + jump_lon)
    accuracy[g] = np.round(rng.uniform(500, 3000, len(g)), 1)

    trip_cadre = cadre[trip_first]
    points = pl.DataFrame(
        {
            "cadre_id": trip_cadre[p_trip],
            "recorded_at": t,
            "lat": np.round(p_lat, 6),
            "lon": np.round(p_lon, 6),
            "accuracy_m": accuracy.astype(np.float32),
            "created_at": upload[p_trip],
            "glitch": glitch,
        }
    ).sort(["created_at", "cadre_id", "recorded_at"], maintain_order=True)
    points = points.with_columns(point_id=point_id_start + pl.int_range(pl.len(), dtype=pl.Int64))
    planted.add("gps_outside_county", points.filter(pl.col("glitch"))["point_id"].to_list())
    points = points.drop("glitch").with_columns(updated_at=pl.col("created_at"))

    # -- visits ----------------------------------------------------------------------------------------
    claim_noise = np.where(fab, 0.00003, 0.00018)
    submitted = ended + (rng.uniform(1, 40, n) * US_PER_MINUTE // 1e6 * 1e6).astype(np.int64)
    visits = pl.DataFrame(
        {
            "cadre_id": cadre,
            "household_id": household_id,
            "started_at": started,
            "ended_at": ended,
            "claimed_lat": np.round(lat + rng.normal(0, 1, n) * claim_noise, 6),
            "claimed_lon": np.round(lon + rng.normal(0, 1, n) * claim_noise, 6),
            "notes": NOTES[rng.integers(0, len(NOTES), n)],
            "created_at": submitted,
            "fabricated": fab,
        }
    ).sort(["started_at", "cadre_id"], maintain_order=True)
    visits = visits.with_columns(visit_id=visit_id_start + pl.int_range(pl.len(), dtype=pl.Int64))
    planted.add("fabricated_visit", visits.filter(pl.col("fabricated"))["visit_id"].to_list())
    return Activity(visits, points, planted)


def _empty() -> Activity:
    visits = pl.DataFrame(
        schema={
            "cadre_id": pl.Int64,
            "household_id": pl.Int64,
            "started_at": pl.Int64,
            "ended_at": pl.Int64,
            "claimed_lat": pl.Float64,
            "claimed_lon": pl.Float64,
            "notes": pl.String,
            "created_at": pl.Int64,
            "fabricated": pl.Boolean,
            "visit_id": pl.Int64,
        }
    )
    points = pl.DataFrame(
        schema={
            "cadre_id": pl.Int64,
            "recorded_at": pl.Int64,
            "lat": pl.Float64,
            "lon": pl.Float64,
            "accuracy_m": pl.Float32,
            "created_at": pl.Int64,
            "point_id": pl.Int64,
            "updated_at": pl.Int64,
        }
    )
    return Activity(visits, points, Planted())
