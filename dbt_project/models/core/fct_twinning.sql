-- One row per twinning period (a cadre helping a household), with whether it is in force on the as-of day.
-- A period holds from start_date to end_date inclusive; end_date null means still helping.
with

twinnings as (

    select * from {{ ref('stg_app__twinnings') }}

),

households as (

    select * from {{ ref('dim_household') }}

),

final as (

    select
        twinnings.twinning_id,
        twinnings.cadre_id,
        twinnings.household_id,
        households.county_code,
        households.town_code,
        households.village_code,
        twinnings.start_date,
        twinnings.end_date,
        not twinnings.is_deleted
        and twinnings.start_date <= {{ as_of_date() }}
        and (twinnings.end_date is null or twinnings.end_date >= {{ as_of_date() }}) as is_in_force,
        twinnings.is_deleted
    from twinnings
    left join households
        on twinnings.household_id = households.household_id

)

select * from final
