"""Spreadsheet ingestion: real messy .xlsx and .csv files in a drop folder, loaded into a real DuckDB file."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest

from ingestion.sheets import load_drop_folder, load_mappings
from ingestion.sheets.mapping import header_key
from ingestion.sheets.values import BadValue, clean_text, parse_date, parse_decimal, parse_id_number
from tests.conftest import REPO_ROOT
from tests.sheets_fixtures import (
    INCOME_HEADERS,
    OTHER_VILLAGE,
    PLAN_HEADERS,
    REGISTER_HEADERS,
    TOWN,
    VILLAGE,
    bad_check_id,
    corrupt_zip,
    encrypted_xlsx,
    excel_serial,
    id_number,
    income_row,
    messy_villages,
    plan_row,
    register_row,
    write_csv,
    write_xlsx,
    zip_not_workbook,
)

INCOME_FILE = f"收入核实表_{VILLAGE}_2017.xlsx"
AT = datetime(2017, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def drop(tmp_path) -> Path:
    path = tmp_path / "drop"
    path.mkdir()
    return path


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def rows(con, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def scalar(con, sql: str, params=None):
    return con.execute(sql, params or []).fetchone()[0]


def assert_reconciled(con, summary) -> None:
    """accepted + quarantined = received for every file and overall, and the tables hold exactly that."""
    for f in summary.files:
        assert f.accepted + f.quarantined == f.received, f
    assert summary.accepted + summary.quarantined == summary.received
    audit = rows(
        con,
        "select source_file, table_name, received, accepted, quarantined from meta.load_audit"
        " where batch_id = ? and source = 'sheet'",
        [summary.batch_id],
    )
    loaded = [f for f in summary.files if f.status in ("loaded", "unreadable")]
    assert sorted(a[0] for a in audit) == sorted(f.source_file for f in loaded)
    for source_file, table_name, received, accepted, quarantined in audit:
        assert accepted + quarantined == received
        result = next(f for f in summary.files if f.source_file == source_file)
        assert (received, accepted, quarantined) == (result.received, result.accepted, result.quarantined)
        assert table_name == result.table
        in_quarantine = scalar(
            con,
            "select count(*) from quarantine.sheet_rows where file_hash = ? and batch_id = ?"
            " and row_number is not null",
            [result.file_hash, summary.batch_id],
        )
        assert in_quarantine == quarantined, source_file
        if result.kind:
            in_raw = scalar(
                con, f"select count(*) from raw_sheets.{result.kind} where _file_hash = ?", [result.file_hash]
            )
            assert in_raw == accepted, source_file


# --- values and mappings -------------------------------------------------------------------------------


def test_values_are_normalised():
    assert clean_text("　张　三　") == "张三"
    assert clean_text(" ２０１７ ") == "2017"
    assert clean_text("   ") is None
    assert parse_date("2017年3月5日") == date(2017, 3, 5)
    assert parse_date("2017/3/5") == date(2017, 3, 5)
    assert parse_date("2017.03.05") == date(2017, 3, 5)
    assert parse_date("20170305") == date(2017, 3, 5)
    assert parse_date("2017-03-05 00:00:00") == date(2017, 3, 5)
    assert parse_date(str(excel_serial(date(2017, 3, 5)))) == date(2017, 3, 5)
    assert parse_date("42799.0") == date(2017, 3, 5)
    assert parse_decimal("1,234.565") == Decimal("1234.57")
    with pytest.raises(BadValue) as exc:
        parse_decimal("一千")
    assert exc.value.rule == "not_a_number"
    with pytest.raises(BadValue) as exc:
        parse_date("2017年2月30日")
    assert exc.value.rule == "not_a_date"


def test_id_numbers_are_checked_with_the_gb11643_check_character():
    assert parse_id_number("11010519491231002x") == "11010519491231002X"  # the standard's worked example
    assert parse_id_number(id_number(5)) == id_number(5)
    with pytest.raises(BadValue) as exc:
        parse_id_number(bad_check_id(5))
    assert exc.value.rule == "bad_id_check_digit"
    with pytest.raises(BadValue) as exc:
        parse_id_number(id_number(5)[:17])
    assert exc.value.rule == "bad_id_number"


def test_mapping_files_declare_every_contract_header_and_variant():
    kinds = load_mappings()
    assert set(kinds) == {"exit_plan", "income_verification", "household_register"}
    standard = {
        "exit_plan": PLAN_HEADERS,
        "income_verification": INCOME_HEADERS,
        "household_register": REGISTER_HEADERS,
    }
    for kind, headers in standard.items():
        index = kinds[kind].header_index
        mapped = [index[header_key(h)] for h in headers]
        assert mapped == [c.name for c in kinds[kind].columns], kind
    index = kinds["income_verification"].header_index
    for variant, column in {
        "人均纯收入（元）": "per_capita_net_income",
        " 人均纯收入 (元) ": "per_capita_net_income",
        "身份证号码": "head_id_number",
        "户主身份证号码": "head_id_number",
        "姓名": "head_name",
        "户号": "household_id",
        "村代码": "village_code",
    }.items():
        assert index[header_key(variant)] == column, variant
    register = kinds["household_register"].header_index
    assert register[header_key("联系方式")] == "phone"
    assert kinds["exit_plan"].header_index[header_key("村名")] == "village_name"


# --- a messy workbook: every kind of mess and every column rule -----------------------------------------


# (row as written, expected (rule, column)) - the sheet's header is on row 4, so data starts on row 5.
def _messy_income_rows() -> list[tuple[list | None, tuple[str, str] | None]]:
    full_width = income_row(2)
    full_width[0] = "２０１７"
    full_width[3] = "　张　伟　"
    full_width[5] = "3人"
    full_width[6] = "3,002"
    full_width[12] = "2017年3月5日"
    slashes = income_row(3)
    slashes[12] = "2017/3/6"
    cases: list[tuple[list | None, tuple[str, str] | None]] = [
        (income_row(1), None),
        (full_width, None),
        (None, None),  # a blank row
        (slashes, None),
    ]

    def bad(column: int, value, rule: str, canonical: str, n: int) -> None:
        row = income_row(n)
        row[column] = value
        cases.append((row, (rule, canonical)))

    bad(6, "abc", "not_a_number", "wage_income", 10)
    bad(4, bad_check_id(11), "bad_id_check_digit", "head_id_number", 11)
    bad(1, OTHER_VILLAGE, "area_mismatch", "village_code", 12)
    bad(1, "34162310000", "bad_format", "village_code", 13)
    bad(9, -5, "negative_number", "transfer_income", 14)
    bad(0, 2099, "out_of_range", "year", 15)
    bad(3, None, "missing_value", "head_name", 16)
    bad(2, f"{VILLAGE}0001", "duplicate_key", "household_id", 17)  # the key of the first row
    bad(5, 2.5, "not_an_integer", "household_size", 18)
    bad(12, "去年春天", "not_a_date", "verified_on", 19)
    bad(4, "34162319800101", "bad_id_number", "head_id_number", 20)
    bad(0, 2018, "period_mismatch", "year", 21)
    return cases


def test_messy_workbook_rows_are_accepted_or_quarantined_with_rule_file_sheet_row_and_column(drop, con):
    cases = _messy_income_rows()
    header = [
        " 年 度 ",
        "村代码",
        "户号",
        "姓名",
        "身份证号码",
        "家庭人口数（人）",
        "工资性收入（元）",
        "生产经营性收入",
        "生产经营性支出",
        "转移性收入",
        "财产性收入",
        "人均纯收入（元）",
        "核实日期",
    ]
    path = write_xlsx(
        drop / INCOME_FILE,
        {"收入核实": [header] + [row for row, _ in cases], "Sheet2": [], "说明": [["本表由村委会填报"]]},
        title="XX村2017年收入核实表",
        title_rows=2,
    )
    summary = load_drop_folder(con, drop, "b1", AT)
    assert_reconciled(con, summary)
    (result,) = summary.files
    planted = {5 + i: expected for i, (row, expected) in enumerate(cases) if row is not None}
    bad = {n: e for n, e in planted.items() if e}
    assert result.status == "loaded"
    assert (result.kind, result.area_code, result.period) == ("income_verification", VILLAGE, "2017")
    assert result.received == len(planted) + 1  # + the note on sheet 说明
    assert result.accepted == len(planted) - len(bad)

    quarantined = rows(
        con,
        "select source_file, sheet, row_number, column_name, rule, reason, row_json from quarantine.sheet_rows"
        " where sheet = '收入核实' order by row_number",
    )
    assert {r[2]: (r[4], r[3]) for r in quarantined} == bad
    assert all(r[0] == INCOME_FILE for r in quarantined)
    # Row numbers are the spreadsheet's own: the row JSON holds exactly the cells Excel shows on that row.
    sheet = openpyxl.load_workbook(path, read_only=True)["收入核实"]
    excel_rows = {i: [c for c in r] for i, r in enumerate(sheet.iter_rows(values_only=True), 1)}
    for _, _, row_number, _, _, reason, row_json in quarantined:
        cells = json.loads(row_json)
        assert list(cells) == [h.strip() for h in header]
        shown = [None if v is None else str(v) for v in excel_rows[row_number]]
        sent = [None if v is None else str(v) for v in cells.values()]
        assert [s.removesuffix(".0") if s else s for s in shown] == [
            s.removesuffix(".0") if s else s for s in sent
        ], row_number
        assert reason
    note = rows(con, "select rule, row_number, column_name from quarantine.sheet_rows where sheet = '说明'")
    assert note == [("no_header_row", 1, None)]

    accepted = rows(
        con,
        "select _row_number, year, head_name, household_size, wage_income, verified_on, _sheet, _source_file,"
        " _batch_id, _loaded_at from raw_sheets.income_verification order by _row_number",
    )
    assert [a[0] for a in accepted] == [5, 6, 8]
    assert accepted[1][1:6] == (2017, "张伟", 3, Decimal("3002.00"), date(2017, 3, 5))
    assert accepted[0][5] == date(2017, 3, 2)  # an Excel serial date
    assert accepted[2][5] == date(2017, 3, 6)
    assert accepted[0][6:9] == ("收入核实", INCOME_FILE, "b1")
    assert accepted[0][9] == AT
    types = dict(
        rows(
            con,
            "select column_name, data_type from duckdb_columns()"
            " where schema_name = 'raw_sheets' and table_name = 'income_verification'",
        )
    )
    assert types["village_code"] == "VARCHAR" and types["household_size"] == "INTEGER"
    assert types["per_capita_net_income"] == "DECIMAL(14,2)" and types["verified_on"] == "DATE"


def test_gbk_csv_with_header_synonyms_and_allowed_values(drop, con):
    header = [
        "村代码",
        "户号",
        "户主姓名",
        "身份证号码",
        "家庭人口",
        "属性",
        "致贫原因",
        "脱贫状态",
        "识别日期",
        "联系方式",
    ]
    good = register_row(1)
    synonyms = register_row(2)
    synonyms[5], synonyms[7] = "低保户", "脱贫"
    synonyms[8] = str(excel_serial(date(2014, 3, 1)))
    unknown_attribute = register_row(3)
    unknown_attribute[5] = "富裕户"
    bad_phone = register_row(4)
    bad_phone[9] = "电话没有"
    write_csv(
        drop / f"贫困户花名册_{VILLAGE}_2017.csv",
        [["XX村建档立卡贫困户花名册"], None, header, good, synonyms, None, unknown_attribute, bad_phone],
        "gbk",
    )
    summary = load_drop_folder(con, drop, "b1", AT)
    assert_reconciled(con, summary)
    (result,) = summary.files
    assert result.encoding == "gbk"
    assert (result.received, result.accepted, result.quarantined) == (4, 2, 2)
    accepted = rows(
        con,
        "select head_name, attribute, status_label, registered_on, phone, _sheet, _row_number"
        " from raw_sheets.household_register order by _row_number",
    )
    assert accepted[0][:2] == (good[2], good[5])
    assert accepted[1][1:4] == ("低保贫困户", "已脱贫", date(2014, 3, 1))
    assert [a[6] for a in accepted] == [4, 5]
    assert rows(con, "select row_number, rule, column_name from quarantine.sheet_rows order by 1") == [
        (7, "not_allowed_value", "attribute"),
        (8, "bad_format", "phone"),
    ]


def test_utf8_csv_with_and_without_bom_and_a_renamed_file(drop, con):
    write_csv(drop / f"脱贫计划表_{TOWN}_2017.csv", [PLAN_HEADERS, plan_row(1), plan_row(2)], "utf-8-sig")
    # No kind in its name: recognised by its headers; no code in its name: scope from its rows.
    write_csv(drop / "村里报的表.csv", [INCOME_HEADERS, income_row(1, village=OTHER_VILLAGE)], "utf-8")
    summary = load_drop_folder(con, drop, "b1", AT)
    assert_reconciled(con, summary)
    by_file = {f.source_file: f for f in summary.files}
    assert by_file[f"脱贫计划表_{TOWN}_2017.csv"].encoding == "utf-8-sig"
    assert by_file[f"脱贫计划表_{TOWN}_2017.csv"].accepted == 2
    renamed = by_file["村里报的表.csv"]
    assert (renamed.kind, renamed.area_code, renamed.period, renamed.accepted) == (
        "income_verification",
        OTHER_VILLAGE,
        "2017",
        1,
    )
    assert scalar(con, "select count(*) from raw_sheets.exit_plan") == 2


def test_a_missing_required_column_quarantines_every_row_of_that_sheet(drop, con):
    header = [h if h != "人均纯收入" else "备注" for h in INCOME_HEADERS]
    write_xlsx(
        drop / INCOME_FILE,
        {
            "一组": [header, income_row(1), income_row(2)],
            "二组": [INCOME_HEADERS, income_row(3)],
        },
    )
    summary = load_drop_folder(con, drop, "b1", AT)
    assert_reconciled(con, summary)
    (result,) = summary.files
    assert (result.received, result.accepted, result.quarantined) == (3, 1, 2)
    missing = rows(con, "select sheet, row_number, rule, column_name, reason from quarantine.sheet_rows")
    assert [(m[0], m[1], m[2], m[3]) for m in missing] == [
        ("一组", 2, "missing_column", "per_capita_net_income"),
        ("一组", 3, "missing_column", "per_capita_net_income"),
    ]
    assert "人均纯收入" in missing[0][4]
    assert next(s for s in result.sheets if s.name == "一组").missing == ["per_capita_net_income"]


def test_reference_and_cross_column_checks_of_the_town_plan(drop, con):
    con.execute("create schema raw")
    con.execute("create table raw.regions (region_code varchar)")
    con.execute("insert into raw.regions values (?), (?), (?)", [TOWN, f"{TOWN}001", f"{TOWN}002"])
    wrong_town = plan_row(1)
    wrong_town[3] = "341623101001"
    negative = plan_row(2)
    negative[6] = -3
    short_town = plan_row(2)
    short_town[1] = "34162310"
    write_xlsx(
        drop / f"年度脱贫计划表_{TOWN}_2017.xlsx",
        {"计划": [PLAN_HEADERS, plan_row(1), plan_row(2), plan_row(3), wrong_town, negative, short_town]},
        title="城关镇2017年度脱贫计划表",
    )
    summary = load_drop_folder(con, drop, "b1", AT)
    assert_reconciled(con, summary)
    assert summary.warnings == []
    found = rows(con, "select row_number, rule, column_name from quarantine.sheet_rows order by 1")
    assert found == [
        (6, "unknown_village_code", "village_code"),
        (7, "village_not_in_town", "village_code"),
        (8, "negative_number", "planned_persons"),
        (9, "bad_format", "town_code"),
    ]
    assert scalar(con, "select count(*) from raw_sheets.exit_plan") == 2


# --- whole files ---------------------------------------------------------------------------------------


def test_unreadable_files_are_quarantined_whole_while_the_rest_of_the_batch_loads(drop, con):
    write_xlsx(drop / INCOME_FILE, {"Sheet1": [INCOME_HEADERS, income_row(1), income_row(2)]})
    (drop / f"收入核实表_{OTHER_VILLAGE}_2017.xlsx").write_text("这不是表格，只是改了扩展名的文本文件")
    (drop / "空文件.xlsx").write_bytes(b"")
    (drop / "空表.csv").write_text("\n\n,,\n")
    corrupt_zip(drop / "断了的文件.xlsx")
    zip_not_workbook(drop / "压缩包.xlsx")
    encrypted_xlsx(drop / "加密.xlsx")
    (drop / "照片.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a spreadsheet")
    write_xlsx(drop / "无关的表.xlsx", {"Sheet1": [["品名", "数量"], ["化肥", 3], ["种子", 5]]})
    (drop / "~$收入核实表.xlsx").write_bytes(b"lock")  # Excel's lock file: not a sent file
    summary = load_drop_folder(con, drop, "b1", AT)
    assert_reconciled(con, summary)
    by_file = {f.source_file: f for f in summary.files}
    assert "~$收入核实表.xlsx" not in by_file
    assert by_file[INCOME_FILE].status == "loaded" and by_file[INCOME_FILE].accepted == 2
    expected = {
        f"收入核实表_{OTHER_VILLAGE}_2017.xlsx": "not a spreadsheet",
        "空文件.xlsx": "empty",
        "空表.csv": "empty",
        "断了的文件.xlsx": "damaged",
        "压缩包.xlsx": "not a workbook",
        "加密.xlsx": "password-protected",
        "照片.jpg": "not a spreadsheet",
    }
    for name, words in expected.items():
        result = by_file[name]
        assert (result.status, result.rule, result.received) == ("unreadable", "unreadable_file", 0), name
        assert words in result.reason, (name, result.reason)
        quarantine = rows(
            con,
            "select row_number, column_name, rule, reason from quarantine.sheet_rows where source_file = ?",
            [name],
        )
        assert quarantine == [(None, None, "unreadable_file", result.reason)]
        assert scalar(con, "select status from meta.sheet_files where file_hash = ?", [result.file_hash]) == (
            "unreadable"
        )
    # The name says which village: the audit books the file against that kind's table.
    assert by_file[f"收入核实表_{OTHER_VILLAGE}_2017.xlsx"].kind == "income_verification"
    # Readable, but no known kind: its rows are counted and quarantined one by one.
    unknown = by_file["无关的表.xlsx"]
    assert (unknown.status, unknown.rule, unknown.received, unknown.quarantined) == (
        "unreadable",
        "unknown_kind",
        3,
        3,
    )
    audit = dict(rows(con, "select source_file, table_name from meta.load_audit"))
    assert audit["无关的表.xlsx"] == "quarantine.sheet_rows"
    assert audit[f"收入核实表_{OTHER_VILLAGE}_2017.xlsx"] == "raw_sheets.income_verification"


def test_the_same_file_twice_loads_once(drop, con):
    write_xlsx(drop / INCOME_FILE, {"Sheet1": [INCOME_HEADERS, income_row(1), income_row(2)]})
    shutil.copy(drop / INCOME_FILE, drop / "副本.xlsx")  # the same file sent again under another name
    (drop / "坏.xlsx").write_text("junk")
    first = load_drop_folder(con, drop, "b1", AT)
    assert sorted(f.status for f in first.files) == ["duplicate", "loaded", "unreadable"]
    again = load_drop_folder(con, drop, "b2", AT)
    assert {f.status for f in again.files} == {"duplicate"}
    assert (again.received, again.accepted, again.quarantined) == (0, 0, 0)
    assert scalar(con, "select count(*) from raw_sheets.income_verification") == 2
    assert scalar(con, "select count(*) from meta.sheet_files") == 2
    assert scalar(con, "select count(*) from quarantine.sheet_rows") == 1
    assert scalar(con, "select count(*) from meta.load_audit where batch_id = 'b2'") == 0
    events = rows(con, "select status, count(*) from meta.sheet_file_events where batch_id = 'b2' group by 1")
    assert events == [("duplicate", 3)]


def test_a_corrected_file_replaces_the_earlier_rows_of_its_village_and_period(drop, con, tmp_path):
    write_xlsx(drop / INCOME_FILE, {"Sheet1": [INCOME_HEADERS, income_row(1), income_row(2), income_row(3)]})
    write_xlsx(
        drop / f"收入核实表_{OTHER_VILLAGE}_2017.xlsx",
        {"Sheet1": [INCOME_HEADERS, income_row(1, village=OTHER_VILLAGE)]},
    )
    first = load_drop_folder(con, drop, "b1", AT)
    original = next(f for f in first.files if f.source_file == INCOME_FILE)

    corrected = income_row(2)
    corrected[11] = 9999.5
    write_xlsx(
        drop / f"收入核实表_{VILLAGE}_2017_更正.xlsx", {"Sheet1": [INCOME_HEADERS, income_row(1), corrected]}
    )
    second = load_drop_folder(con, drop, "b2", AT)
    assert_reconciled(con, second)
    new = next(f for f in second.files if f.status == "loaded")
    assert (new.replaces, new.rows_replaced) == (INCOME_FILE, 3)

    remaining = rows(
        con,
        "select _source_file, household_id, per_capita_net_income from raw_sheets.income_verification"
        " where village_code = ? order by household_id",
        [VILLAGE],
    )
    assert [r[0] for r in remaining] == [new.source_file] * 2
    assert remaining[1][2] == Decimal("9999.50")
    assert (
        scalar(
            con, "select count(*) from raw_sheets.income_verification where village_code = ?", [OTHER_VILLAGE]
        )
        == 1
    )
    registry = dict(
        (r[0], r[1:])
        for r in rows(con, "select file_hash, status, replaced_by, replaces from meta.sheet_files")
    )
    assert registry[original.file_hash] == ("replaced", new.file_hash, None)
    assert registry[new.file_hash] == ("loaded", None, original.file_hash)
    assert rows(
        con,
        "select batch_id, kind, area_code, period, old_file_hash, new_file_hash, rows_removed"
        " from meta.sheet_replacements",
    ) == [("b2", "income_verification", VILLAGE, "2017", original.file_hash, new.file_hash, 3)]
    # The original sent again later is a duplicate: it does not come back.
    shutil.copy(drop / INCOME_FILE, drop / "又发了一次.xlsx")
    third = load_drop_folder(con, drop, "b3", AT)
    assert [f.status for f in third.files if f.source_file == "又发了一次.xlsx"] == ["duplicate"]
    assert (
        scalar(con, "select count(*) from raw_sheets.income_verification where village_code = ?", [VILLAGE])
        == 2
    )


def test_a_correction_in_the_same_batch_supersedes_the_original(drop, con):
    write_xlsx(drop / INCOME_FILE, {"Sheet1": [INCOME_HEADERS, income_row(1), income_row(2)]})
    write_xlsx(drop / f"收入核实表_{VILLAGE}_2017_更正.xlsx", {"Sheet1": [INCOME_HEADERS, income_row(1)]})
    os.utime(drop / f"收入核实表_{VILLAGE}_2017_更正.xlsx", (1, 1))  # older on disk: the name still wins
    summary = load_drop_folder(con, drop, "b1", AT)
    assert [f.source_file for f in summary.files] == [INCOME_FILE, f"收入核实表_{VILLAGE}_2017_更正.xlsx"]
    assert rows(con, "select file_name, status from meta.sheet_files order by status") == [
        (f"收入核实表_{VILLAGE}_2017_更正.xlsx", "loaded"),
        (INCOME_FILE, "superseded"),
    ]
    assert scalar(con, "select count(*) from raw_sheets.income_verification") == 1


# --- command line, crash safety, speed -----------------------------------------------------------------


def test_command_line_prints_a_summary_table(drop, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from ingestion.sheets.cli import app

    monkeypatch.setenv("FUPIN_STATE_DIR", str(tmp_path / "state"))
    write_xlsx(drop / INCOME_FILE, {"Sheet1": [INCOME_HEADERS, income_row(1), income_row(2)]})
    (drop / "坏.xlsx").write_text("junk")
    warehouse = tmp_path / "cli.duckdb"
    result = CliRunner().invoke(
        app, ["load", "--drop-dir", str(drop), "--warehouse", str(warehouse)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    for text in (
        "file",
        "kind",
        "received",
        "accepted",
        "quarantined",
        "status",
        INCOME_FILE,
        "坏.xlsx",
        "income_verification",
        "unreadable",
    ):
        assert text in result.output, text
    with duckdb.connect(str(warehouse), read_only=True) as check:
        assert check.execute("select count(*) from raw_sheets.income_verification").fetchone()[0] == 2


CHILD = """
import sys
from pathlib import Path
import duckdb
from ingestion.sheets import load_drop_folder
con = duckdb.connect(sys.argv[2])
def progress(done, total, name, result):
    print(("done " if result else "start ") + name, flush=True)
