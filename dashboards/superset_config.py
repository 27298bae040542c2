"""Superset configuration for the county dashboards (read by Superset through ``SUPERSET_CONFIG_PATH``).

Self-contained on purpose: the dashboard image copies this one file, so it imports nothing from the product.
Everything Superset writes lives under ``$FUPIN_STATE_DIR/superset``: the SQLite metadata database, the
generated secret key. No Redis, no Celery: in-process caches, synchronous queries, rate limiting off (the
server listens on the loopback interface only, behind whatever proxy a deployment puts in front).

Secrets are never committed: ``SUPERSET_SECRET_KEY`` from the environment, else a key generated once into
``$FUPIN_STATE_DIR/superset/secret_key`` (mode 0600) and reused by every later start.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

STATE_DIR = Path(
    os.environ.get("FUPIN_STATE_DIR", Path(__file__).resolve().parent.parent / ".state")
).resolve()
SUPERSET_STATE = STATE_DIR / "superset"
SUPERSET_STATE.mkdir(parents=True, exist_ok=True)


def _read_or_create_secret(path: Path, nbytes: int = 42) -> str:
    """Return the secret stored in ``path``; create it (0600, race-free) on first use."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = path.read_text().strip()
        if not value:
            raise RuntimeError(
                f"secret file {path} is empty; delete it to have a new one generated"
            ) from None
        return value
    value = secrets.token_urlsafe(nbytes)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


SECRET_KEY = os.environ.get("SUPERSET_SECRET_KEY") or _read_or_create_secret(SUPERSET_STATE / "secret_key")

# Metadata: SQLite in the state directory (one county, a handful of editors; production may point
# SUPERSET_DATABASE_URI at PostgreSQL).
SQLALCHEMY_DATABASE_URI = os.environ.get(
    "SUPERSET_DATABASE_URI", f"sqlite:///{SUPERSET_STATE / 'superset.db'}?check_same_thread=false"
)
DATA_DIR = str(SUPERSET_STATE)
UPLOAD_FOLDER = str(SUPERSET_STATE / "uploads") + "/"

# Caches without Redis. Chart data and metadata: per-process SimpleCache, short-lived so a newly published
# warehouse shows within minutes. Filter and explore state must be shared by all gunicorn workers: they
# stay in the metadata database (Superset's own SupersetMetastoreCache, its default).
CACHE_DEFAULT_TIMEOUT = int(timedelta(minutes=10).total_seconds())
CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": CACHE_DEFAULT_TIMEOUT}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": CACHE_DEFAULT_TIMEOUT}
THUMBNAIL_CACHE_CONFIG = {"CACHE_TYPE": "NullCache", "CACHE_NO_NULL_WARNING": True}

RATELIMIT_ENABLED = False
AUTH_RATE_LIMITED = False
RATELIMIT_STORAGE_URI = "memory://"

FEATURE_FLAGS = {
    # dashboards and charts embedded in the county's portal
    "EMBEDDED_SUPERSET": True,
    "EMBEDDABLE_CHARTS": True,
    # native filters and cross-filters (always on in Superset 6) with drill-down
    "DRILL_TO_DETAIL": True,
    "DRILL_BY": True,
    # render every chart at once: the dashboards are small, and screenshots and print-outs need all of them
    "DASHBOARD_VIRTUALIZATION": False,
    "GLOBAL_ASYNC_QUERIES": False,
    "ALERT_REPORTS": False,
    "THUMBNAILS": False,
    # row-level-security rules are Jinja: a leader's area comes from the account name (dashboards/roles.py)
    "ENABLE_TEMPLATE_PROCESSING": True,
}

# Served on 127.0.0.1 over plain HTTP (a deployment terminates TLS in front of it); Superset's default
# content security policy (Talisman) stays on.
WTF_CSRF_ENABLED = True

SUPERSET_WEBSERVER_TIMEOUT = 120
SQLLAB_TIMEOUT = 120
ROW_LIMIT = 50000
APP_NAME = "扶贫数据仓库 Poverty Alleviation Warehouse"
