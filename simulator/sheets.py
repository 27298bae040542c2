"""The spreadsheets towns and villages send, written from the operational database, messy at known rates.

Three kinds (see the sheet contract): the annual exit plan (年度脱贫计划表, one file per town), income
verification (收入核实表, one per village) and hand-transcribed household registers (贫困户花名册, one per
village). Harmless mess: merged title rows, blank rows, stray and full-width spaces, full-width digits,
thousands separators, Excel serial dates and ``2017年3月5日`` dates, header variants, GBK- and UTF-8 CSV, an
optional column renamed or missing. Rows that must be rejected are planted at a known rate and listed per file
with the rule they break: a bad ID check character, a non-numeric or negative amount, an impossible date, a
blank required cell, a household size of 0, an unknown village code, a row transcribed twice; and one file
whose required column was renamed beyond recognition (every row rejected). One file arrives broken.

``write_spreadsheets`` returns (and, with ``manifest_path``, writes) the manifest: per file its kind, scope,
rows written and the bad rows ``{"sheet", "row", "rule"}`` (row numbers as the spreadsheet shows them).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import numpy as np
import psycopg
import xlsxwriter

from simulator import idnumber
from simulator.calendar import TZ, WORK_YEAR
from simulator.rng import stream

BAD_ROW_RATE = 0.02
BLANK_ROW_RATE = 0.02
DRESS_RATE = 0.15
EXCEL_EPOCH = date(1899, 12, 30)
FILE_TIME = datetime(2017, 11, 30, 9, 0, 0)
STATUS_CN = {"red": "未脱贫", "yellow": "帮扶中", "green": "已脱贫"}
KIND_TITLE = {
    "exit_plan": "年度脱贫计划表",
    "income_verification": "收入核实表",
    "household_register": "贫困户花名册",
}
# Header variants villages use (all of them known to the ingestion's mappings).
HEADERS = {
    "year": ["年度", "年份"],
    "town_code": ["乡镇代码"],
    "town_name": ["乡镇名称", "乡镇"],
    "village_code": ["行政村代码", "村代码", " 行政村代码 "],
    "village_name": ["行政村名称", "村名"],
    "planned_households": ["计划脱贫户数", "计划脱贫户数（户）"],
    "planned_persons": ["计划脱贫人数", "计划脱贫人数（人）"],
    "household_id": ["户编号", "户号"],
    "head_name": ["户主姓名", "姓名"],
    "head_id_number": ["户主身份证号", "身份证号码", "户主身份证号码"],
    "household_size": ["家庭人口数", "家庭人口数（人）"],
    "wage_income": ["工资性收入", "工资性收入（元）"],
    "operating_income": ["生产经营性收入"],
    "operating_cost": ["生产经营性支出"],
    "transfer_income": ["转移性收入"],
    "property_income": ["财产性收入"],
    "per_capita_net_income": ["人均纯收入", "人均纯收入（元）", "人均纯收入(元)"],
    "verified_on": ["核实日期"],
    "attribute": ["贫困户属性"],
    "main_cause": ["主要致贫原因"],
    "status_label": ["脱贫状态"],
    "registered_on": ["识别日期"],
    "phone": ["联系电话", "联系方式"],
}
COLUMNS = {
    "exit_plan": [
        "year",
        "town_code",
        "town_name",
        "village_code",
        "village_name",
        "planned_households",
        "planned_persons",
    ],
    "income_verification": [
        "year",
        "village_code",
        "household_id",
        "head_name",
        "head_id_number",
        "household_size",
        "wage_income",
        "operating_income",
        "operating_cost",
        "transfer_income",
        "property_income",
        "per_capita_net_income",
        "verified_on",
    ],
    "household_register": [
        "village_code",
        "household_id",
        "head_name",
        "head_id_number",
        "household_size",
        "attribute",
        "main_cause",
        "status_label",
        "registered_on",
        "phone",
    ],
}
OPTIONAL = {
    "income_verification": ["verified_on", "property_income"],
    "household_register": ["phone", "registered_on"],
}


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


def _serial(d: date) -> int:
    return (d - EXCEL_EPOCH).days


class _File:
    """One file being composed: its rows (None = blank row) and the planted bad rows."""

    def __init__(self, kind: str, area: str, period: int, name: str) -> None:
        self.kind, self.area, self.period, self.name = kind, area, period, name
        self.header: list[str] = []
        self.rows: list[list | None] = []
        self.bad: list[tuple[int, str]] = []  # (index into rows, rule)
        self.mess: list[str] = []


def _query(conn: psycopg.Connection, sql: str, params: tuple = ()) -> list[tuple]:
    return conn.execute(sql, params).fetchall()


def write_spreadsheets(
    dsn: str,
    out_dir: Path,
    seed: int = 20170101,
    manifest_path: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    year: int = WORK_YEAR,
    correction: bool = False,
) -> dict:
    """Write every town's exit plan and every village's income sheet and register into ``out_dir``.

    With ``correction`` one village's income sheet is also sent again, corrected (``…_更正.xlsx``, clean rows):
    a loader replaces the first file's rows with it. Returns the manifest: ``{"files": {file name: {...,"bad_rows": [...], "unreadable": bool}}, "paths": [...]}``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = stream(seed, "sheets")
    with psycopg.connect(dsn) as conn:
        towns = _query(
            conn,
            "select region_code, region_name from app.regions where region_level = 'town'"
            " order by region_code",
        )
        villages = _query(
            conn,
            "select region_code, region_name, parent_code from app.regions"
            " where region_level = 'village' order by region_code",
        )
        plan = {
            r[0]: (r[1], r[2])
            for r in _query(
                conn,
                """
            select h.village_code, count(*), coalesce(sum(m.members), 0)
            from app.households h
            left join (select household_id, count(*) as members from app.persons where deleted_at is null
                       group by household_id) m on m.household_id = h.household_id
            where h.deleted_at is null and h.planned_exit_year = %s
              and (h.status_label <> 'green' or h.actual_exit_year = %s)
            group by h.village_code""",
                (year, year),
            )
        }
        households = _query(
            conn,
            """
            select h.village_code, h.household_id, h.head_name, p.id_number, p.phone,
                   (select count(*) from app.persons q where q.household_id = h.household_id
                    and q.deleted_at is null) as size,
                   h.attribute, h.main_cause, h.status_label, h.created_at,
                   i.wage_income, i.operating_income, i.operating_cost, i.transfer_income, i.property_income,
                   i.per_capita_net_income, i.verified_on
            from app.households h
            left join lateral (select id_number, phone from app.persons p where p.household_id = h.household_id
                               and p.relation_to_head = '户主' and p.deleted_at is null
                               order by p.person_id limit 1) p on true
            left join app.incomes i on i.household_id = h.household_id and i.year = %s and i.deleted_at is null
            where h.deleted_at is null
            order by h.village_code, h.household_id""",
            (year,),
        )
    by_village: dict[str, list[tuple]] = {}
    for row in households:
        by_village.setdefault(row[0], []).append(row)

    files: list[_File] = []
    for town_code, town_name in towns:
        f = _File("exit_plan", town_code, year, f"{KIND_TITLE['exit_plan']}_{town_code}_{year}.xlsx")
        for v_code, v_name, parent in villages:
            if parent == town_code:
                hh, people = plan.get(v_code, (0, 0))
                f.rows.append([year, town_code, town_name, v_code, v_name, hh, people])
        if f.rows:
            files.append(f)
    for v_code, _v_name, _parent in villages:
        rows = by_village.get(v_code, [])
        if not rows:
            continue
        inc = _File(
            "income_verification", v_code, year, f"{KIND_TITLE['income_verification']}_{v_code}_{year}"
        )
        reg = _File("household_register", v_code, year, f"{KIND_TITLE['household_register']}_{v_code}_{year}")
        for r in rows:
            (
                _,
                hid,
                head,
                id_no,
                phone,
                size,
                attribute,
                cause,
                status,
                created,
                wage,
                operating,
                cost,
                transfer,
                prop,
                per_capita,
                verified,
            ) = r
            if wage is not None and id_no is not None and size:
                inc.rows.append(
                    [
                        year,
                        v_code,
                        str(hid),
                        head,
                        id_no,
                        int(size),
                        float(wage),
                        float(operating),
                        float(cost),
                        float(transfer),
                        float(prop),
                        float(per_capita),
                        verified,
                    ]
                )
            if id_no is not None and size:
                reg.rows.append(
                    [
                        v_code,
                        str(hid),
                        head,
                        id_no,
                        int(size),
                        attribute,
                        cause,
                        STATUS_CN[status],
                        created.astimezone(TZ).date(),
                        phone,
                    ]
                )
        files += [f for f in (inc, reg) if f.rows]

    results: dict[str, dict] = {}
    paths: list[Path] = []
    broken_done = renamed_done = False
    for number, f in enumerate(files, start=1):
        entry = _compose_and_write(
            f,
            out_dir,
            rng,
            rename_required=not renamed_done and f.kind == "income_verification" and rng.random() < 0.05,
        )
        renamed_done |= entry.get("required_column_renamed", False)
        results[Path(entry["path"]).name] = entry
        paths.append(Path(entry["path"]))
        if progress:
            progress(number, len(files))
    # A corrected re-send of one village's income sheet, and one file whose transfer broke off.
    incomes = [f for f in files if f.kind == "income_verification"]
    if incomes and correction:
        first = incomes[0]
        fixed = _File(first.kind, first.area, first.period, first.name + "_更正")
        fixed.rows = [list(r) for r in first.rows if r is not None]
        entry = _compose_and_write(fixed, out_dir, stream(seed, "sheets-correction"), clean=True)
        entry["correction_of"] = f"{first.name}"
        results[Path(entry["path"]).name] = entry
        paths.append(Path(entry["path"]))
    registers = [f for f in files if f.kind == "household_register"]
    if registers and not broken_done:
        last = registers[-1]
        good = out_dir / f"{last.name}.xlsx"
        broken = out_dir / f"{last.name}_补报.xlsx"
        data = good.read_bytes() if good.exists() else (out_dir / f"{last.name}.csv").read_bytes()
        broken.write_bytes(data[: len(data) // 2])
        results[broken.name] = {
            "path": str(broken),
            "kind": last.kind,
            "area_code": last.area,
            "period": last.period,
            "unreadable": True,
            "format": "xlsx",
            "rows_written": 0,
            "should_reject": 0,
            "bad_rows": [],
            "mess": ["the transfer broke off: the workbook is cut in half"],
        }
        paths.append(broken)
    manifest = {
        "seed": seed,
        "year": year,
        "out_dir": str(out_dir),
        "files": dict(sorted(results.items())),
        "paths": [str(p) for p in sorted(paths)],
        "totals": {
            "files": len(results),
            "rows_written": sum(e["rows_written"] for e in results.values()),
            "should_reject": sum(e["should_reject"] for e in results.values()),
        },
    }
    if manifest_path is not None:
        Path(manifest_path).parent.mkdir(parents=True, exist_ok=True)
        Path(manifest_path).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
        )
    return manifest


def _compose_and_write(
    f: _File, out_dir: Path, rng: np.random.Generator, clean: bool = False, rename_required: bool = False
) -> dict:
    columns = COLUMNS[f.kind]
    header = [HEADERS[c][int(rng.integers(len(HEADERS[c])))] for c in columns]
    dropped: str | None = None
    if not clean and f.kind in OPTIONAL and rng.random() < 0.08:
        dropped = OPTIONAL[f.kind][int(rng.integers(len(OPTIONAL[f.kind])))]
        f.mess.append(f"optional column {dropped} missing")
    if rename_required:
        header[columns.index("household_size")] = "家庭规模"
        f.mess.append("required column household_size renamed 家庭规模 (unknown): every row is rejected")
    if f.kind == "exit_plan":
        form = "xlsx-title"
    else:
        form = rng.choice(["xlsx", "xlsx", "xlsx", "xlsx-title", "xlsx-title", "csv-gbk", "csv-utf8"])
    if clean:
        form = "xlsx"
    is_csv = form.startswith("csv")

    data_rows: list[list | None] = []
    bad: list[tuple[int, str]] = []
    rows = [list(r) for r in f.rows if r is not None]
    for row in rows:
        if not clean and rng.random() < BLANK_ROW_RATE:
            data_rows.append(None)
        values = _dress(f.kind, columns, row, rng, is_csv, clean)
        rule = None
        if not clean and rng.random() < BAD_ROW_RATE:
            rule = _spoil(f.kind, columns, values, row, rng)
        data_rows.append(values)
        if rule:
            bad.append((len(data_rows) - 1, rule))
        if not clean and rule is None and f.kind != "exit_plan" and rng.random() < BAD_ROW_RATE / 4:
            data_rows.append(list(values))  # transcribed twice: the repeat is rejected
            bad.append((len(data_rows) - 1, "duplicate_key"))
    if dropped:
        k = columns.index(dropped)
        header = header[:k] + header[k + 1 :]
        data_rows = [None if r is None else r[:k] + r[k + 1 :] for r in data_rows]
    if rename_required:
        bad = [(i, "missing_column") for i, r in enumerate(data_rows) if r is not None]

    title_rows = 0
    if form == "xlsx-title":
        title_rows = 2 if rng.random() < 0.5 else 1
        f.mess.append(f"merged title over {title_rows} row(s) and a blank row above the header")
    first_data = (title_rows + 2 if title_rows else 1) + 1  # the spreadsheet row of data_rows[0]
    sheet = None if is_csv else ("Sheet1" if rng.random() < 0.5 else KIND_TITLE[f.kind])
    if is_csv:
        encoding = "gbk" if form == "csv-gbk" else "utf-8-sig"
        path = out_dir / f"{f.name}.csv"
        _write_csv(path, [header, *data_rows], encoding)
        f.mess.append(f"CSV in {encoding}")
    else:
        path = out_dir / (f.name if f.name.endswith(".xlsx") else f"{f.name}.xlsx")
        title = _title(f)
        _write_xlsx(path, sheet, header, data_rows, title if title_rows else None, title_rows)
    bad_rows = [{"sheet": sheet, "row": first_data + i, "rule": rule} for i, rule in bad]
    return {
        "path": str(path),
        "kind": f.kind,
        "area_code": f.area,
        "period": f.period,
        "format": "csv" if is_csv else "xlsx",
        "encoding": (("gbk" if form == "csv-gbk" else "utf-8-sig") if is_csv else None),
        "header": header,
        "rows_written": sum(1 for r in data_rows if r is not None),
        "blank_rows": sum(1 for r in data_rows if r is None),
        "should_reject": len(bad_rows),
        "bad_rows": bad_rows,
        "unreadable": False,
        "mess": f.mess,
        "required_column_renamed": rename_required,
    }


def _title(f: _File) -> str:
    return f"{f.area} {f.period}年{KIND_TITLE[f.kind]}"


def _dress(
    kind: str, columns: list[str], row: list, rng: np.random.Generator, is_csv: bool, clean: bool
) -> list:
    """The row's cells as a village writes them: harmless variations of the same values."""
    out: list = []
    for column, value in zip(columns, row, strict=True):
        dress = not clean and rng.random() < DRESS_RATE
        if value is None:
            out.append(None)
        elif column in ("village_code", "town_code", "household_id", "head_id_number", "phone"):
            text = str(value)
            if dress:
                text = rng.choice([_full_width(text), f" {text} ", f"{text}\u3000"])
            out.append(text)
        elif column == "head_name":
            out.append(rng.choice([f" {value}", f"{value}\u3000", "\u3000".join(value)]) if dress else value)
        elif column in ("verified_on", "registered_on"):
            d: date = value
            style = rng.integers(4) if dress else (0 if not is_csv else 2)
            if style == 0 and not is_csv:
                out.append(_serial(d))
            elif style == 1:
                out.append(f"{d.year}年{d.month}月{d.day}日")
            elif style == 2:
                out.append(d.isoformat())
            else:
                out.append(f"{d.year}/{d.month}/{d.day}")
        elif isinstance(value, float):
            text = f"{value:.2f}"
            if dress:
                out.append(rng.choice([f"{value:,.2f}", _full_width(text), f"{text}元"]))
            else:
                out.append(value if not is_csv else text)
        elif isinstance(value, int):
            if dress and column in ("household_size", "year", "planned_persons"):
                out.append(
                    _full_width(str(value))
                    if rng.random() < 0.5
                    else f"{value}{'人' if column != 'year' else '年'}"
                )
            else:
                out.append(value if not is_csv else str(value))
        else:
            out.append(value)
    return out


def _spoil(kind: str, columns: list[str], values: list, row: list, rng: np.random.Generator) -> str:
    """Spoil one cell so the row must be rejected; return the rule it breaks."""
    choices = {
        "exit_plan": ["not_an_integer", "bad_village"],
        "income_verification": [
            "bad_id_check_digit",
            "not_a_number",
            "negative_number",
            "not_a_date",
            "missing_value",
            "out_of_range",
            "unknown_village_code",
        ],
        "household_register": [
            "bad_id_check_digit",
            "missing_value",
            "out_of_range",
            "not_a_date",
            "unknown_village_code",
        ],
    }[kind]
    rule = choices[int(rng.integers(len(choices)))]
    at = columns.index
    if rule == "bad_id_check_digit":
        good = str(row[at("head_id_number")])
        values[at("head_id_number")] = idnumber.spoil(np.array([good]), rng)[0]
    elif rule == "not_a_number":
        values[at("wage_income")] = rng.choice(["一千二", "约3000", "abc"])
    elif rule == "negative_number":
        values[at("per_capita_net_income")] = f"-{row[at('per_capita_net_income')]:.2f}"
    elif rule == "not_a_date":
        column = "verified_on" if kind == "income_verification" else "registered_on"
        values[at(column)] = f"{WORK_YEAR}年13月{int(rng.integers(1, 29))}日"
    elif rule == "missing_value":
        values[at("head_name")] = None
    elif rule == "out_of_range":
        values[at("household_size")] = 0
    elif rule == "unknown_village_code":
        values[at("village_code")] = str(row[at("village_code")])[:9] + "999"
    elif rule == "not_an_integer":
        values[at("planned_persons")] = f"约{row[at('planned_persons')]}"
    elif rule == "bad_village":
        values[at("village_code")] = str(row[at("village_code")])[:9] + "999"
        rule = "unknown_village_code"
    return rule


def _write_xlsx(
    path: Path, sheet: str, header: list[str], rows: list[list | None], title: str | None, title_rows: int
) -> None:
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    # A fixed creation time (xlsxwriter would stamp the wall clock): the same seed gives the same bytes.
    workbook.set_properties({"created": FILE_TIME, "author": "扶贫办"})
    ws = workbook.add_worksheet(sheet)
    top = 0
    if title:
        ws.merge_range(0, 0, title_rows - 1, max(len(header) - 1, 1), title)
        top = title_rows + 1
    ws.write_row(top, 0, header)
    for i, row in enumerate(rows, start=top + 1):
        if row is None:
            continue
        for j, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                ws.write_string(i, j, value)
            elif isinstance(value, date | datetime):
                ws.write_string(i, j, value.isoformat())
            else:
                ws.write_number(i, j, value)
    workbook.close()


def _write_csv(path: Path, rows: list[list | None], encoding: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([] if row is None else ["" if v is None else v for v in row])
    path.write_bytes(buffer.getvalue().encode(encoding))
