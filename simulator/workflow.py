"""Household demands and the tasks sent to cadres, with realistic times to completion.

Households raise demands (medical aid, school grants, jobs, housing repair ...); the town's officer turns each
into a task for the household's helper, due within a few weeks; most are completed, after a lognormal time
that depends on the category, and the rest are still open on the as-of date. Every autumn the town also sends
each poor household's helper an income-verification task.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from simulator.calendar import US_PER_DAY, US_PER_HOUR, WORK_YEAR, local_midnight_us
from simulator.frames import nullable
from simulator.population import year_day
from simulator.rng import stream
from simulator.timestamps import office_time

# category -> (share, median days to completion, days allowed by the task's due date)
CATEGORIES: dict[str, tuple[float, float, int]] = {
    "医疗救助": (0.22, 10, 15),
    "教育资助": (0.10, 20, 30),
    "就业务工": (0.13, 30, 30),
    "产业发展": (0.15, 45, 60),
    "危房改造": (0.07, 90, 90),
    "安全饮水": (0.04, 60, 60),
    "金融信贷": (0.07, 25, 30),
    "技能培训": (0.06, 40, 45),
    "社会保障": (0.09, 20, 30),
    "基础设施": (0.03, 120, 120),
    "其他": (0.04, 15, 30),
}
NAMES = np.array(list(CATEGORIES))
SHARES = np.array([v[0] for v in CATEGORIES.values()])
MEDIAN = np.array([v[1] for v in CATEGORIES.values()], dtype=float)
ALLOWED = np.array([v[2] for v in CATEGORIES.values()])
DESCRIPTIONS = {
    "医疗救助": "家庭成员住院费用报销困难，申请医疗救助",
    "教育资助": "子女上学，申请教育资助",
    "就业务工": "有劳动力，希望介绍就近务工岗位",
    "产业发展": "想发展种养殖，申请产业扶持",
    "危房改造": "住房年久失修，申请危房改造",
    "安全饮水": "饮水水质差，申请安全饮水改造",
    "金融信贷": "发展生产缺资金，申请扶贫小额信贷",
    "技能培训": "希望参加技能培训",
    "社会保障": "申请纳入低保或调整保障标准",
    "基础设施": "门前道路泥泞，申请修路",
    "其他": "其他困难诉求",
}


@dataclass
class Workflow:
    demands: pl.DataFrame
    tasks: pl.DataFrame


def build_workflow(
    seed: int,
    county_code: int,
    households: pl.DataFrame,
    twinnings: pl.DataFrame,
    officers: dict[str, np.ndarray],
    first_day: int,
    last_day: int,
    demand_id_start: int,
    task_id_start: int,
    salt: int = 0,
    income_campaign: bool = True,
) -> Workflow:
    """Demands raised in [first_day, last_day] and their tasks, plus the income-verification campaign."""
    rng = stream(seed, "workflow", county_code, salt)
    kind = households["kind"].to_numpy()
    ids = households["household_id"].to_numpy()
    towns = households["town_code"].to_numpy()
    deleted_on = households["deleted_on"].fill_null(10**9).to_numpy()
    days = last_day - first_day + 1
    rate = np.where(kind == 1, 0.3, 1.3) * days / 365
    count = rng.poisson(rate)
    hh = np.repeat(np.arange(len(ids)), count)
    n = len(hh)
    raised_day = first_day + rng.integers(0, days, n)
    alive = raised_day < deleted_on[hh]
    hh, raised_day = hh[alive], raised_day[alive]
    n = len(hh)
    category = rng.choice(len(NAMES), size=n, p=SHARES / SHARES.sum())
    raised = office_time(rng, raised_day, 7.5, 20.0)
    end_of_window = local_midnight_us(last_day + 1)
    took = np.exp(rng.normal(np.log(MEDIAN[category]), 0.6, n)) * US_PER_DAY
    completed = (raised + took).astype(np.int64) // 1_000_000 * 1_000_000
    rejected = rng.random(n) < 0.03
    done = (completed < end_of_window) & ~rejected
    accepted_at = raised + (rng.uniform(2, 72, n) * US_PER_HOUR).astype(np.int64) // 1_000_000 * 1_000_000
    started = accepted_at < end_of_window
    status = np.where(
        rejected, "rejected", np.where(done, "completed", np.where(started, "in_progress", "pending"))
    )
    rejected_at = np.minimum(accepted_at, end_of_window - 1_000_000)
    updated = np.where(
        done, completed, np.where(rejected, rejected_at, np.where(started, accepted_at, raised))
    )
    demands = pl.DataFrame(
        {
            "household_id": ids[hh],
            "household_index": hh,
            "category": NAMES[category],
            "description": np.array([DESCRIPTIONS[c] for c in NAMES])[category],
            "raised_at": raised,
            "status": status,
            "completed_at": nullable(completed, done),
            "created_at": raised,
            "updated_at": updated,
            "allowed": ALLOWED[category],
        },
        strict=False,
    ).sort(["raised_at", "household_id"], maintain_order=True)
    demands = demands.with_columns(demand_id=demand_id_start + pl.int_range(pl.len(), dtype=pl.Int64))

    # -- the helper of each household on a day: the twinning in force then (else the village leader) -----
    helper = _helpers(twinnings, len(ids))
    d_hh = demands["household_index"].to_numpy()
    d_raised = demands["raised_at"].to_numpy()
    assignee = helper[d_hh]
    has_helper = assignee > 0
    d_town = towns[d_hh]
    issuer = _pick_officer(rng, officers, d_town)
    issued = (
        d_raised + (rng.uniform(3, 48, len(d_hh)) * US_PER_HOUR).astype(np.int64) // 1_000_000 * 1_000_000
    )
    d_status = demands["status"].to_numpy()
    d_done = demands["completed_at"].fill_null(0).to_numpy()
    keep = has_helper & (issued < end_of_window)
    t_status = np.where(
        d_status == "rejected",
        "cancelled",
        np.where(
            d_status == "completed",
            "completed",
            np.where(rng.random(len(d_hh)) < 0.7, "in_progress", "pending"),
        ),
    )
    t_done = np.where(
        d_status == "completed",
        np.maximum(
            d_done - (rng.uniform(0, 24, len(d_hh)) * US_PER_HOUR).astype(np.int64) // 1_000_000 * 1_000_000,
            issued + 60_000_000,
        ),
        0,
    )
    due_day = (issued + 8 * US_PER_HOUR) // US_PER_DAY + demands["allowed"].to_numpy()
    frames = [
        pl.DataFrame(
            {
                "issued_by": issuer[keep],
                "assignee_cadre_id": assignee[keep],
                "household_id": demands["household_id"].to_numpy()[keep],
                "demand_id": demands["demand_id"].to_numpy()[keep],
                "title": np.char.add("处理诉求：", demands["category"].to_numpy()[keep]),
                "issued_at": issued[keep],
                "due_day": due_day[keep],
                "status": t_status[keep],
                "completed_at": t_done[keep],
            }
        )
    ]
    if income_campaign:
        # The autumn income verification of the work year: one task per poor household's helper.
        start_day = int(year_day(np.array([WORK_YEAR]), 10, 10)[0])
        if first_day <= start_day <= last_day:
            poor = np.flatnonzero((kind == 0) & (helper > 0))
            c_issued = office_time(rng, np.full(len(poor), start_day), 8.5, 11.0)
            c_done_day = start_day + rng.integers(2, 52, len(poor))
            c_done = office_time(rng, c_done_day, 9.0, 18.0)
            finished = c_done < end_of_window
            frames.append(
                pl.DataFrame(
                    {
                        "issued_by": _pick_officer(rng, officers, towns[poor]),
                        "assignee_cadre_id": helper[poor],
                        "household_id": ids[poor],
                        "demand_id": np.full(len(poor), -1),
                        "title": np.full(len(poor), f"{WORK_YEAR}年度贫困户收入核实"),
                        "issued_at": c_issued,
                        "due_day": np.full(len(poor), start_day + 41),
                        "status": np.where(finished, "completed", "in_progress"),
                        "completed_at": np.where(finished, c_done, 0),
                    }
                )
            )
    tasks = pl.concat(frames).sort(["issued_at", "assignee_cadre_id", "household_id"], maintain_order=True)
    tasks = tasks.with_columns(
        task_id=task_id_start + pl.int_range(pl.len(), dtype=pl.Int64),
        demand_id=pl.when(pl.col("demand_id") > 0).then(pl.col("demand_id")),
        completed_at=pl.when(pl.col("completed_at") > 0).then(pl.col("completed_at")),
        created_at=pl.col("issued_at"),
    ).with_columns(
        updated_at=pl.coalesce(pl.col("completed_at"), pl.col("issued_at")),
    )
    return Workflow(demands.drop("household_index", "allowed"), tasks)


def _helpers(twinnings: pl.DataFrame, n_households: int) -> np.ndarray:
    """The current helper (cadre id) of each household, or 0."""
    current = twinnings.filter(pl.col("end_day").is_null())
    helper = np.zeros(n_households, dtype=np.int64)
    helper[current["household_index"].to_numpy()] = current["cadre_id"].to_numpy()
    return helper


def _pick_officer(rng: np.random.Generator, officers: dict[str, np.ndarray], towns: np.ndarray) -> np.ndarray:
    out = np.zeros(len(towns), dtype=np.int64)
    for town, ids in officers.items():
        mask = towns == town
        out[mask] = ids[rng.integers(0, len(ids), int(mask.sum()))]
    return out
