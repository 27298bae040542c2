"""Recognising what a dropped file is: its kind, its scope (area and period), and each sheet's header row."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from ingestion.sheets.mapping import SheetKind, header_key
from ingestion.sheets.reader import RawSheet

HEADER_SCAN_ROWS = 30  # the header is looked for among a sheet's first non-blank rows
TITLE_ROW_MAX_CELLS = 3  # a row above the header with more filled cells than this is data, not a title
CORRECTION_MARKERS = ("更正", "修正", "更新", "修改", "订正", "correct")
_DIGIT_RUNS = re.compile(r"\d+")


def _plain(name: str) -> str:
    return unicodedata.normalize("NFKC", name).lower()


def kind_from_name(file_name: str, kinds: dict[str, SheetKind]) -> SheetKind | None:
    """The kind a file name announces (the longest matching name wins), or ``None``."""
    plain = _plain(file_name)
    best: tuple[int, SheetKind] | None = None
    for kind in kinds.values():
        for alias in kind.file_names:
            if _plain(alias) in plain and (best is None or len(alias) > best[0]):
                best = (len(alias), kind)
    return best[1] if best else None


def scope_from_name(file_name: str, kind: SheetKind) -> tuple[str | None, str | None]:
    """``(area code, period)`` from a name like ``收入核实表_341623100001_2017.xlsx``; parts not found are None."""
    runs = _DIGIT_RUNS.findall(_plain(file_name))
    area = next((r for r in runs if len(r) == kind.area_digits), None)
    period = next((r for r in runs if len(r) == 4 and 2000 <= int(r) <= 2099), None)
    return area, period


def is_correction(file_name: str) -> bool:
    """Whether the name says the file corrects an earlier one (``…_更正.xlsx``)."""
    plain = _plain(file_name)
    return any(marker in plain for marker in CORRECTION_MARKERS)


@dataclass
class HeaderMatch:
    """The header row of a sheet (one row, or two when a group header sits above sub-headers)."""

    position: int  # index into RawSheet.rows of the (last) header row
    row_number: int
    columns: dict[int, str]  # cell position -> canonical column (first occurrence of each)
    labels: list[str]  # every cell position's header text, unique, for the rejected rows' JSON
    first_position: int = -1  # index of the first header row (the group row of a two-level header)

    def __post_init__(self) -> None:
        if self.first_position < 0:
            self.first_position = self.position

    def missing(self, kind: SheetKind) -> list[str]:
        present = set(self.columns.values())
        return [c.name for c in kind.columns if c.required and c.name not in present]


def _labels(cells: list[str | None], width: int) -> list[str]:
    labels: list[str] = []
    seen: Counter[str] = Counter()
    for i in range(width):
        text = cells[i] if i < len(cells) else None
        label = str(text).strip() if text is not None and str(text).strip() else f"column_{i + 1}"
        seen[label] += 1
        labels.append(label if seen[label] == 1 else f"{label}#{seen[label]}")
    return labels


def match_row(cells: list[str | None], kind: SheetKind) -> dict[int, str]:
    """Cell position -> canonical column, for the cells of a row that are headers of this kind."""
    index = kind.header_index
    mapped: dict[int, str] = {}
    taken: set[str] = set()
    for position, cell in enumerate(cells):
        name = index.get(header_key(cell)) if cell is not None else None
        if name and name not in taken:
            mapped[position] = name
            taken.add(name)
    return mapped


def _sub_header(cells: list[str | None], kind: SheetKind, mapped: dict[int, str]) -> dict[int, str]:
    """The columns a row directly under the header adds, when every filled cell of it is a header of the kind
    (a two-level header: a merged group cell such as ``收入情况`` above ``工资性收入``, ``财产性收入``...)."""
    below = match_row(cells, kind)
    if not below or len(below) != filled(cells):
        return {}
    taken = set(mapped.values())
    return {p: name for p, name in below.items() if name not in taken and p not in mapped}


def find_header(sheet: RawSheet, kind: SheetKind) -> HeaderMatch | None:
    """The first row (below any title rows) naming enough of the kind's columns, or None."""
    needed = min(kind.header_min_matches, len(kind.columns))
    for position, (row_number, cells) in enumerate(sheet.rows[:HEADER_SCAN_ROWS]):
        mapped = match_row(cells, kind)
        if len(mapped) >= needed:
            width = max(len(c) for _, c in sheet.rows)
            labels = _labels(cells, width)
            if position + 1 < len(sheet.rows):
                below_number, below = sheet.rows[position + 1]
                extra = _sub_header(below, kind, mapped)
                if extra:
                    sub_labels = _labels(below, width)
                    for p in extra:
                        labels[p] = sub_labels[p]
                    labels = _labels(labels, width)
                    return HeaderMatch(position + 1, below_number, mapped | extra, labels, position)
            return HeaderMatch(position, row_number, mapped, labels)
    return None


def header_score(sheets: list[RawSheet], kind: SheetKind) -> int:
    """How many of the kind's columns the best header row among the sheets names."""
    best = 0
    for sheet in sheets:
        for _, cells in sheet.rows[:HEADER_SCAN_ROWS]:
            best = max(best, len(match_row(cells, kind)))
    return best


def kind_from_headers(sheets: list[RawSheet], kinds: dict[str, SheetKind]) -> SheetKind | None:
    """The kind whose headers the file's sheets name best; None when no kind fits or two fit equally."""
    scores = sorted(
        ((header_score(sheets, k), k.kind) for k in kinds.values()), key=lambda s: s[0], reverse=True
    )
    if not scores or scores[0][0] < min(kinds[scores[0][1]].header_min_matches, 3):
        return None
    if len(scores) > 1 and scores[1][0] == scores[0][0]:
        return None
    return kinds[scores[0][1]]


def filled(cells: list[str | None]) -> int:
    return sum(1 for c in cells if c is not None and str(c).strip())
