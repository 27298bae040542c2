-- The demands still open (pending or in progress) per household, as the household card shows them.
with

demands as (

    select * from {{ ref('fct_demand') }}

),

as_of as (

    select {{ as_of_date() }} as as_of_date

),

final as (

    select
        demands.demand_id,
        demands.household_id,
        demands.county_code,
        demands.town_code,
        demands.village_code,
        demands.demand_category as category,
        demands.demand_description as description,
        demands.raised_at,
        demands.raised_date,
        demands.demand_status as status,
        date_diff('day', demands.raised_date, as_of.as_of_date) as days_open,
        as_of.as_of_date

    from demands
    cross join as_of
    where demands.is_open and demands.raised_date <= as_of.as_of_date

)

select * from final
