"""A private PostgreSQL server for the operational database, started and stopped by the project.

The server runs from the PostgreSQL server binaries already on the machine (``make setup`` installs them with
apt where they are missing), in its own data directory under the state directory and on a free loopback port.
No Docker. PostgreSQL refuses to run as root, so when we are root the server runs as the ``postgres`` system
user (created by the Debian package) and its data directory is handed to that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from fupin.settings import Settings, get_settings


class PostgresError(RuntimeError):
    pass


def find_bindir() -> Path:
    """The directory holding initdb and pg_ctl: $FUPIN_PG_BIN, else the newest /usr/lib/postgresql/*/bin."""
    explicit = os.environ.get("FUPIN_PG_BIN")
    candidates = [explicit] if explicit else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))[::-1]
    for cand in candidates:
        if cand and (Path(cand) / "initdb").exists() and (Path(cand) / "pg_ctl").exists():
            return Path(cand)
    raise PostgresError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found. Run `make setup` (it installs the Debian "
        "package postgresql) or set FUPIN_PG_BIN to the directory that holds them."
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class LocalPostgres:
    """A PostgreSQL cluster in ``data_dir`` listening on 127.0.0.1:``port``."""

    settings: Settings

    @property
    def data_dir(self) -> Path:
        return self.settings.pg_dir / "data"

    @property
    def port_file(self) -> Path:
        return self.settings.pg_dir / "port"

    @property
    def log_file(self) -> Path:
        return self.settings.pg_dir / "server.log"

    @property
    def port(self) -> int:
        if not self.port_file.exists():
            raise PostgresError(
                f"PostgreSQL is not set up under {self.settings.pg_dir}; run `fupin pg start`"
            )
        return int(self.port_file.read_text().strip())

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.settings.pg_user}@127.0.0.1:{self.port}/{self.settings.pg_database}"

    # -- running the server binaries, as the postgres user when we are root --------------------------------
    def _run_as(self) -> str | None:
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
        return "postgres"

    def _cmd(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess:
        user = self._run_as()
        full = (["runuser", "-u", user, "--"] if user else []) + args
        proc = subprocess.run(full, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise PostgresError(
                f"{' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr or proc.stdout}"
            )
        return proc

    def _chown(self, path: Path) -> None:
        user = self._run_as()
        if user:
            pw = pwd.getpwnam(user)
            for p in [path, *path.rglob("*")]:
                os.chown(p, pw.pw_uid, pw.pw_gid)
            # Every parent must be traversable by the server's user.
            for parent in path.parents:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, mode | 0o001)

    # -- lifecycle -----------------------------------------------------------------------------------------
    def is_running(self) -> bool:
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        bindir = find_bindir()
        return (
            self._cmd([str(bindir / "pg_ctl"), "status", "-D", str(self.data_dir)], check=False).returncode
            == 0
        )

    def init(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        bindir = find_bindir()
        self.settings.pg_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._chown(self.settings.pg_dir)
        self._cmd(
            [
                str(bindir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                self.settings.pg_user,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ]
        )

    def start(self, timeout: float = 60) -> str:
        """Start the server (initialising it on first use) and create the database; return the DSN."""
        self.init()
        if self.is_running():
            return self.dsn
        port = int(self.port_file.read_text()) if self.port_file.exists() else free_port()
        if not _port_free(port):
            port = free_port()
        self.port_file.write_text(str(port))
        bindir = find_bindir()
        opts = (
            f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.data_dir} "
            "-c max_connections=100 -c shared_buffers=256MB -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_wal_size=4GB -c work_mem=64MB -c maintenance_work_mem=512MB"
        )
        if self.log_file.exists():
            self._chown(self.log_file)
        self._cmd(
            [
                str(bindir / "pg_ctl"),
                "start",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                opts,
                "-w",
                "-t",
                str(int(timeout)),
            ]
        )
        self._ensure_database()
        return self.dsn

    def stop(self) -> None:
        if not self.is_running():
            return
        bindir = find_bindir()
        self._cmd([str(bindir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w"])

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.settings.pg_dir, ignore_errors=True)

    def _ensure_database(self) -> None:
        import psycopg

        admin = f"postgresql://{self.settings.pg_user}@127.0.0.1:{self.port}/postgres"
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(admin, autocommit=True) as conn:
                    exists = conn.execute(
                        "select 1 from pg_database where datname = %s", (self.settings.pg_database,)
                    ).fetchone()
                    if not exists:
                        conn.execute(f'create database "{self.settings.pg_database}"')
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)


def local_postgres(settings: Settings | None = None) -> LocalPostgres:
    return LocalPostgres(settings or get_settings())


def source_dsn(settings: Settings | None = None) -> str:
    """The operational database's DSN: $FUPIN_SOURCE_DSN (a production server), else the local server."""
    return os.environ.get("FUPIN_SOURCE_DSN") or local_postgres(settings).dsn
