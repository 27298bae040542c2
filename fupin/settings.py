"""One settings object for the whole product, read from the environment.

Every runtime file (the PostgreSQL data directory, the warehouse files, Airflow's and Superset's homes) lives
under one state directory, ``FUPIN_STATE_DIR`` (default: ``.state`` at the repository root), so a checkout
never writes to the user's home and a test can point a whole run at a temporary directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    state_dir: Path
    pg_database: str = "fupin_app"
    pg_user: str = "fupin"
    scale: str = "S"
    seed: int = 20170101

    @property
    def pg_dir(self) -> Path:
        return self.state_dir / "pg"

    @property
    def warehouse_dir(self) -> Path:
        return self.state_dir / "warehouse"

    @property
    def build_path(self) -> Path:
        """The file the pipeline writes to; readers never open it.

        It has the same file name as the published copy, so DuckDB gives both the same catalog name and the
        views dbt creates (which name their catalog) resolve in the published file too.
        """
        return self.warehouse_dir / "build" / "warehouse.duckdb"

    @property
    def published_path(self) -> Path:
        """The finished, checked copy that readers (Superset, analysts) open read-only."""
        return self.warehouse_dir / "published" / "warehouse.duckdb"

    @property
    def previous_path(self) -> Path:
        """The copy published before the current one, kept for roll-back."""
        return self.warehouse_dir / "published" / "warehouse.previous.duckdb"

    @property
    def duckdb_memory_limit(self) -> str:
        """DuckDB's memory limit for the pipeline's writers (dbt, extract, spreadsheets, publication).

        DuckDB's own default is 80 % of the machine's memory; on a shared 24 GiB server the first build at
        scale M took 20.8 GB with it. Above the limit DuckDB spills to a temporary directory beside the
        warehouse file. Not everything spills (an ordered aggregate, for one): at scale M the household card
        with its member list inside its join needed more than 6 GiB in a daily run, and now that the list is
        a table of its own (``household_members``) a weekday's daily run passed at 5 GiB with the dbt process
        peaking at 5.9 GiB; at 6 GiB one peaked at 8.1 GiB. Override with ``FUPIN_DUCKDB_MEMORY_LIMIT`` (any
        DuckDB size, e.g. ``12GiB``).
        """
        return os.environ.get("FUPIN_DUCKDB_MEMORY_LIMIT", "5GiB")

    @property
    def duckdb_home(self) -> Path:
        return self.state_dir / "duckdb"

    @property
    def drop_dir(self) -> Path:
        """Where towns and villages drop their spreadsheets."""
        return Path(os.environ.get("FUPIN_DROP_DIR", self.state_dir / "drop"))

    @property
    def quality_dir(self) -> Path:
        return self.state_dir / "quality"

    @property
    def airflow_home(self) -> Path:
        return self.state_dir / "airflow"

    @property
    def superset_home(self) -> Path:
        return self.state_dir / "superset"


def get_settings() -> Settings:
    state = Path(os.environ.get("FUPIN_STATE_DIR", REPO_ROOT / ".state")).resolve()
    return Settings(
        state_dir=state,
        scale=os.environ.get("FUPIN_SCALE", "S"),
        seed=int(os.environ.get("FUPIN_SEED", "20170101")),
    )
