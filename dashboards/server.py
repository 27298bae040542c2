"""Superset's own environment, its metadata database, and a gunicorn server on the loopback interface.

Superset runs in a separate virtual environment (``dashboards/superset_env``, locked with uv; by default in
``$FUPIN_STATE_DIR/superset-venv``, or ``$FUPIN_SUPERSET_VENV``). This module runs in the pipeline environment
and drives Superset only through subprocesses and HTTP, so the two environments never share packages.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from fupin.settings import REPO_ROOT, Settings

ENV_PROJECT = Path(__file__).resolve().parent / "superset_env"
CONFIG_PATH = Path(__file__).resolve().parent / "superset_config.py"
ADMIN_USER = "admin"
INIT_MARKER = "metadata-initialised"
SYNC_MARKER = ".fupin-lock-sha256"


class SupersetError(RuntimeError):
    """A Superset command or the Superset server failed; the message carries its output."""


def venv_dir(settings: Settings) -> Path:
    """Where Superset's environment lives: ``$FUPIN_SUPERSET_VENV`` or ``<state>/superset-venv``."""
    override = os.environ.get("FUPIN_SUPERSET_VENV")
    return Path(override).resolve() if override else settings.state_dir / "superset-venv"


def _lock_digest() -> str:
    lock = ENV_PROJECT / "uv.lock"
    return hashlib.sha256(lock.read_bytes() + (ENV_PROJECT / "pyproject.toml").read_bytes()).hexdigest()


