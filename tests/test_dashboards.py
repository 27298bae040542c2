"""The dashboards end to end: a real Superset 6.1.0 (gunicorn on 127.0.0.1, its own locked environment, a
temporary state directory) provisioned from ``dashboards/assets``, checked in Debian's headless Chromium.

Inputs are two fixtures: ``published_warehouse`` (the DuckDB file Superset reads) and
``expected_status_counts`` ((town name, status label) -> households), from ``tests/conftest.py``: a real
Airflow run of the daily DAG over a generated county, and the counts taken straight from its PostgreSQL.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from dashboards import server
from dashboards.browser import DashboardCheckError, check_dashboard
from dashboards.provision import ASSETS_DIR, Provisioned, login, provision
from fupin.settings import REPO_ROOT, Settings

pytestmark = pytest.mark.browser

SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
DASHBOARD = "county-overview"
TOWN_FILTER = "NATIVE_FILTER-fupin-town"
STATUS_NAMES = {"red": "未脱贫", "yellow": "帮扶中", "green": "已脱贫"}  # the warehouse contract
BAR_CHART = "Households by status per town"
PIVOT_CHART = "Households by town and status"
TIMINGS: dict[str, float] = {}


def _bar_colours() -> dict[str, str]:
    """Status label -> the colour the bar chart's definition gives it (lower-case hex)."""
    chart = yaml.safe_load((ASSETS_DIR / "charts" / "households_by_status_per_town.yaml").read_text())
    colours = {}
    for series, colour in chart["params"]["label_colors"].items():
        label = next(label for label, name in STATUS_NAMES.items() if series.endswith(name))
        colours[label] = colour.lower()
    return colours


@pytest.fixture(scope="module")
def superset_settings(tmp_path_factory) -> Settings:
    return Settings(state_dir=tmp_path_factory.mktemp("superset-state"))


@pytest.fixture(scope="module")
def superset(superset_settings):
    """Superset installed from the lock, initialised, and served by gunicorn; stopped at the end."""
    started = time.perf_counter()
    server.ensure_environment(superset_settings)
    TIMINGS["install_s"] = time.perf_counter() - started
    started = time.perf_counter()
    assert server.init_metadata(superset_settings) is True
    TIMINGS["init_s"] = time.perf_counter() - started
    started = time.perf_counter()
    running = server.start(superset_settings)
    TIMINGS["start_s"] = time.perf_counter() - started
    yield running
    running.stop()
    assert not running.is_running()
    SCREENSHOTS.parent.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS.parent / "dashboards-timings.json").write_text(json.dumps(TIMINGS, indent=2) + "\n")


@pytest.fixture(scope="module")
def admin(superset_settings, superset) -> tuple[str, str]:
    return server.admin_credentials(superset_settings)


@pytest.fixture(scope="module")
def provisioned(superset, admin, published_warehouse) -> Provisioned:
    started = time.perf_counter()
    result = provision(superset.url, *admin, published_warehouse)
    TIMINGS["provision_s"] = time.perf_counter() - started
    return result


@pytest.fixture()
def api(superset, admin):
    client = login(superset.url, *admin)
    yield client
    client.close()


def _count(api: httpx.Client, resource: str) -> int:
    response = api.get(f"/api/v1/{resource}/", params={"q": "(page_size:100)"})
    assert response.status_code == 200, response.text
    return response.json()["count"]


def _pivot_counts(cells: dict[tuple[str, str], str], towns: list[str]) -> dict[tuple[str, str], int]:
    """(town, status label) -> households as the pivot shows them; a combination not shown counts 0."""
    label_of = {name: label for label, name in STATUS_NAMES.items()}
    unknown = {name for _, name in cells} - set(label_of)
    assert not unknown, f"the pivot shows statuses outside the contract: {unknown}"
    shown = {(town, label_of[name]): int(text.replace(",", "") or 0) for (town, name), text in cells.items()}
    return {(town, label): shown.get((town, label), 0) for town in towns for label in STATUS_NAMES}


def _all_counts(expected: dict[tuple[str, str], int], towns: list[str]) -> dict[tuple[str, str], int]:
    return {(town, label): expected.get((town, label), 0) for town in towns for label in STATUS_NAMES}


def _counts(api: httpx.Client) -> dict[str, int]:
    return {kind: _count(api, kind) for kind in ("database", "dataset", "chart", "dashboard")}


def test_superset_runs_the_pipelines_duckdb(superset_settings, superset):
    venv_python = server.venv_dir(superset_settings) / "bin" / "python"
    probe = "import duckdb, importlib.metadata as m; print(duckdb.__version__, m.version('apache-superset'))"
    out = subprocess.run([str(venv_python), "-c", probe], capture_output=True, text=True, check=True).stdout
    import duckdb

    assert out.split() == [duckdb.__version__, "6.1.0"]
    assert str(superset.url).startswith("http://127.0.0.1:")
    assert httpx.get(f"{superset.url}/health", timeout=10).text == "OK"


def test_secrets_are_generated_once_and_private(superset_settings, superset, admin):
    home = superset_settings.superset_home
    for name in ("secret_key", "admin_password"):
        mode = stat.S_IMODE((home / name).stat().st_mode)
        assert mode == 0o600, f"{name} has mode {oct(mode)}"
    assert server.admin_credentials(superset_settings) == admin
    assert (home / "admin_password").read_text().strip() == admin[1]
    # initialised once: a second call is skipped
    started = time.perf_counter()
    assert server.init_metadata(superset_settings) is False
    assert time.perf_counter() - started < 1
    assert (
        httpx.post(
            f"{superset.url}/api/v1/security/login",
            json={"username": admin[0], "password": admin[1] + "x", "provider": "db"},
            timeout=30,
        ).status_code
        == 401
    )


