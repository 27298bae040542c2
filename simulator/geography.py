"""The region tree of a county: the county, its real town-level units, and villages (town code + 3 digits),
with centroids laid out inside the county's box (the seat town in the middle)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from simulator.names import village_names
from simulator.rng import stream
from simulator.scales import CountySpec

GOLDEN_ANGLE = np.pi * (3 - np.sqrt(5))


@dataclass
class Geography:
    regions: pl.DataFrame  # region_code, parent_code, region_level, region_name, lat, lon
    villages: pl.DataFrame  # village_code, village_name, town_code, town_name, lat, lon, v_index
    towns: pl.DataFrame  # town_code, town_name, lat, lon
    bbox: tuple[float, float, float, float]  # lat_min, lat_max, lon_min, lon_max

    def distance_scale(self) -> float:
        return (self.bbox[1] - self.bbox[0]) / 2


def build_geography(county: CountySpec, seed: int) -> Geography:
    rng = stream(seed, "geography", int(county.code))
    clat, clon = county.center
    hlat, hlon = county.half_extent
    n_towns = len(county.towns)
    idx = np.arange(n_towns)
    radius = 0.6 * np.sqrt(idx / max(n_towns - 1, 1))
    angle = idx * GOLDEN_ANGLE + rng.uniform(0, 2 * np.pi)
    town_lat = clat + hlat * radius * np.sin(angle) + rng.normal(0, 0.01, n_towns) * (idx > 0)
    town_lon = clon + hlon * radius * np.cos(angle) + rng.normal(0, 0.01, n_towns) * (idx > 0)

    village_rows = []
    for t, (town_code, town_name) in enumerate(county.towns):
        low, high = county.villages_per_town
        if town_code[6] == "4":  # development zones and industrial parks hold few villages
            low, high = min(2, low), min(3, high)
        count = int(rng.integers(low, high + 1))
        names = village_names(rng, count)
        dist = np.sqrt(rng.uniform(0.08**2, 0.28**2, count))
        ang = np.arange(count) * GOLDEN_ANGLE + rng.uniform(0, 2 * np.pi)
        for j in range(count):
            village_rows.append(
                (
                    f"{town_code}{200 + j:03d}",
                    names[j],
                    town_code,
                    town_name,
                    float(town_lat[t] + hlat * dist[j] * np.sin(ang[j])),
                    float(town_lon[t] + hlon * dist[j] * np.cos(ang[j])),
                )
            )
    villages = pl.DataFrame(
        village_rows,
        schema=["village_code", "village_name", "town_code", "town_name", "lat", "lon"],
        orient="row",
    ).with_columns(pl.int_range(pl.len()).alias("v_index"))
    towns = pl.DataFrame(
        {
            "town_code": [c for c, _ in county.towns],
            "town_name": [n for _, n in county.towns],
            "lat": town_lat,
            "lon": town_lon,
        }
    )
    regions = pl.concat(
        [
            pl.DataFrame(
                {
                    "region_code": [county.code],
                    "parent_code": [None],
                    "region_level": ["county"],
                    "region_name": [county.name],
                    "lat": [clat],
                    "lon": [clon],
                },
                schema_overrides={"parent_code": pl.String},
            ),
            towns.select(
                pl.col("town_code").alias("region_code"),
                pl.lit(county.code).alias("parent_code"),
                pl.lit("town").alias("region_level"),
                pl.col("town_name").alias("region_name"),
                "lat",
                "lon",
            ),
            villages.select(
                pl.col("village_code").alias("region_code"),
                pl.col("town_code").alias("parent_code"),
                pl.lit("village").alias("region_level"),
                pl.col("village_name").alias("region_name"),
                "lat",
                "lon",
            ),
        ]
    ).with_columns(pl.col("lat").round(6), pl.col("lon").round(6))
    bbox = (clat - hlat, clat + hlat, clon - hlon, clon + hlon)
    return Geography(regions, villages, towns, bbox)