load_drop_folder(con, Path(sys.argv[1]), sys.argv[3], progress=progress)
"""


def test_a_crash_never_leaves_half_a_file(drop, tmp_path):
    for v in range(1, 5):
        village = f"{TOWN}{v:03d}"
        write_xlsx(
            drop / f"收入核实表_{village}_2017.xlsx",
            {"Sheet1": [INCOME_HEADERS] + [income_row(i, village=village) for i in range(6000)]},
        )
    warehouse = tmp_path / "crash.duckdb"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(drop), str(warehouse), "b1"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    starts = 0
    for line in child.stdout:
        starts += line.startswith("start ")
        if starts == 2:  # the first file is committed, the second is being loaded
            time.sleep(0.4)
            break
    child.send_signal(signal.SIGKILL)
    child.wait()

    with duckdb.connect(str(warehouse)) as con:
        registered = dict(rows(con, "select file_hash, accepted from meta.sheet_files"))
        assert 1 <= len(registered) < 4
        in_raw = dict(rows(con, "select _file_hash, count(*) from raw_sheets.income_verification group by 1"))
        assert in_raw == {h: n for h, n in registered.items() if n}
        audited = scalar(con, "select count(*) from meta.load_audit")
        assert audited == len(registered)
        summary = load_drop_folder(con, drop, "b2")
        assert sorted(f.status for f in summary.files) == ["duplicate"] * len(registered) + ["loaded"] * (
            4 - len(registered)
        )
        assert scalar(con, "select count(*) from raw_sheets.income_verification") == 4 * 6000
        assert scalar(con, "select sum(accepted) from meta.load_audit") == 4 * 6000


def test_a_big_sheet_loads_at_thousands_of_rows_per_second(drop, con):
    n = 30000
    write_xlsx(drop / INCOME_FILE, {"Sheet1": [INCOME_HEADERS] + [income_row(i) for i in range(n)]})
    con.execute(
        "select ?", [1]
    )  # duckdb's first parameterised query imports pandas: keep it out of the timing
    started = time.perf_counter()
    summary = load_drop_folder(con, drop, "b1", AT)
    seconds = time.perf_counter() - started
    assert summary.accepted == n
    print(f"{n} rows in {seconds:.2f} s: {n / seconds:.0f} rows/s")
    assert n / seconds > 1000


def test_a_file_that_fails_to_load_is_rolled_back_whole_and_tried_again_next_run(drop, con):
    # A warehouse table that drifted from its mapping (phone typed DATE): inserting a register fails.
    load_drop_folder(con, drop, "b0", AT)  # creates the tables
    con.execute("alter table raw_sheets.household_register alter phone type date using null")
    register = drop / f"贫困户花名册_{VILLAGE}_2017.xlsx"
    write_xlsx(register, {"Sheet1": [REGISTER_HEADERS, register_row(1), register_row(2)]})
    write_xlsx(drop / INCOME_FILE, {"Sheet1": [INCOME_HEADERS, income_row(1)]})
    summary = load_drop_folder(con, drop, "b1", AT)
    by_status = {f.status: f for f in summary.files}
    assert set(by_status) == {"failed", "loaded"}
    failed = by_status["failed"]
    assert failed.source_file == register.name
    assert failed.reason.startswith("ConversionException"), failed.reason
    assert scalar(con, "select count(*) from raw_sheets.household_register") == 0
    assert scalar(con, "select count(*) from meta.sheet_files where file_hash = ?", [failed.file_hash]) == 0
    assert scalar(con, "select count(*) from meta.load_audit where source_file = ?", [register.name]) == 0
    assert rows(con, "select status from meta.sheet_file_events where file_hash = ?", [failed.file_hash]) == [
        ("failed",)
    ]
    assert by_status["loaded"].accepted == 1

    con.execute("alter table raw_sheets.household_register alter phone type varchar")
    retry = load_drop_folder(con, drop, "b2", AT)
    assert {f.source_file: f.status for f in retry.files} == {
        register.name: "loaded",
        INCOME_FILE: "duplicate",
    }
    assert scalar(con, "select count(*) from raw_sheets.household_register") == 2


def test_two_level_headers_and_a_file_named_for_the_wrong_kind(drop, con):
    group = [
        "年度",
        "行政村代码",
        "户编号",
        "户主姓名",
        "户主身份证号",
        "家庭人口数",
        "收入情况",
        None,
        None,
        None,
        None,
        "人均纯收入（元）",
        "核实日期",
    ]
    sub = [
        None,
        None,
        None,
        None,
        None,
        None,
        "工资性收入",
        "生产经营性收入",
        "生产经营性支出",
        "转移性收入",
        "财产性收入",
        None,
        None,
    ]
    write_xlsx(drop / INCOME_FILE, {"Sheet1": [group, sub, income_row(1), income_row(2)]}, title="收入核实")
    # Named a register, but its headers are those of an exit plan.
    write_xlsx(drop / f"贫困户花名册_{TOWN}_2017.xlsx", {"Sheet1": [PLAN_HEADERS, plan_row(1)]})
    summary = load_drop_folder(con, drop, "b1", AT)
    assert_reconciled(con, summary)
    by_file = {f.source_file: f for f in summary.files}
    income = by_file[INCOME_FILE]
    assert (income.received, income.accepted) == (2, 2)
    assert income.sheets[0].header_row == 4  # the sub-header row under the group row on row 3
    assert scalar(con, "select sum(wage_income) from raw_sheets.income_verification") == Decimal(
        income_row(1)[6] + income_row(2)[6]
    )
    plan = by_file[f"贫困户花名册_{TOWN}_2017.xlsx"]
    assert (plan.kind, plan.area_code, plan.accepted) == ("exit_plan", TOWN, 1)


# --- the simulator's messy sheets of a generated county ------------------------------------------------

SIMULATOR_SHEETS = importlib.util.find_spec("simulator.sheets") is not None


def _planted(entry) -> set[tuple[str | None, int]]:
    """(sheet, row) of the bad rows the simulator planted in one file, per the manifest."""
    return {(bad.get("sheet"), int(bad["row"])) for bad in entry.get("bad_rows", [])}


@pytest.mark.skipif(
    not SIMULATOR_SHEETS,
    reason="simulator.sheets (the writer of the county's messy spreadsheets) does not exist yet",
)
def test_the_simulated_county_sheets_load_and_reconcile_with_the_planted_bad_rows(
    pg_dsn, xs_county, settings, tmp_path
):
    """Contract: ``write_spreadsheets(dsn, out_dir, seed)`` writes the county's sheets and returns a manifest
    ``{"files": {file name: {"bad_rows": [{"sheet", "row", "rule"}...], "unreadable": bool}}}``."""
    import psycopg

    from fupin.duck import connect
    from ingestion.postgres import extract_postgres

    write_spreadsheets = importlib.import_module("simulator.sheets").write_spreadsheets
    drop = tmp_path / "drop"
    manifest = write_spreadsheets(pg_dsn, drop, seed=7)
    con = connect(tmp_path / "county.duckdb", extensions=("postgres_scanner",), settings=settings)
    try:
        extract_postgres(con, pg_dsn, "extract")  # raw.regions: the reference of unknown_village_code
        summary = load_drop_folder(con, drop, "sheets", AT)
        assert_reconciled(con, summary)
        assert summary.warnings == []
        by_file = {Path(f.source_file).name: f for f in summary.files}
        assert set(by_file) == set(manifest["files"])
        for name, entry in manifest["files"].items():
            result = by_file[name]
            if entry.get("unreadable"):
                assert result.status == "unreadable", (name, result)
                continue
            assert result.status in ("loaded", "duplicate"), (name, result.reason)
            if result.status == "duplicate":
                continue
            quarantined = {
                (sheet if sheet != "csv" else None, n)
                for sheet, n in rows(
                    con,
                    "select sheet, row_number from quarantine.sheet_rows where file_hash = ?",
                    [result.file_hash],
                )
            }
            planted = {(None if name.endswith(".csv") else s, n) for s, n in _planted(entry)}
            assert quarantined == planted, (name, sorted(quarantined ^ planted))
        households = {r[0] for r in rows(con, "select household_id from raw_sheets.income_verification")}
        households |= {r[0] for r in rows(con, "select household_id from raw_sheets.household_register")}
    finally:
        con.close()
    with psycopg.connect(pg_dsn) as pg:
        known = {str(r[0]) for r in pg.execute("select household_id from app.households").fetchall()}
    assert households and households <= known


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_randomly_messy_villages_reconcile_exactly_with_the_planted_bad_rows(drop, con, seed):
    manifest = messy_villages(drop, seed)
    summary = load_drop_folder(con, drop, f"b{seed}", AT)
    assert_reconciled(con, summary)
    assert {f.source_file for f in summary.files} == set(manifest)
    for f in summary.files:
        quarantined = set(
            rows(
                con, "select sheet, row_number from quarantine.sheet_rows where file_hash = ?", [f.file_hash]
            )
        )
        assert quarantined == manifest[f.source_file], (
            f.source_file,
            sorted(quarantined ^ manifest[f.source_file]),
        )
    assert summary.quarantined == sum(len(bad) for bad in manifest.values()) > 0
