-- Data quality per village, for the data stewards: how complete, valid and timely each village's
-- records are in the latest quality run, how many of its spreadsheet rows were quarantined, how many checks
-- it fails, and a 0-100 score. The tallies come from the quality checkpoint (meta.quality_village_results),
-- which runs after `dbt build`: the quality step rebuilds this model once it has stored its results, so the
-- published table describes the run that let it through (quality_run_id). Before a first quality run the
-- tallies are empty (the pre-hook creates the table) and every village scores 100 on nothing checked.
{{
    config(
        pre_hook=[
            "create schema if not exists meta",
            "create table if not exists meta.quality_village_results (
                run_id varchar not null, run_at timestamptz not null, suite varchar not null,
                check_name varchar not null, severity varchar not null, dimension varchar not null,
                village_code varchar, checked bigint not null, failed bigint not null)",
        ]
    )
}}

with

villages as (

    select
        village_code,
        village_name,
        town_code,
        town_name,
        county_code,
        county_name
    from {{ ref('dim_region') }}
    where region_level = 'village'

),

tallies as (

    select * from {{ source('quality', 'quality_village_results') }}

),

latest_run as (

    select
        run_id,
        run_at
    from tallies
    order by run_at desc
    limit 1

),

run_tallies as (

    select tallies.*
    from tallies
    inner join latest_run on tallies.run_id = latest_run.run_id
    where tallies.village_code is not null

),

by_village as (

    select
        village_code,
        sum(checked) filter (where dimension = 'completeness') as completeness_checked,
        sum(failed) filter (where dimension = 'completeness') as completeness_failed,
        sum(checked) filter (where dimension in ('validity', 'consistency', 'integrity')) as validity_checked,
        sum(failed) filter (where dimension in ('validity', 'consistency', 'integrity')) as validity_failed,
        sum(checked) filter (where dimension = 'timeliness') as timeliness_checked,
        sum(failed) filter (where dimension = 'timeliness') as timeliness_failed,
        sum(failed) as failed_records,
        count(distinct check_name) filter (where failed > 0) as failed_checks,
        count(distinct check_name) filter (
            where failed > 0 and severity = 'blocking'
        ) as failed_blocking_checks
    from run_tallies
    group by village_code

),

sheet_files as (

    select
        file_hash,
        area_code,
        received
    from {{ source('quality_sheets', 'sheet_files') }}

),

quarantined as (

    select
        sheet_files.area_code as village_code,
        count(*) as quarantined_rows
    from {{ source('quality_quarantine', 'sheet_rows') }} as sheet_rows
    inner join sheet_files on sheet_rows.file_hash = sheet_files.file_hash
    group by sheet_files.area_code

),

sheet_rows_received as (

    select
        area_code as village_code,
        sum(received) as sheet_rows
    from sheet_files
    group by area_code

),

measured as (

    select
        villages.*,
        coalesce(
            1 - by_village.completeness_failed / nullif(by_village.completeness_checked, 0), 1
        ) as completeness,
        -- Records failing a validity, consistency or integrity check and spreadsheet rows rejected, over
        -- records checked and spreadsheet rows received.
        coalesce(
            1 - (coalesce(by_village.validity_failed, 0) + coalesce(quarantined.quarantined_rows, 0))
            / nullif(
                coalesce(by_village.validity_checked, 0) + coalesce(sheet_rows_received.sheet_rows, 0), 0
            ),
            1
        ) as validity,
        coalesce(
            1 - by_village.timeliness_failed / nullif(by_village.timeliness_checked, 0), 1
        ) as timeliness,
        coalesce(quarantined.quarantined_rows, 0) as quarantined_rows,
        coalesce(by_village.failed_checks, 0) as failed_checks,
        coalesce(by_village.failed_blocking_checks, 0) as failed_blocking_checks,
        coalesce(by_village.failed_records, 0) as failed_records
    from villages
    left join by_village on villages.village_code = by_village.village_code
    left join quarantined on villages.village_code = quarantined.village_code
    left join sheet_rows_received on villages.village_code = sheet_rows_received.village_code

),

final as (

    select
        measured.village_code,
        measured.village_name,
        measured.town_code,
        measured.town_name,
        measured.county_code,
        measured.county_name,
        round(measured.completeness, 4) as completeness,
        round(measured.validity, 4) as validity,
        round(measured.timeliness, 4) as timeliness,
        measured.quarantined_rows,
        measured.failed_checks,
        measured.failed_blocking_checks,
        measured.failed_records,
        round(100 * (0.3 * measured.completeness + 0.5 * measured.validity + 0.2 * measured.timeliness), 1)
            as score,
        latest_run.run_id as quality_run_id,
        latest_run.run_at as quality_run_at
    from measured
    left join latest_run on true

)

select * from final
