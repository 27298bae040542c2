"""Households and their members.

The counts are exact: the households currently poor (red + yellow, not deleted) and the people in them, the
people in households planned to exit in the work year, and the exited (green) households. Members get names,
valid ID numbers (unique per person; planted anomalies aside), relations, ages, schooling, health and labour
ability consistent with each other and with the household's main cause of poverty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from simulator import idnumber
from simulator.anomalies import KINDS, Planted
from simulator.calendar import AS_OF, WORK_YEAR, day_number
from simulator.frames import nullable
from simulator.geography import Geography
from simulator.names import full_names, surnames
from simulator.rng import stream
from simulator.scales import CountySpec

ATTRIBUTES = np.array(["一般贫困户", "低保贫困户", "特困供养贫困户"])
CAUSES = np.array(
    [
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
    ]
)
CAUSE_P = np.array([0.50, 0.12, 0.05, 0.02, 0.01, 0.005, 0.08, 0.10, 0.06, 0.01, 0.03, 0.015])
HEALTH = np.array(["健康", "长期慢性病", "患有大病", "残疾"])
SICK = ("长期慢性病", "患有大病")
LABOUR = np.array(["普通劳动力", "技能劳动力", "弱劳动力或半劳动力", "丧失劳动力", "无劳动力"])
SCHOOLING_ADULT = np.array(["文盲或半文盲", "小学", "初中", "高中", "大专及以上"])
POOR_SIZE_P = np.array([0.44, 0.34, 0.10, 0.07, 0.035, 0.012, 0.003])
GREEN_SIZE_P = np.array([0.15, 0.32, 0.22, 0.18, 0.09, 0.04])
DELETED_SHARE = 0.004  # households soft-deleted in 2017 (cleared out of the register: 清退)
PHONE_PREFIXES = np.array(
    [
        130,
        131,
        132,
        133,
        135,
        136,
        137,
        138,
        139,
        150,
        151,
        152,
        155,
        156,
        157,
        158,
        159,
        177,
        180,
        181,
        182,
        183,
        185,
        186,
        187,
        188,
        189,
    ]
)


@dataclass
class Population:
    households: pl.DataFrame
    persons: pl.DataFrame
    planted: Planted


def apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` that sum to ``total`` exactly (largest remainder)."""
    share = weights / weights.sum() * total
    base = np.floor(share).astype(np.int64)
    rest = total - base.sum()
    order = np.argsort(-(share - base), kind="stable")
    base[order[:rest]] += 1
    return base


def sizes_with_total(rng: np.random.Generator, n: int, total: int, p: np.ndarray, cap: int = 8) -> np.ndarray:
    """``n`` household sizes drawn from ``p`` (sizes 1..len(p)) and nudged to sum to ``total`` exactly."""
    if not n <= total <= cap * n:
        raise ValueError(f"cannot make {n} households of 1..{cap} people with {total} people in all")
    sizes = rng.choice(np.arange(1, len(p) + 1), size=n, p=p / p.sum())
    diff = int(total - sizes.sum())
    while diff:
        candidates = np.flatnonzero(sizes < cap) if diff > 0 else np.flatnonzero(sizes > 1)
        pick = rng.choice(candidates, size=min(abs(diff), len(candidates)), replace=False)
        sizes[pick] += 1 if diff > 0 else -1
        diff = int(total - sizes.sum())
    return sizes


def subset_with_total(rng: np.random.Generator, sizes: np.ndarray, target: int) -> np.ndarray:
    """A boolean mask of households whose sizes sum to ``target`` exactly."""
    order = rng.permutation(len(sizes))
    cumulative = np.cumsum(sizes[order])
    k = int(np.searchsorted(cumulative, target, side="right"))
    chosen = np.zeros(len(sizes), dtype=bool)
    chosen[order[:k]] = True
    remainder = target - (int(cumulative[k - 1]) if k else 0)
    rest = order[k:]
    while remainder > 0:
        fits = rest[(sizes[rest] <= remainder) & ~chosen[rest]]
        if len(fits) == 0:
            raise ValueError(f"cannot pick households holding exactly {target} people")
        best = fits[np.argmax(sizes[fits])]
        chosen[best] = True
        remainder -= int(sizes[best])
    return chosen


