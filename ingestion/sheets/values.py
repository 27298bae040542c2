"""Cleaning one cell's text, and parsing it into a typed value.

Every parser takes the cell as read (a string, or ``None`` for a blank cell) and returns the typed value, or
raises :class:`BadValue` saying what is wrong with it. The cleaning is the same for every kind of sheet:
full-width characters (digits, letters, spaces, brackets) become their half-width forms (NFKC), stray spaces
go, and dates come in any of the forms villages write (Excel serial numbers, ``2017年3月5日``,
``2017-03-05``, ``2017/3/5``, ``2017.3.5``, ``20170305``).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from operator import mul

EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 = 1900-01-01, with Excel's phantom 1900-02-29 absorbed
_SPACES = re.compile(r"\s+")
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")
_DATE_YMD = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL = re.compile(r"^\d{1,7}(?:\.\d+)?$")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"


class BadValue(ValueError):
    """A cell's value cannot be used; ``rule`` names the rule it broke, the message says why."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


def clean_text(value: object) -> str | None:
    """Half-width, trimmed text of a cell; ``None`` for a blank (or whitespace-only) cell."""
    if value is None:
        return None
    text = str(value)
    if text.isascii():
        text = text.strip()
        if _SPACES.search(text):
            text = _SPACES.sub(" ", text)
        return text or None
    text = _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()
    return _CJK_GAP.sub("", text) or None


def squeeze(text: str) -> str:
    """The text without any whitespace (codes, numbers, ID numbers, names)."""
    return _SPACES.sub("", text)


def strip_units(text: str, units: tuple[str, ...]) -> str:
    """Drop a trailing unit (``元``, ``人``, ``年``) or a leading currency sign a village added to a number."""
    for unit in units:
        if text.endswith(unit):
            text = text[: -len(unit)].rstrip()
    return text.lstrip("¥$").strip()


def parse_decimal(text: str) -> Decimal:
    """A number written with or without thousands separators, rounded to cents."""
    compact = squeeze(text).replace(",", "")
    if not _NUMBER.match(compact):
        raise BadValue("not_a_number", f"{text!r} is not a number")
    try:
        number = Decimal(compact)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid literals
        raise BadValue("not_a_number", f"{text!r} is not a number") from exc
    if not number.is_finite() or abs(number) >= Decimal("1e12"):
        raise BadValue("out_of_range", f"{text!r} is too large for an amount")
    return number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def parse_integer(text: str) -> int:
    """A whole number; ``5.0`` (as Excel stores a typed 5) is accepted, ``5.5`` is not."""
    compact = squeeze(text).replace(",", "")
    if not _NUMBER.match(compact):
        raise BadValue("not_an_integer", f"{text!r} is not a whole number")
    number = Decimal(compact)
    if number != number.to_integral_value():
        raise BadValue("not_an_integer", f"{text!r} is not a whole number")
    if abs(number) >= 2**31:
        raise BadValue("out_of_range", f"{text!r} is too large for a count")
    return int(number)


def parse_date(text: str) -> date:
    """A date in any of the forms villages write, or an Excel serial day number."""
    compact = text.strip()
    match = _DATE_YMD.match(compact) or _DATE_COMPACT.match(squeeze(compact))
    if match:
        year, month, day = (int(g) for g in match.groups())
        try:
            return date(year, month, day)
        except ValueError as exc:
            raise BadValue("not_a_date", f"{text!r} is not a valid date ({exc})") from exc
    if _SERIAL.match(compact):
        serial = float(compact)
        # Serials 1..2958465 are the days 1900-01-01..9999-12-31; anything else is not a date.
        if 1 <= serial <= 2958465:
            return EXCEL_EPOCH + timedelta(days=int(serial))
    raise BadValue("not_a_date", f"{text!r} is not a date")


def parse_code(text: str) -> str:
    """A code (division code, household number): no spaces; an integral Excel number loses its ``.0``."""
    compact = squeeze(text)
    if compact.endswith(".0") and compact[:-2].isdigit():
        compact = compact[:-2]
    return compact


def id_check_char(first17: str) -> str:
    """The GB 11643-1999 check character (ISO 7064 MOD 11-2) of an ID number's first 17 digits."""
    total = sum(map(mul, map(int, first17), ID_WEIGHTS))
    return ID_CHECK_CHARS[total % 11]


def parse_id_number(text: str) -> str:
    """An 18-character resident ID number with a valid check character (GB 11643)."""
    compact = parse_code(text).upper()
    if len(compact) != 18 or not compact[:17].isdigit() or not (compact[17].isdigit() or compact[17] == "X"):
        raise BadValue("bad_id_number", f"{text!r} is not an 18-character ID number")
    expected = id_check_char(compact[:17])
    if compact[17] != expected:
        raise BadValue(
            "bad_id_check_digit", f"{text!r} has check character {compact[17]}, GB 11643 gives {expected}"
        )
    return compact


def to_json_value(value: object) -> object:
    """A cell value as it can go into JSON: strings and numbers as they are, dates as ISO text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
