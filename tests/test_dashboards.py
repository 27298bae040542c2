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
from dashboards.roles import (
    ANALYST_ROLE,
    COUNTY_ROLE,
    TOWN_ROLE,
    VILLAGE_ROLE,
    ensure_user,
    leader_username,
)
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
    chart = yaml.safe_load((ASSETS_DIR / "charts" / "status_bar.yaml").read_text())
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
    chart_file = changed / "charts" / "status_bar.yaml"
    chart_file.write_text(chart_file.read_text().replace("Households by status per town", "Households (v2)"))
    second = provision(superset.url, *admin, published_warehouse, assets_dir=changed, roles=False)
    assert _counts(api) == before
    assert second.chart_ids == provisioned.chart_ids
    bar = next(uuid for uuid, name in provisioned.chart_names.items() if BAR_CHART in name)
    assert (
        api.get(f"/api/v1/chart/{second.chart_ids[bar]}")
        .json()["result"]["slice_name"]
        .endswith("Households (v2)")
    )

    # a role of the earlier layout (one per town, with dataset access) is deleted, never left without its rule
    legacy = api.post("/api/v1/security/roles/", json={"name": "town_999999999"})
    assert legacy.status_code in (200, 201), legacy.text
    third = provision(superset.url, *admin, published_warehouse)
    assert _counts(api) == before
    assert third.chart_names == provisioned.chart_names
    assert third.roles is not None and third.roles.roles_deleted == 1
    names = {
        r["name"]
        for r in api.get("/api/v1/security/roles/", params={"q": "(page_size:100)"}).json()["result"]
    }
    assert "town_999999999" not in names and TOWN_ROLE in names


def test_a_chart_error_fails_the_browser_check(superset, admin, provisioned, published_warehouse, tmp_path):
    import duckdb

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    provision(superset.url, *admin, empty, roles=False)
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
    assert f"县级总览 County overview: {len(provisioned.chart_ids)} charts" in proc.stderr


# ------------------------------------------------------------------------------ every dashboard, roles, RLS
USER_PASSWORD = "Fupin-test-2017"  # test users only, in a throwaway Superset


def _warehouse_rows(warehouse: Path, sql: str) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def towns(published_warehouse) -> list[tuple[str, str]]:
    """(town code, town name) of the published warehouse."""
    return _warehouse_rows(
        published_warehouse,
        "select distinct town_code, town_name from marts.status_by_village order by town_code",
    )


@pytest.fixture(scope="module")
def users(superset, admin, provisioned, towns) -> dict[str, tuple[str, str]]:
    """The county leader, the leaders of the first two towns, an analyst, and a town-leader account whose name
    carries no town (it must see nothing)."""
    assert provisioned.roles is not None
    roles = provisioned.roles.roles
    wanted = {
        "county": ("test_county", [COUNTY_ROLE]),
        "town": (leader_username("town", towns[0][0])[0], [TOWN_ROLE]),
        "town2": (leader_username("town", towns[1][0])[0], [TOWN_ROLE]),
        "nameless_town": ("test_town_leader", [TOWN_ROLE]),
        "analyst": ("test_analyst", [ANALYST_ROLE]),
    }
    client = login(superset.url, *admin)
    try:
        for username, role_names in wanted.values():
            ensure_user(client, username, USER_PASSWORD, role_names, roles)
    finally:
        client.close()
    return {name: (username, USER_PASSWORD) for name, (username, _) in wanted.items()}


def _number(text: str) -> float:
    digits = "".join(ch for ch in text.split("\n")[0] if ch.isdigit() or ch in ".-%")
    return float(digits.rstrip("%"))


def test_roles_do_not_grow_with_the_county(provisioned):
    report = provisioned.roles
    # one role per level and at most three rules, whatever the number of towns and villages: towns, villages,
    # and villages on datasets that have only a town
    assert set(report.roles) == {COUNTY_ROLE, TOWN_ROLE, VILLAGE_ROLE, ANALYST_ROLE}
    assert report.rules == 2 + (report.datasets_by_town > report.datasets_by_village)
    assert report.datasets_by_town >= 1 and report.datasets_by_village >= 1


