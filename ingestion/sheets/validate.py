"""Turning a sheet's rows into typed values, and finding every rule each row breaks.

The rules all come from the kind's mapping file: a column's type, ``required``, ``pattern``, range and
allowed values (checked cell by cell, see :class:`ColumnParser`), then the row checks against the file's
scope, other columns and reference tables, then the uniqueness of the key within the file. A row with no
violation is accepted; a row with one or more is quarantined whole, under the first rule it broke.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from ingestion.sheets.detect import TITLE_ROW_MAX_CELLS, HeaderMatch, filled, find_header
from ingestion.sheets.mapping import CheckSpec, ColumnSpec, SheetKind, header_key
from ingestion.sheets.reader import RawSheet
from ingestion.sheets.values import (
    BadValue,
    clean_text,
    parse_code,
    parse_date,
    parse_decimal,
    parse_id_number,
    parse_integer,
    squeeze,
    strip_units,
)


@dataclass(frozen=True)
class Violation:
    rule: str
    column: str | None  # the canonical column (or None for a rule on the whole row)
    message: str


@dataclass
class SheetRow:
    """One data row of a sheet: where it is, its cells as sent, its typed values and what is wrong with it."""

    sheet: str
    row_number: int
    raw: list[str | None]  # the cells as sent, by position
    labels: list[str]  # the header text of each position
    values: dict[str, object] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.violations

    @property
    def cells(self) -> dict[str, object]:
        """The cells as sent, by header text (what a rejected row's JSON holds)."""
        return {label: (self.raw[i] if i < len(self.raw) else None) for i, label in enumerate(self.labels)}


@dataclass
class SheetReport:
    """What was found in one sheet: its header row, how headers mapped, which required columns are missing."""

    name: str
    header_row: int | None
    mapped: dict[str, str]  # canonical column -> header text found
    missing: list[str]
    unmapped: list[str]
    rows: int


class ColumnParser:
    """Parses one column's cells by its spec, remembering each distinct cell text's result."""

    def __init__(self, spec: ColumnSpec) -> None:
        self.spec = spec
        self._cache: dict[object, tuple[object, Violation | None]] = {}
        self._convert: Callable[[str], object] = {
            "text": self._text,
            "code": self._code,
            "id_number": parse_id_number,
            "integer": lambda t: parse_integer(strip_units(t, spec.units)),
            "decimal": lambda t: parse_decimal(strip_units(t, spec.units)),
            "date": parse_date,
        }[spec.type]

    def __call__(self, raw: object) -> tuple[object, Violation | None]:
        try:
            return self._cache[raw]
        except KeyError:
            result = self._cache[raw] = self._parse(raw)
            return result

    def _text(self, text: str) -> str:
        text = squeeze(text) if self.spec.squeeze else text
        if self.spec.allowed:
            canonical = self.spec.allowed.get(header_key(text))
            if canonical is None:
                values = sorted(set(self.spec.allowed.values()))
                raise BadValue("not_allowed_value", f"{text!r} is not one of {'/'.join(values)}")
            text = canonical
        return self._match(text)

    def _code(self, text: str) -> str:
        return self._match(parse_code(text))

    def _match(self, text: str) -> str:
        if self.spec.pattern is not None and not self.spec.pattern.match(text):
            raise BadValue(
                "bad_format", f"{text!r} is not {self.spec.pattern_hint or self.spec.pattern.pattern}"
            )
        return text

    def _parse(self, raw: object) -> tuple[object, Violation | None]:
        spec = self.spec
        text = clean_text(raw)
        if text is None:
            if spec.required:
                return None, Violation("missing_value", spec.name, f"{spec.label} is blank")
            return None, None
        try:
            value = self._convert(text)
        except BadValue as exc:
            return None, Violation(exc.rule, spec.name, f"{spec.label}: {exc}")
        if spec.non_negative and value < 0:
            return None, Violation("negative_number", spec.name, f"{spec.label}: {text!r} is negative")
        if (spec.min is not None and value < spec.min) or (spec.max is not None and value > spec.max):
            low = spec.min if spec.min is not None else "-"
            high = spec.max if spec.max is not None else "-"
            return None, Violation(
                "out_of_range", spec.name, f"{spec.label}: {text!r} is outside [{low}, {high}]"
            )
        return value, None


def parsers_for(kind: SheetKind) -> dict[str, ColumnParser]:
    return {c.name: ColumnParser(c) for c in kind.columns}


def parse_sheet(
    sheet: RawSheet, kind: SheetKind, parsers: dict[str, ColumnParser]
) -> tuple[list[SheetRow], SheetReport]:
    """Every non-blank row of the sheet below its title rows, parsed; rows without a header are rejected."""
    header: HeaderMatch | None = find_header(sheet, kind)
    if header is None:
        width = max((len(c) for _, c in sheet.rows), default=0)
        labels = [f"column_{i + 1}" for i in range(width)]
        needed = min(kind.header_min_matches, len(kind.columns))
        message = (
            f"sheet {sheet.name!r} has no header row naming at least {needed} columns of a {kind.title}"
            f" ({kind.kind}) among its first rows"
        )
        rows = [
            SheetRow(sheet.name, n, c, labels, violations=[Violation("no_header_row", None, message)])
            for n, c in sheet.rows
        ]
        return rows, SheetReport(sheet.name, None, {}, [], [], len(rows))

    labels = header.labels
    missing = header.missing(kind)
    mapped = {name: labels[pos] for pos, name in header.columns.items()}
    unmapped = [
        labels[p]
        for p in range(len(labels))
        if p not in header.columns and not labels[p].startswith("column_")
    ]
    missing_violation = None
    if missing:
        wanted = ", ".join(kind.column(m).label for m in missing)
        missing_violation = Violation(
            "missing_column",
            missing[0],
            f"sheet {sheet.name!r} has no column for {wanted} (header row {header.row_number}:"
            f" {', '.join(str(x) for x in labels if not x.startswith('column_'))})",
        )
    template = {spec.name: None for spec in kind.columns}
    columns = [(pos, name, parsers[name]) for pos, name in header.columns.items()]
    rows: list[SheetRow] = []
    for position, (row_number, cells) in enumerate(sheet.rows):
        if position < header.first_position:
            if filled(cells) <= TITLE_ROW_MAX_CELLS:
                continue  # a title row (e.g. a merged "XX村2017年收入核实表" banner)
            rows.append(
                SheetRow(
                    sheet.name,
                    row_number,
                    cells,
                    labels,
                    violations=[
                        Violation(
                            "row_above_header",
                            None,
                            f"row {row_number} is above the header row {header.row_number} but holds data",
                        )
                    ],
                )
            )
            continue
        if position <= header.position:
            continue  # the header row(s)
        row = SheetRow(sheet.name, row_number, cells, labels)
        if missing_violation is not None:
            row.violations.append(missing_violation)
        else:
            values = row.values = dict(template)
            for pos, name, parser in columns:
                value, violation = parser(cells[pos] if pos < len(cells) else None)
                values[name] = value
                if violation is not None:
                    row.violations.append(violation)
        rows.append(row)
    report = SheetReport(sheet.name, header.row_number, mapped, missing, unmapped, len(rows))
    return rows, report


def derive_scope(
    rows: list[SheetRow], kind: SheetKind, name_area: str | None, name_period: str | None
) -> tuple[str | None, str | None]:
    """The file's (area, period): from its name, else the value most rows carry."""

    def most_common(column: str | None) -> str | None:
        if column is None:
            return None
        counts = Counter(
            str(r.values[column])
            for r in rows
            if r.values.get(column) is not None and not any(v.column == column for v in r.violations)
        )
        return counts.most_common(1)[0][0] if counts else None

    area = name_area or most_common(kind.area_column)
    period = name_period or most_common(kind.period_column)
    return area, period


def _check(
    check: CheckSpec,
    value: object,
    row: SheetRow,
    area: str | None,
    period: str | None,
    reference: set[str] | None,
    kind: SheetKind,
) -> Violation | None:
    label = kind.column(check.column).label
    if check.equals == "file_area" and area is not None and str(value) != area:
        return Violation(check.rule, check.column, f"{label} {value} is not this file's area {area}")
    if check.equals == "file_period" and period is not None and str(value) != period:
        return Violation(check.rule, check.column, f"{label} {value} is not this file's period {period}")
    if check.starts_with_column is not None:
        other = row.values.get(check.starts_with_column)
        if other is not None and not str(value).startswith(str(other)):
            other_label = kind.column(check.starts_with_column).label
            return Violation(
                check.rule, check.column, f"{label} {value} does not begin with {other_label} {other}"
            )
    if check.exists_in is not None and reference is not None and str(value) not in reference:
        table, column = check.exists_in
        return Violation(check.rule, check.column, f"{label} {value} is not in {table}.{column}")
    return None


def apply_row_checks(
    rows: list[SheetRow],
    kind: SheetKind,
    area: str | None,
    period: str | None,
    references: dict[tuple[str, str], set[str] | None],
) -> None:
    """Add the violations of the kind's row checks, then of its key's uniqueness, to the rows."""
    for row in rows:
        if not row.values:
            continue
        for check in kind.checks:
            value = row.values.get(check.column)
            if value is None or any(v.column == check.column for v in row.violations):
                continue
            reference = references.get(check.exists_in) if check.exists_in else None
            violation = _check(check, value, row, area, period, reference, kind)
            if violation is not None:
                row.violations.append(violation)
    if kind.unique:
        first: dict[tuple, SheetRow] = {}
        for row in rows:
            if not row.accepted:
                continue
            key = tuple(row.values.get(c) for c in kind.unique)
            if any(k is None for k in key):
                continue
            earlier = first.setdefault(key, row)
            if earlier is not row:
                row.violations.append(
                    Violation(
                        "duplicate_key",
                        kind.unique[-1],
                        f"{' + '.join(kind.unique)} {'/'.join(str(k) for k in key)} repeats row"
                        f" {earlier.row_number} of sheet {earlier.sheet!r}",
                    )
                )
