{#-
    Incremental by visit day (delete+insert keyed on visit_date), like fct_gps_point: a run rebuilds every
    day that received visit rows since the last build (new, edited or withdrawn visits, found by
    extracted_at), the days a re-sent visit used to fall on, and the days of visits out of step with their
    household (moved or re-located since, or loaded before it). See the model description.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='visit_date',
        on_schema_change='append_new_columns',
    )
}}

{{ require_columns(['extracted_at', 'household_lat', 'dbt_built_at', 'town_name']) }}

{% set touched_days = [] %}
{% if execute and is_incremental() %}
    {% set touched_days = (
        days_to_rebuild(ref('stg_app__visits'), 'visit_id', 'visit_date') + days_of_visits_out_of_step()
    ) | unique | sort | list %}
{% endif %}

with

visits as (

    select * from {{ ref('stg_app__visits') }}
    {% if is_incremental() %}
        where {{ days_filter(touched_days, 'started_at', 'visit_date') }}
    {% endif %}

),

households as (

    select * from {{ ref('dim_household') }}

),

final as (

    select
        visits.visit_id,
        visits.cadre_id,
        visits.household_id,
        households.village_code,
        households.town_code,
        households.county_code,
        households.town_name,
        households.village_name,
        visits.visit_date,
        visits.started_at,
        visits.ended_at,
        date_diff('second', visits.started_at, visits.ended_at) / 60.0 as duration_minutes,
        households.lat as household_lat,
        households.lon as household_lon,
        visits.claimed_lat,
        visits.claimed_lon,
        visits.visit_notes,
        visits.extracted_at,
        {{ build_invocation_id() }} as dbt_invocation_id,
        {{ build_time() }} as dbt_built_at

    from visits
    inner join households
        on visits.household_id = households.household_id
    where not visits.is_deleted

)

select * from final
order by visit_date, cadre_id, started_at
