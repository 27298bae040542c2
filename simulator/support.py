"""Cadres, village support teams and twinning periods (cadre to household).

Every village has a resident support team (驻村扶贫工作队: a leader and two members, sent by a county
department) and enough cadres for about one cadre to ten households; each town has two poverty-alleviation
officers (乡镇扶贫专干) who issue tasks, and the county bureau two more. Some households changed helper during
the year (an earlier twinning period ended, a new one began). Planted: poor households left with no helper,
and a few cadres twinned with far more than ten households.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from simulator.anomalies import KINDS, Planted
from simulator.calendar import AS_OF, day_number
from simulator.frames import nullable
from simulator.geography import Geography
from simulator.names import SPONSOR_UNITS, full_names
from simulator.rng import stream
from simulator.scales import CountySpec

PER_CADRE = 10
OVERLOAD = (22, 32)


@dataclass
class Support:
    teams: pl.DataFrame
    cadres: pl.DataFrame  # includes helper columns village_index, is_overloaded
    twinnings: pl.DataFrame  # twinning_id, cadre_id, household_id, start_day, end_day (or null)
    planted: Planted


def build_support(county: CountySpec, geo: Geography, households: pl.DataFrame, seed: int) -> Support:
    rng = stream(seed, "support", int(county.code))
    code = int(county.code)
    planted = Planted()
    as_of = day_number(AS_OF)
    n_villages = geo.villages.height
    kind = households["kind"].to_numpy()
    village = households["village_index"].to_numpy()
    hh_ids = households["household_id"].to_numpy()
    registered = households["registered_on"].to_numpy().astype(np.int64)
    h = len(kind)

    # -- planted: poor households with no helper ---------------------------------------------------------
    poor = np.flatnonzero(kind == 0)
    n_orphans = max(1, round(len(poor) * KINDS["poor_without_helper"][1]))
    orphan = np.zeros(h, dtype=bool)
    orphan[rng.choice(poor, size=n_orphans, replace=False)] = True
    eligible = (kind != 2) & ~orphan

    # -- cadres per village, with a few overloaded ones --------------------------------------------------
    per_village = np.bincount(village[eligible], minlength=n_villages)
    expected_cadres = int(np.ceil(per_village / PER_CADRE).sum())
    n_over = max(1, round(expected_cadres * KINDS["overloaded_cadre"][1]))
    roomy = np.flatnonzero(per_village >= OVERLOAD[0] + 10)
    over_villages = rng.choice(roomy, size=min(n_over, len(roomy)), replace=False)
    overload = np.zeros(n_villages, dtype=np.int64)
    for v in over_villages.tolist():
        overload[v] = int(rng.integers(OVERLOAD[0], min(OVERLOAD[1], per_village[v] - 10) + 1))
    regular = np.ceil((per_village - overload) / PER_CADRE).astype(np.int64)
    regular = np.maximum(regular, 1)
    cadres_in_village = regular + (overload > 0)
    first_cadre = np.r_[0, np.cumsum(cadres_in_village)[:-1]]
    n_village_cadres = int(cadres_in_village.sum())

    # -- assign each eligible household to a cadre of its village ----------------------------------------
    idx = np.flatnonzero(eligible)
    order = idx[np.lexsort((rng.random(len(idx)), village[idx]))]
    v_sorted = village[order]
    starts = np.r_[0, np.flatnonzero(np.diff(v_sorted)) + 1]
    pos = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    over_here = overload[v_sorted]
    has_over = (over_here > 0).astype(np.int64)
    slot = np.where(pos < over_here, 0, has_over + (pos - over_here) % regular[v_sorted])
    cadre_of = np.full(h, -1, dtype=np.int64)
    cadre_of[order] = first_cadre[v_sorted] + slot

    # -- the cadres themselves ----------------------------------------------------------------------------
    cadre_village = np.repeat(np.arange(n_villages), cadres_in_village)
    local = np.arange(n_village_cadres) - np.repeat(first_cadre, cadres_in_village)
    has_over_c = (overload[cadre_village] > 0).astype(np.int64)
    rank = local - has_over_c  # -1 for the overloaded cadre, 0.. for the regular ones
    role = np.select(
        [rank == 0, (rank == 1) | (rank == 2)], ["驻村工作队队长", "驻村工作队队员"], "帮扶责任人"
    )
    is_over = rank == -1
    village_codes = geo.villages["village_code"].to_numpy()
    town_codes = geo.villages["town_code"].to_numpy()
    town_names = geo.villages["town_name"].to_numpy()
    village_names = geo.villages["village_name"].to_numpy()
    team_unit = np.array(SPONSOR_UNITS)[rng.integers(len(SPONSOR_UNITS), size=n_villages)]
    u = rng.random(n_village_cadres)
    work_unit = np.where(
        rank <= 2,
        np.where(rank == -1, np.char.add(village_names[cadre_village], "村委会"), team_unit[cadre_village]),
        np.where(
            u < 0.55,
            np.array(SPONSOR_UNITS)[rng.integers(len(SPONSOR_UNITS), size=n_village_cadres)],
            np.where(
                u < 0.85,
                np.char.add(town_names[cadre_village], "人民政府"),
                np.char.add(village_names[cadre_village], "村委会"),
            ),
        ),
    )
    towns = geo.towns
    n_towns = towns.height
    town_officers = 2 * n_towns
    n_cadres = n_village_cadres + town_officers + 2
    cadre_id = code * 100_000 + np.arange(1, n_cadres + 1)
    male = rng.random(n_cadres) < 0.72
    cadre_names = full_names(rng, male)
    body = (np.arange(n_cadres, dtype=np.int64) * 3_571_429 + int(rng.integers(10**8))) % 10**8
    phones = np.char.add("139", np.char.zfill(body.astype(str), 8))
    team_id = code * 1_000 + np.arange(1, n_villages + 1)
    all_town = np.concatenate(
        [
            town_codes[cadre_village],
            np.repeat(towns["town_code"].to_numpy(), 2),
            np.repeat(towns["town_code"].to_numpy()[:1], 2),
        ]
    )
    all_village = np.concatenate([village_codes[cadre_village], np.full(town_officers + 2, "")])
    all_role = np.concatenate([role, np.full(town_officers, "乡镇扶贫专干"), np.full(2, "县扶贫局")])
    all_unit = np.concatenate(
        [
            work_unit,
            np.char.add(np.repeat(towns["town_name"].to_numpy(), 2), "人民政府"),
            np.full(2, "县扶贫开发局"),
        ]
    )
    all_team = np.concatenate(
        [np.where(rank.__ge__(0) & (rank <= 2), team_id[cadre_village], -1), np.full(town_officers + 2, -1)]
    )
    created_day = day_number(AS_OF) - 1100 + rng.integers(0, 400, n_cadres)
    cadres = pl.DataFrame(
        {
            "cadre_id": cadre_id,
            "name": cadre_names,
            "sex": np.where(male, "男", "女"),
            "phone": phones,
            "work_unit": all_unit,
            "role": all_role,
            "town_code": all_town,
            "village_code": nullable(all_village, all_village != ""),
            "team_id": nullable(all_team, all_team > 0),
            "village_index": np.concatenate([cadre_village, np.full(town_officers + 2, -1)]),
            "is_overloaded": np.concatenate([is_over, np.zeros(town_officers + 2, dtype=bool)]),
            "created_day": created_day,
        },
        strict=False,
    )
    planted.add("overloaded_cadre", cadre_id[:n_village_cadres][is_over].tolist())
    leader_of_village = first_cadre + (overload > 0)
    teams = pl.DataFrame(
        {
            "team_id": team_id,
            "team_name": np.char.add(village_names, "驻村扶贫工作队"),
            "village_code": village_codes,
            "sponsor_unit": team_unit,
            "leader_cadre_id": cadre_id[leader_of_village],
            "created_day": created_day[leader_of_village],
        }
    )

    # -- twinning periods ---------------------------------------------------------------------------------
    rows_cadre, rows_household, rows_start, rows_end = [], [], [], []
    start = registered + rng.integers(15, 121, h)
    current = np.flatnonzero(eligible)
    switch = np.zeros(h, dtype=bool)
    switch[current] = (
        (rng.random(len(current)) < 0.10)
        & (regular[village[current]] >= 2)
        & ~((overload[village[current]] > 0) & (cadre_of[current] == first_cadre[village[current]]))
    )
    low = np.maximum(start + 30, as_of - 330)
    high = as_of - 20
    switch &= low < high
    switch_day = np.where(switch, low + np.floor(rng.random(h) * (high - low)).astype(np.int64), -1)
    # Earlier helper: the next regular cadre of the same village.
    reg_first = first_cadre[village] + (overload[village] > 0)
    slot_regular = cadre_of - reg_first
    previous = reg_first + (slot_regular + 1) % np.maximum(regular[village], 1)
    sw = np.flatnonzero(switch)
    rows_cadre += [previous[sw], cadre_of[sw]]
    rows_household += [sw, sw]
    rows_start += [start[sw], switch_day[sw]]
    rows_end += [switch_day[sw] - 1, np.full(len(sw), -1)]
    keep = current[~switch[current]]
    rows_cadre.append(cadre_of[keep])
    rows_household.append(keep)
    rows_start.append(start[keep])
    rows_end.append(np.full(len(keep), -1))
    # Households left without a helper: half had one whose period ended; deleted households' periods end.
    orphans = np.flatnonzero(orphan)
    ended = orphans[rng.random(len(orphans)) < 0.5]
    ended = ended[start[ended] < as_of - 30]
    end_day = np.maximum(start[ended] + 1, as_of - 200 + rng.integers(0, 190, len(ended)))
    rows_cadre.append(reg_first[ended])
    rows_household.append(ended)
    rows_start.append(start[ended])
    rows_end.append(np.minimum(end_day, as_of - 1))
    gone = np.flatnonzero(kind == 2)
    deleted_on = households["deleted_on"].fill_null(as_of).to_numpy().astype(np.int64)
    gone = gone[start[gone] < deleted_on[gone]]
    rows_cadre.append(reg_first[gone])
    rows_household.append(gone)
    rows_start.append(start[gone])
    rows_end.append(deleted_on[gone])
    planted.add("poor_without_helper", hh_ids[orphan].tolist())

    hh_index = np.concatenate(rows_household)
    tw = pl.DataFrame(
        {
            "cadre_id": cadre_id[np.concatenate(rows_cadre)],
            "household_id": hh_ids[hh_index],
            "household_index": hh_index,
            "start_day": np.concatenate(rows_start),
            "end_day": np.concatenate(rows_end),
        }
    ).with_columns(pl.when(pl.col("end_day") >= 0).then(pl.col("end_day")).alias("end_day"))
    tw = tw.sort(["household_id", "start_day"]).with_columns(
        twinning_id=code * 10_000_000 + pl.int_range(1, pl.len() + 1, dtype=pl.Int64)
    )
    return Support(teams, cadres, tw, planted)
