"""The spreadsheet load as a pipeline step: the same function for the command line and the Airflow DAG."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fupin.settings import Settings, get_settings
from ingestion.sheets.loader import Progress, SheetLoadSummary, load_drop_folder


class SheetLoadFailed(RuntimeError):
    """Some files could not be loaded for a reason other than their content; they will be tried again."""

    def __init__(self, summary: SheetLoadSummary) -> None:
        failed = "; ".join(f"{f.source_file}: {f.reason}" for f in summary.failed)
        super().__init__(f"{len(summary.failed)} file(s) failed to load (the others were loaded): {failed}")
        self.summary = summary


def load_sheets(
    settings: Settings | None = None,
    batch_id: str | None = None,
    *,
    drop_dir: Path | None = None,
    warehouse: Path | None = None,
    loaded_at: datetime | None = None,
    progress: Progress | None = None,
) -> SheetLoadSummary:
    """Load the drop folder (default: the settings' ``drop_dir``) into the build warehouse (default:
    the settings' ``build_path``). The settings' drop folder is created when missing."""
    from fupin.duck import connect
    from fupin.pipeline import new_batch_id

    settings = settings or get_settings()
    if drop_dir is None:
        drop_dir = settings.drop_dir
        drop_dir.mkdir(parents=True, exist_ok=True)
    con = connect(warehouse or settings.build_path, settings=settings)
    try:
        return load_drop_folder(con, Path(drop_dir), batch_id or new_batch_id(), loaded_at, progress=progress)
    finally:
        con.close()


def sheets_step(settings: Settings, batch_id: str) -> dict:
    """The DAG's task: load the drop folder, return the JSON summary, fail if any file failed to load."""
    summary = load_sheets(settings, batch_id)
    if summary.failed:
        raise SheetLoadFailed(summary)
    return summary.to_dict()
