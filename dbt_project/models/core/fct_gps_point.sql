{#-
    Incremental by recorded day (delete+insert keyed on recorded_date): a run rebuilds, from the staging
    view, every day that received rows since the last build, and only those. See the model description.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='recorded_date',
        on_schema_change='fail',
    )
}}

with

points as (

    select * from {{ ref('stg_app__gps_points') }}

),

arrived as (

    -- Rows loaded into raw since the last build: new days, late points of old days, re-extracted rows.
    select
        point_id,
        recorded_date
    from points
    {% if is_incremental() %}
        where extracted_at > (select max(built.extracted_at) from {{ this }} as built)
    {% else %}
        where false
    {% endif %}

),

touched_days as (

    select arrived.recorded_date from arrived
    {% if is_incremental() %}
        union
        -- A re-extracted point whose recorded day changed: its old day is rebuilt too, so it leaves it.
        select built.recorded_date
        from {{ this }} as built
        where built.point_id in (select arrived.point_id from arrived)
    {% endif %}

),

day_range as (

    -- Bounds on recorded_at around the touched days, so the scan of the source prunes by zone maps.
    select
        min(recorded_date) - interval 1 day as lower_at,
        max(recorded_date) + interval 2 day as upper_at
    from touched_days

),

to_build as (

    select points.*
    from points
    {% if is_incremental() %}
        where
            points.recorded_at >= (select day_range.lower_at from day_range)
            and points.recorded_at < (select day_range.upper_at from day_range)
            and points.recorded_date in (select touched_days.recorded_date from touched_days)
    {% endif %}

),

final as (

    select
        point_id,
        cadre_id,
        recorded_date,
        row_number() over (
            partition by cadre_id, recorded_date
            order by recorded_at, point_id
        ) as seq,
        recorded_at,
        lat,
        lon,
        accuracy_m,
        accuracy_m <= {{ var('gps_max_accuracy_m', 100) }} as is_precise,
        extracted_at,
        {{ build_invocation_id() }} as dbt_invocation_id

    from to_build

)

select * from final
order by recorded_date, cadre_id, recorded_at, point_id
