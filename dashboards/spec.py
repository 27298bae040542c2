"""The eight dashboards, compactly: datasets, charts and filters. ``python -m dashboards.generate`` turns this
into the Superset asset YAML under ``dashboards/assets/`` (the files that are provisioned and committed).

Each dataset names a warehouse table (or a SQL query over several); the generator reads the table's columns
and types from a built warehouse, adds town and village names where a mart only has their codes, and leaves
out every chart whose dataset or columns are not in that warehouse (it says which). Titles are Chinese first,
then English. Status colours follow the labels of the warehouse contract: red 未脱贫, yellow 帮扶中, green 已脱贫.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RED, AMBER, GREEN, BLUE, GREY = "#D7263D", "#F2A900", "#2E9E4F", "#1F77B4", "#7F7F7F"
# Series carry the stage number: Superset sorts series by name with the browser's collation.
STATUS_COLOURS = {"1 未脱贫": RED, "2 帮扶中": AMBER, "3 已脱贫": GREEN}
TREND_COLOURS = {"未脱贫 Not exited": RED, "帮扶中 Being helped": AMBER, "已脱贫 Exited": GREEN}
STATUS_SERIES = (
    "CASE status_label WHEN 'red' THEN '1 ' || status_name WHEN 'yellow' THEN '2 ' || status_name "
    "WHEN 'green' THEN '3 ' || status_name ELSE status_name END"
)

# Column labels shown in tables and filters (a column not listed keeps its name).
COLUMN_LABELS = {
    "county_code": "县代码 County code",
    "county_name": "县 County",
    "town_code": "乡镇代码 Town code",
    "town_name": "乡镇 Town",
    "village_code": "村代码 Village code",
    "village_name": "村 Village",
    "region_code": "区划代码 Region code",
    "region_level": "区划级别 Level",
    "region_name": "区划 Region",
    "status_label": "状态标记 Status label",
    "status_name": "脱贫状态 Status",
    "status": "状态 Status",
    "households": "户数 Households",
    "persons": "人数 Persons",
    "household_id": "户编号 Household",
    "head_name": "户主 Head of household",
    "id_number_masked": "身份证号(脱敏) ID number (masked)",
    "household_attribute": "贫困户属性 Attribute",
    "attribute": "贫困户属性 Attribute",
    "main_poverty_cause": "主要致贫原因 Main cause",
    "main_cause": "主要致贫原因 Main cause",
    "cadre_id": "帮扶干部编号 Cadre",
    "name": "姓名 Name",
    "cadre_name": "帮扶干部 Cadre",
    "visit_date": "走访日期 Visit date",
    "plan_year": "计划年度 Plan year",
    "exit_year": "脱贫年度 Exit year",
    "month": "月份 Month",
    "category": "类别 Category",
    "indicator": "指标 Indicator",
    "risk_score": "风险分 Risk score",
    "reasons": "原因 Reasons",
    "failed_criteria": "未达标项 Failed criteria",
    "per_capita_net_income": "人均纯收入 Income per head",
    "poverty_line": "贫困线 Poverty line",
    "score": "得分 Score",
    "rule": "规则 Rule",
    "reason": "原因 Reason",
    "run_at": "检查时间 Checked at",
    "check_name": "检查项 Check",
    "severity": "级别 Severity",
    "passed": "通过 Passed",
    "households_in_force": "在帮户数 Households",
    "norm": "标准 Norm",
    "load_ratio": "负荷比 Load ratio",
    "is_overloaded": "超负荷 Overloaded",
    "nearest_point_m": "最近轨迹点(米) Nearest point (m)",
    "points_in_window": "走访时段轨迹点 Points in the visit",
    "suspicion_reason": "疑点 Why suspicious",
    "risk_rank": "风险排名 Rank",
    "duration_minutes": "时长(分钟) Minutes",
    "raised_at": "提出时间 Raised at",
    "days_open": "已等待天数 Days open",
    "suite": "检查套件 Suite",
    "table_name": "表 Table",
    "unexpected_count": "不符合行数 Failing rows",
    "visits_last_30d": "近30天走访 Visits (30 days)",
    "visits_last_90d": "近90天走访 Visits (90 days)",
    "last_visit_date": "最近走访 Last visit",
    "head_id_number_masked": "户主身份证号(脱敏) Head's ID (masked)",
    "address": "住址 Address",
    "secondary_poverty_cause": "次要致贫原因 Secondary cause",
    "members": "人口 Members",
    "members_text": "家庭成员 Members",
    "labour_members": "劳动力 Labour",
    "ill_members": "患病 Ill",
    "disabled_members": "残疾 Disabled",
    "pupils": "在校生 Pupils",
    "latest_income_year": "收入年度 Income year",
    "latest_per_capita_net_income": "人均纯收入 Income per head",
    "latest_poverty_line": "当年贫困线 Poverty line",
    "poverty_degree": "贫困程度 Degree",
    "food_secure": "不愁吃 Food",
    "clothing_secure": "不愁穿 Clothing",
    "education_guaranteed": "义务教育有保障 Education",
    "medical_guaranteed": "基本医疗有保障 Medical care",
    "housing_guaranteed": "住房安全有保障 Housing",
    "safe_drinking_water": "饮水安全 Safe water",
    "house_safety_grade": "房屋等级 House grade",
    "helper_names": "帮扶责任人 Helpers",
    "helpers_in_force": "帮扶人数 Helpers in force",
    "helped_since": "帮扶起始 Helped since",
    "open_demands": "未办结诉求 Open demands",
    "open_demand_categories": "诉求类别 Demand categories",
    "longest_open_days": "最长等待天数 Longest wait (days)",
    "completeness": "完整性 Completeness",
    "validity": "有效性 Validity",
    "timeliness": "及时性 Timeliness",
    "quarantined_rows": "隔离行 Quarantined rows",
    "failed_checks": "未通过检查 Failed checks",
    "planned_households": "计划户数 Planned households",
    "exited_households": "已脱贫户 Exited households",
}


@dataclass(frozen=True)
class Dataset:
    key: str
    description: str
    table: str | None = None  # schema.table
    sql: str | None = None  # a query instead of a table; `tables` it reads must exist
    tables: tuple[str, ...] = ()
    add_region_names: bool = True  # join core.dim_region for town_name / village_name when missing


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    dataset: str
    viz: str
    params: dict[str, Any]
    needs: tuple[str, ...] = ()  # columns the chart reads (left out when one is missing)
    width: int = 6
    height: int = 50
    description: str = ""


@dataclass(frozen=True)
class Filter:
    key: str
    name: str
    column: str
    dataset: str
    kind: str = "filter_select"  # or filter_time
    default_first: bool = False
    multi: bool = True
    search_all: bool = False
    only: tuple[str, ...] = ()  # chart keys in scope (default: every chart whose dataset has the column)


@dataclass(frozen=True)
class Dashboard:
    slug: str
    title: str
    description: str
    rows: list[list[str]]  # chart keys, row by row
    filters: list[Filter] = field(default_factory=list)


def metric(sql: str, label: str) -> dict[str, Any]:
    return {"expressionType": "SQL", "sqlExpression": sql, "label": label}


def column(sql: str, label: str) -> dict[str, Any]:
    return {"expressionType": "SQL", "sqlExpression": sql, "label": label}


def where(sql: str) -> dict[str, Any]:
    return {"expressionType": "SQL", "clause": "WHERE", "sqlExpression": sql}


def kpi(key, title, dataset, sql, needs, fmt=",d", subheader="", filters=()) -> Chart:
    return Chart(
        key,
        title,
        dataset,
        "big_number_total",
        {
            "metric": metric(sql, title),
            "subheader": subheader,
            "y_axis_format": fmt,
            "header_font_size": 0.4,
            "subheader_font_size": 0.15,
            "adhoc_filters": [where(f) for f in filters],
        },
        needs=tuple(needs),
        width=2,
        height=25,
    )


def bar(
    key,
    title,
    dataset,
    x,
    metrics,
    needs,
    groupby=(),
    stack=True,
    colours=None,
    x_title="",
    y_title="",
    filters=(),
    horizontal=False,
    limit=10000,
    width=6,
    height=55,
    sort_by_value=False,
    fmt=",d",
) -> Chart:
    params = {
        "x_axis": x,
        "x_axis_sort_asc": not sort_by_value,
        "metrics": list(metrics),
        "groupby": list(groupby),
        "adhoc_filters": [where(f) for f in filters],
        "row_limit": limit,
        "order_desc": True,
        "stack": "Stack" if stack else None,
        "orientation": "horizontal" if horizontal else "vertical",
        "show_value": True,
        "only_total": bool(stack),
        "show_legend": True,
        "legendType": "scroll",
        "legendOrientation": "top",
        "rich_tooltip": True,
        "x_axis_title": x_title,
        "x_axis_title_margin": 30 if x_title else 15,
        "y_axis_title": y_title,
        "y_axis_title_margin": 50 if y_title else 15,
        "y_axis_title_position": "Left",
        "y_axis_format": fmt,
        "truncateYAxis": False,
        "color_scheme": "supersetColors",
        "label_colors": colours or {},
    }
    if groupby:
        params.update({"sort_series_type": "name", "sort_series_ascending": True})
    if sort_by_value:
        params.update({"x_axis_sort": metrics[0]["label"], "x_axis_sort_asc": False})
    return Chart(key, title, dataset, "echarts_timeseries_bar", params, tuple(needs), width, height)


def table(
    key, title, dataset, columns, needs, order=None, filters=(), limit=1000, width=6, height=55
) -> Chart:
    """A raw table: ``columns`` are column names, or (sql, label) pairs."""
    cols = [c if isinstance(c, str) else column(*c) for c in columns]
    params = {
        "query_mode": "raw",
        "all_columns": cols,
        "order_by_cols": [f'["{o[0]}", {str(o[1]).lower()}]' for o in (order or [])],
        "adhoc_filters": [where(f) for f in filters],
        "row_limit": limit,
        "server_page_length": 0,
        "include_search": True,
        "show_cell_bars": False,
        "table_timestamp_format": "%Y-%m-%d",
    }
    return Chart(key, title, dataset, "table", params, tuple(needs), width, height)


def agg_table(
    key, title, dataset, groupby, metrics, needs, filters=(), limit=1000, width=6, height=55
) -> Chart:
    params = {
        "query_mode": "aggregate",
        "groupby": [g if isinstance(g, str) else column(*g) for g in groupby],
        "metrics": list(metrics),
        "timeseries_limit_metric": metrics[0],
        "order_desc": True,
        "adhoc_filters": [where(f) for f in filters],
        "row_limit": limit,
        "server_page_length": 0,
        "include_search": False,
        "show_cell_bars": True,
    }
    return Chart(key, title, dataset, "table", params, tuple(needs), width, height)


def pie(key, title, dataset, group, m, needs, filters=(), width=4, height=55) -> Chart:
    params = {
        "groupby": [column(*group)],
        "metric": m,
        "adhoc_filters": [where(f) for f in filters],
        "row_limit": 100,
        "sort_by_metric": True,
        "color_scheme": "supersetColors",
        "show_labels": True,
        "label_type": "key_percent",
        "labels_outside": True,
        "show_legend": True,
        "legendType": "scroll",
        "legendOrientation": "bottom",
        "donut": True,
        "innerRadius": 35,
        "outerRadius": 70,
        "number_format": ",d",
    }
    return Chart(key, title, dataset, "pie", params, tuple(needs), width, height)


def line(key, title, dataset, x, metrics, needs, colours, filters=(), width=6, height=55) -> Chart:
    params = {
        "x_axis": x,
        "time_grain_sqla": "P1M",
        "time_range": "No filter",
        "metrics": list(metrics),
        "groupby": [],
        "adhoc_filters": [where(f) for f in filters],
        "row_limit": 10000,
        "show_legend": True,
        "legendOrientation": "top",
        "rich_tooltip": True,
        "markerEnabled": True,
        "markerSize": 5,
        "x_axis_time_format": "%Y-%m",
        "y_axis_format": ",d",
        "color_scheme": "supersetColors",
        "label_colors": colours,
        "truncateYAxis": False,
    }
    return Chart(key, title, dataset, "echarts_timeseries_line", params, tuple(needs), width, height)


def pivot(key, title, dataset, rows, cols, m, needs, filters=(), width=6, height=55, fmt=",d") -> Chart:
    params = {
        "groupbyRows": [column(*r) for r in rows],
        "groupbyColumns": [column(*c) for c in cols],
        "metrics": [m],
        "metricsLayout": "COLUMNS",
        "aggregateFunction": "Sum",
        "rowTotals": True,
        "colTotals": True,
        "transposePivot": False,
        "combineMetric": False,
        "rowOrder": "key_a_to_z",
        "colOrder": "key_a_to_z",
        "valueFormat": fmt,
        "adhoc_filters": [where(f) for f in filters],
        "row_limit": 10000,
        "order_desc": True,
    }
    return Chart(key, title, dataset, "pivot_table_v2", params, tuple(needs), width, height)


def _viewport() -> dict[str, Any]:
    # Lixin county (安徽省利辛县); autozoom fits the points anyway.
    return {"longitude": 116.2, "latitude": 33.15, "zoom": 9, "bearing": 0, "pitch": 0}


def scatter_map(key, title, dataset, size_metric, needs, width=6, height=60) -> Chart:
    params = {
        "spatial": {"type": "latlong", "latCol": "lat", "lonCol": "lon"},
        "size": size_metric,
        "point_radius_fixed": {"type": "metric", "value": size_metric},
        "point_unit": "square_m",
        "min_radius": 3,
        "max_radius": 40,
        "multiplier": 10,
        "color_picker": {"r": 215, "g": 38, "b": 61, "a": 0.8},
        "autozoom": True,
        "viewport": _viewport(),
        "mapbox_style": "",
        "row_limit": 5000,
        "adhoc_filters": [],
        "groupby": ["village_name"],
        "js_columns": [],
        "time_range": "No filter",
    }
    return Chart(key, title, dataset, "deck_scatter", params, tuple(needs), width, height)


def path_map(key, title, dataset, needs, width=12, height=70) -> Chart:
    params = {
        "line_column": "path",
        "line_type": "json",
        "line_width": 40,
        "line_width_unit": "meters",
        "color_picker": {"r": 31, "g": 119, "b": 180, "a": 0.9},
        "autozoom": True,
        "viewport": _viewport(),
        "mapbox_style": "",
        "row_limit": 500,
        "adhoc_filters": [],
        "js_columns": ["cadre_id", "recorded_date"],
        "time_range": "No filter",
        "reverse_long_lat": False,
    }
    return Chart(key, title, dataset, "deck_path", params, tuple(needs), width, height)


# ---------------------------------------------------------------------------------------------------- datasets
DATASETS = [
    Dataset(
        "status_by_village",
        "各村按脱贫状态的贫困户与人口 Households and persons per village and status",
        table="marts.status_by_village",
        add_region_names=False,
    ),
    Dataset(
        "status_by_region",
        "各级区划的贫困户、人口、三色标记与贫困发生率 Status counts and incidence by region",
        table="marts.status_by_region",
    ),
    Dataset(
        "status_trend",
        "月末三色标记户数 Households per status at the end of each month",
        table="marts.status_trend",
    ),
    Dataset(
        "village_map",
        "各村位置与贫困户 Villages on the map with their poor households",
        sql=(
            "select s.*, r.lat, r.lon from marts.status_by_region as s\n"
            "join core.dim_region as r on r.region_code = s.region_code\n"
            "where s.region_level = 'village' and r.lat is not null"
        ),
        tables=("marts.status_by_region", "core.dim_region"),
    ),
    Dataset(
        "indicators_by_region",
        "三类指标:属性、贫困程度、致贫原因 Attribute, degree and main cause by region",
        table="marts.indicators_by_region",
    ),
    Dataset("exit_progress", "年度脱贫计划与完成 Exit plan against exits", table="marts.exit_progress"),
    Dataset(
        "households_without_helper",
        "无帮扶责任人的贫困户 Poor households without a helper",
        table="marts.households_without_helper",
    ),
    Dataset(
        "cadre_workload", "帮扶干部结对户数 Households per cadre against 1:10", table="marts.cadre_workload"
    ),
    Dataset("visit_frequency", "走访频次 Visits per household", table="marts.visit_frequency"),
    Dataset(
        "visit_authenticity",
        "走访真实性 Visits against the cadre's GPS trajectory",
        table="marts.visit_authenticity",
    ),
    Dataset(
        "suspicious_visits",
        "疑似虚假走访 Suspicious visits",
        table="marts.suspicious_visits",
    ),
    Dataset(
        "cadre_paths",
        "帮扶干部每日轨迹 Each cadre's daily GPS path",
        sql=(
            "select cadre_id, town_code, village_code, recorded_date,\n"
            "    count(*) as points,\n"
            "    '[' || string_agg('[' || lon::varchar || ',' || lat::varchar || ']', ',' order by seq)"
            " || ']' as path\n"
            "from marts.cadre_trajectory\n"
            "group by cadre_id, town_code, village_code, recorded_date"
        ),
        tables=("marts.cadre_trajectory",),
    ),
    Dataset("open_demands", "未办结诉求 Open demands", table="marts.open_demands"),
    Dataset("task_performance", "帮扶任务完成情况 Tasks: due, done, overdue", table="marts.task_performance"),
    Dataset(
        "task_performance_by_cadre",
        "各干部任务汇总 Tasks per cadre and area",
        table="marts.task_performance_by_cadre",
    ),
    Dataset(
        "exit_audit", "已脱贫户核查 Exited households checked against the criteria", table="marts.exit_audit"
    ),
    Dataset("return_risk", "返贫风险 Risk of returning to poverty", table="marts.return_risk"),
    Dataset("household_card", "户档案 The household card", table="marts.household_card"),
    Dataset("household_visits", "走访记录 Visits per household", table="core.fct_visit"),
    Dataset(
        "village_quality_scorecard",
        "村级数据质量评分 Data quality per village",
        table="marts.village_quality_scorecard",
    ),
    Dataset(
        "quarantine_rows",
        "隔离的表格行(按村与原因) Quarantined spreadsheet rows by area and reason",
        sql=(
            "select q.batch_id, q.loaded_at, q.source_file, q.sheet, q.row_number, q.column_name, q.rule,\n"
            "    q.reason, f.kind,\n"
            "    case when length(f.area_code) >= 9 then left(f.area_code, 9) end as town_code,\n"
            "    case when length(f.area_code) = 12 then f.area_code end as village_code\n"
            "from quarantine.sheet_rows as q\n"
            "left join meta.sheet_files as f on f.file_hash = q.file_hash"
        ),
        tables=("quarantine.sheet_rows", "meta.sheet_files"),
    ),
    Dataset(
        "quality_results",
        "质量检查结果 Quality check results per run",
        table="meta.quality_results",
        add_region_names=False,
    ),
    Dataset(
        "quality_latest",
        "最近一次质量检查 The latest run's quality checks",
        sql="select * from meta.quality_results\nwhere run_at = (select max(run_at) from meta.quality_results)",
        tables=("meta.quality_results",),
        add_region_names=False,
    ),
]

# ------------------------------------------------------------------------------------------------------ charts
_V = ("region_level = 'village'",)  # village rows of a mart with rows per level
HH = metric("SUM(households)", "户数 Households")
CHARTS = [
    # 1 county overview
    kpi(
        "kpi_poor_households",
        "贫困户(现有) Poor households now",
        "status_by_region",
        "SUM(poor_households)",
        ["poor_households"],
        filters=_V,
    ),
    kpi(
        "kpi_poor_persons",
        "贫困人口(现有) Poor persons now",
        "status_by_region",
        "SUM(poor_persons)",
        ["poor_persons"],
        filters=_V,
    ),
    kpi(
        "kpi_exited",
        "已脱贫户 Exited households",
        "status_by_region",
        "SUM(green_households)",
        ["green_households"],
        filters=_V,
    ),
    kpi(
        "kpi_helped",
        "帮扶中户 Households being helped",
        "status_by_region",
        "SUM(yellow_households)",
        ["yellow_households"],
        filters=_V,
    ),
    kpi(
        "kpi_incidence",
        "贫困发生率 Incidence rate",
        "status_by_region",
        "SUM(poor_persons) / NULLIF(SUM(population), 0)",
        ["poor_persons", "population"],
        fmt=".2%",
        filters=_V,
    ),
    bar(
        "status_bar",
        "各乡镇贫困户脱贫状态 Households by status per town",
        "status_by_village",
        "town_name",
        [HH],
        ["town_name", "status_label", "status_name", "households"],
        groupby=[column(STATUS_SERIES, "脱贫状态 Status")],
        colours=STATUS_COLOURS,
        x_title="乡镇 Town",
        y_title="贫困户数 Households",
        width=7,
        height=62,
    ),
    pivot(
        "status_pivot",
        "乡镇×脱贫状态贫困户数 Households by town and status",
        "status_by_village",
        [("town_name", "乡镇 Town")],
        [("status_name", "脱贫状态 Status")],
        HH,
        ["town_name", "status_name"],
        width=5,
        height=62,
    ),
    line(
        "status_trend_line",
        "三色标记月度走势 Households per status, month by month",
        "status_trend",
        "month",
        [
            metric("SUM(red_households)", "未脱贫 Not exited"),
            metric("SUM(yellow_households)", "帮扶中 Being helped"),
            metric("SUM(green_households)", "已脱贫 Exited"),
        ],
        ["month", "red_households", "yellow_households", "green_households"],
        TREND_COLOURS,
        filters=_V,
    ),
    scatter_map(
        "village_map",
        "各村贫困户分布 Villages and their poor households",
        "village_map",
        metric("SUM(poor_households)", "贫困户 Poor households"),
        ["lat", "lon", "poor_households"],
    ),
    # 2 three indicators
    *[
        pie(
            f"ind_{ind}",
            title,
            "indicators_by_region",
            ("category", "类别 Category"),
            HH,
            ["indicator", "category", "households"],
            filters=(*_V, f"indicator = '{ind}'"),
        )
        for ind, title in (
            ("attribute", "贫困户属性 Attribute"),
            ("degree", "贫困程度 Degree of poverty"),
            ("main_cause", "主要致贫原因 Main cause"),
        )
    ],
    pivot(
        "ind_cause_by_town",
        "各乡镇致贫原因(户) Main cause by town (households)",
        "indicators_by_region",
        [("town_name", "乡镇 Town")],
        [("category", "致贫原因 Cause")],
        HH,
        ["indicator", "category", "households", "town_name"],
        filters=(*_V, "indicator = 'main_cause'"),
        width=12,
        height=60,
    ),
    pivot(
        "ind_attribute_by_town",
        "各乡镇贫困户属性与人口 Attribute by town (persons)",
        "indicators_by_region",
        [("town_name", "乡镇 Town")],
        [("category", "属性 Attribute")],
        metric("SUM(persons)", "人数 Persons"),
        ["indicator", "category", "persons", "town_name"],
        filters=(*_V, "indicator = 'attribute'"),
        width=12,
        height=50,
    ),
    # 3 exit progress
    kpi(
        "kpi_exit_planned",
        "计划脱贫户 Households planned to exit",
        "exit_progress",
        "SUM(planned_households)",
        ["planned_households"],
        filters=_V,
    ),
    kpi(
        "kpi_exit_done",
        "已脱贫户 Households exited",
        "exit_progress",
        "SUM(exited_households)",
        ["exited_households"],
        filters=_V,
    ),
    kpi(
        "kpi_exit_rate",
        "计划完成率 Progress against the plan",
        "exit_progress",
        "SUM(exited_households) / NULLIF(SUM(planned_households), 0)",
        ["exited_households", "planned_households"],
        fmt=".1%",
        filters=_V,
    ),
    bar(
        "exit_by_town",
        "各乡镇计划与完成 Plan and exits per town",
        "exit_progress",
        "town_name",
        [
            metric("SUM(planned_households)", "计划户数 Planned"),
            metric("SUM(exited_households)", "已脱贫 Exited"),
        ],
        ["town_name", "planned_households", "exited_households"],
        stack=False,
        colours={"计划户数 Planned": GREY, "已脱贫 Exited": GREEN},
        x_title="乡镇 Town",
        filters=_V,
        width=12,
    ),
    agg_table(
        "exit_by_village",
        "各村脱贫进度 Progress per village",
        "exit_progress",
        [("town_name", "乡镇 Town"), ("village_name", "村 Village"), ("plan_year", "计划年度 Plan year")],
        [
            metric("SUM(planned_households)", "计划户数 Planned"),
            metric("SUM(exited_households)", "已脱贫户 Exited"),
            metric("SUM(exited_households) / NULLIF(SUM(planned_households), 0)", "完成率 Progress"),
        ],
        ["town_name", "village_name", "plan_year", "planned_households", "exited_households"],
        filters=_V,
        width=12,
        height=70,
    ),
    # 4 twinning and visits
    kpi(
        "kpi_without_helper",
        "无帮扶人贫困户 Poor households without a helper",
        "households_without_helper",
        "COUNT(*)",
        ["household_id"],
    ),
    kpi(
        "kpi_overloaded",
        "超负荷干部(>1:10) Cadres above 1:10",
        "cadre_workload",
        "SUM(CASE WHEN is_overloaded THEN 1 ELSE 0 END)",
        ["is_overloaded"],
    ),
    kpi(
        "kpi_suspicious",
        "疑似虚假走访 Suspicious visits",
        "visit_authenticity",
        "SUM(CASE WHEN is_suspicious THEN 1 ELSE 0 END)",
        ["is_suspicious"],
    ),
    kpi(
        "kpi_not_visited",
        "90天未走访户 Households not visited in 90 days",
        "visit_frequency",
        "SUM(CASE WHEN coalesce(visits_last_90d, 0) = 0 THEN 1 ELSE 0 END)",
        ["visits_last_90d"],
    ),
    table(
        "without_helper_list",
        "无帮扶人贫困户名单 Poor households without a helper",
        "households_without_helper",
        ["town_name", "village_name", "household_id", "head_name", "status_label"],
        ["household_id", "head_name", "town_name", "village_name", "status_label"],
        width=6,
    ),
    table(
        "cadre_load_list",
        "干部结对负荷 Cadre workload against 1:10",
        "cadre_workload",
        ["town_name", "village_name", "name", "households_in_force", "norm", "load_ratio", "is_overloaded"],
        ["name", "households_in_force", "norm", "load_ratio", "is_overloaded", "town_name", "village_name"],
        order=[("load_ratio", False)],
        width=6,
    ),
    bar(
        "visit_freq_by_town",
        "各乡镇户均走访次数(近30/90天) Visits per household by town",
        "visit_frequency",
        "town_name",
        [
            metric("AVG(visits_last_30d)", "近30天 Last 30 days"),
            metric("AVG(visits_last_90d)", "近90天 Last 90 days"),
        ],
        ["town_name", "visits_last_30d", "visits_last_90d"],
        stack=False,
        x_title="乡镇 Town",
        width=6,
        fmt=",.1f",
    ),
    table(
        "suspicious_list",
        "疑似虚假走访:轨迹未靠近农户 Visits with the trajectory never near the household",
        "suspicious_visits",
        [
            "visit_date",
            "town_name",
            "village_name",
            "cadre_id",
            "household_id",
            "nearest_point_m",
            "points_in_window",
            "suspicion_reason",
        ],
        [
            "visit_date",
            "cadre_id",
            "household_id",
            "nearest_point_m",
            "points_in_window",
            "town_name",
            "village_name",
        ],
        order=[("visit_date", False)],
        width=6,
    ),
    path_map(
        "cadre_path",
        "帮扶干部轨迹回放 A cadre's trajectory over the chosen days",
        "cadre_paths",
        ["path", "cadre_id", "recorded_date"],
    ),
    # 5 demands and tasks
    kpi("kpi_open_demands", "未办结诉求 Open demands", "open_demands", "COUNT(*)", ["demand_id"]),
    kpi(
        "kpi_overdue_tasks",
        "逾期任务 Overdue tasks",
        "task_performance",
        "SUM(CASE WHEN is_overdue THEN 1 ELSE 0 END)",
        ["is_overdue"],
    ),
    kpi(
        "kpi_days_to_complete",
        "平均办结天数 Days to complete (mean)",
        "task_performance",
        "AVG(days_to_complete)",
        ["days_to_complete"],
        fmt=",.1f",
    ),
    bar(
        "demands_by_town",
        "各乡镇未办结诉求(按类别) Open demands by town and category",
        "open_demands",
        "town_name",
        [metric("COUNT(*)", "诉求数 Demands")],
        ["town_name", "category"],
        groupby=["category"],
        x_title="乡镇 Town",
        width=6,
    ),
    bar(
        "days_by_town",
        "各乡镇任务平均办结天数 Days to complete by town",
        "task_performance",
        "town_name",
        [metric("AVG(days_to_complete)", "平均天数 Mean days")],
        ["town_name", "days_to_complete"],
        stack=False,
        x_title="乡镇 Town",
        width=6,
        fmt=",.1f",
    ),
    agg_table(
        "tasks_by_cadre",
        "各干部任务与逾期 Tasks and overdue per cadre",
        "task_performance_by_cadre",
        [("town_name", "乡镇 Town"), ("assignee_cadre_id", "干部 Cadre")],
        [
            metric("SUM(task_count)", "任务 Tasks"),
            metric("SUM(overdue_tasks)", "逾期 Overdue"),
            metric("SUM(days_to_complete_total) / NULLIF(SUM(completed_tasks), 0)", "平均办结天数 Mean days"),
        ],
        ["assignee_cadre_id", "task_count", "overdue_tasks", "town_name"],
        limit=500,
        width=6,
    ),
    table(
        "oldest_demands",
        "久拖未办的诉求 Oldest open demands",
        "open_demands",
        ["town_name", "village_name", "household_id", "category", "raised_at", "status", "days_open"],
        ["household_id", "category", "raised_at", "status", "days_open", "town_name", "village_name"],
        order=[("days_open", False)],
        limit=200,
        width=6,
    ),
    # 6 exit audit and early warning
    kpi(
        "kpi_failed_exits",
        "不达标的已脱贫户 Exited households failing a criterion",
        "exit_audit",
        "SUM(CASE WHEN fails_income OR fails_guarantee THEN 1 ELSE 0 END)",
        ["fails_income", "fails_guarantee"],
    ),
    kpi(
        "kpi_high_risk",
        "返贫高风险户 Households at high risk",
        "return_risk",
        "COUNT(*)",
        ["risk_score"],
        filters=("risk_rank <= 100",),
    ),
    bar(
        "failed_exits_by_town",
        "各乡镇不达标户(收入/保障) Failing exits by town",
        "exit_audit",
        "town_name",
        [
            metric("SUM(CASE WHEN fails_income THEN 1 ELSE 0 END)", "收入不达标 Income"),
            metric("SUM(CASE WHEN fails_guarantee THEN 1 ELSE 0 END)", "保障不达标 Guarantees"),
        ],
        ["town_name", "fails_income", "fails_guarantee"],
        colours={"收入不达标 Income": RED, "保障不达标 Guarantees": AMBER},
        x_title="乡镇 Town",
        width=8,
    ),
    table(
        "failed_exits_list",
        "不达标的已脱贫户名单 Exited households failing a criterion",
        "exit_audit",
        [
            "town_name",
            "village_name",
            "household_id",
            "exit_year",
            "per_capita_net_income",
            "poverty_line",
            "failed_criteria",
        ],
        [
            "household_id",
            "exit_year",
            "per_capita_net_income",
            "poverty_line",
            "failed_criteria",
            "fails_income",
            "fails_guarantee",
            "town_name",
            "village_name",
        ],
        filters=("fails_income OR fails_guarantee",),
        width=12,
    ),
    table(
        "risk_list",
        "返贫风险户(按风险排序) Households at risk of returning to poverty",
        "return_risk",
        ["risk_rank", "town_name", "village_name", "household_id", "risk_score", "reasons"],
        ["risk_rank", "household_id", "risk_score", "reasons", "town_name", "village_name"],
        order=[("risk_score", False)],
        limit=200,
        width=12,
    ),
    # 7 the household card
    # raw rows sorted with a limit, not an aggregate: at scale M grouping 4.1 M households took 0.6 s, the
    # sorted rows 41 ms; a click on a cell still cross-filters the card
    table(
        "card_households",
        "户列表(点击户编号查看户档案) Households (click a household number to see its card)",
        "household_card",
        ["household_id", "town_name", "village_name", "head_name", "status_name", "members"],
        ["household_id", "head_name", "town_name", "village_name", "status_name", "members"],
        order=[("members", False), ("household_id", True)],
        limit=500,
        width=12,
        height=45,
    ),
    table(
        "card_family",
        "家庭 Family",
        "household_card",
        [
            "household_id",
            "head_name",
            "head_id_number_masked",
            "address",
            "household_attribute",
            "main_poverty_cause",
            "secondary_poverty_cause",
            "status_name",
            "members",
            "members_text",
            "labour_members",
            "ill_members",
            "disabled_members",
            "pupils",
        ],
        ["household_id", "head_name", "head_id_number_masked", "members"],
        limit=50,
        width=12,
        height=40,
    ),
    table(
        "card_income_living",
        "收入与生活条件 Income and living conditions",
        "household_card",
        [
            "household_id",
            "latest_income_year",
            "latest_per_capita_net_income",
            "latest_poverty_line",
            "poverty_degree",
            "food_secure",
            "clothing_secure",
            "education_guaranteed",
            "medical_guaranteed",
            "housing_guaranteed",
            "safe_drinking_water",
            "house_safety_grade",
        ],
        ["household_id", "latest_per_capita_net_income"],
        limit=50,
        width=6,
        height=40,
    ),
    table(
        "card_helpers",
        "帮扶责任人与走访 Helpers and visits",
        "household_card",
        [
            "household_id",
            "helper_names",
            "helpers_in_force",
            "helped_since",
            "last_visit_date",
            "visits_last_90d",
            "open_demands",
            "open_demand_categories",
            "longest_open_days",
        ],
        ["household_id", "helper_names"],
        limit=50,
        width=6,
        height=40,
    ),
    table(
        "card_visits",
        "走访记录 Visits",
        "household_visits",
        ["visit_date", "household_id", "cadre_id", "duration_minutes"],
        ["household_id", "visit_date", "cadre_id"],
        order=[("visit_date", False)],
        limit=100,
        width=6,
        height=45,
    ),
    table(
        "card_demands",
        "未办结诉求 Open demands",
        "open_demands",
        ["household_id", "category", "raised_at", "status", "days_open"],
        ["household_id", "category", "raised_at", "status", "days_open"],
        limit=100,
        width=6,
        height=45,
    ),
    # 8 data quality
    kpi("kpi_quarantined", "隔离行数 Quarantined rows", "quarantine_rows", "COUNT(*)", ["rule"]),
    kpi(
        "kpi_failed_checks",
        "最近未通过检查 Failed checks in the last run",
        "quality_latest",
        "SUM(CASE WHEN NOT passed THEN 1 ELSE 0 END)",
        ["passed", "run_at"],
    ),
    bar(
        "quarantine_by_village",
        "各村隔离行数(按原因) Quarantined rows by village and reason",
        "quarantine_rows",
        "village_name",
        [metric("COUNT(*)", "行数 Rows")],
        ["village_name", "rule"],
        groupby=["rule"],
        x_title="村 Village",
        width=12,
        sort_by_value=True,
        limit=10000,
    ),
    line(
        "checks_over_time",
        "检查结果走势 Check results over time",
        "quality_results",
        "run_at",
        [
            metric("SUM(CASE WHEN passed THEN 1 ELSE 0 END)", "通过 Passed"),
            metric("SUM(CASE WHEN NOT passed THEN 1 ELSE 0 END)", "未通过 Failed"),
        ],
        ["run_at", "passed"],
        {"通过 Passed": GREEN, "未通过 Failed": RED},
    ),
    table(
        "checks_latest",
        "最近一次检查 The latest run's checks",
        "quality_latest",
        ["run_at", "suite", "check_name", "table_name", "severity", "passed", "unexpected_count"],
        ["run_at", "suite", "check_name", "severity", "passed"],
        order=[("run_at", False)],
        limit=500,
    ),
    table(
        "scorecard",
        "村级数据质量评分卡 Village data-quality scorecard",
        "village_quality_scorecard",
        [
            "town_name",
            "village_name",
            "score",
            "completeness",
            "validity",
            "timeliness",
            "quarantined_rows",
            "failed_checks",
        ],
        [
            "score",
            "completeness",
            "validity",
            "timeliness",
            "quarantined_rows",
            "failed_checks",
            "town_name",
            "village_name",
        ],
        order=[("score", True)],
        width=12,
        height=60,
    ),
]
# the chart timeseries line over quality runs needs a finer grain than months
for _chart in CHARTS:
    if _chart.key == "checks_over_time":
        _chart.params["time_grain_sqla"] = "P1D"
        _chart.params["x_axis_time_format"] = "%Y-%m-%d"

# -------------------------------------------------------------------------------------------------- dashboards
TOWN = Filter("town", "乡镇 Town", "town_name", "status_by_village")
VILLAGE = Filter("village", "村 Village", "village_name", "status_by_village", search_all=True)

DASHBOARDS = [
    Dashboard(
        "county-overview",
        "县级总览 County overview",
        "贫困户与人口、三色标记、走势与村庄分布 Poor households and people, labels, trend and map",
        [
            ["kpi_poor_households", "kpi_poor_persons", "kpi_exited", "kpi_helped", "kpi_incidence"],
            ["status_bar", "status_pivot"],
            ["status_trend_line", "village_map"],
        ],
        [TOWN, VILLAGE],
    ),
    Dashboard(
        "three-indicators",
        "三类指标 The three indicators",
        "贫困户属性、贫困程度、主要致贫原因 Attribute, degree of poverty, main cause",
        [["ind_attribute", "ind_degree", "ind_main_cause"], ["ind_cause_by_town"], ["ind_attribute_by_town"]],
        [
            Filter("town", "乡镇 Town", "town_name", "indicators_by_region"),
            Filter("village", "村 Village", "village_name", "indicators_by_region", search_all=True),
        ],
    ),
    Dashboard(
        "exit-progress",
        "脱贫进度 Exit progress against the plan",
        "年度计划与完成,按乡镇和村 Annual plan against exits by town and village",
        [["kpi_exit_planned", "kpi_exit_done", "kpi_exit_rate"], ["exit_by_town"], ["exit_by_village"]],
        [
            Filter("town", "乡镇 Town", "town_name", "exit_progress"),
            Filter("village", "村 Village", "village_name", "exit_progress", search_all=True),
            Filter("year", "计划年度 Plan year", "plan_year", "exit_progress"),
        ],
    ),
    Dashboard(
        "twinning-visits",
        "结对帮扶与走访 Twinning and visits",
        "无帮扶人户、干部负荷、走访频次、疑似虚假走访、轨迹回放 "
        "Households without a helper, cadre workload, visits, suspicious visits, trajectory playback",
        [
            ["kpi_without_helper", "kpi_overloaded", "kpi_suspicious", "kpi_not_visited"],
            ["without_helper_list", "cadre_load_list"],
            ["visit_freq_by_town", "suspicious_list"],
            ["cadre_path"],
        ],
        [
            Filter("town", "乡镇 Town", "town_name", "visit_frequency"),
            Filter("village", "村 Village", "village_name", "visit_frequency", search_all=True),
            Filter(
                "cadre",
                "轨迹干部 Cadre (trajectory)",
                "cadre_id",
                "visit_authenticity",
                default_first=True,
                multi=False,
                search_all=True,
                only=("cadre_path",),
            ),
            Filter(
                "day",
                "轨迹日期 Days (trajectory)",
                "recorded_date",
                "cadre_paths",
                kind="filter_time",
                only=("cadre_path",),
            ),
        ],
    ),
    Dashboard(
        "demands-tasks",
        "诉求与任务 Demands and tasks",
        "未办结诉求、逾期任务、办结时长 Open demands, overdue tasks, time to completion",
        [
            ["kpi_open_demands", "kpi_overdue_tasks", "kpi_days_to_complete"],
            ["demands_by_town", "days_by_town"],
            ["tasks_by_cadre", "oldest_demands"],
        ],
        [
            Filter("town", "乡镇 Town", "town_name", "task_performance"),
            Filter("village", "村 Village", "village_name", "task_performance", search_all=True),
        ],
    ),
    Dashboard(
        "exit-audit",
        "退出核查与返贫预警 Exit audit and early warning",
        "不达标的已脱贫户与返贫风险户 Exited households failing a criterion; households at risk",
        [
            ["kpi_failed_exits", "kpi_high_risk"],
            ["failed_exits_by_town"],
            ["failed_exits_list"],
            ["risk_list"],
        ],
        [
            Filter("town", "乡镇 Town", "town_name", "exit_audit"),
            Filter("village", "村 Village", "village_name", "exit_audit", search_all=True),
            Filter("year", "脱贫年度 Exit year", "exit_year", "exit_audit"),
        ],
    ),
    Dashboard(
        "household-card",
        "户档案 Household card",
        "查找或点击一户:家庭、收入、生活条件、帮扶人、走访、诉求(身份证号脱敏) "
        "Search or click a household: family, income, living conditions, helpers, visits, demands",
        [
            ["card_households"],
            ["card_family"],
            ["card_income_living", "card_helpers"],
            ["card_visits", "card_demands"],
        ],
        [
            Filter("town", "乡镇 Town", "town_name", "household_card"),
            Filter("village", "村 Village", "village_name", "household_card", search_all=True),
            Filter(
                "household",
                "户编号 Household",
                "household_id",
                "household_card",
                multi=False,
                search_all=True,
                only=("card_family", "card_income_living", "card_helpers", "card_visits", "card_demands"),
            ),
        ],
    ),
    Dashboard(
        "data-quality",
        "数据质量 Data quality",
        "隔离行、检查结果走势、村级评分卡 Quarantined rows, check results over time, village scorecard",
        [
            ["kpi_quarantined", "kpi_failed_checks"],
            ["quarantine_by_village"],
            ["checks_over_time", "checks_latest"],
            ["scorecard"],
        ],
        [
            Filter("town", "乡镇 Town", "town_name", "village_quality_scorecard"),
            Filter("village", "村 Village", "village_name", "village_quality_scorecard", search_all=True),
        ],
    ),
]
