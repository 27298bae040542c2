"""Builders of messy village and town spreadsheets for the spreadsheet-ingestion tests.

Each builder writes a real file (xlsx through xlsxwriter, csv in a given encoding) the way villages send them:
merged title rows, blank rows, header variants, full-width digits and spaces, Excel serial and Chinese dates.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from pathlib import Path

import xlsxwriter

from ingestion.sheets.values import id_check_char

TOWN = "341623100"
VILLAGE = "341623100001"
OTHER_VILLAGE = "341623100002"

INCOME_HEADERS = [
    "年度",
    "行政村代码",
    "户编号",
    "户主姓名",
    "户主身份证号",
    "家庭人口数",
    "工资性收入",
    "生产经营性收入",
    "生产经营性支出",
    "转移性收入",
    "财产性收入",
    "人均纯收入",
    "核实日期",
]
REGISTER_HEADERS = [
    "行政村代码",
    "户编号",
    "户主姓名",
    "户主身份证号",
    "家庭人口数",
    "贫困户属性",
    "主要致贫原因",
    "脱贫状态",
    "识别日期",
    "联系电话",
]
PLAN_HEADERS = ["年度", "乡镇代码", "乡镇名称", "行政村代码", "行政村名称", "计划脱贫户数", "计划脱贫人数"]
SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = "伟芳娜敏静丽强磊军洋"


def id_number(n: int, region: str = "341623") -> str:
    """A valid 18-character ID number (GB 11643 check character), different for each n."""
    first17 = f"{region}{1950 + n % 50:04d}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
    return first17 + id_check_char(first17)


def bad_check_id(n: int) -> str:
    """An ID number whose check character is wrong."""
    good = id_number(n)
    wrong = next(c for c in "0123456789X" if c != good[-1])
    return good[:-1] + wrong


def name(n: int) -> str:
    return SURNAMES[n % 10] + GIVEN[(n // 10) % 10]


def excel_serial(d: date) -> int:
    return (d - date(1899, 12, 30)).days


def income_row(n: int, village: str = VILLAGE, year: int = 2017) -> list:
    """A valid income-verification row for household n (numbers as numbers, as Excel holds them)."""
    wage, operating, cost, transfer, prop = 3000 + n, 1500.5, 400, 800, 0
    size = 1 + n % 5
    net = round((wage + operating - cost + transfer + prop) / size, 2)
    return [
        year,
        village,
        f"{village}{n:04d}",
        name(n),
        id_number(n),
        size,
        wage,
        operating,
        cost,
        transfer,
        prop,
        net,
        excel_serial(date(year, 3, 1 + n % 28)),
    ]


def register_row(n: int, village: str = VILLAGE) -> list:
    attributes = ["一般贫困户", "低保贫困户", "特困供养贫困户"]
    statuses = ["未脱贫", "帮扶中", "已脱贫"]
    return [
        village,
        f"{village}{n:04d}",
        name(n),
        id_number(n),
        1 + n % 5,
        attributes[n % 3],
        "因病",
        statuses[n % 3],
        f"2014年{1 + n % 12}月{1 + n % 28}日",
        f"138{n:08d}",
    ]


def plan_row(n: int, town: str = TOWN, year: int = 2017) -> list:
    return [year, town, "城关镇", f"{town}{n:03d}", f"第{n}村", 10 + n, 30 + n]


def write_xlsx(
    path: Path,
    sheets: dict[str, list[list | None]],
    *,
    title: str | None = None,
    title_rows: int = 0,
) -> Path:
    """A workbook whose sheets hold the given rows (None = a blank row); the first sheet's rows are below
    ``title`` merged over ``title_rows`` rows and a blank row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path))
    for number, (sheet_name, rows) in enumerate(sheets.items()):
        sheet = workbook.add_worksheet(sheet_name)
        width = max((len(r) for r in rows if r), default=1)
        top = 0
        if title and number == 0:
            sheet.merge_range(0, 0, max(title_rows, 1) - 1, max(width - 1, 1), title)
            top = max(title_rows, 1) + 1  # and one blank row under the title
        for offset, row in enumerate(rows):
            if row is None:
                continue
            for col, value in enumerate(row):
                if value is None:
                    continue
                sheet.write(top + offset, col, value)
    workbook.close()
    return path