def test_every_dashboard_renders_with_data_as_the_county_leader(superset, provisioned, users):
    assert len(provisioned.dashboards) >= 1
    for slug, dashboard in provisioned.dashboards.items():
        shot = SCREENSHOTS / f"{slug}.png"
        shot.unlink(missing_ok=True)
        render = check_dashboard(superset.url, *users["county"], slug, shot)
        TIMINGS[f"load_s:{slug}"] = round(render.seconds, 2)
        assert sorted(c.chart_id for c in render.charts) == sorted(dashboard.chart_ids.values()), slug
        for chart in render.charts:
            assert chart.error is None and not chart.loading, (slug, chart)
            assert chart.has_data, f"{slug}: {chart.name} rendered no data"
        assert shot.stat().st_size > 20_000


def test_displayed_figures_equal_the_marts(superset, provisioned, users, published_warehouse):
    render = check_dashboard(superset.url, *users["county"], DASHBOARD, SCREENSHOTS / "county-overview.png")
    shown = {c.name: c for c in render.charts}
    checks = {
        "贫困户(现有)": "select sum(households) from marts.status_by_village where status_label in ('red','yellow')",
        "已脱贫户": "select sum(households) from marts.status_by_village where status_label = 'green'",
        "帮扶中户": "select sum(households) from marts.status_by_village where status_label = 'yellow'",
    }
    compared = 0
    for title, sql in checks.items():
        chart = next((c for name, c in shown.items() if name.startswith(title)), None)
        if chart is None:
            continue
        (expected,) = _warehouse_rows(published_warehouse, sql)[0]
        assert _number(chart.text) == expected, (title, chart.text, expected)
        compared += 1
    assert compared >= 1, f"no KPI to compare among {list(shown)}"


def test_a_town_role_sees_only_its_town(superset, provisioned, users, towns, expected_status_counts):
    code, name = towns[0]
    render = check_dashboard(
        superset.url, *users["town"], DASHBOARD, SCREENSHOTS / "county-overview-as-town.png"
    )
    cells = render.chart(PIVOT_CHART).pivot()
    assert {row for row, _ in cells} == {name}
    assert _pivot_counts(cells, [name]) == _all_counts(expected_status_counts, [name])
    other_towns = [n for _, n in towns if n != name]
    for chart in render.charts:
        for other in other_towns:
            assert other not in chart.text, f"{chart.name} shows {other} to {name}'s role"
    # the next town's leader, same role and same charts just cached for the first: only its own town
    code2, name2 = towns[1]
    render = check_dashboard(
        superset.url, *users["town2"], DASHBOARD, SCREENSHOTS / "county-overview-as-town2.png"
    )
    cells = render.chart(PIVOT_CHART).pivot()
    assert {row for row, _ in cells} == {name2}
    assert _pivot_counts(cells, [name2]) == _all_counts(expected_status_counts, [name2])


def test_a_town_leader_account_without_a_town_sees_nothing(superset, provisioned, users, towns):
    render = check_dashboard(
        superset.url,
        *users["nameless_town"],
        DASHBOARD,
        SCREENSHOTS / "county-overview-no-town.png",
        allow_empty=True,
    )
    pivot = render.chart(PIVOT_CHART)
    assert pivot.empty and pivot.rows == 0, pivot
    for chart in render.charts:
        assert chart.error is None, chart
        for _, name in towns:
            assert name not in chart.text, f"{chart.name} shows {name} to an account with no town"


