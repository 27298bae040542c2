"""The mapping files: one YAML file per sheet kind in ``ingestion/mappings/``.

A mapping declares, for one kind of spreadsheet, everything the loader needs to know about it: how its files
are named, which header texts (the standard Chinese header, its variants and synonyms) map to which canonical
column, each column's type, and the rules a value must keep. The loader has no header text or rule of its
own: adding a synonym or tightening a rule is an edit to a mapping file.

Column keys: ``name``, ``type`` (``text``, ``code``, ``integer``, ``decimal``, ``date``, ``id_number``),
``required``, ``headers``, ``units`` (trailing units to drop from numbers), ``pattern`` and ``pattern_hint``,
``min`` / ``max``, ``non_negative``, ``allowed`` (canonical value -> accepted spellings), ``squeeze`` (drop all
spaces from text). Row checks (``checks``): ``equals: file_area`` / ``equals: file_period``,
``starts_with_column``, ``exists_in: {table, column}``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

import yaml

MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "mappings"
COLUMN_TYPES = {
    "text": "VARCHAR",
    "code": "VARCHAR",
    "id_number": "VARCHAR",
    "integer": "INTEGER",
    "decimal": "DECIMAL(14,2)",
    "date": "DATE",
}
_BRACKETED = re.compile(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】|<[^>]*>")
_HEADER_JUNK = re.compile(r"[\s*※:：_\-—/\\.。,，、]+")


class MappingError(ValueError):
    """A mapping file is malformed; the message names the file and the key."""


def header_key(text: object) -> str:
    """The form a header is compared in: half-width, lower case, no spaces, units or brackets.

    ``人均纯收入（元）``, `` 人均纯收入 `` and ``*人均纯收入`` all become ``人均纯收入``.
    """
    if text is None:
        return ""
    key = unicodedata.normalize("NFKC", str(text)).lower()
    stripped = _BRACKETED.sub("", key)
    key = stripped if _HEADER_JUNK.sub("", stripped) else key
    return _HEADER_JUNK.sub("", key)


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    headers: tuple[str, ...]
    required: bool = False
    units: tuple[str, ...] = ()
    pattern: re.Pattern | None = None
    pattern_hint: str | None = None
    min: float | date | None = None
    max: float | date | None = None
    non_negative: bool = False
    allowed: dict[str, str] = field(default_factory=dict)  # spelling key -> canonical value
    squeeze: bool = False

    @property
    def sql_type(self) -> str:
        return COLUMN_TYPES[self.type]

    @property
    def label(self) -> str:
        """The column as a user knows it: canonical name and standard Chinese header."""
        return f"{self.name} ({self.headers[0]})"


@dataclass(frozen=True)
class CheckSpec:
    """A rule on a whole row (against the file's scope, another column, or a reference table)."""

    rule: str
    column: str
    equals: str | None = None  # 'file_area' or 'file_period'
    starts_with_column: str | None = None
    exists_in: tuple[str, str] | None = None  # (table, column)
    description: str = ""


@dataclass(frozen=True)
class SheetKind:
    kind: str
    title: str
    file_names: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    area_column: str
    area_digits: int
    period_column: str | None
    unique: tuple[str, ...]
    checks: tuple[CheckSpec, ...]
    header_min_matches: int
    source: Path

    @property
    def table(self) -> str:
        return f"raw_sheets.{self.kind}"

    def column(self, name: str) -> ColumnSpec:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @cached_property
    def header_index(self) -> dict[str, str]:
        """Header key -> canonical column, over every declared spelling and the canonical name itself."""
        index: dict[str, str] = {}
        for col in self.columns:
            for spelling in (*col.headers, col.name):
                index.setdefault(header_key(spelling), col.name)
        return index


def _require(doc: dict, key: str, where: str):
    if key not in doc:
        raise MappingError(f"{where}: missing key {key!r}")
    return doc[key]


def _bound(value, col_type: str, where: str):
    if value is None:
        return None
    if col_type == "date":
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError as exc:
            raise MappingError(f"{where}: {value!r} is not an ISO date") from exc
    return float(value)


def _column(doc: dict, where: str) -> ColumnSpec:
    name = _require(doc, "name", where)
    where = f"{where} column {name!r}"
    col_type = doc.get("type", "text")
    if col_type not in COLUMN_TYPES:
        raise MappingError(f"{where}: unknown type {col_type!r} (known: {sorted(COLUMN_TYPES)})")
    headers = tuple(str(h) for h in _require(doc, "headers", where))
    if not headers:
        raise MappingError(f"{where}: 'headers' is empty; the standard Chinese header comes first")
    allowed: dict[str, str] = {}
    raw_allowed = doc.get("allowed") or {}
    if isinstance(raw_allowed, list):
        raw_allowed = {v: [] for v in raw_allowed}
    for canonical, spellings in raw_allowed.items():
        for spelling in (canonical, *(spellings or [])):
            allowed[header_key(spelling)] = str(canonical)
    pattern = doc.get("pattern")
    return ColumnSpec(
        name=name,
        type=col_type,
        headers=headers,
        required=bool(doc.get("required", False)),
        units=tuple(doc.get("units") or ()),
        pattern=re.compile(pattern) if pattern else None,
        pattern_hint=doc.get("pattern_hint"),
        min=_bound(doc.get("min"), col_type, where),
        max=_bound(doc.get("max"), col_type, where),
        non_negative=bool(doc.get("non_negative", False)),
        allowed=allowed,
        squeeze=bool(doc.get("squeeze", False)),
    )


def _check(doc: dict, where: str, names: set[str]) -> CheckSpec:
    rule = _require(doc, "rule", where)
    column = _require(doc, "column", f"{where} check {rule!r}")
    if column not in names:
        raise MappingError(f"{where} check {rule!r}: unknown column {column!r}")
    exists_in = doc.get("exists_in")
    if exists_in is not None:
        exists_in = (_require(exists_in, "table", where), _require(exists_in, "column", where))
    equals = doc.get("equals")
    if equals not in (None, "file_area", "file_period"):
        raise MappingError(f"{where} check {rule!r}: equals must be file_area or file_period")
    starts = doc.get("starts_with_column")
    if starts is not None and starts not in names:
        raise MappingError(f"{where} check {rule!r}: unknown column {starts!r}")
    if not (equals or starts or exists_in):
        raise MappingError(f"{where} check {rule!r}: needs equals, starts_with_column or exists_in")
    return CheckSpec(
        rule=rule,
        column=column,
        equals=equals,
        starts_with_column=starts,
        exists_in=exists_in,
        description=doc.get("description", ""),
    )


def load_mapping(path: Path) -> SheetKind:
    """Read and check one mapping file."""
    where = str(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MappingError(f"{where}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise MappingError(f"{where}: expected a mapping at the top level")
    columns = tuple(_column(c, where) for c in _require(doc, "columns", where))
    names = {c.name for c in columns}
    if len(names) != len(columns):
        raise MappingError(f"{where}: a column name is declared twice")
    scope = _require(doc, "scope", where)
    area_column = _require(scope, "area_column", f"{where} scope")
    period_column = scope.get("period_column")
    for col in (area_column, period_column, *doc.get("unique", [])):
        if col is not None and col not in names:
            raise MappingError(f"{where}: scope or unique names unknown column {col!r}")
    kind = SheetKind(
        kind=_require(doc, "kind", where),
        title=_require(doc, "title", where),
        file_names=tuple(_require(doc, "file_names", where)),
        columns=columns,
        area_column=area_column,
        area_digits=int(_require(scope, "area_digits", f"{where} scope")),
        period_column=period_column,
        unique=tuple(doc.get("unique", [])),
        checks=tuple(_check(c, where, names) for c in doc.get("checks", [])),
        header_min_matches=int(doc.get("header_min_matches", 3)),
        source=path,
    )
    seen: dict[str, str] = {}
    for col in columns:
        for spelling in col.headers:
            key = header_key(spelling)
            if seen.setdefault(key, col.name) != col.name:
                raise MappingError(
                    f"{where}: header {spelling!r} is declared for both {seen[key]!r} and {col.name!r}"
                )
    return kind


def load_mappings(directory: Path = MAPPINGS_DIR) -> dict[str, SheetKind]:
    """Every mapping file of the directory, by kind."""
    kinds: dict[str, SheetKind] = {}
    for path in sorted(directory.glob("*.yaml")):
        kind = load_mapping(path)
        if kind.kind in kinds:
            raise MappingError(f"{path}: kind {kind.kind!r} is also declared in {kinds[kind.kind].source}")
        kinds[kind.kind] = kind
    if not kinds:
        raise MappingError(f"no mapping files (*.yaml) in {directory}")
    return kinds
