-- Tasks rolled up per assignee and area (town, village): counts and the sum of days to completion, so that
-- a per-cadre table sums a few rows per cadre instead of grouping every task. The mean days to complete is
-- days_to_complete_total / completed_tasks.
with

tasks as (

    select * from {{ ref('task_performance') }}

),

regions as (

    select * from {{ ref('dim_region') }}

),

by_cadre as (

    select
        assignee_cadre_id,
        county_code,
        town_code,
        village_code,
        count(*) as task_count,
        count(*) filter (where is_open) as open_tasks,
        count(*) filter (where is_overdue) as overdue_tasks,
        count(*) filter (where days_to_complete is not null) as completed_tasks,
        coalesce(sum(days_to_complete), 0) as days_to_complete_total,
        max(as_of_date) as as_of_date
    from tasks
    group by assignee_cadre_id, county_code, town_code, village_code

),

final as (

    select
        by_cadre.assignee_cadre_id,
        by_cadre.county_code,
        by_cadre.town_code,
        by_cadre.village_code,
        regions.town_name,
        regions.village_name,
        by_cadre.task_count,
        by_cadre.open_tasks,
        by_cadre.overdue_tasks,
        by_cadre.completed_tasks,
        by_cadre.days_to_complete_total,
        by_cadre.as_of_date

    from by_cadre
    -- the village's row carries its town's name too; a task of a whole town has only the town's row
    left join regions
        on coalesce(by_cadre.village_code, by_cadre.town_code) = regions.region_code

)

select * from final
