-- Exit progress against the annual plan for every village with a plan row and its town and county: the plan
-- comes from the towns' exit-plan spreadsheets (rows that failed validation are in quarantine, not here); the
-- exits and the households the APP plans to lift out come from the APP.
with

plans as (

    select * from {{ ref('stg_sheets__exit_plan') }}

),

households as (

    select * from {{ ref('dim_household') }}
    where not is_deleted

),

regions as (

    select * from {{ ref('dim_region') }}

),

village_plans as (

    select
        plans.village_code,
        plans.plan_year,
        sum(plans.planned_households) as planned_households,
        sum(plans.planned_persons) as planned_persons
    from plans
    group by plans.village_code, plans.plan_year

),

village_actuals as (

    select
        village_plans.village_code,
        village_plans.plan_year,
        village_plans.planned_households,
        village_plans.planned_persons,
        count(households.household_id) filter (
            where households.planned_exit_year = village_plans.plan_year
        ) as app_planned_households,
        coalesce(sum(households.household_size) filter (
            where households.planned_exit_year = village_plans.plan_year
        ), 0) as app_planned_persons,
        count(households.household_id) filter (
            where households.status_label = 'green' and households.actual_exit_year = village_plans.plan_year
        ) as exited_households,
        coalesce(sum(households.household_size) filter (
            where households.status_label = 'green' and households.actual_exit_year = village_plans.plan_year
        ), 0) as exited_persons
    from village_plans
    left join households
        on village_plans.village_code = households.village_code
    group by
        village_plans.village_code,
        village_plans.plan_year,
        village_plans.planned_households,
        village_plans.planned_persons

),

with_regions as (

    select
        village_actuals.*,
        regions.town_code,
        regions.county_code
    from village_actuals
    left join regions
        on village_actuals.village_code = regions.region_code

),

rolled as (

    select
        village_code as region_code,
        plan_year,
        1 as plan_villages,
        planned_households,
        planned_persons,
        app_planned_households,
        app_planned_persons,
        exited_households,
        exited_persons
    from with_regions

    union all

    select
        town_code as region_code,
        plan_year,
        count(*) as plan_villages,
        sum(planned_households) as planned_households,
        sum(planned_persons) as planned_persons,
        sum(app_planned_households) as app_planned_households,
        sum(app_planned_persons) as app_planned_persons,
        sum(exited_households) as exited_households,
        sum(exited_persons) as exited_persons
    from with_regions
    group by town_code, plan_year

    union all

    select
        county_code as region_code,
        plan_year,
        count(*) as plan_villages,
        sum(planned_households) as planned_households,
        sum(planned_persons) as planned_persons,
        sum(app_planned_households) as app_planned_households,
        sum(app_planned_persons) as app_planned_persons,
        sum(exited_households) as exited_households,
        sum(exited_persons) as exited_persons
    from with_regions
    group by county_code, plan_year

),

final as (

    select
        regions.region_code,
        regions.region_level,
        regions.region_name,
        regions.county_code,
        regions.town_code,
        regions.village_code,
        rolled.plan_year,
        rolled.plan_villages::bigint as plan_villages,
        rolled.planned_households::bigint as planned_households,
        rolled.planned_persons::bigint as planned_persons,
        rolled.app_planned_households::bigint as app_planned_households,
        rolled.app_planned_persons::bigint as app_planned_persons,
        rolled.exited_households::bigint as exited_households,
        rolled.exited_persons::bigint as exited_persons,
        round(rolled.exited_persons / nullif(rolled.planned_persons, 0), 4) as progress_rate,
        round(rolled.exited_households / nullif(rolled.planned_households, 0), 4) as household_progress_rate
    from rolled
    inner join regions
        on rolled.region_code = regions.region_code

)

select * from final
