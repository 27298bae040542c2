"""The columns each generated frame contributes to its table, and which of them are timestamps."""

from __future__ import annotations

import polars as pl

from simulator.load import with_timestamps

STAMPS = ("created_at", "updated_at", "deleted_at")
COLUMNS: dict[str, tuple[str, ...]] = {
    "regions": ("region_code", "parent_code", "region_level", "region_name", "lat", "lon", *STAMPS[:2]),
    "households": (
        "household_id",
        "village_code",
        "head_name",
        "address",
        "lat",
        "lon",
        "attribute",
        "main_cause",
        "secondary_cause",
        "status_label",
        "registration_year",
        "planned_exit_year",
        "actual_exit_year",
        *STAMPS,
    ),
    "persons": (
        "person_id",
        "household_id",
        "name",
        "id_number",
        "phone",
        "relation_to_head",
        "sex",
        "birth_date",
        "schooling",
        "health",
        "labour_ability",
        *STAMPS,
    ),
    "incomes": (
        "income_id",
        "household_id",
        "year",
        "household_size",
        "wage_income",
        "operating_income",
        "operating_cost",
        "transfer_income",
        "property_income",
        "net_income",
        "per_capita_net_income",
        "verified_on",
        *STAMPS,
    ),
    "living_conditions": (
        "household_id",
        "assessed_on",
        "food_secure",
        "clothing_secure",
        "education_guaranteed",
        "medical_guaranteed",
        "housing_guaranteed",
        "safe_drinking_water",
        "house_safety_grade",
        *STAMPS,
    ),
    "support_teams": ("team_id", "team_name", "village_code", "sponsor_unit", "leader_cadre_id", *STAMPS[:2]),
    "cadres": (
        "cadre_id",
        "name",
        "sex",
        "phone",
        "work_unit",
        "role",
        "town_code",
        "village_code",
        "team_id",
        *STAMPS[:2],
    ),
    "twinnings": ("twinning_id", "cadre_id", "household_id", "start_date", "end_date", *STAMPS[:2]),
    "visits": (
        "visit_id",
        "cadre_id",
        "household_id",
        "started_at",
        "ended_at",
        "claimed_lat",
        "claimed_lon",
        "notes",
        *STAMPS,
    ),
    "gps_points": ("point_id", "cadre_id", "recorded_at", "lat", "lon", "accuracy_m", *STAMPS[:2]),
    "demands": (
        "demand_id",
        "household_id",
        "category",
        "description",
        "raised_at",
        "status",
        "completed_at",
        *STAMPS[:2],
    ),
    "tasks": (
        "task_id",
        "issued_by",
        "assignee_cadre_id",
        "household_id",
        "demand_id",
        "title",
        "issued_at",
        "due_date",
        "status",
        "completed_at",
        *STAMPS[:2],
    ),
    "status_events": (
        "event_id",
        "household_id",
        "event_at",
        "from_label",
        "to_label",
        "reason",
        *STAMPS[:2],
    ),
}
TIMESTAMP_COLUMNS = {
    "started_at",
    "ended_at",
    "recorded_at",
    "raised_at",
    "completed_at",
    "issued_at",
    "event_at",
    *STAMPS,
}
DAY_COLUMNS = {
    "verified_on": "verified_day",
    "assessed_on": "assessed_day",
    "start_date": "start_day",
    "end_date": "end_day",
}


def finish(table: str, df: pl.DataFrame) -> pl.DataFrame:
    """The frame with exactly the table's columns, days as dates and epoch microseconds as timestamps."""
    for column, source in DAY_COLUMNS.items():
        if column in COLUMNS[table] and source in df.columns:
            df = df.with_columns(pl.col(source).cast(pl.Int32).cast(pl.Date).alias(column))
    missing = [c for c in COLUMNS[table] if c not in df.columns]
    if missing:
        raise KeyError(f"generated {table} lacks columns {missing}")
    df = df.select(COLUMNS[table])
    stamps = [c for c in df.columns if c in TIMESTAMP_COLUMNS and df.schema[c] != pl.Datetime]
    return with_timestamps(df.with_columns(pl.col(c).cast(pl.Int64) for c in stamps), stamps)
