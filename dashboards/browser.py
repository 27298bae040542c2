"""A real browser check of a Superset dashboard: log in, open it in headless Chromium, wait until every chart
has finished loading, fail on any chart error, save a screenshot, and return what the charts show.

Chromium is Debian's (``/usr/bin/chromium``, driven by Playwright over CDP; no browser download). The login
is the ordinary form POST to ``/login/`` with the page's CSRF token; the session cookie is handed to the
browser. What comes back is the text each chart renders in the DOM (table and pivot cells, axis labels),
each HTML table as a grid of cell texts, and for canvas charts (ECharts) a histogram of their pixel colours.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
_CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"', re.S)


class DashboardCheckError(RuntimeError):
    """The dashboard could not be opened, or a chart failed, did not finish, or showed an error."""


@dataclass
class ChartRender:
    """One chart as the browser shows it."""

    chart_id: int
    name: str
    viz_type: str
    loading: bool
    error: str | None
    text: str
    tables: list[list[list[str]]] = field(default_factory=list)
    kinds: list[list[list[str]]] = field(default_factory=list)
    canvas_colours: dict[str, int] = field(default_factory=dict)
    rows: int | None = None  # rows in the chart's data response, as the browser received it
    empty: bool = False  # Superset's "no results" state
    query_context: dict | None = None  # the body of the chart's data request, as the browser sent it
    request_ms: float | None = None  # that request's time, from sending it to the response's last byte

    def pivot(self) -> dict[tuple[str, str], str]:
        """A pivot table's value cells as ``{(row label, innermost column label): text}`` (totals left out).

        Uses the pivot's own cell classes: ``pvtRowLabel`` starts a body row, ``pvtVal`` cells follow in the
        order of the ``pvtColLabel`` cells of the last header row that has them.
        """
        for grid, kinds in zip(self.tables, self.kinds, strict=True):
            header = [
                [text for text, kind in zip(row, row_kinds, strict=True) if kind == "col"]
                for row, row_kinds in zip(grid, kinds, strict=True)
                if "val" not in row_kinds
            ]
            columns = next((labels for labels in reversed(header) if labels), None)
            if not columns:
                continue
            cells: dict[tuple[str, str], str] = {}
            for row, row_kinds in zip(grid, kinds, strict=True):
                labels = [text for text, kind in zip(row, row_kinds, strict=True) if kind == "row"]
                values = [text for text, kind in zip(row, row_kinds, strict=True) if kind == "val"]
                if labels and values:
                    if len(values) != len(columns):
                        raise ValueError(
                            f"{self.name}: row {labels} has {len(values)} values for columns {columns}"
                        )
                    for column, value in zip(columns, values, strict=True):
                        cells[(labels[-1], column)] = value
            return cells
        raise ValueError(f"{self.name}: no pivot table rendered (tables: {self.tables})")

    @property
    def has_data(self) -> bool:
        """Rendered data: a table with body cells, a drawn canvas, a big number, or a map (WebGL) whose
        data response had rows."""
        if self.empty or self.error:
            return False
        if any(len(table) > 1 for table in self.tables) or sum(self.canvas_colours.values()) > 0:
            return True
        if self.viz_type.startswith("big_number"):
            return any(ch.isdigit() for ch in self.text)
        return bool(self.rows)


@dataclass
class DashboardRender:
    """The result of :func:`check_dashboard`."""

    url: str
    title: str
    screenshot: Path
    charts: list[ChartRender]
    seconds: float  # from logging in until every chart had finished (before the screenshot)

    def chart(self, name_part: str) -> ChartRender:
        """The chart whose title contains ``name_part``."""
        for chart in self.charts:
            if name_part in chart.name:
                return chart
        raise KeyError(f"no chart titled like {name_part!r}; charts: {[c.name for c in self.charts]}")


def _rison(value: Any) -> str:
    """Encode ``value`` as Rison, the URL-friendly JSON that Superset's dashboard URLs use."""
    if value is None:
        return "!n"
    if value is True:
        return "!t"
    if value is False:
        return "!f"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        if value and re.fullmatch(r"[A-Za-z_./~-][A-Za-z0-9_./~-]*", value):
            return value
        return "'" + value.replace("!", "!!").replace("'", "!'") + "'"
    if isinstance(value, list | tuple):
        return "!(" + ",".join(_rison(item) for item in value) + ")"
    if isinstance(value, dict):
        return "(" + ",".join(f"{_rison(str(key))}:{_rison(item)}" for key, item in value.items()) + ")"
    raise TypeError(f"cannot encode {type(value).__name__} as Rison")


