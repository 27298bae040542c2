"""Roles and row-level security, provisioned through Superset's REST API (exports do not carry them).

* ``county_leader``: every dashboard and dataset, no SQL Lab.
* ``town_<town code>``: the same, with a row-level-security rule ``town_code = '<code>'`` on every dataset
  that has a ``town_code`` column.
* ``village_<village code>``: ``village_code = '<code>'`` on every dataset with a ``village_code``, and
  ``town_code = '<its town>'`` on those with only a ``town_code``.
* ``analyst``: the leaders' access plus SQL Lab, limited to the ``marts`` schema.

Towns and villages come from the published warehouse (``core.dim_region``, else ``marts.status_by_village``).
Leaders' roles hold Superset's ``Gamma`` permissions (which exclude SQL Lab) plus access to the warehouse's
datasets. Applying again updates every role and rule in place and deletes rules of regions that are gone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import httpx

RULE_PREFIX = "fupin "
COUNTY_ROLE = "county_leader"
ANALYST_ROLE = "analyst"
SQL_SCHEMA = "marts"


class RoleError(RuntimeError):
    """Superset refused a role, permission or rule; the message carries its answer."""


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    town_code: str


@dataclass
class RolesReport:
    roles: dict[str, int] = field(default_factory=dict)  # role name -> id
    rules: int = 0
    rules_deleted: int = 0
    datasets_by_town: int = 0
    datasets_by_village: int = 0
    datasets_county_wide: list[str] = field(default_factory=list)


def town_role(code: str) -> str:
    return f"town_{code}"


def village_role(code: str) -> str:
    return f"village_{code}"


def regions(warehouse: Path) -> tuple[list[Region], list[Region]]:
    """(towns, villages) of the published warehouse, by code."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        has_dim = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'core' and table_name = 'dim_region'"
        ).fetchone()[0]
        if has_dim:
            rows = con.execute(
                "select region_level, region_code, region_name, town_code from core.dim_region "
                "where region_level in ('town', 'village') order by region_code"
            ).fetchall()
        else:
            rows = con.execute(
                "select distinct 'town', town_code, town_name, town_code from marts.status_by_village "
                "union all select distinct 'village', village_code, village_name, town_code "
                "from marts.status_by_village order by 2"
            ).fetchall()
    finally:
        con.close()
    towns = [Region(code, name, town) for level, code, name, town in rows if level == "town"]
    villages = [Region(code, name, town) for level, code, name, town in rows if level == "village"]
    return towns, villages


def _get_all(client: httpx.Client, path: str, columns: str = "") -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    page = 0
    while True:
        q = f"(page:{page},page_size:100{',' + columns if columns else ''})"
        response = client.get(path, params={"q": q})
        if response.status_code != 200:
            raise RoleError(f"GET {path}: HTTP {response.status_code} {response.text[:500]}")
        batch = response.json()["result"]
        results.extend(batch)
        if len(batch) < 100:
            return results
        page += 1


