"""Dashboards as code: the YAML in ``dashboards/assets/`` becomes one assets bundle imported into Superset.

The bundle is the format of ``GET /api/v1/dashboard/export/`` (database, dataset, charts, dashboard linked by
fixed uuids, ``metadata.yaml`` with ``type: assets``) and is posted to ``POST /api/v1/assets/import/``, which
overwrites every asset it contains: applying it twice leaves one copy of each, and the files win.

Two things are rendered at provisioning time: the database's ``sqlalchemy_uri`` (the warehouse file given,
always opened read-only) and the dashboard's ``position`` (built from its ``layout`` rows, each chart
referenced by ``meta.uuid`` so that exports and re-imports never duplicate charts).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from dashboards.roles import RolesReport, provision_roles

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
BUNDLE_ROOT = "fupin_assets"


class ProvisionError(RuntimeError):
    """The asset files are inconsistent, or Superset refused them; the message says which and why."""


@dataclass(frozen=True)
class Provisioned:
    """What :func:`provision` left in Superset: the first dashboard, and every dashboard by slug."""

    dashboard_id: int
    dashboard_url: str
    chart_ids: dict[str, int]  # chart uuid -> id
    chart_names: dict[str, str]  # chart uuid -> title
    dashboards: dict[str, Provisioned] = field(default_factory=dict)
    roles: RolesReport | None = None


def load_assets(assets_dir: Path = ASSETS_DIR) -> dict[str, dict[str, Any]]:
    """Read every YAML file of the asset tree, keyed by its path relative to ``assets_dir``."""
    files = sorted(p for p in assets_dir.rglob("*.yaml") if p.is_file())
    if not files:
        raise ProvisionError(f"no asset files (*.yaml) under {assets_dir}")
    assets: dict[str, dict[str, Any]] = {}
    for path in files:
        try:
            content = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ProvisionError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(content, dict):
            raise ProvisionError(f"{path}: expected a mapping at the top level")
        assets[path.relative_to(assets_dir).as_posix()] = content
    return assets


def _of_kind(assets: dict[str, dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in assets.items() if name.startswith(f"{kind}/")}


def _check_links(assets: dict[str, dict[str, Any]]) -> None:
    """Every uuid an asset refers to must belong to an asset of the bundle."""
    if assets.get("metadata.yaml", {}).get("type") != "assets":
        raise ProvisionError("metadata.yaml must say `type: assets` (the bundle overwrites on import)")
    databases = {str(body["uuid"]) for body in _of_kind(assets, "databases").values()}
    datasets = {str(body["uuid"]) for body in _of_kind(assets, "datasets").values()}
    charts = {str(body["uuid"]) for body in _of_kind(assets, "charts").values()}
    for name, body in _of_kind(assets, "datasets").items():
        if str(body.get("database_uuid")) not in databases:
            raise ProvisionError(f"{name}: database_uuid {body.get('database_uuid')} is not in databases/")
    for name, body in _of_kind(assets, "charts").items():
        if str(body.get("dataset_uuid")) not in datasets:
            raise ProvisionError(f"{name}: dataset_uuid {body.get('dataset_uuid')} is not in datasets/")
    for name, body in _of_kind(assets, "dashboards").items():
        for row in body.get("layout", []):
            for cell in row:
                if str(cell.get("chart")) not in charts:
                    raise ProvisionError(
                        f"{name}: layout refers to chart {cell.get('chart')}, not in charts/"
                    )
        for fltr in body.get("metadata", {}).get("native_filter_configuration", []):
            for target in fltr.get("targets", []):
                if "datasetUuid" in target and str(target["datasetUuid"]) not in datasets:
                    raise ProvisionError(f"{name}: filter {fltr.get('id')} targets an unknown dataset")


def render_database(database: dict[str, Any], warehouse_path: Path) -> dict[str, Any]:
    """Point the database at ``warehouse_path`` (absolute) and force read-only connections."""
    rendered = json.loads(json.dumps(database))
    rendered["sqlalchemy_uri"] = f"duckdb:///{Path(warehouse_path).resolve()}"
    extra = rendered.setdefault("extra", {}) or {}
    rendered["extra"] = extra
    extra.setdefault("engine_params", {}).setdefault("connect_args", {})["read_only"] = True
    # row-level security depends on the user's name (dashboards.roles): never serve one user's cached rows
    # to another
    extra["per_user_caching"] = True
    return rendered


def build_position(
    title: str, layout: list[list[dict[str, Any]]], charts: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Superset's ``position_json`` for rows of charts; each chart carries its ``meta.uuid``.

    ``chartId`` is a placeholder numbered from 1 in layout order: the importer replaces it with the chart's
    real id (and so the ids in native filters' scopes, see :func:`placeholder_ids`).
    """
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": title}},
    }
    placeholder = 0
    for row_number, row in enumerate(layout, start=1):
        row_id = f"ROW-{row_number}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {
            "type": "ROW",
            "id": row_id,
            "children": [],
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        for cell in row:
            placeholder += 1
            chart_uuid = str(cell["chart"])
            chart_key = f"CHART-{chart_uuid[:8]}"
            position[row_id]["children"].append(chart_key)
            position[chart_key] = {
                "type": "CHART",
                "id": chart_key,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "meta": {
                    "chartId": placeholder,
                    "uuid": chart_uuid,
                    "sliceName": charts[chart_uuid]["slice_name"],
                    "width": int(cell.get("width", 6)),
                    "height": int(cell.get("height", 50)),
                },
            }
    return position


