"""Opening the DuckDB warehouse the same way everywhere.

Extensions come from their PyPI packages (``duckdb-extension-*``), loaded from the file inside the package:
nothing is downloaded at run time and nothing is written to the user's home directory.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import duckdb

from fupin.settings import Settings, get_settings

_PACKAGES = {"postgres_scanner": "duckdb_extension_postgres_scanner", "excel": "duckdb_extension_excel"}


def extension_file(name: str) -> Path:
    """The ``.duckdb_extension`` file shipped in the PyPI package for this DuckDB version."""
    module = importlib.import_module(_PACKAGES[name])
    path = Path(module.__file__).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.exists():
        raise FileNotFoundError(
            f"DuckDB extension {name!r} for DuckDB {duckdb.__version__} not found at {path}; "
            f"the package {_PACKAGES[name]} must be pinned to the same version as duckdb"
        )
    return path


def connect(
    path: Path | str,
    read_only: bool = False,
    extensions: tuple[str, ...] = (),
    settings: Settings | None = None,
) -> duckdb.DuckDBPyConnection:
    settings = settings or get_settings()
    settings.duckdb_home.mkdir(parents=True, exist_ok=True)
    if not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        str(path),
        read_only=read_only,
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "home_directory": str(settings.duckdb_home),
            "extension_directory": str(settings.duckdb_home / "extensions"),
            "memory_limit": settings.duckdb_memory_limit,
        },
    )
    for name in extensions:
        con.execute(f"load '{extension_file(name)}'")
    return con