def _check(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code not in (200, 201):
        raise RoleError(f"{what}: HTTP {response.status_code} {response.text[:1000]}")
    return response.json()


def _role_permissions(client: httpx.Client, role_id: int) -> list[int]:
    answer = _check(client.get(f"/api/v1/security/roles/{role_id}/permissions/"), "role permissions")
    return [p["id"] for p in answer["result"]]


def provision_roles(
    client: httpx.Client,
    warehouse: Path,
    dataset_columns: dict[str, set[str]],
    database_name: str,
    areas: bool = True,
) -> RolesReport:
    """Create or update the roles and their row-level-security rules in the Superset ``client`` talks to.

    ``dataset_columns`` maps each provisioned dataset's name (``table_name``) to its columns. ``areas``
    False creates only the county-wide roles (county leader, analyst), not one per town and village: a
    benchmark reading as the county leader needs no others, and at scale M there are 22,000 of them.
    """
    report = RolesReport()
    towns, villages = regions(warehouse) if areas else ([], [])
    town_of = {v.code: v.town_code for v in villages}

    roles = {r["name"]: r["id"] for r in _get_all(client, "/api/v1/security/roles/")}
    for builtin in ("Gamma", "sql_lab"):
        if builtin not in roles:
            raise RoleError(f"Superset has no {builtin!r} role: run `superset init` first")
    gamma = _role_permissions(client, roles["Gamma"])
    sql_lab = _role_permissions(client, roles["sql_lab"])

    datasets = _get_all(client, "/api/v1/dataset/", "columns:!(id,table_name,schema)")
    ours = {d["table_name"]: d["id"] for d in datasets if d["table_name"] in dataset_columns}
    missing = set(dataset_columns) - set(ours)
    if missing:
        raise RoleError(f"datasets not in Superset: {sorted(missing)} (import the assets first)")
    pvms = _get_all(client, "/api/v1/security/permissions-resources/")
    dataset_pvms = []
    schema_pvm = None
    for pvm in pvms:
        perm, view = pvm["permission"]["name"], pvm["view_menu"]["name"]
        if perm == "datasource_access" and any(view.endswith(f"(id:{i})") for i in ours.values()):
            dataset_pvms.append(pvm["id"])
        if perm == "schema_access" and view == f"[{database_name}].[{SQL_SCHEMA}]":
            schema_pvm = pvm["id"]
    if len(dataset_pvms) != len(ours) or schema_pvm is None:
        raise RoleError(
            f"access permissions not found: {len(dataset_pvms)} of {len(ours)} datasets, "
            f"schema {SQL_SCHEMA}: {schema_pvm}"
        )
    viewer = sorted(set(gamma) | set(dataset_pvms))
    analyst = sorted(set(viewer) | set(sql_lab) | {schema_pvm})

    wanted = {COUNTY_ROLE: viewer, ANALYST_ROLE: analyst}
    wanted.update({town_role(t.code): viewer for t in towns})
    wanted.update({village_role(v.code): viewer for v in villages})
    for name, permission_ids in wanted.items():
        if name not in roles:
            roles[name] = _check(client.post("/api/v1/security/roles/", json={"name": name}), name)["id"]
        _check(
            client.post(
                f"/api/v1/security/roles/{roles[name]}/permissions",
                json={"permission_view_menu_ids": permission_ids},
            ),
            f"permissions of {name}",
        )
        report.roles[name] = roles[name]

    by_town = sorted(i for n, i in ours.items() if "town_code" in dataset_columns[n])
    by_village = sorted(i for n, i in ours.items() if "village_code" in dataset_columns[n])
    town_only = sorted(set(by_town) - set(by_village))
    report.datasets_by_town, report.datasets_by_village = len(by_town), len(by_village)
    report.datasets_county_wide = sorted(
        n for n, cols in dataset_columns.items() if not {"town_code", "village_code"} & cols
    )
    rules: dict[str, dict[str, Any]] = {}
    for town in towns:
        rules[f"{RULE_PREFIX}town {town.code}"] = {
            "tables": by_town,
            "roles": [roles[town_role(town.code)]],
            "clause": f"town_code = '{town.code}'",
            "description": f"{town.name}: only its own rows",
        }
    for village in villages:
        role_id = roles[village_role(village.code)]
        rules[f"{RULE_PREFIX}village {village.code}"] = {
            "tables": by_village,
            "roles": [role_id],
            "clause": f"village_code = '{village.code}'",
            "description": f"{village.name}: only its own rows",
        }
        if town_only:
            rules[f"{RULE_PREFIX}village {village.code} town"] = {
                "tables": town_only,
                "roles": [role_id],
                "clause": f"town_code = '{town_of[village.code]}'",
                "description": f"{village.name}: its town's rows where a dataset has no village",
            }
    existing = {
        r["name"]: r["id"]
        for r in _get_all(client, "/api/v1/rowlevelsecurity/", "columns:!(id,name)")
        if r["name"].startswith(RULE_PREFIX)
    }
    for name, rule in rules.items():
        if not rule["tables"]:
            continue
        body = {"name": name, "filter_type": "Regular", "group_key": "", **rule}
        if name in existing:
            _check(client.put(f"/api/v1/rowlevelsecurity/{existing[name]}", json=body), f"rule {name}")
        else:
            _check(client.post("/api/v1/rowlevelsecurity/", json=body), f"rule {name}")
        report.rules += 1
    stale = [rule_id for name, rule_id in existing.items() if name not in rules or not rules[name]["tables"]]
    if stale:
        _check(
            client.delete("/api/v1/rowlevelsecurity/", params={"q": f"!({','.join(map(str, stale))})"}),
            "deleting stale rules",
        )
        report.rules_deleted = len(stale)
    return report


def ensure_user(
    client: httpx.Client, username: str, password: str, role_names: list[str], roles: dict[str, int]
) -> int:
    """Create the user with exactly these roles (or reset an existing one's roles and password)."""
    users = {
        u["username"]: u["id"] for u in _get_all(client, "/api/v1/security/users/", "columns:!(id,username)")
    }
    body = {
        "first_name": username,
        "last_name": "user",
        "username": username,
        "email": f"{username}@localhost",
        "password": password,
        "active": True,
        "roles": [roles[name] for name in role_names],
    }
    if username in users:
        _check(client.put(f"/api/v1/security/users/{users[username]}", json=body), f"user {username}")
        return users[username]
    return _check(client.post("/api/v1/security/users/", json=body), f"user {username}")["id"]


def dump(report: RolesReport) -> str:
    return json.dumps(
        {
            "roles": len(report.roles),
            "rules": report.rules,
            "rules_deleted": report.rules_deleted,
            "datasets_by_town": report.datasets_by_town,
            "datasets_by_village": report.datasets_by_village,
            "datasets_county_wide": report.datasets_county_wide,
        },
        ensure_ascii=False,
    )
