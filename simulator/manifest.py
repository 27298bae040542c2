"""The ground-truth manifest: reference figures and the keys of every planted anomaly.

JSON at the path given; key lists longer than ``INLINE_LIMIT`` go to a Parquet file beside it
(``<manifest stem>.<kind>.parquet``, one column ``key``) and the JSON names the file. Tests read it; the
pipeline never does.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from simulator.anomalies import KINDS
from simulator.calendar import AS_OF, POVERTY_LINE
from simulator.scales import Scale

INLINE_LIMIT = 50_000
THRESHOLDS = {
    "visit_near_m": 200,
    "fabricated_min_distance_m": 2000,
    "overloaded_min_households": 20,
    "normal_max_households": 12,
    "exited_income_max_ratio_to_line": 0.85,
    "exited_income_min_ratio_genuine": 1.2,
}


def write_manifest(path: Path, scale: Scale, seed: int, counties: list, summary: dict) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    anomalies: dict[str, dict] = {}
    for kind, (key_name, rate, description) in KINDS.items():
        keys = [k for c in counties for k in c.planted.keys[kind]]
        entry: dict = {"key": key_name, "rate": rate, "description": description, "count": len(keys)}
        if len(keys) > INLINE_LIMIT:
            file = path.with_name(f"{path.stem}.{kind}.parquet")
            pl.DataFrame({"key": keys}).write_parquet(file)
            entry["keys_file"] = file.name
        else:
            entry["keys"] = keys
        details = [d for c in counties for d in c.planted.details.get(kind, [])]
        if details:
            entry["details"] = details
        anomalies[kind] = entry
    manifest = {
        "scale": scale.name,
        "seed": seed,
        "as_of": AS_OF.isoformat(),
        "visit_days": scale.visit_days,
        "poverty_line": {str(k): v for k, v in POVERTY_LINE.items()},
        "thresholds": THRESHOLDS,
        "counties": {
            c.code: {
                **c.figures,
                "bbox": {
                    "lat_min": c.bbox[0],
                    "lat_max": c.bbox[1],
                    "lon_min": c.bbox[2],
                    "lon_max": c.bbox[3],
                },
            }
            for c in counties
        },
        "reference": {
            "poor_households": sum(c.figures["poor_households"] for c in counties),
            "poor_persons": sum(c.figures["poor_persons"] for c in counties),
            "plan_persons": sum(c.figures["plan_persons"] for c in counties),
            "plan_households": sum(c.figures["plan_households"] for c in counties),
            "exited_households": sum(c.figures["exited_households"] for c in counties),
            "cadres": sum(c.figures["cadres"] for c in counties),
        },
        "rows": summary["rows"],
        "anomalies": anomalies,
    }
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    return manifest
