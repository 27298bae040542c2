with

source as (

    select * from {{ source('app', 'gps_points') }}

),

renamed as (

    select
        point_id,
        cadre_id,
        lat,
        lon,
        accuracy_m,
        {{ local_date('recorded_at') }} as recorded_date,
        recorded_at,
        created_at,
        updated_at,
        _extracted_at as extracted_at

    from source

)

select * from renamed
