-- One row per household and year: income by source, per-capita net income, the poverty line of the year and
-- the ratio to it, the degree of poverty it means, and the change from the year before.
--
-- Incremental by household (delete+insert keyed on household_id): a run rebuilds every year of the households
-- whose income or household rows were loaded since the latest build. A changed seed (poverty line, degrees)
-- needs `--full-refresh`.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='household_id',
        on_schema_change='append_new_columns',
    )
}}

{{ require_columns(['source_extracted_at', 'dbt_built_at']) }}

{% set sources = ['stg_app__incomes', 'stg_app__households'] %}
{% set changed = households_loaded_since_build(sources) %}

with

incomes as (

    select * from {{ ref('stg_app__incomes') }}
    where {{ in_households('household_id', changed) }}

),

households as (

    select * from {{ ref('dim_household') }}
    where {{ in_households('household_id', changed) }}

),

poverty_lines as (

    select * from {{ ref('poverty_lines') }}

),

poverty_degrees as (

    select * from {{ ref('poverty_degrees') }}

),

with_line as (

    select
        incomes.*,
        poverty_lines.poverty_line_yuan,
        incomes.per_capita_net_income / nullif(poverty_lines.poverty_line_yuan, 0) as ratio_to_line,
        lag(incomes.per_capita_net_income) over (
            partition by incomes.household_id, incomes.is_deleted order by incomes.income_year
        ) as previous_per_capita_net_income,
        row_number() over (
            partition by incomes.household_id, incomes.is_deleted order by incomes.income_year desc
        ) = 1 as is_latest
    from incomes
    left join poverty_lines
        on incomes.income_year = poverty_lines.poverty_line_year

),

final as (

    select
        with_line.income_id,
        with_line.household_id,
        households.county_code,
        households.town_code,
        households.village_code,
        with_line.income_year,
        with_line.household_size,
        with_line.wage_income,
        with_line.operating_income,
        with_line.operating_cost,
        with_line.transfer_income,
        with_line.property_income,
        with_line.net_income,
        with_line.per_capita_net_income,
        with_line.poverty_line_yuan,
        round(with_line.ratio_to_line, 4) as ratio_to_line,
        with_line.per_capita_net_income < with_line.poverty_line_yuan as is_below_line,
        poverty_degrees.poverty_degree,
        with_line.previous_per_capita_net_income,
        with_line.per_capita_net_income - with_line.previous_per_capita_net_income as per_capita_change,
        with_line.is_latest and not with_line.is_deleted as is_latest,
        with_line.verified_on,
        with_line.is_deleted,
        {{ sources_extracted_at(sources) }} as source_extracted_at,
        {{ build_time() }} as dbt_built_at
    from with_line
    left join households
        on with_line.household_id = households.household_id
    left join poverty_degrees
        on
            with_line.ratio_to_line >= poverty_degrees.min_ratio
            and with_line.ratio_to_line < poverty_degrees.max_ratio

)

select * from final
