"""The benchmark's state directory: a private PostgreSQL server holding a generated county, reused by key.

The directory (default ``.state/bench/<scale>``) is a product state directory of its own (``fupin.settings``):
``pg/`` holds the operational database, ``warehouse/`` the build and published warehouses. ``generated.json``
records what the database was generated with (scale, seed, counties); a later run with the same key reuses
it, any other key generates it again.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from fupin.pgserver import LocalPostgres
from fupin.settings import REPO_ROOT, Settings


def default_state_dir(scale: str) -> Path:
    return REPO_ROOT / ".state" / "bench" / scale


@dataclass
class BenchState:
    directory: Path
    scale: str
    seed: int = 20170101
    counties: int | None = None
    dsn: str | None = None  # an operational database run elsewhere (tests): used as it is, never generated

    def __post_init__(self) -> None:
        self.directory = Path(self.directory).resolve()

    @property
    def settings(self) -> Settings:
        return Settings(state_dir=self.directory, scale=self.scale, seed=self.seed)

    @property
    def marker(self) -> Path:
        return self.directory / "generated.json"

    @property
    def manifest(self) -> Path:
        return self.directory / "manifest.json"

    @property
    def work_dir(self) -> Path:
        """Scratch files of the measurements (extract targets, Parquet copies, warehouse snapshots)."""
        path = self.directory / "work"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def key(self) -> dict:
        return {"scale": self.scale, "seed": self.seed, "counties": self.counties}

    def start(self) -> str:
        """Start the state's PostgreSQL server (initialising it on first use); return its DSN."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.dsn:
            return self.dsn
        return LocalPostgres(self.settings).start()

    def stop(self) -> None:
        if not self.dsn:
            LocalPostgres(self.settings).stop()

    def generated(self) -> dict | None:
        """What the database holds, if it was generated with this state's key; else None."""
        if not self.marker.exists():
            return None
        recorded = json.loads(self.marker.read_text())
        if {k: recorded.get(k) for k in self.key} != self.key:
            return None
        return recorded

    def ensure_generated(self, log=print) -> dict:
        """Reuse the generated database when its key matches, else generate it (and record the key)."""
        dsn = self.start()
        if self.dsn:
            return {**self.key, "dsn": "external"}
        recorded = self.generated()
        if recorded is not None:
            return recorded
        from simulator.generate import generate

        self.marker.unlink(missing_ok=True)
        what = f"scale {self.scale}" + (f", first {self.counties} counties" if self.counties else "")
        log(f"generating the operational database ({what}, seed {self.seed}) in {self.directory} ...")
        started = time.perf_counter()
        summary = generate(
            dsn, scale=self.scale, seed=self.seed, manifest_path=self.manifest, counties=self.counties
        )
        record = {**self.key, "seconds": round(time.perf_counter() - started, 1), "rows": summary.get("rows")}
        self.marker.write_text(json.dumps(record, indent=1))
        return record

    def environ(self) -> dict[str, str]:
        """Environment for product code run against this state (its settings read the environment)."""
        return {
            "FUPIN_STATE_DIR": str(self.directory),
            "FUPIN_SCALE": self.scale,
            "FUPIN_SEED": str(self.seed),
            "FUPIN_SOURCE_DSN": self.dsn or LocalPostgres(self.settings).dsn,
        }

    def activate(self) -> None:
        os.environ.update(self.environ())
