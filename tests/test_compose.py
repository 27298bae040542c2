"""docker-compose.yml cannot be started here (no Docker engine): validate it, and check it against the locks."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT

SECRETS = {
    "FUPIN_SOURCE_PASSWORD": "x",
    "FUPIN_PII_SALT": "x",
    "AIRFLOW_DB_PASSWORD": "x",
    "AIRFLOW_JWT_SECRET": "x",
    "SUPERSET_SECRET_KEY": "x",
    "FUPIN_SUPERSET_ADMIN_PASSWORD": "x",
}


def _compose(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail(
            "docker-compose is missing: `make setup-test` installs it (scripts/setup-system.sh --test)"
        )
    return subprocess.run(
        [exe, "-f", str(REPO_ROOT / "docker-compose.yml"), *args], capture_output=True, text=True, env=env
    )


def _locked(lock: Path, package: str) -> str:
    data = tomllib.loads(lock.read_text())
    for pkg in data["package"]:
        if pkg["name"] == package:
            return pkg["version"]
    raise AssertionError(f"{package} not in {lock}")


@pytest.fixture(scope="module")
def config() -> dict:
    env = {"PATH": "/usr/bin:/bin", **SECRETS}
    proc = _compose("config", env=env)
    assert proc.returncode == 0, proc.stderr
    return yaml.safe_load(proc.stdout)


def test_compose_file_is_valid(config):
    services = set(config["services"])
    assert {"app-db", "airflow-db", "airflow-api-server", "airflow-scheduler", "superset"} <= services


def test_missing_secret_is_refused():
    proc = _compose("config", "-q", env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode != 0
    assert "set FUPIN_SOURCE_PASSWORD" in proc.stderr or "set " in proc.stderr


def test_images_match_the_locks(config):
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    pipeline = config["services"]["airflow-scheduler"]["image"]
    assert pipeline == f"fupin/pipeline:{project['version']}"
    superset_version = _locked(REPO_ROOT / "dashboards" / "superset_env" / "uv.lock", "apache-superset")
    assert config["services"]["superset"]["image"] == f"fupin/superset:{superset_version}"
    # Both images install from the committed lock files, frozen, with the Makefile's uv and Python 3.11.
    uv_version = re.search(r"^UV_VERSION := (\S+)", (REPO_ROOT / "Makefile").read_text(), re.M).group(1)
    for dockerfile in ("pipeline.Dockerfile", "superset.Dockerfile"):
        text = (REPO_ROOT / "deploy" / dockerfile).read_text()
        assert "uv sync --frozen" in text
        assert f"ARG UV_VERSION={uv_version}" in text
        assert "FROM python:3.11-" in text
    assert "COPY pyproject.toml uv.lock" in (REPO_ROOT / "deploy" / "pipeline.Dockerfile").read_text()
    # The DuckDB of both environments is the same version.
    assert _locked(REPO_ROOT / "uv.lock", "duckdb") == _locked(
        REPO_ROOT / "dashboards" / "superset_env" / "uv.lock", "duckdb"
    )


def test_postgres_images_match_the_local_major_version(config):
    from fupin.pgserver import find_bindir

    local_major = find_bindir().parent.name
    for name in ("app-db", "airflow-db"):
        assert config["services"][name]["image"].startswith(f"postgres:{local_major}.")


def test_airflow_commands_exist_in_the_locked_airflow(config):
    assert _locked(REPO_ROOT / "uv.lock", "apache-airflow") == "3.3.2"
    airflow = Path(sys.executable).parent / "airflow"
    listing = subprocess.run([str(airflow), "--help"], capture_output=True, text=True).stdout
    known = set(re.findall(r"^ {6}([a-z][a-z-]+)\b", listing, re.M))
    for name in (
        "airflow-init",
        "airflow-pools",
        "airflow-api-server",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
    ):
        command = config["services"][name]["command"]
        assert command[0] == "airflow"
        assert command[1] in known, (
            f"`airflow {command[1]}` is not a command of the locked Airflow: {sorted(known)}"
        )


def test_airflow_services_reach_the_execution_api_and_share_one_writer_pool(config):
    """Tasks started by the scheduler report to the API server; the DAG's pool exists with one slot."""
    from fupin.airflow_env import HEALTH_PATH, POOL

    env = config["services"]["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-api-server:8080/execution/"
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"]
    assert (
        config["services"]["airflow-api-server"]["environment"]["AIRFLOW__API_AUTH__JWT_SECRET"]
        == (env["AIRFLOW__API_AUTH__JWT_SECRET"])
    )
    pools = config["services"]["airflow-pools"]["command"]
    assert pools[:5] == ["airflow", "pools", "set", POOL, "1"]
    assert f"POOL = {POOL!r}".replace("'", '"') in (REPO_ROOT / "dags" / "fupin_daily.py").read_text()
    assert HEALTH_PATH in " ".join(config["services"]["airflow-api-server"]["healthcheck"]["test"])
