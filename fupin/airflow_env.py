"""Running Airflow for the product: its home under the state directory, SQLite metadata, our DAG folder.

``airflow(settings, *args)`` runs one Airflow command (``dags test``, ``backfill create``, ...).
``start(settings)`` / ``stop(settings)`` run the local services the UI and the scheduler need (api-server,
scheduler with the LocalExecutor, dag-processor) as background processes, logs and pid files under
``$FUPIN_STATE_DIR/airflow``. The tasks the scheduler launches talk to the API server's execution API, so its
URL, the JWT secret they share and ``PATH`` (the workers start ``airflow`` sub-processes) are set here for all.
The UI login is ``admin`` with the password Airflow's simple auth manager generates into
``$FUPIN_STATE_DIR/airflow/simple_auth_manager_passwords.json.generated``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from fupin.settings import REPO_ROOT, Settings

POOL = "fupin_warehouse"
SERVICES = ("api-server", "scheduler", "dag-processor")
DEFAULT_PORT = 8080
HEALTH_PATH = "/api/v2/monitor/health"


def _port(settings: Settings, port: int | None) -> int:
    if port:
        return port
    saved = settings.airflow_home / "port"
    return int(saved.read_text()) if saved.exists() else DEFAULT_PORT


def _jwt_secret(settings: Settings) -> str:
    """One secret for the API server and the task workers (each would otherwise make up its own)."""
    path = settings.airflow_home / ".jwt_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def airflow_env(settings: Settings, port: int | None = None) -> dict[str, str]:
    home = settings.airflow_home
    port = _port(settings, port)
    bindir = str(Path(sys.executable).parent)
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(home),
        FUPIN_STATE_DIR=str(settings.state_dir),
        PATH=bindir + os.pathsep + env.get("PATH", ""),
        PYTHONPATH=str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO_ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        # Two cores: two task slots, few API workers.
        AIRFLOW__CORE__PARALLELISM="2",
        AIRFLOW__API__WORKERS="1",
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
        AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{port}",
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__API_AUTH__JWT_SECRET=_jwt_secret(settings),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW__COSMOS__ENABLE_TELEMETRY="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL=env.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO"),
        SCARF_ANALYTICS="false",
        DO_NOT_TRACK="1",
    )
    return env


def _exe() -> str:
    return str(Path(sys.executable).parent / "airflow")


def ensure_metadata(settings: Settings, port: int | None = None) -> None:
    """Migrate the metadata database and create the one-slot pool of the warehouse writer (once)."""
    settings.airflow_home.mkdir(parents=True, exist_ok=True)
    marker = settings.airflow_home / ".migrated"
    if marker.exists():
        return
    env = airflow_env(settings, port)
    for cmd in (
        ["db", "migrate"],
        ["pools", "set", POOL, "1", "One writer on the DuckDB build warehouse"],
    ):
        proc = subprocess.run([_exe(), *cmd], env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(cmd)} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    marker.touch()


def airflow(
    settings: Settings, *args: str, check: bool = True, capture: bool = False, timeout: float | None = None
) -> subprocess.CompletedProcess:
    """Run an ``airflow`` command with the product's environment; migrate the metadata database first."""
    ensure_metadata(settings)
    return subprocess.run(
        [_exe(), *args],
        env=airflow_env(settings),
        check=check,
        capture_output=capture,
        text=True,
        timeout=timeout,
    )


@dataclass
class LocalAirflow:
    settings: Settings
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def credentials(self) -> tuple[str, str]:
        return credentials(self.settings)


def _run_dir(settings: Settings) -> Path:
    path = settings.airflow_home / "run"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _alive(pid: int) -> bool:
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child that has exited
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_pids(settings: Settings) -> dict[str, int]:
    pids = {}
    for name in SERVICES:
        pidfile = _run_dir(settings) / f"{name}.pid"
        if pidfile.exists():
            pid = int(pidfile.read_text())
            if _alive(pid):
                pids[name] = pid
    return pids


def health(url: str) -> dict | None:
    import httpx

    try:
        resp = httpx.get(url + HEALTH_PATH, timeout=5)
    except httpx.HTTPError:
        return None
    return resp.json() if resp.status_code == 200 else None


def credentials(settings: Settings, wait: float = 30) -> tuple[str, str]:
    """The UI login: ``admin`` and the password the simple auth manager generated on first start."""
    path = settings.airflow_home / "simple_auth_manager_passwords.json.generated"
    deadline = time.monotonic() + wait
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    if not path.exists():
        raise RuntimeError(f"{path} not written; is the API server running?")
    return "admin", json.loads(path.read_text())["admin"]


def start(settings: Settings, port: int | None = None, timeout: float = 180) -> LocalAirflow:
    """Start the API server (UI), the scheduler and the DAG processor in the background; wait until healthy."""
    port = _port(settings, port)
    (settings.airflow_home).mkdir(parents=True, exist_ok=True)
    (settings.airflow_home / "port").write_text(str(port))
    ensure_metadata(settings, port)
    env = airflow_env(settings, port)
    logs = settings.airflow_home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    af = LocalAirflow(settings, port)
    deadline = time.monotonic() + timeout
    # The API server first: the tasks the scheduler launches report to its execution API from their start.
    for group in (("api-server",), ("scheduler", "dag-processor")):
        already = running_pids(settings)
        for name in group:
            if name in already:
                continue
            args = [_exe(), name]
            if name == "api-server":
                args += ["--port", str(port), "--host", "127.0.0.1"]
            with open(logs / f"{name}.log", "ab") as out:
                proc = subprocess.Popen(
                    args,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    cwd=settings.state_dir,
                )
            (_run_dir(settings) / f"{name}.pid").write_text(str(proc.pid))
        while True:
            status = health(af.url)
            if status and (
                group == ("api-server",) or status.get("scheduler", {}).get("status") == "healthy"
            ):
                break
            dead = [n for n in group if n not in running_pids(settings)]
            if dead or time.monotonic() > deadline:
                stop(settings)
                why = f"{', '.join(dead)} exited" if dead else f"no healthy answer on {af.url}{HEALTH_PATH}"
                raise RuntimeError(f"Airflow did not start: {why}; see {logs}")
            time.sleep(2)
    return af


def stop(settings: Settings, timeout: float = 30) -> list[str]:
    """Stop the services ``start`` launched (their process groups, by the pids it recorded)."""
    stopped = []
    for name, pid in running_pids(settings).items():
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)
        stopped.append(name)
    for pidfile in _run_dir(settings).glob("*.pid"):
        pidfile.unlink()
    return stopped
