with

source as (

    select * from {{ source('app', 'tasks') }}

),

renamed as (

    select
        task_id,
        issued_by as issued_by_cadre_id,
        assignee_cadre_id,
        household_id,
        demand_id,
        title as task_title,
        status as task_status,
        due_date,
        {{ local_date('issued_at') }} as issued_date,
        issued_at,
        completed_at,
        created_at,
        updated_at,
        deleted_at,
        deleted_at is not null as is_deleted,
        _extracted_at as extracted_at

    from source

)

select * from renamed
