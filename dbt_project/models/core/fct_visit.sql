with

visits as (

    select * from {{ ref('stg_app__visits') }}

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
        visits.visit_date,
        visits.started_at,
        visits.ended_at,
        date_diff('second', visits.started_at, visits.ended_at) / 60.0 as duration_minutes,
        households.lat as household_lat,
        households.lon as household_lon,
        visits.claimed_lat,
        visits.claimed_lon,
        visits.visit_notes

    from visits
    inner join households
        on visits.household_id = households.household_id
    where not visits.is_deleted

)

select * from final
order by visit_date, cadre_id, started_at
