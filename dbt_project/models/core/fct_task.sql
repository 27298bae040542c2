with

tasks as (

    select * from {{ ref('stg_app__tasks') }}

),

demands as (

    select * from {{ ref('stg_app__demands') }}

),

households as (

    select * from {{ ref('dim_household') }}

),

cadres as (

    select * from {{ ref('dim_cadre') }}

),

located as (

    -- A task's area: its household's village, else the household of the demand it answers.
    select
        tasks.*,
        coalesce(tasks.household_id, demands.household_id) as area_household_id
    from tasks
    left join demands
        on tasks.demand_id = demands.demand_id

),

final as (

    select
        located.task_id,
        located.issued_by_cadre_id,
        located.assignee_cadre_id,
        located.household_id,
        located.demand_id,
        coalesce(households.village_code, cadres.village_code) as village_code,
        coalesce(households.town_code, cadres.town_code) as town_code,
        coalesce(households.county_code, cadres.county_code) as county_code,
        located.task_title,
        located.task_status,
        located.task_status in ('pending', 'in_progress') as is_open,
        located.issued_date,
        located.due_date,
        located.issued_at,
        located.completed_at,
        {{ local_date('located.completed_at') }} as completed_date,
        date_diff('day', located.issued_date, {{ local_date('located.completed_at') }}) as days_to_complete

    from located
    left join households
        on located.area_household_id = households.household_id
    left join cadres
        on located.assignee_cadre_id = cadres.cadre_id
    where not located.is_deleted

)

select * from final
