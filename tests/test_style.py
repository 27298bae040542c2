"""Lint as tests: SQLFluff on the dbt models, ruff on the Python."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

BIN = Path(sys.executable).parent


def test_dbt_models_are_sqlfluff_clean():
    proc = subprocess.run(
        [str(BIN / "sqlfluff"), "lint", "models", "--disable-progress-bar"],
        cwd=REPO_ROOT / "dbt_project",
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]


def test_python_is_ruff_clean():
    proc = subprocess.run([str(BIN / "ruff"), "check", "."], cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-5000:]
