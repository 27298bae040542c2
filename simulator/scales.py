"""Scales of the simulated county (or counties).

- ``XS``: Lixin County cut down to 2 towns x 3 villages, a few hundred households, four weeks of visits (tests).
- ``S`` (default): the reference county, Lixin (341623) with its 25 real town-level units: 49,014 households
  currently poor (red + yellow) with 97,323 people, 68,293 of them in households planned to exit in 2017,
  households exited 2014-2016 besides, about 6,000 cadres at about 1 cadre : 10 households, a year of visits.
- ``M``: 82 real counties (Lixin first, then rural counties of Anhui and Henan from the division codes), each
  a county of the S kind: about 4.1 million households and 10 million people; 90 days of visits.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
LIXIN = "341623"


@dataclass(frozen=True)
class CountySpec:
    code: str
    name: str
    towns: tuple[tuple[str, str], ...]  # (9-digit code, name)
    villages_per_town: tuple[int, int]  # inclusive range drawn per town
    poor_households: int  # red + yellow, not deleted
    poor_persons: int  # persons in them (exact)
    plan_persons: int  # persons in poor households planned to exit in the work year (exact)
    exited_households: int  # green: exited 2014-2016
    exited_persons: int
    center: tuple[float, float]  # (lat, lon) of the county seat
    half_extent: tuple[float, float]  # (dlat, dlon) of the county's box around its seat


@dataclass(frozen=True)
class Scale:
    name: str
    counties: tuple[CountySpec, ...]
    visit_days: int  # days of visits and trajectories up to the as-of date

    @property
    def poor_households(self) -> int:
        return sum(c.poor_households for c in self.counties)

    @property
    def poor_persons(self) -> int:
        return sum(c.poor_persons for c in self.counties)


@cache
def _csv(name: str) -> list[dict[str, str]]:
    with (REFERENCE_DIR / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def lixin_towns() -> tuple[tuple[str, str], ...]:
    return tuple((r["code"], r["name"]) for r in _csv("lixin_towns.csv"))


def county_towns(county_code: str) -> tuple[tuple[str, str], ...]:
    if county_code == LIXIN:
        return lixin_towns()
    return tuple((r["code"], r["name"]) for r in _csv("china_streets.csv") if r["areaCode"] == county_code)


def county_name(county_code: str) -> str:
    for r in _csv("china_areas.csv"):
        if r["code"] == county_code:
            return r["name"]
    raise KeyError(f"county {county_code} is not in {REFERENCE_DIR / 'china_areas.csv'}")


LIXIN_CENTER = (33.144, 116.208)
LIXIN_HALF_EXTENT = (0.25, 0.25)

# Rough centres of the provinces M draws counties from (the counties are laid out around them).
_PROVINCE_CENTRES = {"34": (32.0, 117.2), "41": (33.9, 113.6)}


def _lixin(**overrides) -> CountySpec:
    base = dict(
        code=LIXIN,
        name="利辛县",
        towns=lixin_towns(),
        villages_per_town=(11, 19),
        poor_households=49_014,
        poor_persons=97_323,
        plan_persons=68_293,
        exited_households=11_000,
        exited_persons=29_500,
        center=LIXIN_CENTER,
        half_extent=LIXIN_HALF_EXTENT,
    )
    base.update(overrides)
    return CountySpec(**base)


def _m_counties(count: int = 82) -> tuple[CountySpec, ...]:
    chosen = [LIXIN]
    for province in ("34", "41"):
        for r in _csv("china_areas.csv"):
            if r["provinceCode"] == province and r["name"].endswith("县") and r["code"] != LIXIN:
                chosen.append(r["code"])
    specs = []
    for i, code in enumerate(chosen[:count]):
        towns = county_towns(code)
        if not towns:
            continue
        if code == LIXIN:
            center = LIXIN_CENTER
        else:
            plat, plon = _PROVINCE_CENTRES[code[:2]]
            center = (plat + ((i * 7) % 11 - 5) * 0.45, plon + ((i * 5) % 13 - 6) * 0.45)
        specs.append(
            _lixin(
                code=code,
                name="利辛县" if code == LIXIN else county_name(code),
                towns=towns,
                poor_households=38_000,
                poor_persons=78_000,
                plan_persons=52_000,
                exited_households=12_000,
                exited_persons=44_000,
                center=center,
                half_extent=(0.2, 0.2),
            )
        )
    return tuple(specs)


def get_scale(name: str) -> Scale:
    """The scale called ``name`` (XS, S or M)."""
    key = name.upper()
    if key == "XS":
        county = _lixin(
            towns=lixin_towns()[:2],
            villages_per_town=(3, 3),
            poor_households=240,
            poor_persons=481,
            plan_persons=330,
            exited_households=60,
            exited_persons=165,
        )
        return Scale("XS", (county,), visit_days=28)
    if key == "S":
        return Scale("S", (_lixin(),), visit_days=365)
    if key == "M":
        return Scale("M", _m_counties(), visit_days=90)
    raise ValueError(f"unknown scale {name!r}: choose XS, S or M")