def placeholder_ids(layout: list[list[dict[str, Any]]]) -> dict[str, int]:
    """Chart uuid -> the placeholder id :func:`build_position` gives it."""
    cells = [str(cell["chart"]) for row in layout for cell in row]
    return {chart_uuid: number for number, chart_uuid in enumerate(cells, start=1)}


def _render_dashboard(body: dict[str, Any], charts_by_uuid: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``layout`` becomes ``position``; filter scopes list charts by uuid in the files, by placeholder id here."""
    body = json.loads(json.dumps(body))
    layout = body.pop("layout", [])
    ids = placeholder_ids(layout)
    body["position"] = build_position(body["dashboard_title"], layout, charts_by_uuid)
    for fltr in body.get("metadata", {}).get("native_filter_configuration", []):
        scope = fltr.get("scope", {})
        scope["excluded"] = [ids.get(str(item), item) for item in scope.get("excluded", [])]
    return body


def build_bundle(warehouse_path: Path, assets_dir: Path = ASSETS_DIR) -> bytes:
    """The assets ZIP (in memory) for ``warehouse_path``, in the layout Superset's export produces."""
    assets = load_assets(assets_dir)
    _check_links(assets)
    charts_by_uuid = {str(body["uuid"]): body for body in _of_kind(assets, "charts").values()}
    rendered: dict[str, dict[str, Any]] = {}
    for name, body in assets.items():
        if name.startswith("databases/"):
            body = render_database(body, warehouse_path)
        elif name.startswith("dashboards/"):
            body = _render_dashboard(body, charts_by_uuid)
        rendered[name] = body
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, body in rendered.items():
            text = yaml.safe_dump(body, allow_unicode=True, sort_keys=False)
            bundle.writestr(f"{BUNDLE_ROOT}/{name}", text)
    return buffer.getvalue()


def login(base_url: str, username: str, password: str, timeout: float = 60.0) -> httpx.Client:
    """An API client for ``base_url`` holding a bearer token, the session cookie and a CSRF token."""
    client = httpx.Client(base_url=base_url, timeout=timeout)
    response = client.post(
        "/api/v1/security/login",
        json={"username": username, "password": password, "provider": "db", "refresh": False},
    )
    if response.status_code != 200:
        client.close()
        raise ProvisionError(
            f"login as {username!r} at {base_url} failed: HTTP {response.status_code} {response.text}"
        )
    client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    csrf = client.get("/api/v1/security/csrf_token/")
    if csrf.status_code != 200:
        client.close()
        raise ProvisionError(f"no CSRF token from {base_url}: HTTP {csrf.status_code} {csrf.text[:500]}")
    client.headers["X-CSRFToken"] = csrf.json()["result"]
    client.headers["Referer"] = base_url
    return client


def import_bundle(client: httpx.Client, bundle: bytes) -> None:
    """POST the bundle to ``/api/v1/assets/import/`` (which overwrites); raise with Superset's answer."""
    response = client.post(
        "/api/v1/assets/import/",
        files={"bundle": ("fupin_assets.zip", bundle, "application/zip")},
        data={"passwords": "{}"},
    )
    if response.status_code != 200:
        raise ProvisionError(
            f"Superset refused the assets bundle: HTTP {response.status_code}\n{response.text[:4000]}"
        )


def dashboard_of(client: httpx.Client, slug: str) -> Provisioned:
    """The dashboard ``slug`` and its charts as Superset now has them."""
    response = client.get(f"/api/v1/dashboard/{slug}")
    if response.status_code != 200:
        raise ProvisionError(f"dashboard {slug!r} not found after import: HTTP {response.status_code}")
    dashboard = response.json()["result"]
    charts = client.get(f"/api/v1/dashboard/{slug}/charts")
    if charts.status_code != 200:
        raise ProvisionError(f"charts of dashboard {slug!r}: HTTP {charts.status_code} {charts.text[:500]}")
    position = json.loads(dashboard.get("position_json") or "{}")
    uuid_by_id = {
        node["meta"]["chartId"]: node["meta"]["uuid"]
        for node in position.values()
        if isinstance(node, dict) and node.get("type") == "CHART" and "uuid" in node.get("meta", {})
    }
    chart_ids: dict[str, int] = {}
    chart_names: dict[str, str] = {}
    for chart in charts.json()["result"]:
        chart_uuid = uuid_by_id.get(chart["id"])
        if chart_uuid is None:
            raise ProvisionError(f"chart {chart['id']} of dashboard {slug!r} is not in its layout")
        chart_ids[chart_uuid] = chart["id"]
        chart_names[chart_uuid] = chart["slice_name"]
    return Provisioned(
        dashboard_id=dashboard["id"],
        dashboard_url=f"/superset/dashboard/{slug}/",
        chart_ids=chart_ids,
        chart_names=chart_names,
    )


def dataset_columns(assets: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    """Dataset name -> its column names, from the asset files."""
    return {
        body["table_name"]: {c["column_name"] for c in body.get("columns", [])}
        for body in _of_kind(assets, "datasets").values()
    }


def provision(
    base_url: str,
    username: str,
    password: str,
    warehouse_path: Path,
    assets_dir: Path = ASSETS_DIR,
    roles: bool = True,
) -> Provisioned:
    """Import the dashboards, charts, datasets and database into the Superset at ``base_url``; then create
    or update the roles and row-level-security rules (:mod:`dashboards.roles`) unless ``roles`` is false.

    ``warehouse_path`` is the published DuckDB file; Superset opens it read-only. Idempotent: running it
    again replaces every asset with the definitions in ``assets_dir`` and creates no copies. Returns the
    county overview (or the first dashboard) with every dashboard by slug in ``dashboards``.
    """
    warehouse_path = Path(warehouse_path)
    if not warehouse_path.is_file():
        raise ProvisionError(f"the warehouse file {warehouse_path} does not exist (run the pipeline first)")
    bundle = build_bundle(warehouse_path, assets_dir)
    assets = load_assets(assets_dir)
    slugs = [body["slug"] for body in _of_kind(assets, "dashboards").values()]
    slugs.sort(key=lambda slug: slug != "county-overview")
    database_name = next(iter(_of_kind(assets, "databases").values()))["database_name"]
    client = login(base_url, username, password)
    try:
        import_bundle(client, bundle)
        dashboards = {slug: dashboard_of(client, slug) for slug in slugs}
        report = provision_roles(client, dataset_columns(assets), database_name) if roles else None
    finally:
        client.close()
    first = dashboards[slugs[0]]
    return Provisioned(
        dashboard_id=first.dashboard_id,
        dashboard_url=first.dashboard_url,
        chart_ids=first.chart_ids,
        chart_names=first.chart_names,
        dashboards=dashboards,
        roles=report,
    )
