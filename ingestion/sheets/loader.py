"""Loading the drop folder of village and town spreadsheets into the warehouse, never losing a row.

For each file, in order (plain files before corrections, then by modification time and name):

1. its content hash is looked up in ``meta.sheet_files``; a file seen before is a ``duplicate`` and loads
   nothing;
2. it is read (every sheet; CSV in any of the usual encodings); a file that cannot be read at all is
   quarantined whole (rule ``unreadable_file``) with the reason;
3. its kind comes from its name, else from its headers; each sheet's header row is found below any title rows
   and mapped to canonical columns by the kind's mapping file; every row is parsed and checked by the
   mapping's rules;
4. in one transaction: the rows of the file it corrects (same kind, area and period) leave ``raw_sheets``, the
   accepted rows go into ``raw_sheets.<kind>``, the rejected ones whole into ``quarantine.sheet_rows``, and
   the registry, the load audit (accepted + quarantined = received) and the file's event are written.

A file whose load fails for any other reason is rolled back whole, reported as ``failed`` and not
registered, so the next run tries it again; the rest of the batch still loads.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingestion.sheets import store
from ingestion.sheets.detect import (
    header_score,
    is_correction,
    kind_from_headers,
    kind_from_name,
    scope_from_name,
)
from ingestion.sheets.mapping import MAPPINGS_DIR, SheetKind, load_mappings
from ingestion.sheets.reader import RawSheet, UnreadableFile, read_sheets
from ingestion.sheets.registry import current_file, file_hash, known_file, register_file, replace_current
from ingestion.sheets.validate import (
    SheetReport,
    SheetRow,
    Violation,
    apply_row_checks,
    derive_scope,
    parse_sheet,
    parsers_for,
)

UNKNOWN_TABLE = "quarantine.sheet_rows"  # the audit's table for rows of a file of no known kind
IGNORED_PREFIXES = (".", "~$")  # hidden files and Excel's lock files are not sent files


@dataclass
class FileResult:
    """What happened to one file of the drop folder."""

    source_file: str
    file_hash: str
    status: str  # loaded / duplicate / unreadable / failed
    kind: str | None = None
    area_code: str | None = None
    period: str | None = None
    received: int = 0
    accepted: int = 0
    quarantined: int = 0
    rule: str | None = None  # the rule of a whole-file rejection
    reason: str | None = None
    replaces: str | None = None  # the source file whose rows this one replaced
    rows_replaced: int = 0
    encoding: str | None = None
    sheets: list[SheetReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def table(self) -> str:
        return f"raw_sheets.{self.kind}" if self.kind else UNKNOWN_TABLE


@dataclass
class SheetLoadSummary:
    """The result of one load of the drop folder: per-file results and totals."""

    batch_id: str
    loaded_at: datetime
    drop_dir: str
    files: list[FileResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def received(self) -> int:
        return sum(f.received for f in self.files)

    @property
    def accepted(self) -> int:
        return sum(f.accepted for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)

    @property
    def by_status(self) -> dict[str, int]:
        return dict(Counter(f.status for f in self.files))

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]

    def to_dict(self) -> dict:
        """A JSON-serialisable form (what the Airflow task returns)."""
        return {
            "batch_id": self.batch_id,
            "loaded_at": self.loaded_at.isoformat(),
            "drop_dir": self.drop_dir,
            "files": [
                {k: v for k, v in asdict(f).items() if k != "sheets"} | {"sheets": [s.name for s in f.sheets]}
                for f in self.files
            ],
            "by_status": self.by_status,
            "received": self.received,
            "accepted": self.accepted,
            "quarantined": self.quarantined,
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
        }


Progress = Callable[[int, int, str, FileResult | None], None]


def drop_files(drop_dir: Path) -> list[Path]:
    """The files of the drop folder (and its sub-folders) in load order: corrections after the files they
    correct, then by modification time and name."""
    files = [
        p
        for p in drop_dir.rglob("*")
        if p.is_file()
        and not any(part.startswith(IGNORED_PREFIXES) for part in p.relative_to(drop_dir).parts)
    ]

    def order(path: Path) -> tuple:
        return (is_correction(path.name), path.stat().st_mtime_ns, str(path.relative_to(drop_dir)))

    return sorted(files, key=order)


def load_drop_folder(
    con: duckdb.DuckDBPyConnection,
    drop_dir: Path,
    batch_id: str,
    loaded_at: datetime | None = None,
    *,
    mappings_dir: Path = MAPPINGS_DIR,
    progress: Progress | None = None,
) -> SheetLoadSummary:
    """Load every new file of ``drop_dir`` into ``raw_sheets`` / ``quarantine``; return what happened.

    ``con`` is a read-write connection to the warehouse, not inside a transaction: each file is loaded in a
    transaction of its own. Re-running over the same folder loads nothing new.
    """
    started = time.perf_counter()
    drop_dir = Path(drop_dir)
    if not drop_dir.is_dir():
        raise FileNotFoundError(f"drop folder {drop_dir} does not exist or is not a folder")
    loaded_at = loaded_at or datetime.now(UTC)
    if loaded_at.tzinfo is None:
        loaded_at = loaded_at.replace(tzinfo=UTC)
    kinds = load_mappings(mappings_dir)
    store.ensure_tables(con, kinds)
    summary = SheetLoadSummary(batch_id=batch_id, loaded_at=loaded_at, drop_dir=str(drop_dir))
    references = _references(con, kinds, summary.warnings)
    files = drop_files(drop_dir)
    for index, path in enumerate(files):
        source_file = path.relative_to(drop_dir).as_posix()
        if progress:
            progress(index, len(files), source_file, None)
        loader = _FileLoad(con, kinds, references, batch_id, loaded_at, path, source_file)
        result = loader.run()
        summary.files.append(result)
        if progress:
            progress(index + 1, len(files), source_file, result)
    summary.seconds = time.perf_counter() - started
    return summary


def _references(
    con: duckdb.DuckDBPyConnection, kinds: dict[str, SheetKind], warnings: list[str]
) -> dict[tuple[str, str], set[str] | None]:
    """The reference values the mappings' ``exists_in`` checks need, read once per batch."""
    references: dict[tuple[str, str], set[str] | None] = {}
    for kind in kinds.values():
        for check in kind.checks:
            if check.exists_in and check.exists_in not in references:
                values = store.reference_values(con, *check.exists_in)
                references[check.exists_in] = values
                if values is None:
                    warnings.append(
                        f"{check.exists_in[0]} is not in the warehouse yet: rule {check.rule} was not checked"
                        " (run the PostgreSQL extract before the spreadsheet load)"
                    )
    return references


