-- "Not one less": every currently poor household with no twinning in force on the as-of day, with its
-- last helper and when that help ended, if it ever had one.
--
-- Incremental by household (macros/incremental_marts.sql): a run deletes and checks again the households
-- whose row or twinnings changed, whose twinning starts or ends by the new as-of day, or whose helper was
-- renamed; a household that found a helper leaves the list. The post-hook moves the others' days without a
-- helper to the new as-of day.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        meta={'refresh': {
            'upstream': ['dim_household'],
            'loaded': ['stg_app__twinnings'],
            'windows': [
                {'model': 'fct_twinning', 'date': 'start_date', 'days': [0]},
                {'model': 'fct_twinning', 'date': 'end_date', 'days': [1]},
            ],
            'twinned_cadres': true,
        }},
        pre_hook="{{ delete_households_to_refresh() }}",
        post_hook="{{ move_to_as_of_day({'days_without_helper': '{as_of} - last_help_end_date'}) }}",
    )
}}

{{ require_columns(['source_extracted_at', 'dbt_built_at', 'as_of_date']) }}

{% set changed = households_to_refresh() %}

with

households as (

    select * from {{ ref('dim_household') }}
    where is_poor and {{ in_households('household_id', changed) }}

),

twinnings as (

    select * from {{ ref('fct_twinning') }}
    where not is_deleted and {{ in_households('household_id', changed) }}

),

cadres as (

    select * from {{ ref('dim_cadre') }}

),

helped as (

    select distinct household_id
    from twinnings
    where is_in_force

),

last_helper as (

    select
        household_id,
        cadre_id,
        end_date
    from twinnings
    where start_date <= {{ as_of_date() }}
    qualify
        row_number() over (partition by household_id order by end_date desc nulls first, start_date desc) = 1

),

final as (

    select
        households.household_id,
        households.county_code,
        households.town_code,
        households.village_code,
        households.county_name,
        households.town_name,
        households.village_name,
        households.head_name,
        households.status_label,
        households.status_name,
        households.household_attribute,
        households.main_poverty_cause,
        households.household_size,
        last_helper.cadre_id as last_helper_cadre_id,
        cadres.name as last_helper_name,
        last_helper.end_date as last_help_end_date,
        date_diff('day', last_helper.end_date, {{ as_of_date() }}) as days_without_helper,
        last_helper.cadre_id is null as never_helped,
        {{ as_of_date() }} as as_of_date,
        {{ sources_extracted_at(['stg_app__twinnings', 'stg_app__cadres']) }} as source_extracted_at,
        {{ build_time() }} as dbt_built_at
    from households
    left join helped
        on households.household_id = helped.household_id
    left join last_helper
        on households.household_id = last_helper.household_id
    left join cadres
        on last_helper.cadre_id = cadres.cadre_id
    where helped.household_id is null

)

select * from final
