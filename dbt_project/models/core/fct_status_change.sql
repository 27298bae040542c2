-- One row per change of a household's status label, with the period the new label held (valid_from to
-- valid_to, exclusive; null while current): the label of any household on any day is the row whose period
-- holds that day.
--
-- Incremental by household (delete+insert keyed on household_id): a run rebuilds every row of the households
-- whose status events or household row were loaded since the latest build (macro
-- households_loaded_since_build), and of the household a re-sent event used to belong to.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='household_id',
        on_schema_change='append_new_columns',
    )
}}

{{ require_columns(['source_extracted_at', 'dbt_built_at']) }}

{% set sources = ['stg_app__status_events', 'stg_app__households'] %}
{% set changed = households_loaded_since_build(sources, rekeyed=('stg_app__status_events', 'event_id')) %}

with

events as (

    select * from {{ ref('stg_app__status_events') }}
    where {{ in_households('household_id', changed) }}

),

households as (

    select * from {{ ref('stg_app__households') }}
    where {{ in_households('household_id', changed) }}

),

regions as (

    select * from {{ ref('dim_region') }}

),

sequenced as (

    select
        event_id,
        household_id,
        from_label,
        to_label,
        change_reason,
        event_at,
        event_date,
        row_number() over (partition by household_id order by event_at, event_id) as change_number,
        lead(event_at) over (partition by household_id order by event_at, event_id) as next_event_at,
        lead(event_date) over (partition by household_id order by event_at, event_id) as next_event_date
    from events

),

final as (

    select
        sequenced.event_id,
        sequenced.household_id,
        regions.county_code,
        regions.town_code,
        households.village_code,
        sequenced.change_number,
        sequenced.from_label,
        sequenced.to_label,
        sequenced.change_reason,
        sequenced.event_at,
        sequenced.event_date,
        sequenced.event_date as valid_from,
        sequenced.next_event_date as valid_to,
        sequenced.next_event_at is null as is_current,
        sequenced.from_label is null as is_registration,
        sequenced.to_label = 'green' and coalesce(sequenced.from_label, '') != 'green' as is_exit,
        sequenced.from_label = 'green' and sequenced.to_label != 'green' as is_return,
        {{ sources_extracted_at(sources) }} as source_extracted_at,
        {{ build_time() }} as dbt_built_at
    from sequenced
    inner join households
        on sequenced.household_id = households.household_id
    left join regions
        on households.village_code = regions.region_code

)

select * from final
