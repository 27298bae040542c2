{#-
    A view, not a copy: at 100 M+ points a second table would double the warehouse. fct_gps_point is stored
    sorted by (recorded_date, cadre_id, recorded_at) and carries seq, so a query for one cadre and a period
    prunes by zone maps and reads back in playback order.
-#}
{{ config(materialized='view') }}

with

points as (

    select * from {{ ref('fct_gps_point') }}

),

cadres as (

    select * from {{ ref('dim_cadre') }}

),

final as (

    select
        points.cadre_id,
        cadres.county_code,
        cadres.town_code,
        cadres.village_code,
        points.recorded_date,
        points.seq,
        points.recorded_at,
        points.lat,
        points.lon,
        points.accuracy_m,
        points.is_precise,
        points.point_id

    from points
    left join cadres
        on points.cadre_id = cadres.cadre_id

)

select * from final
