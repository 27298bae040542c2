"""The planted anomalies: what each kind is, at what rate it is planted, and the keys planted.

The ground truth goes to the manifest (tests read it; the pipeline never does) and to ``sim.anomalies`` in the
operational database's server (outside schema ``app``), where ``advance_day`` adds what it plants later.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# kind -> (key name, rate, what it is, how it is recognised)
KINDS: dict[str, tuple[str, float, str]] = {
    "fabricated_visit": (
        "visit_id",
        0.02,
        "a visit whose cadre's GPS trajectory never comes within 2 km of the household (the cadre stayed"
        " elsewhere with positioning on and logged the visit); share of visit trips",
    ),
    "exited_income_below_line": (
        "household_id",
        0.01,
        "a green (已脱贫) household whose per-capita net income in its exit year and every year after is"
        " under 0.85 x the poverty line of that year; share of green households",
    ),
    "exited_without_guarantee": (
        "household_id",
        0.01,
        "a green household lacking one of the two no-worries / three guarantees, safe drinking water, or with"
        " a dangerous house (grade C/D); share of green households",
    ),
    "poor_without_helper": (
        "household_id",
        0.005,
        "a red or yellow household with no twinning in force on the as-of date; share of poor households",
    ),
    "person_in_two_households": (
        "id_number",
        0.001,
        "one ID number registered as a member of two households (both person rows listed); share of persons",
    ),
    "invalid_id_check_digit": (
        "person_id",
        0.003,
        "a person whose ID number's GB 11643 check character is wrong; share of persons",
    ),
    "gps_outside_county": (
        "point_id",
        0.0003,
        "a GPS point outside the county's box (a positioning glitch: 0,0 or a jump of 0.6-2 degrees);"
        " share of points",
    ),
    "cause_contradicts_members": (
        "household_id",
        0.01,
        "main cause 因病 with every member 健康, or 因残 with no member 残疾; share of 因病 / 因残 households",
    ),
    "overloaded_cadre": (
        "cadre_id",
        0.005,
        "a cadre twinned with 20 or more households on the as-of date (others have at most 12); share of cadres",
    ),
}


@dataclass
class Planted:
    """Keys planted per kind, plus details (e.g. both person ids of a duplicated ID number)."""

    keys: dict[str, list] = field(default_factory=lambda: {k: [] for k in KINDS})
    details: dict[str, list] = field(default_factory=dict)

    def add(self, kind: str, keys) -> None:
        if kind not in KINDS:
            raise KeyError(f"unknown anomaly kind {kind!r}; known: {sorted(KINDS)}")
        self.keys[kind].extend(keys)

    def extend(self, other: Planted) -> None:
        for kind, keys in other.keys.items():
            self.keys[kind].extend(keys)
        for kind, items in other.details.items():
            self.details.setdefault(kind, []).extend(items)
