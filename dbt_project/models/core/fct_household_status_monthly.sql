-- The status label of every household at the end of every month, from its registration month to the as-of
-- month (the as-of month's row is as of the as-of day). Monthly, not daily: the trends the leaders read are
-- monthly, and a daily grain would hold about 30 times the rows (at scale M, 4 million households x 1,400
-- days = 5.6 billion rows against about 190 million) for no question anyone asks. The label on any exact day
-- is one range join away in fct_status_change (valid_from <= day < valid_to). A household leaves the series
-- from the month it was deleted.
--
-- Incremental: a daily run deletes (pre-hook) and inserts again the whole series of the households whose
-- source rows changed, and moves the as-of month of the others to the new as-of day (a second pre-hook); the
-- first day of a month rebuilds the latest months for every household (macro monthly_rebuild_scope).
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook=["{{ delete_monthly_rows_to_rebuild() }}", "{{ move_monthly_snapshot_day() }}"],
    )
}}

{{ require_columns(['source_extracted_at', 'dbt_built_at']) }}

{% set scope = {'from_month': "date '0001-01-01'", 'changed': none, 'as_of': none} %}
{% if execute and is_incremental() %}
    {% set scope = monthly_rebuild_scope() %}
{% endif %}
{#- on an ordinary day only the changed households are written: their load times are all the run needs -#}
{% set loads_of = scope.changed if scope.as_of else none %}

with

changes as (

    select * from {{ ref('fct_status_change') }}

),

households as (

    select * from {{ ref('dim_household') }}

),

months as (

    select
        month_start,
        least(month_end, {{ as_of_date() }}) as snapshot_date
    from {{ ref('dim_date') }}
    where is_month_end and month_start <= {{ as_of_date() }}

),

-- The changes and months to (re)build: every household in the months from scope.from_month on (all months
-- on a full build), and the earlier months of the households that changed.
labels as (

    select
        months.month_start,
        months.snapshot_date,
        changes.household_id,
        changes.to_label
    from changes
    inner join months
        on
            changes.valid_from <= months.snapshot_date
            -- a current label holds for ever: two plain inequalities make a fast range join
            and coalesce(changes.valid_to, date '9999-12-31') > months.snapshot_date
    where months.month_start >= {{ scope.from_month }}

    {% if scope.changed %}
        union all

        select
            months.month_start,
            months.snapshot_date,
            changes.household_id,
            changes.to_label
        -- the changed households' changes first: filtering after the range join costs 10 times as much
        from (
            select * from changes
            where household_id in ({{ scope.changed }})
        ) as changes
        inner join months
            on
                changes.valid_from <= months.snapshot_date
                and coalesce(changes.valid_to, date '9999-12-31') > months.snapshot_date
        where months.month_start < {{ scope.from_month }}
    {% endif %}

),

-- When each household's source rows were last loaded: the watermark of the incremental build.
event_loads as (

    select
        household_id,
        max(extracted_at) as extracted_at
    from {{ ref('stg_app__status_events') }}
    where {{ in_households('household_id', loads_of) }}
    group by household_id

),

member_loads as (

    select
        household_id,
        max(extracted_at) as extracted_at
    from {{ ref('stg_app__persons') }}
    where {{ in_households('household_id', loads_of) }}
    group by household_id

),

source_loads as (

    select
        households.household_id,
        greatest(households.extracted_at, event_loads.extracted_at, member_loads.extracted_at)
            as source_extracted_at
    from {{ ref('stg_app__households') }} as households
    left join event_loads
        on households.household_id = event_loads.household_id
    left join member_loads
        on households.household_id = member_loads.household_id
    where {{ in_households('households.household_id', loads_of) }}

),

final as (

    select
        labels.month_start,
        labels.snapshot_date,
        labels.household_id,
        households.county_code,
        households.town_code,
        households.village_code,
        labels.to_label as status_label,
        households.household_size,
        source_loads.source_extracted_at,
        {{ build_time() }} as dbt_built_at
    from labels
    inner join households
        on labels.household_id = households.household_id
    inner join source_loads
        on labels.household_id = source_loads.household_id
    where households.deleted_date is null or households.deleted_date > labels.snapshot_date

)

select * from final
