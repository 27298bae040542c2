-- The suspicious visits alone (visit_authenticity's is_suspicious rows), with their area names, newest first:
-- the list leaders read, small beside the checked visits, so a dashboard's latest-first list needs no scan
-- of every visit of the year.
with

checked as (

    select * from {{ ref('visit_authenticity') }}
    where is_suspicious

),

regions as (

    select * from {{ ref('dim_region') }}

),

final as (

    select
        checked.visit_id,
        checked.cadre_id,
        checked.household_id,
        checked.county_code,
        checked.town_code,
        checked.village_code,
        regions.town_name,
        regions.village_name,
        checked.visit_date,
        checked.started_at,
        checked.ended_at,
        checked.duration_minutes,
        checked.nearest_point_m,
        checked.points_in_window,
        checked.household_location_missing,
        checked.suspicion_reason

    from checked
    left join regions
        on checked.village_code = regions.region_code

)

select * from final
order by visit_date desc, cadre_id asc, started_at asc
