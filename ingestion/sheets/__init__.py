"""Spreadsheets from towns and villages -> ``raw_sheets`` + ``quarantine`` in the DuckDB warehouse.

``load_drop_folder(con, drop_dir, batch_id)`` is the entry point (the command line, ``ingestion.sheets.cli``,
and the Airflow DAG, through ``sheets_step``, call it); the mapping files in ``ingestion/mappings/`` declare
each sheet kind's headers and rules.
"""

from ingestion.sheets.loader import FileResult, SheetLoadSummary, load_drop_folder
from ingestion.sheets.mapping import SheetKind, load_mappings
from ingestion.sheets.run import SheetLoadFailed, load_sheets, sheets_step

__all__ = [
    "FileResult",
    "SheetKind",
    "SheetLoadFailed",
    "SheetLoadSummary",
    "load_drop_folder",
    "load_mappings",
    "load_sheets",
    "sheets_step",
]
