with

source as (

    select * from {{ source('app', 'visits') }}

),

renamed as (

    select
        visit_id,
        cadre_id,
        household_id,
        notes as visit_notes,
        claimed_lat,
        claimed_lon,
        {{ local_date('started_at') }} as visit_date,
        started_at,
        ended_at,
        created_at,
        updated_at,
        deleted_at,
        deleted_at is not null as is_deleted,
        _extracted_at as extracted_at

    from source

)

select * from renamed
