"""Running Airflow for the product: its home under the state directory, SQLite metadata, our DAG folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fupin.settings import REPO_ROOT, Settings


def airflow_env(settings: Settings, port: int | None = None) -> dict[str, str]:
    home = settings.airflow_home
    bindir = str(Path(sys.executable).parent)
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(home),
        FUPIN_STATE_DIR=str(settings.state_dir),
        PATH=bindir + os.pathsep + env.get("PATH", ""),
        PYTHONPATH=str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO_ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__PARALLELISM="4",
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW__COSMOS__ENABLE_TELEMETRY="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL=env.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO"),
        SCARF_ANALYTICS="false",
        DO_NOT_TRACK="1",
    )
    if port:
        env["AIRFLOW__API__PORT"] = str(port)
        env["AIRFLOW__API__BASE_URL"] = f"http://127.0.0.1:{port}"
    return env


def airflow(
    settings: Settings, *args: str, check: bool = True, capture: bool = False
) -> subprocess.CompletedProcess:
    """Run an ``airflow`` command with the product's environment; migrate the metadata database first."""
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    env = airflow_env(settings)
    exe = str(Path(sys.executable).parent / "airflow")
    marker = settings.airflow_home / ".migrated"
    if not marker.exists():
        subprocess.run([exe, "db", "migrate"], env=env, check=True, capture_output=True, text=True)
        marker.touch()
    return subprocess.run([exe, *args], env=env, check=check, capture_output=capture, text=True)
