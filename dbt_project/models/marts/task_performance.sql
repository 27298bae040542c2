-- Every task: overdue on the as-of day or not, and how long it took, for roll-ups by town and cadre.
with

tasks as (

    select * from {{ ref('fct_task') }}

),

as_of as (

    select {{ as_of_date() }} as as_of_date

),

final as (

    select
        tasks.task_id,
        tasks.assignee_cadre_id,
        tasks.issued_by_cadre_id,
        tasks.household_id,
        tasks.demand_id,
        tasks.county_code,
        tasks.town_code,
        tasks.village_code,
        tasks.task_title,
        tasks.issued_date,
        tasks.due_date,
        tasks.completed_date,
        tasks.task_status as status,
        tasks.is_open,
        tasks.is_open and tasks.due_date < as_of.as_of_date as is_overdue,
        case
            when tasks.is_open and tasks.due_date < as_of.as_of_date
                then date_diff('day', tasks.due_date, as_of.as_of_date)
            else 0
        end as days_overdue,
        tasks.task_status = 'completed' and tasks.completed_date > tasks.due_date as is_completed_late,
        tasks.days_to_complete,
        as_of.as_of_date

    from tasks
    cross join as_of

)

select * from final
