with

source as (

    select * from {{ source('app', 'regions') }}

),

renamed as (

    select
        region_code,
        parent_code,
        region_level,
        region_name,
        lat as region_lat,
        lon as region_lon,
        created_at,
        updated_at,
        deleted_at,
        deleted_at is not null as is_deleted

    from source

)

select * from renamed
