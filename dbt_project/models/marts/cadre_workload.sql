-- Every cadre's live households twinned on the as-of day against the 1 : 10 norm (seed exit_thresholds:
-- cadre_household_norm); overloaded above the norm times cadre_overload_ratio.
with

cadres as (

    select * from {{ ref('dim_cadre') }}
    where not is_deleted

),

final as (

    select
        cadre_id,
        name,  -- noqa: RF04
        role,  -- noqa: RF04
        work_unit,
        county_code,
        town_code,
        village_code,
        team_id,
        households_in_force,
        poor_households_in_force,
        {{ threshold('cadre_household_norm') }}::integer as norm,
        round(households_in_force / {{ threshold('cadre_household_norm') }}, 2) as load_ratio,
        households_in_force
        > {{ threshold('cadre_household_norm') }} * {{ threshold('cadre_overload_ratio') }} as is_overloaded
    from cadres

)

select * from final
