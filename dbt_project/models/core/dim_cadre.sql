-- One row per cadre, with the region keys of where they work and the households twinned to them on the
-- as-of day. The phone number only as hash and masked form.
with

cadres as (

    select * from {{ ref('stg_app__cadres') }}

),

regions as (

    select * from {{ ref('dim_region') }}

),

twinnings as (

    select * from {{ ref('fct_twinning') }}

),

households as (

    select * from {{ ref('dim_household') }}

),

load as (

    select
        twinnings.cadre_id,
        count(distinct twinnings.household_id) as households_in_force,
        count(distinct twinnings.household_id) filter (where households.is_poor) as poor_households_in_force
    from twinnings
    inner join households
        on twinnings.household_id = households.household_id
    where twinnings.is_in_force and not households.is_deleted
    group by twinnings.cadre_id

),

final as (

    select
        cadres.cadre_id,
        cadres.cadre_name as name,  -- noqa: RF04
        cadres.sex,
        cadres.phone_hash,
        cadres.phone_masked,
        cadres.work_unit,
        cadres.cadre_role as role,  -- noqa: RF04
        regions.county_code,
        cadres.town_code,
        cadres.village_code,
        cadres.team_id,
        coalesce(load.households_in_force, 0) as households_in_force,
        coalesce(load.poor_households_in_force, 0) as poor_households_in_force,
        cadres.is_deleted
    from cadres
    left join regions
        on cadres.town_code = regions.region_code
    left join load
        on cadres.cadre_id = load.cadre_id

)

select * from final