def test_the_warehouse_is_opened_read_only(api, provisioned, published_warehouse):
    databases = api.get("/api/v1/database/", params={"q": "(page_size:100)"}).json()["result"]
    assert len(databases) == 1
    database = api.get(f"/api/v1/database/{databases[0]['id']}/connection").json()["result"]
    assert database["sqlalchemy_uri"] == f"duckdb:///{Path(published_warehouse).resolve()}"
    extra = json.loads(database["extra"])
    assert extra["engine_params"]["connect_args"]["read_only"] is True
    # DuckDB itself says the connection Superset opened is read-only.
    answer = api.post(
        "/api/v1/sqllab/execute/",
        json={
            "database_id": databases[0]["id"],
            "sql": "select current_setting('access_mode') as mode",
            "runAsync": False,
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == [{"mode": "read_only"}]


def test_dashboard_renders_every_chart_with_the_warehouse_figures(
    superset,
    admin,
    provisioned,
    expected_status_counts,
):
    shot = SCREENSHOTS / "county-overview.png"
    shot.unlink(missing_ok=True)
    render = check_dashboard(superset.url, *admin, DASHBOARD, shot)
    TIMINGS["browser_check_s"] = render.seconds

    assert render.title == "县级总览 County overview"
    assert sorted(c.chart_id for c in render.charts) == sorted(provisioned.chart_ids.values())
    for chart in render.charts:
        assert chart.error is None and not chart.loading, chart
        assert chart.has_data, f"{chart.name} rendered no data"
    assert shot.stat().st_size > 20_000

    # The pivot's cells, as text in the page, equal the expected households per town and status.
    towns = sorted({town for town, _ in expected_status_counts})
    assert _pivot_counts(render.chart(PIVOT_CHART).pivot(), towns) == _all_counts(
        expected_status_counts, towns
    )
    # Chinese town names are text in the DOM (not pictures), and a CJK font is there to draw them.
    pivot_text = render.chart(PIVOT_CHART).text
    for town in towns:
        assert town in pivot_text
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout
    assert fonts.strip(), (
        "no CJK font installed: Chinese would render as boxes (apt-get install fonts-noto-cjk)"
    )

    # The stacked bars are drawn in the status colours: red, amber and green each cover a real area.
    colours = render.chart(BAR_CHART).canvas_colours
    drawn = sum(colours.values())
    for label, colour in _bar_colours().items():
        if any(v for (_, lb), v in expected_status_counts.items() if lb == label):
            assert colours.get(colour, 0) > 0.05 * drawn, (
                f"{label} ({colour}) barely drawn: {colours.get(colour)}"
            )


def test_the_town_filter_narrows_every_chart(superset, admin, provisioned, expected_status_counts):
    town = sorted({town for town, _ in expected_status_counts})[0]
    render = check_dashboard(
        superset.url,
        *admin,
        DASHBOARD,
        SCREENSHOTS / "county-overview-one-town.png",
        native_filters={TOWN_FILTER: ("town_name", [town])},
    )
    assert all(chart.has_data and chart.error is None for chart in render.charts)
    cells = render.chart(PIVOT_CHART).pivot()
    assert {row for row, _ in cells} == {town}
    assert _pivot_counts(cells, [town]) == _all_counts(expected_status_counts, [town])


def test_provisioning_again_keeps_one_copy_and_the_files_win(
    superset,
    admin,
    provisioned,
    published_warehouse,
    api,
    tmp_path,
):
    before = _counts(api)
    in_files = {kind: len(list((ASSETS_DIR / f"{kind}s").rglob("*.yaml"))) for kind in before}
    assert before == in_files

    changed = tmp_path / "assets"
    shutil.copytree(ASSETS_DIR, changed)
    chart_file = changed / "charts" / "households_by_status_per_town.yaml"
    chart_file.write_text(chart_file.read_text().replace("Households by status per town", "Households (v2)"))
    second = provision(superset.url, *admin, published_warehouse, assets_dir=changed)
    assert _counts(api) == before
    assert second.chart_ids == provisioned.chart_ids
    bar = next(uuid for uuid, name in provisioned.chart_names.items() if BAR_CHART in name)
    assert (
        api.get(f"/api/v1/chart/{second.chart_ids[bar]}")
        .json()["result"]["slice_name"]
        .endswith("Households (v2)")
    )

    third = provision(superset.url, *admin, published_warehouse)
    assert _counts(api) == before
    assert third.chart_names == provisioned.chart_names


def test_a_chart_error_fails_the_browser_check(superset, admin, provisioned, published_warehouse, tmp_path):
    import duckdb

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    provision(superset.url, *admin, empty)
    try:
        with pytest.raises(DashboardCheckError, match="status_by_village"):
            check_dashboard(superset.url, *admin, DASHBOARD, tmp_path / "broken.png", timeout=90)
    finally:
        provision(superset.url, *admin, published_warehouse)


def test_the_command_line_takes_a_screenshot(superset, superset_settings, provisioned, tmp_path):
    out = tmp_path / "cli.png"
    env = {**os.environ, "FUPIN_STATE_DIR": str(superset_settings.state_dir)}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from dashboards.cli import app; app()",
            "screenshot",
            "--url",
            superset.url,
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out.stat().st_size > 20_000
    assert "县级总览 County overview: 2 charts" in proc.stderr