def native_filters_param(selections: dict[str, tuple[str, list[str]]]) -> str:
    """The ``native_filters`` URL parameter that opens a dashboard with filters applied.

    ``selections`` maps a native filter's id to (column, selected values).
    """
    return _rison(
        {
            filter_id: {
                "id": filter_id,
                "extraFormData": {"filters": [{"col": column, "op": "IN", "val": list(values)}]},
                "filterState": {"value": list(values)},
                "ownState": {},
            }
            for filter_id, (column, values) in selections.items()
        }
    )


def login_cookies(base_url: str, username: str, password: str) -> list[dict[str, Any]]:
    """Log in through the ``/login/`` form (with its CSRF token); return the cookies for the browser."""
    with httpx.Client(base_url=base_url, timeout=60, follow_redirects=False) as client:
        page = client.get("/login/")
        match = _CSRF_INPUT.search(page.text)
        if page.status_code != 200 or not match:
            raise DashboardCheckError(
                f"no login form with a csrf_token at {base_url}/login/ (HTTP {page.status_code})"
            )
        answer = client.post(
            "/login/", data={"username": username, "password": password, "csrf_token": match.group(1)}
        )
        if answer.status_code not in (302, 303) or "session" not in client.cookies:
            raise DashboardCheckError(
                f"login as {username!r} refused at {base_url}/login/ (HTTP {answer.status_code})"
            )
        me = client.get("/api/v1/me/")
        if me.status_code != 200:
            raise DashboardCheckError(f"logged in, but /api/v1/me/ answered HTTP {me.status_code}")
        return [{"name": name, "value": value, "url": base_url} for name, value in client.cookies.items()]


def dashboard_chart_count(base_url: str, cookies: list[dict[str, Any]], dashboard: str) -> int:
    """How many charts the dashboard (id or slug) has, from Superset's API."""
    jar = {cookie["name"]: cookie["value"] for cookie in cookies}
    response = httpx.get(f"{base_url}/api/v1/dashboard/{dashboard}/charts", cookies=jar, timeout=60)
    if response.status_code != 200:
        raise DashboardCheckError(
            f"dashboard {dashboard!r}: HTTP {response.status_code} {response.text[:300]}"
        )
    return len(response.json()["result"])


# Runs in the page: the state of every chart of the dashboard.
_CHART_STATES_JS = r"""
() => {
  const charts = [];
  for (const el of document.querySelectorAll('[data-test="chart-grid-component"]')) {
    const holder = el.closest('[data-test="dashboard-component-chart-holder"]') || el;
    const loading = holder.querySelector(
      '[data-test="loading-indicator"], .loading, .ant-skeleton, .ant-spin-spinning') !== null;
    const errorEl = holder.querySelector(
      '.ant-alert-error, .ant-alert-warning, [data-test="error-tooltip"]');
    const emptyEl = holder.querySelector('[data-test="empty-state"], .ant-empty')
      || (/No results were returned/.test(holder.innerText || '') ? holder : null);
    const body = holder.querySelector('[data-test="chart-container"]');
    const tables = [];
    const kinds = [];
    const kindOf = (c) => c.classList.contains('pvtColLabel') ? 'col'
      : c.classList.contains('pvtRowLabel') ? 'row'
      : c.classList.contains('pvtVal') ? 'val'
      : (c.classList.contains('pvtTotal') || c.classList.contains('pvtGrandTotal')) ? 'total' : '';
    for (const table of holder.querySelectorAll('table')) {
      const rows = [];
      const rowKinds = [];
      for (const tr of table.querySelectorAll('tr')) {
        const cells = Array.from(tr.querySelectorAll('th, td'));
        rows.push(cells.map((c) => c.innerText.trim()));
        rowKinds.push(cells.map(kindOf));
      }
      tables.push(rows);
      kinds.push(rowKinds);
    }
    const colours = {};
    let webgl = false;
    for (const canvas of holder.querySelectorAll('canvas')) {
      if (!canvas.width || !canvas.height) continue;
      const ctx = canvas.getContext('2d');
      if (!ctx) { webgl = true; continue; }  // a WebGL canvas (deck.gl): judged by its data response
      const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] < 250) continue;
        const hex = '#' + [data[i], data[i + 1], data[i + 2]]
          .map((v) => v.toString(16).padStart(2, '0')).join('');
        colours[hex] = (colours[hex] || 0) + 1;
      }
    }
    charts.push({
      chart_id: Number(el.getAttribute('data-test-chart-id')),
      name: el.getAttribute('data-test-chart-name') || '',
      viz_type: el.getAttribute('data-test-viz-type') || '',
      loading,
      error: errorEl ? (errorEl.innerText.trim() || 'error') : null,
      empty: emptyEl !== null,
      webgl,
      has_body: body !== null && (tables.length > 0 || holder.querySelector('canvas, svg.chart, svg') !== null
        || (body.innerText || '').trim() !== ''),
      text: body ? body.innerText.trim() : '',
      tables,
      kinds,
      canvas_colours: colours,
    });
  }
  const title = document.querySelector('[data-test="editable-title-input"], .dynamic-title, h1, .editable-title');
  return {title: title ? (title.value || title.innerText || '').trim() : document.title, charts};
}
"""


