"""Reading a dropped file into its sheets' rows of cell text, or saying why it cannot be read.

Workbooks (.xlsx, .xlsm, .xls, .ods) are read with calamine (fastexcel), every sheet, every cell as text, with
the spreadsheet's own 1-based row numbers. CSV files are decoded with the first encoding that fits (UTF-8 with
or without BOM, UTF-16 with BOM, then GB18030, the superset of GBK). What a file is comes from its bytes, not
its name: a text file renamed ``.xlsx`` or an encrypted (password-protected) workbook is recognised as such.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field

import fastexcel

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Stream names of an Office-encrypted package inside its OLE container (directory entries are UTF-16LE).
ENCRYPTED_MARKERS = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"))
WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"})
CSV_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})
CSV_SHEET = "csv"


class UnreadableFile(Exception):
    """The file cannot be read as a spreadsheet at all; the message says why, for the person who sent it."""


@dataclass
class RawSheet:
    """One sheet's non-blank rows: ``(row number as the spreadsheet shows it, cell texts)``."""

    name: str
    rows: list[tuple[int, list[str | None]]] = field(default_factory=list)
    encoding: str | None = None


def _blank(cells) -> bool:
    return all(c is None or not str(c).strip() for c in cells)


def read_workbook_bytes(data: bytes) -> list[RawSheet]:
    """Every sheet of a workbook given as bytes; raise :class:`UnreadableFile` when it cannot be opened."""
    if data.startswith(OLE_MAGIC) and any(m in data for m in ENCRYPTED_MARKERS):
        raise UnreadableFile(
            "the workbook is password-protected (an encrypted Office file): save it again without a password"
        )
    if data.startswith(ZIP_MAGIC):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except zipfile.BadZipFile as exc:
            raise UnreadableFile(f"the workbook is damaged (a broken zip archive: {exc})") from exc
        if "xl/workbook.xml" not in names and "xl/workbook.bin" not in names and "content.xml" not in names:
            raise UnreadableFile("the file is a zip archive but not a workbook (no xl/workbook.xml inside)")
    elif not data.startswith(OLE_MAGIC):
        raise UnreadableFile(
            "the file is not a spreadsheet: its content is neither an Excel workbook nor a zip"
        )
    try:
        reader = fastexcel.read_excel(data)
        sheets = []
        for index, name in enumerate(reader.sheet_names):
            # skip_rows=0 keeps leading blank rows, so position i is the spreadsheet's row i + 1.
            table = reader.load_sheet(index, header_row=None, skip_rows=0, dtypes="string").to_arrow()
            sheet = RawSheet(name=name)
            columns = [column.to_pylist() for column in table.columns]
            for i, row in enumerate(zip(*columns, strict=True)):
                if not _blank(row):
                    sheet.rows.append((i + 1, list(row)))
            sheets.append(sheet)
    except fastexcel.FastExcelError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UnreadableFile(
            f"the workbook cannot be read (damaged or not a real workbook): {first_line}"
        ) from exc
    return sheets


def decode_text(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was written in."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    if b"\x00" in data:
        raise UnreadableFile("the file is not a text (CSV) file: it contains binary data")
    for encoding in ("utf-8", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "gb18030":
            try:
                data.decode("gbk")
                encoding = "gbk"
            except UnicodeDecodeError:
                pass
        return text, encoding
    raise UnreadableFile("the file's text is neither UTF-8 nor GBK/GB18030: save it as CSV UTF-8 or as .xlsx")


def read_csv_bytes(data: bytes) -> list[RawSheet]:
    """The one sheet of a CSV file, in whatever encoding and delimiter it was written."""
    text, encoding = decode_text(data)
    sample = text[:8192]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        delimiter = ","
    sheet = RawSheet(name=CSV_SHEET, encoding=encoding)
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 1):
            cells: list[str | None] = [c if c.strip() else None for c in row]
            if cells and not _blank(cells):
                sheet.rows.append((number, cells))
    except csv.Error as exc:
        raise UnreadableFile(f"the CSV file cannot be parsed: {exc}") from exc
    return [sheet]


def read_sheets(data: bytes, suffix: str) -> list[RawSheet]:
    """The sheets of a dropped file, chosen by its content (and, for text, its name)."""
    if not data:
        raise UnreadableFile("the file is empty (0 bytes)")
    suffix = suffix.lower()
    if data.startswith((ZIP_MAGIC, OLE_MAGIC)) or suffix in WORKBOOK_SUFFIXES:
        sheets = read_workbook_bytes(data)
    elif suffix in CSV_SUFFIXES:
        sheets = read_csv_bytes(data)
    else:
        raise UnreadableFile(
            f"the file is not a spreadsheet (.xlsx, .xls or .csv expected, got {suffix or 'no suffix'!r})"
        )
    if not any(s.rows for s in sheets):
        raise UnreadableFile("the file is empty: no sheet has any data")
    return sheets