class _FileLoad:
    """The load of one file, from its bytes to its committed rows."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        kinds: dict[str, SheetKind],
        references: dict[tuple[str, str], set[str] | None],
        batch_id: str,
        loaded_at: datetime,
        path: Path,
        source_file: str,
    ) -> None:
        self.con = con
        self.kinds = kinds
        self.references = references
        self.batch_id = batch_id
        self.loaded_at = loaded_at
        self.path = path
        self.source_file = source_file

    def run(self) -> FileResult:
        started = time.perf_counter()
        data = self.path.read_bytes()
        self.size = len(data)
        digest = file_hash(data)
        result = FileResult(self.source_file, digest, status="loaded")
        try:
            seen = known_file(self.con, digest)
            if seen is not None:
                result.status = "duplicate"
                result.reason = (
                    f"same content as {seen.source_file} (first seen in batch {seen.first_seen_batch})"
                )
                self._transaction(lambda: self._event(result))
            else:
                self._load(data, result)
        except Exception as exc:  # noqa: BLE001 - any failure of one file must not stop the batch
            result.status = "failed"
            result.reason = f"{type(exc).__name__}: {exc}"
            result.received = result.accepted = result.quarantined = result.rows_replaced = 0
            result.replaces = None
            try:
                self._transaction(lambda: self._event(result))
            except duckdb.Error:
                pass
        result.seconds = time.perf_counter() - started
        return result

    def _load(self, data: bytes, result: FileResult) -> None:
        name_kind = kind_from_name(self.path.name, self.kinds)
        try:
            sheets = read_sheets(data, self.path.suffix)
        except UnreadableFile as exc:
            self._reject_file(result, name_kind, str(exc))
            return
        result.encoding = sheets[0].encoding
        kind = name_kind
        if kind is None or header_score(sheets, kind) < min(kind.header_min_matches, len(kind.columns)):
            # No name, or a name its sheets contradict (no header of that kind): the headers decide.
            kind = kind_from_headers(sheets, self.kinds) or name_kind
        if kind is None:
            known = ", ".join(f"{k.title} ({k.kind})" for k in self.kinds.values())
            message = (
                f"neither the file name nor the headers say which kind of sheet this is (known: {known})"
            )
            self._reject_rows(result, sheets, None, "unknown_kind", message)
            return
        result.kind = kind.kind
        name_area, name_period = scope_from_name(self.path.name, kind)
        parsers = parsers_for(kind)
        rows: list[SheetRow] = []
        for sheet in sheets:
            if not sheet.rows:
                continue
            sheet_rows, report = parse_sheet(sheet, kind, parsers)
            rows.extend(sheet_rows)
            result.sheets.append(report)
        area, period = derive_scope(rows, kind, name_area, name_period)
        result.area_code, result.period = area, period
        apply_row_checks(rows, kind, area, period, self.references)
        accepted = [r for r in rows if r.accepted]
        rejected = [r for r in rows if not r.accepted]
        result.received, result.accepted, result.quarantined = len(rows), len(accepted), len(rejected)
        recognised = any(s.header_row is not None for s in result.sheets)
        if not recognised:
            result.status = "unreadable"
            result.reason = f"no sheet has a header row of a {kind.title} ({kind.kind})"

        def write() -> None:
            if recognised and area is not None:
                current = current_file(self.con, kind.kind, area, period)
                if current is not None:
                    result.rows_replaced = replace_current(
                        self.con,
                        kind,
                        current,
                        new_hash=result.file_hash,
                        new_source_file=self.source_file,
                        area=area,
                        period=period,
                        batch_id=self.batch_id,
                        at=self.loaded_at,
                    )
                    result.replaces = current.source_file
                    self._replaces_hash = current.file_hash
            meta = dict(
                batch_id=self.batch_id,
                loaded_at=self.loaded_at,
                source_file=self.source_file,
                file_hash=result.file_hash,
            )
            store.insert_raw(self.con, kind, accepted, **meta)
            store.insert_quarantine(self.con, rejected, **meta)
            self._finish(result)

        self._replaces_hash: str | None = None
        self._transaction(write)

    def _reject_file(self, result: FileResult, kind: SheetKind | None, reason: str) -> None:
        """A file that cannot be read: one quarantine row for the whole file, nothing received."""
        result.status, result.rule, result.reason = "unreadable", "unreadable_file", reason
        result.kind = kind.kind if kind else None
        if kind is not None:
            result.area_code, result.period = scope_from_name(self.path.name, kind)

        def write() -> None:
            store.insert_file_rejection(
                self.con,
                batch_id=self.batch_id,
                loaded_at=self.loaded_at,
                source_file=self.source_file,
                file_hash=result.file_hash,
                rule="unreadable_file",
                reason=reason,
            )
            self._replaces_hash = None
            self._finish(result)

        self._transaction(write)

    def _reject_rows(
        self, result: FileResult, sheets: list[RawSheet], kind: SheetKind | None, rule: str, message: str
    ) -> None:
        """A readable file that is no known kind: every row quarantined whole under ``rule``."""
        rows = []
        for sheet in sheets:
            width = max((len(c) for _, c in sheet.rows), default=0)
            labels = [f"column_{i + 1}" for i in range(width)]
            for number, cells in sheet.rows:
                rows.append(
                    SheetRow(sheet.name, number, cells, labels, violations=[Violation(rule, None, message)])
                )
        result.status, result.rule, result.reason = "unreadable", rule, message
        result.received = result.quarantined = len(rows)

        def write() -> None:
            store.insert_quarantine(
                self.con,
                rows,
                batch_id=self.batch_id,
                loaded_at=self.loaded_at,
                source_file=self.source_file,
                file_hash=result.file_hash,
            )
            self._replaces_hash = None
            self._finish(result)

        self._transaction(write)

    def _finish(self, result: FileResult) -> None:
        """The registry row, the load audit and the event of a file whose rows were just written."""
        register_file(
            self.con,
            digest=result.file_hash,
            file_name=self.path.name,
            source_file=self.source_file,
            kind=result.kind,
            area=result.area_code,
            period=result.period,
            size=self.size,
            batch_id=self.batch_id,
            at=self.loaded_at,
            status="loaded" if result.status == "loaded" else "unreadable",
            replaces=self._replaces_hash,
            received=result.received,
            accepted=result.accepted,
            quarantined=result.quarantined,
            reason=result.reason,
        )
        store.record_audit(
            self.con,
            batch_id=self.batch_id,
            source_file=self.source_file,
            table_name=result.table,
            received=result.received,
            accepted=result.accepted,
            quarantined=result.quarantined,
            loaded_at=self.loaded_at,
        )
        self._event(result)

    def _event(self, result: FileResult) -> None:
        detail = result.reason
        if result.replaces:
            detail = f"replaces {result.replaces} ({result.rows_replaced} rows)"
        store.record_event(
            self.con,
            batch_id=self.batch_id,
            seen_at=self.loaded_at,
            source_file=self.source_file,
            file_hash=result.file_hash,
            status=result.status,
            detail=detail,
        )

    def _transaction(self, work: Callable[[], None]) -> None:
        self.con.execute("begin transaction")
        try:
            work()
            self.con.execute("commit")
        except BaseException:
            self.con.execute("rollback")
            raise