def _settled(state: dict[str, Any], expected: int, rows: dict[int, int]) -> bool:
    charts = state["charts"]
    if len(charts) < expected:
        return False
    return all(
        not c["loading"]
        and (
            c["error"]
            or c["empty"]
            or (
                c["has_body"]
                and (
                    c["tables"] or c["canvas_colours"] or c["text"] or (c["webgl"] and c["chart_id"] in rows)
                )
            )
        )
        for c in charts
    )


def _record_rows(response: Any, rows: dict[int, int]) -> None:
    """Note the row count of a chart data response (``/api/v1/chart/data`` or the legacy explore JSON)."""
    url = response.url
    if response.status != 200 or not ("/api/v1/chart/data" in url or "/superset/explore_json" in url):
        return
    try:
        payload = response.json()
        slice_id = None
        if "/api/v1/chart/data" in url:
            request = response.request.post_data_json or {}
            slice_id = (request.get("form_data") or {}).get("slice_id")
            results = payload.get("result") or []
            count = sum(int(r.get("rowcount") or 0) for r in results)
        else:
            form = parse_qs(urlparse(url).query).get("form_data", ["{}"])[0]
            slice_id = json.loads(form).get("slice_id")
            data = payload.get("data")
            count = int(payload.get("rowcount") or 0) or (
                len(data.get("features", [])) if isinstance(data, dict) else len(data or [])
            )
        if slice_id is not None:
            rows[int(slice_id)] = count
    except Exception:  # a response that is not a chart's JSON
        return


def _record_request(request: Any, requests: dict[int, dict[str, Any]]) -> None:
    """Keep a finished chart data request's body (its query context) and its duration, by chart."""
    if "/api/v1/chart/data" not in request.url or request.method != "POST":
        return
    try:
        body = request.post_data_json or {}
        slice_id = (body.get("form_data") or {}).get("slice_id")
        timing = request.timing
        if slice_id is not None and int(slice_id) not in requests:  # the first: later ones hit the cache
            requests[int(slice_id)] = {
                "body": body,
                "ms": timing["responseEnd"] if timing.get("responseEnd", -1) >= 0 else None,
            }
    except Exception:  # a request that is not a chart's JSON
        return


