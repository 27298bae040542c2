with

source as (

    select * from {{ source('app', 'households') }}

),

renamed as (

    select
        household_id,
        village_code,
        head_name,
        address,
        attribute as household_attribute,
        main_cause as main_poverty_cause,
        secondary_cause as secondary_poverty_cause,
        status_label,
        registration_year,
        planned_exit_year,
        actual_exit_year,
        lat as household_lat,
        lon as household_lon,
        created_at,
        updated_at,
        deleted_at,
        deleted_at is not null as is_deleted,
        _extracted_at as extracted_at

    from source

)

select * from renamed
