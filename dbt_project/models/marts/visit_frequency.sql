-- Visits per household: how often it was visited in the last 30 and 90 days up to the data's as-of day.
--
-- Incremental by household (macros/incremental_marts.sql): a run rebuilds the households whose row or visits
-- changed and those with a visit entering the as-of range or leaving the last 30 or 90 days; the post-hook
-- moves the others' days since the last visit to the new as-of day.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        meta={'refresh': {
            'upstream': ['dim_household'],
            'loaded': ['stg_app__visits'],
            'windows': [{'model': 'fct_visit', 'date': 'visit_date', 'days': [0, 30, 90]}],
        }},
        pre_hook="{{ delete_households_to_refresh() }}",
        post_hook="{{ move_to_as_of_day({'days_since_last_visit': '{as_of} - last_visit_date'}) }}",
    )
}}

{{ require_columns(['source_extracted_at', 'dbt_built_at', 'as_of_date']) }}

{% set changed = households_to_refresh() %}

with

households as (

    select * from {{ ref('dim_household') }}
    where {{ in_households('household_id', changed) }}

),

visits as (

    select * from {{ ref('fct_visit') }}
    where {{ in_households('household_id', changed) }}

),

as_of as (

    select {{ as_of_date() }} as as_of_date

),

per_household as (

    select
        visits.household_id,
        count(*) filter (where visits.visit_date > as_of.as_of_date - 30) as visits_last_30d,
        count(*) filter (where visits.visit_date > as_of.as_of_date - 90) as visits_last_90d,
        count(*) as visits_total,
        count(distinct visits.cadre_id) filter (
            where visits.visit_date > as_of.as_of_date - 90
        ) as cadres_last_90d,
        max(visits.visit_date) as last_visit_date
    from visits
    cross join as_of
    where visits.visit_date <= as_of.as_of_date
    group by visits.household_id

),

final as (

    select
        households.household_id,
        households.county_code,
        households.town_code,
        households.village_code,
        households.status_label,
        coalesce(per_household.visits_last_30d, 0) as visits_last_30d,
        coalesce(per_household.visits_last_90d, 0) as visits_last_90d,
        coalesce(per_household.visits_total, 0) as visits_total,
        coalesce(per_household.cadres_last_90d, 0) as cadres_last_90d,
        per_household.last_visit_date,
        date_diff('day', per_household.last_visit_date, as_of.as_of_date) as days_since_last_visit,
        as_of.as_of_date,
        {{ sources_extracted_at(['stg_app__visits']) }} as source_extracted_at,
        {{ build_time() }} as dbt_built_at

    from households
    cross join as_of
    left join per_household
        on households.household_id = per_household.household_id
    where not households.is_deleted

)

select * from final
