-- One row per registered household (current and exited; soft-deleted ones flagged): region keys, attribute,
-- causes, current status, its live members, and the days it was registered, exited and deleted. The label on
-- any earlier day comes from fct_status_change (valid_from / valid_to) or fct_household_status_monthly.
--
-- Incremental by household (delete+insert keyed on household_id): a run rebuilds the households whose row,
-- members or status events were loaded since the latest build, and those whose stored area names no longer
-- match dim_region (a renamed village, town or county).
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='household_id',
        on_schema_change='append_new_columns',
    )
}}

{{ require_columns(['source_extracted_at', 'dbt_built_at']) }}

{% set sources = ['stg_app__households', 'stg_app__persons', 'stg_app__status_events'] %}
{% set changed = households_loaded_since_build(
    sources, also=households_with_stale_area_names() if is_incremental() else none
) %}

with

households as (

    select * from {{ ref('stg_app__households') }}
    where {{ in_households('household_id', changed) }}

),

persons as (

    select * from {{ ref('stg_app__persons') }}
    where {{ in_households('household_id', changed) }}

),

regions as (

    select * from {{ ref('dim_region') }}

),

status_labels as (

    select * from {{ ref('status_labels') }}

),

changes as (

    select * from {{ ref('fct_status_change') }}
    where {{ in_households('household_id', changed) }}

),

members as (

    select
        household_id,
        count(*) filter (where not is_deleted) as household_size,
        count(*) as members_ever
    from persons
    group by household_id

),

heads as (

    select
        household_id,
        min(person_id) as head_person_id,
        min(id_number_masked) as head_id_number_masked
    from persons
    where relation_to_head = '户主' and not is_deleted
    group by household_id

),

history as (

    select
        household_id,
        min(event_date) filter (where is_registration) as registered_date,
        max(event_date) filter (where is_exit) as exited_date,
        max(event_date) as last_status_change_date,
        count(*) filter (where is_return) as returns_to_poverty
    from changes
    group by household_id

),

final as (

    select
        households.household_id,
        households.village_code,
        regions.town_code,
        regions.county_code,
        regions.village_name,
        regions.town_name,
        regions.county_name,
        households.head_name,
        heads.head_person_id,
        heads.head_id_number_masked,
        households.address,
        households.household_attribute,
        households.main_poverty_cause,
        households.secondary_poverty_cause,
        households.status_label,
        status_labels.status_name,
        coalesce(status_labels.is_poor, false) and not households.is_deleted as is_poor,
        households.registration_year,
        households.planned_exit_year,
        households.actual_exit_year,
        history.registered_date,
        history.exited_date,
        history.last_status_change_date,
        coalesce(history.returns_to_poverty, 0) as returns_to_poverty,
        coalesce(members.household_size, 0) as household_size,
        households.household_lat as lat,
        households.household_lon as lon,
        households.is_deleted,
        {{ local_date('households.deleted_at') }} as deleted_date,
        households.updated_at,
        {{ sources_extracted_at(sources) }} as source_extracted_at,
        {{ build_time() }} as dbt_built_at
    from households
    left join regions
        on households.village_code = regions.region_code
    left join status_labels
        on households.status_label = status_labels.status_label
    left join members
        on households.household_id = members.household_id
    left join heads
        on households.household_id = heads.household_id
    left join history
        on households.household_id = history.household_id

)

select * from final