def test_another_towns_household_card_cannot_be_opened(
    superset, provisioned, users, towns, published_warehouse
):
    if "household-card" not in provisioned.dashboards:
        pytest.skip("the household card mart is not in this warehouse")
    other_code = towns[1][0]
    (household,) = _warehouse_rows(
        published_warehouse,
        # a household with something on every chart of the card, so the county leader sees no empty chart
        "select min(c.household_id) from marts.household_card c"
        " where c.town_code = '" + other_code + "'"
        " and c.household_id in (select household_id from marts.open_demands)"
        " and c.household_id in (select household_id from core.fct_visit)",
    )[0]
    assert household is not None, f"town {other_code} has no household with open demands and visits"
    pick = {"NATIVE_FILTER-fupin-household": ("household_id", [household])}
    # the county leader opens it ...
    seen = check_dashboard(
        superset.url,
        *users["county"],
        "household-card",
        SCREENSHOTS / "household-card-county.png",
        native_filters=pick,
    )
    assert str(household) in seen.chart("家庭 Family").text
    # ... the first town's leader gets no rows on any chart of the card
    hidden = check_dashboard(
        superset.url,
        *users["town"],
        "household-card",
        SCREENSHOTS / "household-card-other-town.png",
        native_filters=pick,
        allow_empty=True,
    )
    for chart in hidden.charts:
        assert str(household) not in chart.text, chart.name
    family = hidden.chart("家庭 Family")
    assert family.empty and family.rows == 0 and not family.has_data, family


def test_clicking_a_household_number_opens_its_card(superset, provisioned, users, published_warehouse):
    if "household-card" not in provisioned.dashboards:
        pytest.skip("the household card mart is not in this warehouse")
    (household, listed) = _warehouse_rows(
        published_warehouse,
        "select min(household_id), (select count(*) from marts.household_card) <= 500 from marts.household_card"
        " where household_id in (select household_id from marts.open_demands)"
        " and household_id in (select household_id from core.fct_visit)",
    )[0]
    assert household is not None and listed, "the test county's households should all be in the list"
    clicked = check_dashboard(
        superset.url,
        *users["county"],
        "household-card",
        SCREENSHOTS / "household-card-clicked.png",
        click=("户列表", str(household)),
    )
    family = clicked.chart("家庭 Family")
    assert family.rows == 1 and str(household) in family.text, family
    assert str(household) in clicked.chart("未办结诉求").text


def test_leaders_have_no_sql_lab_and_analysts_only_the_marts(superset, provisioned, users):
    def run_sql(user: tuple[str, str], sql: str) -> httpx.Response:
        client = login(superset.url, *user)
        try:
            database = client.get("/api/v1/database/", params={"q": "(page_size:100)"}).json()["result"]
            return client.post(
                "/api/v1/sqllab/execute/",
                json={"database_id": database[0]["id"], "sql": sql, "runAsync": False},
            )
        finally:
            client.close()

    marts_sql = "select count(*) as n from marts.status_by_village"
    assert run_sql(users["county"], marts_sql).status_code in (401, 403)
    assert run_sql(users["town"], marts_sql).status_code in (401, 403)
    allowed = run_sql(users["analyst"], marts_sql)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["data"][0]["n"] > 0
    refused = run_sql(users["analyst"], "select count(*) as n from raw.households")
    # Superset answers a table the role may not read with its security error (HTTP 500 in 6.1)
    assert refused.status_code != 200 and "TABLE_SECURITY_ACCESS_ERROR" in refused.text, refused.text


@pytest.mark.parametrize(
    "username, town, village_town",
    [
        ("town_341623101", "341623101", ""),
        ("village_341623101201", "", "341623101"),
        ("test_county", "", ""),
        ("town_34162310", "", ""),  # too short
        ("town_34162310x", "", ""),  # not digits
        ("town_1' or '1'='1", "", ""),  # never reaches the SQL
        ("village_341623101", "", ""),  # a town's code under the village prefix
        (None, "", ""),  # no user
    ],
)
def test_the_area_comes_only_from_a_well_formed_account_name(username, town, village_town):
    from jinja2.sandbox import SandboxedEnvironment

    from dashboards.roles import TOWN_DIGITS, TOWN_PREFIX, VILLAGE_DIGITS, VILLAGE_PREFIX, area_code_template

    env = SandboxedEnvironment()
    context = {"current_username": lambda: username}
    render = env.from_string(area_code_template(TOWN_PREFIX, TOWN_DIGITS)).render
    assert render(**context) == town
    render = env.from_string(area_code_template(VILLAGE_PREFIX, VILLAGE_DIGITS, keep=TOWN_DIGITS)).render
    assert render(**context) == village_town
