"""The data-quality checks, as code: one suite per warehouse table, each check with its severity.

Severity is declared here and nowhere else: ``blocking`` checks stop the publication (the last good
warehouse keeps serving), ``warning`` checks are reported to the data stewards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import great_expectations.expectations as gxe

BLOCKING = "blocking"
WARNING = "warning"


@dataclass(frozen=True)
class Check:
    name: str
    severity: str
    expectation: gxe.Expectation
    key_columns: tuple[str, ...] = ()  # columns that identify a failing row in the sample


@dataclass(frozen=True)
class Suite:
    name: str
    table: str  # schema-qualified warehouse table the suite validates
    checks: list[Check] = field(default_factory=list)


def suites() -> list[Suite]:
    return [
        Suite(
            name="raw_households",
            table="raw.households",
            checks=[
                Check(
                    "households_not_empty",
                    BLOCKING,
                    gxe.ExpectTableRowCountToBeBetween(min_value=1),
                ),
                Check(
                    "household_id_unique",
                    BLOCKING,
                    gxe.ExpectColumnValuesToBeUnique(column="household_id"),
                    ("household_id",),
                ),
                Check(
                    "household_village_code_12_digits",
                    BLOCKING,
                    gxe.ExpectColumnValueLengthsToEqual(column="village_code", value=12),
                    ("household_id",),
                ),
                Check(
                    "household_status_label_known",
                    BLOCKING,
                    gxe.ExpectColumnValuesToBeInSet(
                        column="status_label", value_set=["red", "yellow", "green"]
                    ),
                    ("household_id",),
                ),
                Check(
                    "household_head_name_present",
                    WARNING,
                    gxe.ExpectColumnValuesToNotBeNull(column="head_name"),
                    ("household_id",),
                ),
            ],
        ),
        Suite(
            name="mart_status_by_village",
            table="marts.status_by_village",
            checks=[
                Check(
                    "status_by_village_not_empty",
                    BLOCKING,
                    gxe.ExpectTableRowCountToBeBetween(min_value=1),
                ),
                Check(
                    "status_by_village_grain",
                    BLOCKING,
                    gxe.ExpectCompoundColumnsToBeUnique(column_list=["village_code", "status_label"]),
                    ("village_code", "status_label"),
                ),
                Check(
                    "status_by_village_counts_non_negative",
                    BLOCKING,
                    gxe.ExpectColumnValuesToBeBetween(column="households", min_value=0),
                    ("village_code", "status_label"),
                ),
                Check(
                    "status_by_village_town_named",
                    WARNING,
                    gxe.ExpectColumnValuesToNotBeNull(column="town_name"),
                    ("village_code",),
                ),
            ],
        ),
    ]
