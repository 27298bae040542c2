"""Roles and row-level security, provisioned through Superset's REST API (exports do not carry them).

* ``county_leader``: every dashboard and dataset, no SQL Lab.
* ``town_leader``: the same, with a row-level-security rule ``town_code = '<the leader's town>'`` on every
  dataset that has a ``town_code`` column.
* ``village_leader``: ``village_code = '<the leader's village>'`` on every dataset with a ``village_code``,
  and ``town_code = '<its town>'`` on those with only a ``town_code``.
* ``analyst``: the leaders' access plus SQL Lab, limited to the ``marts`` schema.

A leader's area is in the account name: ``town_<9-digit town code>`` or ``village_<12-digit village code>``
(:func:`leader_username`). The rules are Jinja that Superset renders for each query with the user's name;
a name that does not carry a well-formed code of the role's level matches no row. So the roles and rules
are the same four whatever the size of the county (at scale M, one role per town and village had meant
22,000 roles, over an hour of API calls). Charts are cached per user (the database's ``per_user_caching``).

Leaders' roles hold Superset's ``Gamma`` permissions (which exclude SQL Lab) plus access to the warehouse's
datasets. Applying again updates every role and rule in place.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

RULE_PREFIX = "fupin "
COUNTY_ROLE = "county_leader"
TOWN_ROLE = "town_leader"
VILLAGE_ROLE = "village_leader"
ANALYST_ROLE = "analyst"
SQL_SCHEMA = "marts"
TOWN_PREFIX, TOWN_DIGITS = "town_", 9
VILLAGE_PREFIX, VILLAGE_DIGITS = "village_", 12
# the earlier layout's roles, one per town and village: deleted when provisioning (they hold dataset access)
LEGACY_AREA_ROLE = re.compile(rf"{TOWN_PREFIX}\d{{{TOWN_DIGITS}}}|{VILLAGE_PREFIX}\d{{{VILLAGE_DIGITS}}}")


class RoleError(RuntimeError):
    """Superset refused a role, permission or rule; the message carries its answer."""


@dataclass
class RolesReport:
    roles: dict[str, int] = field(default_factory=dict)  # role name -> id
    rules: int = 0
    rules_deleted: int = 0
    roles_deleted: int = 0
    datasets_by_town: int = 0
    datasets_by_village: int = 0
    datasets_county_wide: list[str] = field(default_factory=list)


def leader_username(level: str, code: str) -> tuple[str, str]:
    """(account name, role name) of the leader of the town or village ``code``."""
    prefix, digits, role = {
        "town": (TOWN_PREFIX, TOWN_DIGITS, TOWN_ROLE),
        "village": (VILLAGE_PREFIX, VILLAGE_DIGITS, VILLAGE_ROLE),
    }[level]
    if len(code) != digits or not code.isdigit():
        raise ValueError(f"a {level} code has {digits} digits, not {code!r}")
    return f"{prefix}{code}", role


def area_code_template(prefix: str, digits: int, keep: int | None = None) -> str:
    """Jinja for the area code in the current user's name (its first ``keep`` digits), else ``''``.

    Rendered by Superset inside a quoted SQL literal: only digits ever reach the SQL.
    """
    keep_digits = f"[:{keep}]" if keep else ""
    return (
        "{% set u = current_username() or '' %}"
        f"{{% set c = u[{len(prefix)}:] if u.startswith('{prefix}') else '' %}}"
        f"{{{{ c{keep_digits} if c|length == {digits} and c.isdigit() else '' }}}}"
    )


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
    dataset_columns: dict[str, set[str]],
    database_name: str,
) -> RolesReport:
    """Create or update the roles and their row-level-security rules in the Superset ``client`` talks to.

    ``dataset_columns`` maps each provisioned dataset's name (``table_name``) to its columns. The number of
    roles and rules does not grow with the county: a leader's area comes from the account name when Superset
    renders each query. Roles of an earlier layout (one per town and village) are deleted, so that no role
    keeps dataset access without its rule.
    """
    report = RolesReport()
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

    legacy = [role_id for name, role_id in roles.items() if LEGACY_AREA_ROLE.fullmatch(name)]
    for role_id in legacy:
        _check(client.delete(f"/api/v1/security/roles/{role_id}"), f"deleting legacy role {role_id}")
    report.roles_deleted = len(legacy)

    wanted = {COUNTY_ROLE: viewer, TOWN_ROLE: viewer, VILLAGE_ROLE: viewer, ANALYST_ROLE: analyst}
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
    town = area_code_template(TOWN_PREFIX, TOWN_DIGITS)
    village = area_code_template(VILLAGE_PREFIX, VILLAGE_DIGITS)
    rules: dict[str, dict[str, Any]] = {
        f"{RULE_PREFIX}town leaders": {
            "tables": by_town,
            "roles": [roles[TOWN_ROLE]],
            "clause": f"town_code = '{town}'",
            "description": "a town leader (account town_<town code>) sees only the rows of that town",
        },
        f"{RULE_PREFIX}village leaders": {
            "tables": by_village,
            "roles": [roles[VILLAGE_ROLE]],
            "clause": f"village_code = '{village}'",
            "description": "a village leader (account village_<village code>) sees only that village's rows",
        },
        f"{RULE_PREFIX}village leaders, town datasets": {
            "tables": town_only,
            "roles": [roles[VILLAGE_ROLE]],
            # a village code starts with its town's 9 digits (GB/T 2260 and the statistical division codes)
            "clause": f"town_code = '{area_code_template(VILLAGE_PREFIX, VILLAGE_DIGITS, keep=TOWN_DIGITS)}'",
            "description": "a village leader sees its town's rows where a dataset has no village",
        },
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
    # delete in batches: an earlier layout had one rule per town and village (22,000 at scale M)
    for at in range(0, len(stale), 200):
        batch = ",".join(map(str, stale[at : at + 200]))
        _check(
            client.delete("/api/v1/rowlevelsecurity/", params={"q": f"!({batch})"}), "deleting stale rules"
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
            "roles_deleted": report.roles_deleted,
            "datasets_by_town": report.datasets_by_town,
            "datasets_by_village": report.datasets_by_village,
            "datasets_county_wide": report.datasets_county_wide,
        },
        ensure_ascii=False,
    )
