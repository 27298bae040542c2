with

demands as (

    select * from {{ ref('stg_app__demands') }}

),

households as (

    select * from {{ ref('dim_household') }}

),

final as (

    select
        demands.demand_id,
        demands.household_id,
        households.village_code,
        households.town_code,
        households.county_code,
        demands.demand_category,
        demands.demand_description,
        demands.demand_status,
        demands.demand_status in ('pending', 'in_progress') as is_open,
        demands.raised_date,
        demands.raised_at,
        demands.completed_at,
        {{ local_date('demands.completed_at') }} as completed_date,
        date_diff('day', demands.raised_date, {{ local_date('demands.completed_at') }}) as days_to_complete

    from demands
    inner join households
        on demands.household_id = households.household_id
    where not demands.is_deleted

)

select * from final