def _find_uv() -> str:
    for candidate in (
        os.environ.get("FUPIN_UV"),
        shutil.which("uv"),
        str(REPO_ROOT / ".state" / "bootstrap" / "bin" / "uv"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    raise SupersetError(
        "uv not found (looked at $FUPIN_UV, PATH and .state/bootstrap/bin/uv); run `make setup-python` first"
    )


def ensure_environment(settings: Settings) -> Path:
    """Install Superset's locked environment unless it is already installed from the same lock; return it.

    Runs ``uv sync --frozen`` on ``dashboards/superset_env`` into :func:`venv_dir`. A marker holding the
    digest of the lock and project files makes later calls free (and uv unnecessary) until the lock changes.
    """
    venv = venv_dir(settings)
    marker = venv / SYNC_MARKER
    digest = _lock_digest()
    if (venv / "bin" / "superset").exists() and marker.exists() and marker.read_text().strip() == digest:
        return venv
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}
    proc = subprocess.run(
        [_find_uv(), "sync", "--frozen", "--python", "3.11", "--project", str(ENV_PROJECT)],
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SupersetError(f"installing Superset's environment into {venv} failed:\n{proc.stderr[-4000:]}")
    marker.write_text(digest + "\n")
    return venv


def superset_env(settings: Settings) -> dict[str, str]:
    """The environment for every Superset process: its config file, and all its files under the state dir."""
    venv = venv_dir(settings)
    home = settings.superset_home
    home.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "FUPIN_STATE_DIR": str(settings.state_dir),
        "SUPERSET_CONFIG_PATH": str(CONFIG_PATH),
        "SUPERSET_HOME": str(home),
        "FLASK_APP": "superset.app:create_app()",
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
        "VIRTUAL_ENV": str(venv),
    }


def run_superset(
    settings: Settings, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one ``superset`` CLI command in Superset's environment; raise :class:`SupersetError` on failure."""
    exe = venv_dir(settings) / "bin" / "superset"
    if not exe.exists():
        raise SupersetError(f"{exe} does not exist: call ensure_environment(settings) first")
    proc = subprocess.run(
        [str(exe), *args],
        env={**superset_env(settings), **(extra_env or {})},
        capture_output=True,
        text=True,
        cwd=settings.superset_home,
    )
    if proc.returncode != 0:
        raise SupersetError(
            f"`superset {' '.join(args[:3])}` exited {proc.returncode}:\n{(proc.stdout + proc.stderr)[-4000:]}"
        )
    return proc


# Runs several ``superset`` commands in one interpreter: Superset's imports take most of a command's time.
_STEPS_SCRIPT = """
import json, sys
from superset.cli.main import superset
for step in json.loads(sys.argv[1]):
    print("== superset " + " ".join(step), flush=True)
    superset.main(step, prog_name="superset", standalone_mode=False)
"""


def run_superset_steps(
    settings: Settings, steps: list[list[str]], extra_env: dict[str, str] | None = None
) -> str:
    """Run ``superset`` CLI commands one after the other in one process; return their output.

    Raises :class:`SupersetError` with the output's end when a command fails (the later ones do not run).
    """
    python = venv_dir(settings) / "bin" / "python"
    if not python.exists():
        raise SupersetError(f"{python} does not exist: call ensure_environment(settings) first")
    proc = subprocess.run(
        [str(python), "-c", _STEPS_SCRIPT, json.dumps(steps)],
        env={**superset_env(settings), **(extra_env or {})},
        capture_output=True,
        text=True,
        cwd=settings.superset_home,
    )
    said = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise SupersetError(f"superset commands {steps} failed (exit {proc.returncode}):\n{said[-4000:]}")
    return said


def _read_or_create_secret(path: Path) -> str:
    """Return the secret kept in ``path``; generate it once (mode 0600, race-free) when missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = path.read_text().strip()
        if not value:
            raise SupersetError(f"{path} is empty; delete it to have a new password generated") from None
        return value
    value = secrets.token_urlsafe(18)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def admin_credentials(settings: Settings) -> tuple[str, str]:
    """The admin's user name and password: ``$FUPIN_SUPERSET_ADMIN_PASSWORD``, else one generated once."""
    password = os.environ.get("FUPIN_SUPERSET_ADMIN_PASSWORD") or _read_or_create_secret(
        settings.superset_home / "admin_password"
    )
    return ADMIN_USER, password


def init_metadata(settings: Settings) -> bool:
    """Create Superset's metadata database, the admin user and the built-in roles, once.

    Runs ``superset db upgrade``, ``superset fab create-admin`` and ``superset init`` (in one process);
    afterwards a marker in the Superset home (holding the lock digest) makes later calls return ``False``
    at once. Returns ``True`` when the steps ran. The password never appears on a command line (passed by environment).
    """
    home = settings.superset_home
    marker = home / INIT_MARKER
    digest = _lock_digest()
    if marker.exists() and marker.read_text().strip() == digest and (home / "superset.db").exists():
        return False
    user, password = admin_credentials(settings)
    said = run_superset_steps(
        settings,
        [
            ["db", "upgrade"],
            [
                "fab",
                "create-admin",
                "--username",
                user,
                "--firstname",
                "County",
                "--lastname",
                "Admin",
                "--email",
                "admin@localhost",
            ],
            ["init"],
        ],
        extra_env={"FLASK_FAB_CREATE_ADMIN_PASSWORD": password},
    )
    if f"{user} created" not in said and "already exists" not in said:
        raise SupersetError(f"`superset fab create-admin` did not create the admin user:\n{said[-4000:]}")
    marker.write_text(digest + "\n")
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SupersetServer:
    """A running gunicorn serving Superset on ``url``; :meth:`stop` ends it and its workers."""

    url: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    _stopped: bool = field(default=False, repr=False)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def is_running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 30.0) -> None:
        """Stop gunicorn gracefully (SIGTERM to its process group); kill it when it does not end in time."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def __enter__(self) -> SupersetServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(
    settings: Settings, port: int | None = None, workers: int = 2, timeout: float = 180.0
) -> SupersetServer:
    """Start gunicorn with Superset on ``127.0.0.1:<port>`` (a free port when ``None``); wait for ``/health``.

    The server runs in its own process group with its log in ``<superset home>/gunicorn-<port>.log``.
    Raises :class:`SupersetError` with the log's end when it exits or is not healthy within ``timeout``.
    """
    venv = venv_dir(settings)
    gunicorn = venv / "bin" / "gunicorn"
    if not gunicorn.exists():
        raise SupersetError(f"{gunicorn} does not exist: call ensure_environment(settings) first")
    port = port or free_port()
    log_path = settings.superset_home / f"gunicorn-{port}.log"
    cmd = [
        str(gunicorn),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        "4",
        "--timeout",
        "120",
        "--no-control-socket",
        "--access-logfile",
        "-",
        "--error-logfile",
        "-",
        "superset.app:create_app()",
    ]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            cmd,
            env=superset_env(settings),
            cwd=settings.superset_home,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = SupersetServer(url=f"http://127.0.0.1:{port}", port=port, process=process, log_path=log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.is_running():
            raise SupersetError(
                f"gunicorn exited with {process.returncode} before serving on port {port}:\n{server.log_tail()}"
            )
        try:
            if httpx.get(f"{server.url}/health", timeout=2).text.strip() == "OK":
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.stop()
    raise SupersetError(
        f"Superset was not healthy on {server.url} after {timeout:.0f}s:\n{server.log_tail()}"
    )


def stop(server: SupersetServer) -> None:
    """Stop a server returned by :func:`start`."""
    server.stop()
