with

source as (

    select * from {{ source('app', 'twinnings') }}

),

renamed as (

    select
        twinning_id,
        cadre_id,
        household_id,
        start_date,
        end_date,
        created_at,
        updated_at,
        deleted_at,
        deleted_at is not null as is_deleted,
        _extracted_at as extracted_at

    from source

)

select * from renamed