def write_csv(path: Path, rows: list[list | None], encoding: str) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([] if row is None else ["" if v is None else v for v in row])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def corrupt_zip(path: Path) -> Path:
    """An .xlsx whose zip archive is cut short (a transfer that broke off)."""
    good = write_xlsx(path.with_suffix(".tmp.xlsx"), {"Sheet1": [INCOME_HEADERS, income_row(1)]})
    data = good.read_bytes()
    good.unlink()
    path.write_bytes(data[: len(data) // 2])
    return path


def zip_not_workbook(path: Path) -> Path:
    """A zip archive renamed .xlsx (it holds a text file, not a workbook)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    return path


def encrypted_xlsx(path: Path, password: str = "123456") -> Path:
    """A real password-protected workbook, as Excel writes it (an OLE container with the encrypted package)."""
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = write_xlsx(path.with_suffix(".plain.xlsx"), {"Sheet1": [INCOME_HEADERS, income_row(1)]})
    with plain.open("rb") as source, path.open("wb") as target:
        OOXMLFile(source).encrypt(password, target)
    plain.unlink()
    return path


def _to_full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


# Ways to spoil one cell of an income row: (column, spoiled value given the row, rule it breaks).
SPOILERS = [
    (6, lambda row: "abc", "not_a_number"),
    (4, lambda row: row[4][:-1] + ("0" if row[4][-1] != "0" else "1"), "bad_id_check_digit"),
    (1, lambda row: row[1][:-3] + "999", "area_mismatch"),
    (5, lambda row: 0, "out_of_range"),
    (0, lambda row: row[0] + 1, "period_mismatch"),
    (3, lambda row: None, "missing_value"),
    (12, lambda row: "某月某日", "not_a_date"),
    (11, lambda row: -1, "negative_number"),
]
# Ways to dress a cell differently without making it wrong.
DRESSERS = [
    (0, lambda row: _to_full_width(str(row[0]))),
    (1, lambda row: " " + _to_full_width(str(row[1])) + "　"),
    (3, lambda row: "　" + "　".join(row[3]) + " "),
    (5, lambda row: f"{row[5]}人"),
    (6, lambda row: f"{row[6]:,}"),
    (12, lambda row: "{}年{}月{}日".format(*_serial_date(row[12]))),
    (12, lambda row: "{}/{}/{}".format(*_serial_date(row[12]))),
]


def _serial_date(serial: int) -> tuple[int, int, int]:
    from datetime import timedelta

    d = date(1899, 12, 30) + timedelta(days=serial)
    return d.year, d.month, d.day


def messy_villages(drop: Path, seed: int, villages: int = 12, households: int = 40) -> dict[str, set]:
    """Income files for several villages, in random formats with random mess and randomly spoiled rows.

    Returns, per file name, the planted bad rows as ``(sheet, row number)``.
    """
    import random

    rng = random.Random(seed)
    manifest: dict[str, set] = {}
    for v in range(1, villages + 1):
        village = f"{TOWN}{v:03d}"
        rows: list[list | None] = []
        spoiled: list[bool] = []
        for n in range(households):
            clean = income_row(v * 1000 + n, village=village)
            row = list(clean)
            for column, dress in rng.sample(DRESSERS, rng.randint(0, 3)):
                row[column] = dress(clean)
            bad = rng.random() < 0.15
            if bad:
                column, spoil, _ = rng.choice(SPOILERS)
                row[column] = spoil(clean)
            if rng.random() < 0.1:
                rows.append(None)
                spoiled.append(False)
            rows.append(row)
            spoiled.append(bad)
        form = rng.choice(["xlsx", "xlsx-title", "csv-gbk", "csv-utf8-sig"])
        stem = f"收入核实表_{village}_2017"
        header = list(INCOME_HEADERS)
        header[11] = rng.choice(["人均纯收入", "人均纯收入（元）", " 人均纯收入(元) "])
        if form.startswith("xlsx"):
            title_rows = 2 if form == "xlsx-title" else 0
            write_xlsx(
                drop / f"{stem}.xlsx",
                {"收入": [header, *rows]},
                title="XX村2017年收入核实表" if title_rows else None,
                title_rows=title_rows,
            )
            first, sheet = (title_rows + 2 if title_rows else 1), "收入"
        else:
            encoding = "gbk" if form == "csv-gbk" else "utf-8-sig"
            write_csv(drop / f"{stem}.csv", [header, *rows], encoding)
            first, sheet = 1, "csv"
        name = f"{stem}.{'xlsx' if form.startswith('xlsx') else 'csv'}"
        manifest[name] = {(sheet, first + 1 + i) for i, bad in enumerate(spoiled) if bad}
    return manifest
