-- Exit-criteria audit: every household labelled exited (green) that fails the income criterion
-- (per-capita net income under exit_income_ratio x the poverty line in its exit year, or in its latest
-- verified year) or a required guarantee of seed exit_guarantees (the two no-worries and three guarantees,
-- safe drinking water, a house of a safe grade). Households that pass everything are not listed.
--
-- Incremental by household (macros/incremental_marts.sql): a run deletes and audits again the households
-- whose row, incomes or living conditions changed; a household that now passes leaves the audit.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        meta={'refresh': {
            'upstream': ['dim_household', 'fct_income'],
            'loaded': ['stg_app__living_conditions'],
        }},
        pre_hook="{{ delete_households_to_refresh() }}",
        post_hook="{{ move_to_as_of_day() }}",
    )
}}

{{ require_columns(['source_extracted_at', 'dbt_built_at', 'as_of_date']) }}

{% set changed = households_to_refresh() %}

with

households as (

    select * from {{ ref('dim_household') }}
    where status_label = 'green' and not is_deleted and {{ in_households('household_id', changed) }}

),

incomes as (

    select * from {{ ref('fct_income') }}
    where not is_deleted and {{ in_households('household_id', changed) }}

),

living as (

    select * from {{ ref('stg_app__living_conditions') }}
    where not is_deleted and {{ in_households('household_id', changed) }}

),

guarantees as (

    select * from {{ ref('exit_guarantees') }}
    where is_required

),

house_grades as (

    select * from {{ ref('house_safety_grades') }}

),

exit_income as (

    select
        households.household_id,
        incomes.per_capita_net_income,
        incomes.poverty_line_yuan,
        incomes.income_id is null
        or incomes.per_capita_net_income
        < incomes.poverty_line_yuan * {{ threshold('exit_income_ratio') }} as fails_exit_year
    from households
    left join incomes
        on
            households.household_id = incomes.household_id
            and households.actual_exit_year = incomes.income_year

),

latest_income as (

    select
        household_id,
        income_year,
        per_capita_net_income,
        poverty_line_yuan,
        per_capita_net_income < poverty_line_yuan * {{ threshold('exit_income_ratio') }} as fails_latest_year
    from incomes
    where is_latest

),

checks as (

    select
        household_id,
        'food_secure' as criterion,
        food_secure as is_met
    from living
    union all
    select
        household_id,
        'clothing_secure' as criterion,
        clothing_secure as is_met
    from living
    union all
    select
        household_id,
        'education_guaranteed' as criterion,
        education_guaranteed as is_met
    from living
    union all
    select
        household_id,
        'medical_guaranteed' as criterion,
        medical_guaranteed as is_met
    from living
    union all
    select
        household_id,
        'housing_guaranteed' as criterion,
        housing_guaranteed as is_met
    from living
    union all
    select
        household_id,
        'safe_drinking_water' as criterion,
        safe_drinking_water as is_met
    from living
    union all
    select
        living.household_id,
        'safe_house_grade' as criterion,
        coalesce(house_grades.is_safe, false) as is_met
    from living
    left join house_grades
        on living.house_safety_grade = house_grades.house_safety_grade

),

guarantee_failures as (

    select
        households.household_id,
        count(living.household_id) = 0 as not_assessed,
        count(*) filter (where not checks.is_met) as failed_guarantees,
        {{ sorted_string_agg(
            'guarantees.criterion_name', "'、'", ['guarantees.criterion'], where='not checks.is_met'
        ) }} as failed_guarantee_names
    from households
    cross join guarantees
    left join living
        on households.household_id = living.household_id
    left join checks
        on
            households.household_id = checks.household_id
            and guarantees.criterion = checks.criterion
    group by households.household_id

),

audited as (

    select
        households.*,
        exit_income.per_capita_net_income,
        exit_income.poverty_line_yuan,
        latest_income.income_year as latest_income_year,
        latest_income.per_capita_net_income as latest_per_capita_net_income,
        latest_income.poverty_line_yuan as latest_poverty_line,
        exit_income.fails_exit_year,
        coalesce(latest_income.fails_latest_year, false) as fails_latest_year,
        guarantee_failures.not_assessed,
        guarantee_failures.failed_guarantee_names,
        exit_income.fails_exit_year or coalesce(latest_income.fails_latest_year, false) as fails_income,
        guarantee_failures.not_assessed or guarantee_failures.failed_guarantees > 0 as fails_guarantee
    from households
    left join exit_income
        on households.household_id = exit_income.household_id
    left join latest_income
        on households.household_id = latest_income.household_id
    left join guarantee_failures
        on households.household_id = guarantee_failures.household_id

),

final as (

    select
        household_id,
        county_code,
        town_code,
        village_code,
        county_name,
        town_name,
        village_name,
        head_name,
        household_size,
        actual_exit_year as exit_year,
        exited_date,
        per_capita_net_income,
        poverty_line_yuan as poverty_line,
        round(per_capita_net_income / nullif(poverty_line_yuan, 0), 4) as ratio_to_line,
        latest_income_year,
        latest_per_capita_net_income,
        latest_poverty_line,
        fails_income,
        fails_guarantee,
        concat_ws(
            '; ',
            case
                when per_capita_net_income is null then '退出年度无收入记录'
                when fails_exit_year
                    then
                        '退出年度人均纯收入低于贫困线 (' || actual_exit_year || ': '
                        || per_capita_net_income || ' < ' || poverty_line_yuan || ')'
            end,
            case
                when fails_latest_year
                    then
                        '最近年度人均纯收入低于贫困线 (' || latest_income_year || ': '
                        || latest_per_capita_net_income || ' < ' || latest_poverty_line || ')'
            end,
            case when not_assessed then '无两不愁三保障评估' end,
            case when failed_guarantee_names is not null then '未达标：' || failed_guarantee_names end
        ) as failed_criteria,
        {{ as_of_date() }} as as_of_date,
        {{ sources_extracted_at(['stg_app__living_conditions']) }} as source_extracted_at,
        {{ build_time() }} as dbt_built_at
    from audited
    where fails_income or fails_guarantee

)

select * from final
