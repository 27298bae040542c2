-- The household card: one wide row per registered household (deleted ones flagged) with everything the
-- click-through view shows: who they are, members, status, latest income against the line, the guarantees,
-- helpers in force, visits and open demands, and its return-to-poverty risk. ID numbers only masked.
-- Reading return_risk also orders the build: the card and the risk marts each need several GiB at scale M,
-- and two of them side by side ran out of DuckDB's limit in a daily run.
--
-- Incremental by household (macros/incremental_marts.sql): a run rebuilds the households whose row, members,
-- incomes, living conditions, twinnings, helpers' names, visits or demands changed, and those whose visits,
-- twinnings or shock demands cross the as-of day's windows; the post-hook moves the others' longest wait to
-- the new as-of day. The risk rank is not on the card: it moves with every other household's score (it is in
-- return_risk).
-- depends_on: {{ ref('dim_person') }}
-- depends_on: {{ ref('fct_demand') }}
-- depends_on: {{ ref('exit_thresholds') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        meta={'refresh': {
            'upstream': ['dim_household', 'household_members', 'dim_person', 'fct_income'],
            'loaded': [
                'stg_app__living_conditions', 'stg_app__twinnings', 'stg_app__demands', 'stg_app__visits',
            ],
            'windows': [
                {'model': 'fct_visit', 'date': 'visit_date', 'days': [0, 90]},
                {'model': 'fct_twinning', 'date': 'start_date', 'days': [0]},
                {'model': 'fct_twinning', 'date': 'end_date', 'days': [1]},
                {'model': 'fct_demand', 'date': 'raised_date', 'days': [0, 'return_risk_recent_days']},
            ],
            'twinned_cadres': true,
        }},
        pre_hook="{{ delete_households_to_refresh() }}",
        post_hook="{{ move_to_as_of_day({'longest_open_days': '{as_of} - oldest_open_demand_date'}) }}",
    )
}}

{{ require_columns(['source_extracted_at', 'dbt_built_at', 'as_of_date', 'oldest_open_demand_date']) }}

{% set changed = households_to_refresh() %}
{% set sources = [
    'stg_app__living_conditions', 'stg_app__twinnings', 'stg_app__demands', 'stg_app__visits', 'stg_app__cadres',
] %}

with

households as (

    select * from {{ ref('dim_household') }}
    where {{ in_households('household_id', changed) }}

),

incomes as (

    select * from {{ ref('fct_income') }}
    where is_latest and {{ in_households('household_id', changed) }}

),

living as (

    select * from {{ ref('stg_app__living_conditions') }}
    where not is_deleted and {{ in_households('household_id', changed) }}

),

house_grades as (

    select * from {{ ref('house_safety_grades') }}

),

twinnings as (

    select * from {{ ref('fct_twinning') }}
    where is_in_force and {{ in_households('household_id', changed) }}

),

cadres as (

    select * from {{ ref('dim_cadre') }}

),

visits as (

    select * from {{ ref('fct_visit') }}
    where {{ in_households('household_id', changed) }}

),

open_demands as (

    select * from {{ ref('open_demands') }}
    where {{ in_households('household_id', changed) }}

),

risks as (

    select * from {{ ref('return_risk') }}
    where {{ in_households('household_id', changed) }}

),

members as (

    select * from {{ ref('household_members') }}
    where {{ in_households('household_id', changed) }}

),

helpers as (

    select
        twinnings.household_id,
        count(*) as helpers_in_force,
        {{ sorted_string_agg('cadres.name', "'、'", ['twinnings.start_date']) }} as helper_names,
        min(twinnings.start_date) as helped_since
    from twinnings
    inner join cadres
        on twinnings.cadre_id = cadres.cadre_id
    group by twinnings.household_id

),

visit_summary as (

    select
        household_id,
        max(visit_date) as last_visit_date,
        count(*) filter (where visit_date > {{ as_of_date() }} - 90) as visits_last_90d
    from visits
    where visit_date <= {{ as_of_date() }}
    group by household_id

),

demand_summary as (

    select
        household_id,
        count(*) as open_demands,
        {{ sorted_string_agg('category', "'、'", ['raised_at']) }} as open_demand_categories,
        max(days_open) as longest_open_days,
        min(raised_date) as oldest_open_demand_date
    from open_demands
    group by household_id

),

final as (

    select
        households.household_id,
        households.county_code,
        households.town_code,
        households.village_code,
        households.county_name,
        households.town_name,
        households.village_name,
        households.address,
        households.head_name,
        households.head_id_number_masked,
        households.household_attribute,
        households.main_poverty_cause,
        households.secondary_poverty_cause,
        households.status_label,
        households.status_name,
        households.registration_year,
        households.planned_exit_year,
        households.actual_exit_year,
        coalesce(members.members, 0) as members,
        members.members_text,
        coalesce(members.labour_members, 0) as labour_members,
        coalesce(members.ill_members, 0) as ill_members,
        coalesce(members.disabled_members, 0) as disabled_members,
        coalesce(members.pupils, 0) as pupils,
        incomes.income_year as latest_income_year,
        incomes.per_capita_net_income as latest_per_capita_net_income,
        incomes.poverty_line_yuan as latest_poverty_line,
        incomes.ratio_to_line as latest_ratio_to_line,
        incomes.poverty_degree,
        living.assessed_on as living_assessed_on,
        living.food_secure,
        living.clothing_secure,
        living.education_guaranteed,
        living.medical_guaranteed,
        living.housing_guaranteed,
        living.safe_drinking_water,
        living.house_safety_grade,
        house_grades.is_safe as is_house_safe,
        coalesce(helpers.helpers_in_force, 0) as helpers_in_force,
        helpers.helper_names,
        helpers.helped_since,
        visit_summary.last_visit_date,
        coalesce(visit_summary.visits_last_90d, 0) as visits_last_90d,
        coalesce(demand_summary.open_demands, 0) as open_demands,
        demand_summary.open_demand_categories,
        demand_summary.longest_open_days,
        demand_summary.oldest_open_demand_date,
        risks.risk_score as return_risk_score,
        risks.reasons as return_risk_reasons,
        households.lat,
        households.lon,
        households.is_poor,
        households.is_deleted,
        {{ as_of_date() }} as as_of_date,
        {{ sources_extracted_at(sources) }} as source_extracted_at,
        {{ build_time() }} as dbt_built_at
    from households
    left join members
        on households.household_id = members.household_id
    left join incomes
        on households.household_id = incomes.household_id
    left join living
        on households.household_id = living.household_id
    left join house_grades
        on living.house_safety_grade = house_grades.house_safety_grade
    left join helpers
        on households.household_id = helpers.household_id
    left join visit_summary
        on households.household_id = visit_summary.household_id
    left join demand_summary
        on households.household_id = demand_summary.household_id
    left join risks
        on households.household_id = risks.household_id

)

select * from final
