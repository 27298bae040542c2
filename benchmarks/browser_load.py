"""Each dashboard's load time in headless Chromium, as the county leader sees it, on a published warehouse.

A Superset of its own (state in a temporary directory) is started on the published file and provisioned;
a county-leader user opens every dashboard ``runs`` times. The first opening of a dashboard runs every chart's
query on DuckDB (Superset's chart cache is empty); the later ones are served from that cache, which is what a
second reader within the cache's 10 minutes gets. Both are reported: the cold figure is the one that measures
the warehouse.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from fupin.settings import REPO_ROOT, Settings

LEADER = ("bench_county", "bench-county-leader-1")
# The household card opens on the household list; its per-household charts are empty until one is picked.
EMPTY_UNTIL_PICKED = {"household-card"}


def measure(published: Path, runs: int, screenshots: Path) -> dict[str, dict[str, float | int]]:
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
    try:
        admin = server.admin_credentials(settings)
        started = time.perf_counter()
        provisioned = provision(running.url, *admin, published)
        provision_s = time.perf_counter() - started
        client = login(running.url, *admin)
        try:
            ensure_user(client, *LEADER, [COUNTY_ROLE], provisioned.roles.roles)
        finally:
            client.close()
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
                    allow_empty=slug in EMPTY_UNTIL_PICKED,
                )
                seconds.append(render.seconds)
            figures[slug] = {
                "charts": len(render.charts),
                "cold_s": seconds[0],
                "cached_median_s": statistics.median(seconds[1:]) if runs > 1 else float("nan"),
            }
        figures["_provision"] = {"seconds": provision_s}
        return figures
    finally:
        running.stop()
