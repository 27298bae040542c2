with

source as (

    select * from {{ source('app', 'demands') }}

),

renamed as (

    select
        demand_id,
        household_id,
        category as demand_category,
        description as demand_description,
        status as demand_status,
        {{ local_date('raised_at') }} as raised_date,
        raised_at,
        completed_at,
        created_at,
        updated_at,
        deleted_at,
        deleted_at is not null as is_deleted,
        _extracted_at as extracted_at

    from source

)

select * from renamed
