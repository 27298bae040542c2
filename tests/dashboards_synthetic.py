"""A small synthetic published warehouse for the dashboard tests, in the contract the pipeline publishes.

``marts.status_by_village``: one row per village and status with household and person counts. The
``published_warehouse`` and ``expected_status_counts`` fixtures below are the dashboard tests' inputs;
the end-to-end suite provides fixtures of the same names backed by a real pipeline run.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

STATUSES = {"red": "未脱贫", "yellow": "帮扶中", "green": "已脱贫"}

# county, towns and villages with division-style codes (a county of Anhui; names as the county uses them)
COUNTY = ("341623", "利辛县")
TOWNS = {
    ("341623100", "城关镇"): ["城北村", "城南村", "东关村"],
    ("341623101", "阚疃镇"): ["阚疃村", "前营村"],
    ("341623102", "张村镇"): ["张村", "李楼村", "王庄村", "赵桥村"],
}


Row = tuple[str, str, str, str, str, str, str, str, int, int]


def synthetic_rows(seed: int = 20171201) -> list[Row]:
    """The rows of ``marts.status_by_village``: every village has every status, counts drawn from ``seed``."""
    rng = random.Random(seed)
    rows: list[Row] = []
    for (town_code, town_name), villages in TOWNS.items():
        for index, village_name in enumerate(villages, start=1):
            village_code = f"{town_code}{index:03d}"
            for label, name in STATUSES.items():
                households = rng.randint(3, 60)
                persons = households * rng.randint(2, 4) + rng.randint(0, households)
                rows.append(
                    (
                        *COUNTY,
                        town_code,
                        town_name,
                        village_code,
                        village_name,
                        label,
                        name,
                        households,
                        persons,
                    )
                )
    return rows


def households_per_town_and_status(rows: list[Row]) -> dict[tuple[str, str], int]:
    """Households per (town name, status label), summed in Python."""
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row[3], row[6])
        counts[key] = counts.get(key, 0) + row[8]
    return counts


def write_synthetic_warehouse(path: Path, rows: list[Row]) -> Path:
    """Write ``rows`` as ``marts.status_by_village`` into a new DuckDB file at ``path``."""
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            """
            create table marts.status_by_village (
                county_code varchar, county_name varchar, town_code varchar, town_name varchar,
                village_code varchar, village_name varchar, status_label varchar, status_name varchar,
                households bigint, persons bigint
            )
            """
        )
        con.executemany("insert into marts.status_by_village values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return path


@pytest.fixture(scope="session")
def published_warehouse(tmp_path_factory) -> Path:
    """The published DuckDB file (synthetic here)."""
    return write_synthetic_warehouse(
        tmp_path_factory.mktemp("published") / "warehouse.duckdb", synthetic_rows()
    )


@pytest.fixture(scope="session")
def expected_status_counts(published_warehouse) -> dict[tuple[str, str], int]:
    """Households per (town name, status label) that the dashboards must show."""
    return households_per_town_and_status(synthetic_rows())
