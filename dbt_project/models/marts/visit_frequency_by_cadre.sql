-- Visits per cadre: visits and households in the last 30 and 90 days, and how many looked suspicious.
with

cadres as (

    select * from {{ ref('dim_cadre') }}

),

authenticity as (

    select * from {{ ref('visit_authenticity') }}

),

as_of as (

    select {{ as_of_date() }} as as_of_date

),

per_cadre as (

    select
        authenticity.cadre_id,
        count(*) filter (where authenticity.visit_date > as_of.as_of_date - 30) as visits_last_30d,
        count(*) filter (where authenticity.visit_date > as_of.as_of_date - 90) as visits_last_90d,
        count(distinct authenticity.household_id) filter (
            where authenticity.visit_date > as_of.as_of_date - 30
        ) as households_visited_last_30d,
        count(distinct authenticity.household_id) filter (
            where authenticity.visit_date > as_of.as_of_date - 90
        ) as households_visited_last_90d,
        count(*) filter (
            where authenticity.visit_date > as_of.as_of_date - 90 and authenticity.is_suspicious
        ) as suspicious_visits_last_90d,
        count(distinct authenticity.visit_date) filter (
            where authenticity.visit_date > as_of.as_of_date - 30
        ) as visit_days_last_30d,
        max(authenticity.visit_date) as last_visit_date
    from authenticity
    cross join as_of
    where authenticity.visit_date <= as_of.as_of_date
    group by authenticity.cadre_id

),

final as (

    select
        cadres.cadre_id,
        cadres.name as cadre_name,
        cadres.role as cadre_role,
        cadres.county_code,
        cadres.town_code,
        cadres.village_code,
        coalesce(per_cadre.visits_last_30d, 0) as visits_last_30d,
        coalesce(per_cadre.visits_last_90d, 0) as visits_last_90d,
        coalesce(per_cadre.households_visited_last_30d, 0) as households_visited_last_30d,
        coalesce(per_cadre.households_visited_last_90d, 0) as households_visited_last_90d,
        coalesce(per_cadre.visit_days_last_30d, 0) as visit_days_last_30d,
        coalesce(per_cadre.suspicious_visits_last_90d, 0) as suspicious_visits_last_90d,
        per_cadre.last_visit_date,
        as_of.as_of_date

    from cadres
    cross join as_of
    left join per_cadre
        on cadres.cadre_id = per_cadre.cadre_id
    where not cadres.is_deleted

)

select * from final