def check_dashboard(
    base_url: str,
    username: str,
    password: str,
    dashboard: str,
    screenshot: Path,
    *,
    timeout: float = 120.0,
    width: int = 1600,
    height: int = 1000,
    settle_polls: int = 3,
    native_filters: dict[str, tuple[str, list[str]]] | None = None,
    allow_empty: bool = False,
    click: tuple[str, str] | None = None,
) -> DashboardRender:
    """Open the dashboard (id or slug) in headless Chromium as ``username`` and check every chart.

    Waits until every chart of the dashboard is on the page, no spinner is left, and each chart shows either
    data or an error, the same for ``settle_polls`` polls in a row (animations finish). Saves a full-page
    PNG to ``screenshot``. ``native_filters`` (filter id -> (column, values)) opens the dashboard with those
    native filters applied, as a shared link would. A chart showing "no results" fails the check unless
    ``allow_empty``. ``click`` (chart name part, cell text): once every chart has settled, click that cell
    of that chart (a cross-filter, as a leader clicks a household number) and wait for the charts again.
    Raises :class:`DashboardCheckError` when a chart shows an error or does not finish within ``timeout``
    seconds; otherwise returns what each chart rendered.
    """
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise DashboardCheckError(
            f"{CHROMIUM} not found: install Debian's chromium (scripts/setup-system.sh)"
        )
    started = time.monotonic()
    cookies = login_cookies(base_url, username, password)
    expected = dashboard_chart_count(base_url, cookies, dashboard)
    query = {"standalone": "0"}
    if native_filters:
        query["native_filters"] = native_filters_param(native_filters)
    url = f"{base_url}/superset/dashboard/{dashboard}/?{urlencode(query)}"
    screenshot = Path(screenshot)
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    profile = Path(tempfile.mkdtemp(prefix="fupin-chromium-"))
    console_errors: list[str] = []
    rows: dict[int, int] = {}
    requests: dict[int, dict[str, Any]] = {}
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(profile),
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_FLAGS,
                viewport={"width": width, "height": height},
                locale="zh-CN",
            )
            try:
                context.add_cookies(cookies)
                page = context.new_page()
                page.on("pageerror", lambda exc: console_errors.append(str(exc)))
                page.on("response", lambda response: _record_rows(response, rows))
                page.on("requestfinished", lambda request: _record_request(request, requests))
                response = page.goto(url, wait_until="domcontentloaded", timeout=timeout * 1000)
                if response is None or response.status != 200 or "/login" in page.url:
                    raise DashboardCheckError(
                        f"{url} did not open (HTTP {response.status if response else '-'}, at {page.url})"
                    )
                deadline = started + timeout

                def settle() -> dict[str, Any]:
                    state, calm = None, 0
                    while time.monotonic() < deadline:
                        new_state = page.evaluate(_CHART_STATES_JS)
                        if _settled(new_state, expected, rows):
                            calm = calm + 1 if new_state == state else 1
                            if calm >= settle_polls:
                                return new_state
                        else:
                            calm = 0
                        state = new_state
                        page.wait_for_timeout(500)
                    page.screenshot(path=str(screenshot), full_page=True)
                    pending = [c["name"] for c in (state or {}).get("charts", []) if c["loading"]]
                    raise DashboardCheckError(
                        f"{url}: charts not finished after {timeout:.0f}s (expected {expected}, found "
                        f"{len((state or {}).get('charts', []))}; still loading: {pending}); "
                        f"page errors: {console_errors[:3]}; screenshot {screenshot}"
                    )

                state = settle()
                loaded = time.monotonic() - started
                if click:
                    chart_name, text = click
                    holder = page.locator(
                        f'[data-test="chart-grid-component"][data-test-chart-name*="{chart_name}"]'
                    )
                    cell = holder.locator("td").filter(has_text=text).first
                    if not cell.count():
                        raise DashboardCheckError(f"{url}: no cell {text!r} in the chart {chart_name!r}")
                    cell.click()
                    page.wait_for_timeout(1500)  # the other charts start loading again
                    state = settle()
                # A full-page screenshot resizes the page and makes the charts draw again: make the window as
                # tall as the dashboard, wait for the charts once more, then take the picture.
                full = page.evaluate(
                    "() => Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)"
                )
                if full > height:
                    page.set_viewport_size({"width": width, "height": int(full)})
                    page.wait_for_timeout(1000)
                    state = settle()
                page.screenshot(path=str(screenshot))
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    charts = [
        ChartRender(
            chart_id=c["chart_id"],
            name=c["name"],
            viz_type=c["viz_type"],
            loading=c["loading"],
            error=c["error"],
            text=c["text"],
            tables=c["tables"],
            kinds=c["kinds"],
            canvas_colours=c["canvas_colours"],
            rows=rows.get(c["chart_id"]),
            empty=c["empty"],
            query_context=requests.get(c["chart_id"], {}).get("body"),
            request_ms=requests.get(c["chart_id"], {}).get("ms"),
        )
        for c in state["charts"]
    ]
    render = DashboardRender(
        url=url,
        title=state["title"],
        screenshot=screenshot,
        charts=charts,
        seconds=loaded,
    )
    failed = [
        f"{c.name}: {c.error or 'no results'}" for c in charts if c.error or (c.empty and not allow_empty)
    ]
    if failed:
        raise DashboardCheckError(f"{url}: charts show errors: {failed}; screenshot {screenshot}")
    return render
