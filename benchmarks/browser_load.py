"""Each dashboard's load time in headless Chromium, as the county leader sees it, on a published warehouse,
and the SQL of every chart timed on the warehouse itself.

A Superset of its own (state in a temporary directory) is started on the published file and provisioned;
a county-leader user opens every dashboard ``runs`` times. The first opening of a dashboard runs every chart's
query on DuckDB (Superset's chart cache is empty); the later ones are served from that cache, which is what a
second reader within the cache's 10 minutes gets. Both are reported: the cold figure is the one that measures
the warehouse.

The browser's own chart data requests are kept (their bodies and durations). Each body is sent again asking
Superset for the SQL it runs (``result_type: query``), and that SQL is timed straight on the published file
(a warm-up, then ``repeat`` runs): the chart queries' own cost, without Superset and the browser around it.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from fupin.settings import REPO_ROOT, Settings

LEADER = ("bench_county", "bench-county-leader-1")


@dataclass
class ChartQuery:
    dashboard: str
    chart: str
    sql: str
    request_ms: float | None  # the browser's data request on the cold opening
    p95_ms: float | None = None  # the SQL on the published file
    error: str | None = None


def chart_sql(client, query_context: dict) -> list[str]:
    """The SQL Superset runs for a chart data request (the same body, asking for the query only)."""
    response = client.post("/api/v1/chart/data", json={**query_context, "result_type": "query"})
    response.raise_for_status()
    return [r["query"] for r in response.json()["result"] if r.get("query")]


def time_queries(published: Path, queries: list[ChartQuery], repeat: int) -> None:
    """Fill each query's 95th percentile (ms) over ``repeat`` runs after a warm-up, on the published file."""
    from benchmarks.measure import p95
    from fupin.duck import connect

    con = connect(published, read_only=True)
    try:
        for q in queries:
            try:
                con.execute(q.sql).fetchall()
                runs = []
                for _ in range(repeat):
                    started = time.perf_counter()
                    con.execute(q.sql).fetchall()
                    runs.append(time.perf_counter() - started)
                q.p95_ms = p95(runs) * 1000
            except Exception as exc:  # noqa: BLE001 - reported beside the chart
                q.error = str(exc).splitlines()[0][:200]
    finally:
        con.close()


def measure(published: Path, runs: int, screenshots: Path, repeat: int = 10) -> dict:
    """``{"dashboards": {slug: figures}, "queries": [ChartQuery], "provision_s": seconds}``."""
    from dashboards import server
    from dashboards.browser import check_dashboard
    from dashboards.provision import login, provision
    from dashboards.roles import COUNTY_ROLE, ensure_user

    # The project's Superset environment, not a new one in the temporary state.
    os.environ.setdefault("FUPIN_SUPERSET_VENV", str(REPO_ROOT / ".state" / "superset-venv"))
    state = Path(tempfile.mkdtemp(prefix="bench-superset-"))
    state.chmod(0o755)
    settings = Settings(state_dir=state)
    server.ensure_environment(settings)
    server.init_metadata(settings)
    running = server.start(settings)
    queries: list[ChartQuery] = []
    try:
        admin = server.admin_credentials(settings)
        started = time.perf_counter()
        provisioned = provision(running.url, *admin, published)
        provision_s = time.perf_counter() - started
        client = login(running.url, *admin)
        try:
            ensure_user(client, *LEADER, [COUNTY_ROLE], provisioned.roles.roles)
            screenshots.mkdir(parents=True, exist_ok=True)
            figures: dict[str, dict[str, float | int]] = {}
            for slug in provisioned.dashboards:
                seconds = []
                for run in range(runs):
                    render = check_dashboard(
                        running.url,
                        *LEADER,
                        slug,
                        screenshots / f"{slug}-{run + 1}.png",
                        timeout=600,
                        # Counted, not failed: the household card's per-household charts are empty until a
                        # household is picked, and a state without spreadsheets has no quarantined rows.
                        allow_empty=True,
                    )
                    seconds.append(render.seconds)
                    if run == 0:
                        for chart in render.charts:
                            if chart.query_context:
                                for sql in chart_sql(client, chart.query_context):
                                    queries.append(ChartQuery(slug, chart.name, sql, chart.request_ms))
                figures[slug] = {
                    "charts": len(render.charts),
                    "empty": sum(c.empty for c in render.charts),
                    "cold_s": seconds[0],
                    "cached_median_s": statistics.median(seconds[1:]) if runs > 1 else float("nan"),
                }
        finally:
            client.close()
    finally:
        running.stop()
    time_queries(published, queries, repeat)
    return {"dashboards": figures, "queries": queries, "provision_s": provision_s}
