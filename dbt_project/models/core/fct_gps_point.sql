{#-
    Incremental by recorded day (delete+insert keyed on recorded_date): a run rebuilds, from the staging
    view, every day that received rows since the last build, and only those. See the model description.
    The touched days are looked up (macro days_to_rebuild) before the model's query runs and written into it
    as literals, so the scan of the source prunes by zone maps instead of reading every point.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='recorded_date',
        on_schema_change='append_new_columns',
    )
}}

{{ require_columns(['extracted_at', 'dbt_built_at']) }}

{% set touched_days = [] %}
{% if execute and is_incremental() %}
    {% set touched_days = days_to_rebuild(ref('stg_app__gps_points'), 'point_id') %}
{% endif %}

with

points as (

    select * from {{ ref('stg_app__gps_points') }}

),

to_build as (

    select *
    from points
    {% if is_incremental() %}
        where {{ days_filter(touched_days) }}
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
        {{ build_invocation_id() }} as dbt_invocation_id,
        {{ build_time() }} as dbt_built_at

    from to_build

)

select * from final
order by recorded_date, cadre_id, recorded_at, point_id