def _days(rng: np.random.Generator, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """A random day number in [start, end] per row."""
    return start + np.floor(rng.random(len(start)) * (end - start + 1)).astype(np.int64)


def _year_start(year: np.ndarray | int) -> np.ndarray:
    year = np.asarray(year)
    return (
        (year.astype("datetime64[Y]").astype("datetime64[D]") - np.datetime64("1970-01-01")).astype(np.int64)
        if year.dtype.kind == "M"
        else ((year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64))
    )


def year_day(year: np.ndarray, month: int, day: int) -> np.ndarray:
    """Day numbers of ``year``-``month``-``day`` for an array of years."""
    months = (np.asarray(year) - 1970) * 12 + (month - 1)
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + (day - 1)


def build_population(county: CountySpec, geo: Geography, seed: int) -> Population:
    code = int(county.code)
    rng = stream(seed, "households", code)
    planted = Planted()

    # -- how many households of each kind, of what size, in which village ----------------------------------
    n_poor, n_green = county.poor_households, county.exited_households
    n_del = max(1, round(n_poor * DELETED_SHARE))
    poor_sizes = sizes_with_total(rng, n_poor, county.poor_persons, POOR_SIZE_P)
    green_sizes = sizes_with_total(rng, n_green, county.exited_persons, GREEN_SIZE_P)
    del_sizes = rng.choice(np.arange(1, len(POOR_SIZE_P) + 1), size=n_del, p=POOR_SIZE_P / POOR_SIZE_P.sum())
    kind = np.concatenate([np.zeros(n_poor, np.int8), np.ones(n_green, np.int8), np.full(n_del, 2, np.int8)])
    size = np.concatenate([poor_sizes, green_sizes, del_sizes]).astype(np.int64)
    n = len(size)

    n_villages = geo.villages.height
    weights = rng.gamma(2.0, 1.0, n_villages)
    village_of = np.empty(n, dtype=np.int64)
    for k, count in ((0, n_poor), (1, n_green), (2, n_del)):
        per_village = apportion(count, weights)
        village_of[kind == k] = rng.permutation(np.repeat(np.arange(n_villages), per_village))

    # -- the work year's exit plan: poor households holding exactly plan_persons people -------------------
    poor = kind == 0
    planned_now = np.zeros(n, dtype=bool)
    planned_now[np.flatnonzero(poor)] = subset_with_total(rng, size[poor], county.plan_persons)

    planned = np.full(n, -1, dtype=np.int64)
    actual = np.full(n, -1, dtype=np.int64)
    status = np.full(n, "red", dtype="<U6")
    later = poor & ~planned_now
    planned[planned_now] = WORK_YEAR
    status[planned_now] = "yellow"
    planned[later] = rng.choice([2018, 2019, 2020], size=int(later.sum()), p=[0.6, 0.25, 0.15])
    status[later & (planned == 2018) & (rng.random(n) < 0.5)] = "yellow"
    green = kind == 1
    actual[green] = rng.choice([2014, 2015, 2016], size=int(green.sum()), p=[0.25, 0.35, 0.40])
    planned[green] = actual[green]
    status[green] = "green"
    deleted = kind == 2
    planned[deleted] = rng.choice([2017, 2018, 2019], size=int(deleted.sum()))

    registration = np.full(n, 2014, dtype=np.int64)
    registration[poor] = rng.choice([2014, 2015, 2016, 2017], size=int(poor.sum()), p=[0.8, 0.08, 0.07, 0.05])
    registration[deleted] = rng.choice([2014, 2015, 2016], size=int(deleted.sum()), p=[0.7, 0.15, 0.15])
    registration = np.minimum(registration, np.where(planned > 0, planned, 2020))
    reg_start = np.where(registration == 2014, year_day(registration, 4, 1), year_day(registration, 3, 1))
    reg_end = np.where(
        registration == WORK_YEAR, year_day(registration, 6, 30), year_day(registration, 10, 31)
    )
    registered_on = _days(rng, reg_start, reg_end)
    deleted_on = np.where(
        deleted, _days(rng, np.full(n, day_number(AS_OF) - 300), np.full(n, day_number(AS_OF) - 5)), -1
    )

    # -- attribute and causes ----------------------------------------------------------------------------
    single = size == 1
    u = rng.random(n)
    attribute = np.where(
        single,
        np.where(u < 0.2, 2, np.where(u < 0.55, 1, 0)),
        np.where(u < 0.01, 2, np.where(u < 0.21, 1, 0)),
    )
    main_cause = rng.choice(len(CAUSES), size=n, p=CAUSE_P / CAUSE_P.sum())
    secondary = rng.choice(len(CAUSES), size=n, p=CAUSE_P / CAUSE_P.sum())
    secondary = np.where((secondary == main_cause) | (rng.random(n) < 0.35), -1, secondary)

    # -- order the households in their villages: household_id = village code * 10000 + number ------------
    order = np.lexsort((rng.random(n), village_of))
    sequence = np.empty(n, dtype=np.int64)
    first_of_village = np.r_[0, np.flatnonzero(np.diff(village_of[order])) + 1]
    run_start = np.repeat(first_of_village, np.diff(np.r_[first_of_village, n]))
    sequence[order] = np.arange(n) - run_start + 1
    village_codes = geo.villages["village_code"].to_numpy()
    household_id = village_codes[village_of].astype(np.int64) * 10_000 + sequence

    vlat = geo.villages["lat"].to_numpy()[village_of]
    vlon = geo.villages["lon"].to_numpy()[village_of]
    hlat, hlon = county.half_extent
    lat = vlat + np.clip(rng.normal(0, 0.012 * hlat, n), -0.04 * hlat, 0.04 * hlat)
    lon = vlon + np.clip(rng.normal(0, 0.012 * hlon, n), -0.04 * hlon, 0.04 * hlon)
    town_names = geo.villages["town_name"].to_numpy()[village_of]
    village_names = geo.villages["village_name"].to_numpy()[village_of]
    address = np.char.add(
        np.char.add(
            np.char.add(
                np.char.add(county.name + town_names, village_names), rng.integers(1, 13, n).astype(str)
            ),
            "组",
        ),
        np.char.add(rng.integers(1, 81, n).astype(str), "号"),
    )

    households = pl.DataFrame(
        {
            "household_id": household_id,
            "village_code": village_codes[village_of],
            "town_code": geo.villages["town_code"].to_numpy()[village_of],
            "village_index": village_of,
            "address": address,
            "lat": np.round(lat, 6),
            "lon": np.round(lon, 6),
            "attribute": ATTRIBUTES[attribute],
            "main_cause": CAUSES[main_cause],
            "secondary_cause": nullable(CAUSES[np.maximum(secondary, 0)], secondary >= 0),
            "status_label": status,
            "registration_year": registration,
            "planned_exit_year": nullable(planned, planned > 0),
            "actual_exit_year": nullable(actual, actual > 0),
            "registered_on": registered_on,
            "deleted_on": nullable(deleted_on, deleted_on >= 0),
            "household_size": size,
            "kind": kind,
        },
        strict=False,
    ).sort("household_id")
    persons, head_names = _members(county, households, seed, planted)
    households = households.with_columns(head_name=head_names)
    return Population(households, persons, planted)


def _members(
    county: CountySpec, households: pl.DataFrame, seed: int, planted: Planted
) -> tuple[pl.DataFrame, np.ndarray]:
    rng = stream(seed, "persons", int(county.code))
    size = households["household_size"].to_numpy()
    h = len(size)
    hh_index = np.repeat(np.arange(h), size)
    starts = np.r_[0, np.cumsum(size)[:-1]]
    member = np.arange(len(hh_index)) - np.repeat(starts, size)
    n = len(hh_index)
    cause = households["main_cause"].to_numpy()
    kind = households["kind"].to_numpy()

    # -- head age by household size; relations and ages of the others ------------------------------------
    head_age = np.clip(rng.normal(np.select([size == 1, size == 2], [70, 62], 50), 11), 24, 96)
    hage = head_age[hh_index]
    u = rng.random(n)
    relation = np.full(n, "", dtype="<U4")
    age = np.zeros(n)
    is_head = member == 0
    relation[is_head] = "户主"
    age[is_head] = hage[is_head]
    spouse = (member == 1) & (u < 0.75) & (hage < 85)
    relation[spouse] = "配偶"
    age[spouse] = hage[spouse] + rng.normal(-2, 3, n)[spouse]
    rest = ~is_head & ~spouse
    old_head = hage >= 58
    grandchild = rest & old_head & (rng.random(n) < 0.4)
    parent = rest & ~old_head & (rng.random(n) < 0.1) & (hage < 62)
    child = rest & ~grandchild & ~parent
    age[child] = (hage - rng.normal(26, 4, n))[child]
    age[grandchild] = (hage - rng.normal(52, 5, n))[grandchild]
    age[parent] = (hage + rng.normal(27, 3, n))[parent]
    age = np.clip(age, 0.2, 99)

    head_male = rng.random(h) < 0.85
    male = rng.random(n) < 0.5
    male[is_head] = head_male[hh_index][is_head]
    male[spouse] = ~head_male[hh_index][spouse]
    father = parent & (rng.random(n) < 0.5)
    male[parent] = father[parent]
    relation[child] = np.where(male[child], "之子", "之女")
    relation[grandchild] = np.where(male[grandchild], "之孙子", "之孙女")
    relation[parent] = np.where(male[parent], "之父", "之母")

    # -- names: children, grandchildren and the father carry the head's surname ---------------------------
    family = surnames(rng, h)[hh_index]
    own = surnames(rng, n)
    inherit = is_head | child | grandchild | father
    name = full_names(rng, male, np.where(inherit, family, own))

    # -- birth dates and ID numbers ----------------------------------------------------------------------
    as_of = day_number(AS_OF)
    birth_day = (as_of - age * 365.25 - rng.random(n) * 200).astype(np.int64)
    birth = birth_day.astype("datetime64[D]")
    ymd = birth.astype(str)
    birth_ymd = np.char.replace(ymd, "-", "").astype(np.int64)
    # Sequence numbers: odd for men, even for women, unique per birth date and sex within the county.
    order = np.lexsort((rng.random(n), male, birth_ymd))
    key = birth_ymd[order] * 2 + male[order]
    group_start = np.r_[0, np.flatnonzero(np.diff(key)) + 1]
    rank = np.arange(n) - np.repeat(group_start, np.diff(np.r_[group_start, n]))
    if rank.max() >= 500:
        raise ValueError("more than 500 people share a birth date and sex in one county")
    sequence = np.empty(n, dtype=np.int64)
    sequence[order] = rank * 2 + male[order]
    id_number = idnumber.build(np.full(n, int(county.code)), birth_ymd, sequence)

    # -- health, then the cause of poverty made consistent with it ----------------------------------------
    years = age
    p_health = np.where(
        (years < 16)[:, None],
        [0.93, 0.02, 0.02, 0.03],
        np.where((years < 60)[:, None], [0.70, 0.15, 0.08, 0.07], [0.40, 0.35, 0.12, 0.13]),
    )
    cum = np.cumsum(p_health, axis=1)
    health = (rng.random(n)[:, None] > cum).sum(axis=1)
    health = np.minimum(health, 3)
    hh_cause = cause[hh_index]
    sick = np.isin(health, [1, 2])
    disabled = health == 3
    has_sick = np.bincount(hh_index, weights=sick, minlength=h) > 0
    has_disabled = np.bincount(hh_index, weights=disabled, minlength=h) > 0
    heads = np.flatnonzero(is_head)
    fix_sick = (cause == "因病") & ~has_sick
    health[heads[fix_sick]] = np.where(rng.random(int(fix_sick.sum())) < 0.5, 2, 1)
    fix_dis = (cause == "因残") & ~has_disabled
    health[heads[fix_dis]] = 3

    # Planted: causes that contradict the members (因病 with all healthy, 因残 with nobody disabled).
    candidates = np.flatnonzero(np.isin(cause, ["因病", "因残"]) & (kind != 2))
    rate = KINDS["cause_contradicts_members"][1]
    contradict = np.sort(rng.choice(candidates, size=max(1, round(len(candidates) * rate)), replace=False))
    mark = np.zeros(h, dtype=bool)
    mark[contradict] = True
    in_marked = mark[hh_index]
    health[in_marked & (hh_cause == "因病")] = 0
    health[in_marked & (hh_cause == "因残") & (health == 3)] = 0
    planted.add("cause_contradicts_members", households["household_id"].to_numpy()[contradict].tolist())

    # -- labour ability and schooling --------------------------------------------------------------------
    labour = np.full(n, 0)
    r = rng.random(n)
    working = (years >= 16) & (years < 65)
    bad = np.isin(health, [2, 3])
    labour[working & (health == 0)] = np.where(r < 0.08, 1, 0)[working & (health == 0)]
    labour[working & (health == 0) & (years >= 60)] = np.where(r < 0.5, 2, 0)[
        working & (health == 0) & (years >= 60)
    ]
    labour[working & (health == 1)] = np.where(r < 0.6, 2, 0)[working & (health == 1)]
    labour[working & bad] = np.where(r < 0.6, 3, 2)[working & bad]
    labour[years < 16] = 4
    elderly = years >= 65
    labour[elderly & (health == 0)] = np.where(r < 0.3, 2, 4)[elderly & (health == 0)]
    labour[elderly & (health != 0)] = 3

    born = 2017 - years
    p_school = np.where(
        (born < 1950)[:, None],
        [0.6, 0.3, 0.1, 0.0, 0.0],
        np.where((born < 1970)[:, None], [0.3, 0.4, 0.25, 0.05, 0.0], [0.08, 0.27, 0.5, 0.12, 0.03]),
    )
    level = (rng.random(n)[:, None] > np.cumsum(p_school, axis=1)).sum(axis=1)
    schooling = SCHOOLING_ADULT[np.minimum(level, 4)].astype("<U8")
    schooling[years < 6] = "学龄前儿童"
    schooling[(years >= 6) & (years < 12)] = "小学在读"
    schooling[(years >= 12) & (years < 15)] = "初中在读"
    teen = (years >= 15) & (years < 18)
    schooling[teen] = np.where(r < 0.65, "高中在读", "初中")[teen]
    young = (years >= 18) & (years < 22)
    schooling[young] = np.where(r < 0.15, "大专及以上在读", np.where(r < 0.5, "高中", "初中"))[young]

    # -- phones: heads mostly, other adults sometimes; distinct numbers ----------------------------------
    has_phone = np.where(is_head, rng.random(n) < 0.95, (years >= 18) & (years < 70) & (rng.random(n) < 0.4))
    idx = np.arange(n, dtype=np.int64)
    body = (idx * 7_919_993 + int(rng.integers(10**8))) % 10**8
    phone = np.char.add(
        PHONE_PREFIXES[idx % len(PHONE_PREFIXES)].astype(str), np.char.zfill(body.astype(str), 8)
    )

    # -- soft deletes: members of deleted households; healthy non-heads of green households moved away ----
    deleted_on = households["deleted_on"].fill_null(-1).to_numpy()
    moved = (kind[hh_index] == 1) & ~is_head & (health == 0) & (rng.random(n) < 0.02)
    moved_day = rng.integers(day_number(AS_OF) - 330, day_number(AS_OF) - 1, n)
    person_deleted = np.where(moved, moved_day, deleted_on[hh_index])

    # -- planted: one person in two households; wrong check characters ---------------------------------
    alive = (kind[hh_index] != 2) & ~moved
    eligible = np.flatnonzero(alive & ~is_head)
    pairs = max(1, round(n * KINDS["person_in_two_households"][1]))
    picked = rng.choice(eligible, size=min(len(eligible), pairs * 4), replace=False)
    used_households: set[int] = set()
    duplicates: list[tuple[int, int]] = []
    by_sex = {True: [], False: []}
    for p in picked.tolist():
        by_sex[bool(male[p])].append(p)
    for group in by_sex.values():
        for a, b in zip(group[0::2], group[1::2], strict=False):
            if len(duplicates) >= pairs:
                break
            ha, hb = int(hh_index[a]), int(hh_index[b])
            if ha == hb or ha in used_households or hb in used_households:
                continue
            used_households |= {ha, hb}
            duplicates.append((a, b))
    for source, target in duplicates:
        name[target] = name[source]
        id_number[target] = id_number[source]
        birth[target] = birth[source]
        schooling[target] = schooling[source]
    dup_people = {p for pair in duplicates for p in pair}
    spoilable = np.array([p for p in np.flatnonzero(alive).tolist() if p not in dup_people])
    n_bad = max(1, round(n * KINDS["invalid_id_check_digit"][1]))
    bad_ids = np.sort(rng.choice(spoilable, size=n_bad, replace=False))
    id_number[bad_ids] = idnumber.spoil(id_number[bad_ids], rng)

    household_id = households["household_id"].to_numpy()
    person_id = household_id[hh_index] * 100 + member + 1
    planted.add("invalid_id_check_digit", person_id[bad_ids].tolist())
    planted.add("person_in_two_households", [str(id_number[s]) for s, _ in duplicates])
    planted.details["person_in_two_households"] = [
        {
            "id_number": str(id_number[s]),
            "person_ids": [int(person_id[s]), int(person_id[t])],
            "household_ids": [int(household_id[hh_index[s]]), int(household_id[hh_index[t]])],
        }
        for s, t in duplicates
    ]

    registered_on = households["registered_on"].to_numpy()[hh_index]
    persons = pl.DataFrame(
        {
            "person_id": person_id,
            "household_id": household_id[hh_index],
            "name": name,
            "id_number": id_number,
            "phone": nullable(phone, has_phone),
            "relation_to_head": relation,
            "sex": np.where(male, "男", "女"),
            "birth_date": birth,
            "schooling": schooling,
            "health": HEALTH[health],
            "labour_ability": LABOUR[labour],
            "registered_on": registered_on,
            "deleted_on": nullable(person_deleted, person_deleted >= 0),
        },
        strict=False,
    )
    return persons, name[is_head]
