"""Annual incomes by source around each year's poverty line, and living conditions (the two no-worries and
three guarantees, safe drinking water, house safety grade).

Households still poor live around or under the line; those planned to exit this year have risen above it;
exited households are well above it from their exit year on and meet every guarantee. Planted: exited
households under 0.85 x the line, and exited households lacking a guarantee.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from simulator.anomalies import KINDS, Planted
from simulator.calendar import AS_OF, INCOME_YEARS, POVERTY_LINE, WORK_YEAR, day_number
from simulator.population import year_day
from simulator.rng import stream
from simulator.scales import CountySpec

GRADES = np.array(["A", "B", "C", "D"])


@dataclass
class Economy:
    incomes: pl.DataFrame  # income rows, verified_day
    living: pl.DataFrame
    planted: Planted


def build_economy(county: CountySpec, households: pl.DataFrame, seed: int) -> Economy:
    rng = stream(seed, "economy", int(county.code))
    code = int(county.code)
    planted = Planted()
    kind = households["kind"].to_numpy()
    status = households["status_label"].to_numpy()
    planned = households["planned_exit_year"].fill_null(0).to_numpy()
    exit_year = households["actual_exit_year"].fill_null(0).to_numpy()
    registration = households["registration_year"].to_numpy()
    size = households["household_size"].to_numpy()
    attribute = households["attribute"].to_numpy()
    ids = households["household_id"].to_numpy()
    h = len(ids)

    green = np.flatnonzero(kind == 1)
    rate_income = KINDS["exited_income_below_line"][1]
    rate_guarantee = KINDS["exited_without_guarantee"][1]
    shuffled = rng.permutation(green)
    n_low = max(1, round(len(green) * rate_income))
    n_lack = max(1, round(len(green) * rate_guarantee))
    low_income = np.zeros(h, dtype=bool)
    low_income[shuffled[:n_low]] = True
    lacking = np.zeros(h, dtype=bool)
    lacking[shuffled[n_low : n_low + n_lack]] = True
    planted.add("exited_income_below_line", np.sort(ids[low_income]).tolist())
    planted.add("exited_without_guarantee", np.sort(ids[lacking]).tolist())

    frames = []
    for year in INCOME_YEARS:
        rows = np.flatnonzero(registration <= year)
        line = POVERTY_LINE[year]
        n = len(rows)
        ratio = np.exp(rng.normal(np.log(0.85), 0.2, n))  # the poor: around and mostly under the line
        if year == WORK_YEAR:
            ratio = np.exp(rng.normal(np.log(0.95), 0.2, n))
            heading_out = planned[rows] == WORK_YEAR
            ratio[heading_out] = rng.uniform(1.12, 1.8, int(heading_out.sum()))
        exited = (exit_year[rows] > 0) & (exit_year[rows] <= year)
        ratio[exited] = rng.uniform(1.2, 2.4, int(exited.sum())) * (
            1 + 0.08 * (year - exit_year[rows][exited])
        )
        bad = exited & low_income[rows]
        ratio[bad] = rng.uniform(0.55, 0.85, int(bad.sum()))
        per_capita = np.round(ratio * line * 100).astype(np.int64)  # cents
        members = size[rows]
        net = per_capita * members
        shares = rng.dirichlet([4.5, 2.5, 2.5, 0.4], n)
        welfare = np.isin(attribute[rows], ["低保贫困户", "特困供养贫困户"])
        shares[welfare] = rng.dirichlet([1.5, 1.5, 6.0, 0.3], int(welfare.sum()))
        wage = np.round(net * shares[:, 0]).astype(np.int64)
        transfer = np.round(net * shares[:, 2]).astype(np.int64)
        prop = np.round(net * shares[:, 3]).astype(np.int64)
        operating_net = net - wage - transfer - prop
        cost = np.round(np.maximum(operating_net, 0) * rng.uniform(0.2, 0.6, n)).astype(np.int64)
        operating = operating_net + cost
        verified = np.where(
            year == WORK_YEAR,
            day_number(AS_OF) - 52 + rng.integers(0, 45, n),
            year_day(np.full(n, year), 11, 1) + rng.integers(0, 50, n),
        )
        frames.append(
            pl.DataFrame(
                {
                    "household_id": ids[rows],
                    "year": np.full(n, year),
                    "household_size": members,
                    "wage_income": wage,
                    "operating_income": operating,
                    "operating_cost": cost,
                    "transfer_income": transfer,
                    "property_income": prop,
                    "net_income": net,
                    "per_capita_net_income": per_capita,
                    "verified_day": verified,
                }
            )
        )
    incomes = pl.concat(frames).sort(["household_id", "year"])
    incomes = incomes.with_columns(
        income_id=code * 10_000_000 + pl.int_range(1, pl.len() + 1, dtype=pl.Int64)
    )

    # -- living conditions ------------------------------------------------------------------------------
    u = rng.random((h, 6))
    grade = rng.choice(4, size=h, p=[0.4, 0.4, 0.15, 0.05])
    food = u[:, 0] > 0.02
    clothing = u[:, 1] > 0.01
    education = u[:, 2] > 0.03
    medical = u[:, 3] > 0.05
    water = u[:, 4] > 0.10
    sound = kind == 1
    grade[sound] = rng.choice(2, size=int(sound.sum()), p=[0.55, 0.45])
    for flag in (food, clothing, education, medical, water):
        flag[sound] = True
    lack = np.flatnonzero(lacking)
    which = rng.integers(0, 5, len(lack))
    food[lack[which == 0]] = False
    education[lack[which == 1]] = False
    medical[lack[which == 2]] = False
    water[lack[which == 3]] = False
    grade[lack[which == 4]] = rng.choice([2, 3], size=int((which == 4).sum()))
    assessed = day_number(AS_OF) - 260 + rng.integers(0, 250, h)
    living = pl.DataFrame(
        {
            "household_id": ids,
            "assessed_day": assessed,
            "food_secure": food,
            "clothing_secure": clothing,
            "education_guaranteed": education,
            "medical_guaranteed": medical,
            "housing_guaranteed": grade <= 1,
            "safe_drinking_water": water,
            "house_safety_grade": GRADES[grade],
        }
    )
    del status
    return Economy(incomes, living, planted)
