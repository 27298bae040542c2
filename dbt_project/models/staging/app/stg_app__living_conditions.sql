with

source as (

    select * from {{ source('app', 'living_conditions') }}

),

renamed as (

    select
        household_id,
        assessed_on,
        food_secure,
        clothing_secure,
        education_guaranteed,
        medical_guaranteed,
        housing_guaranteed,
        safe_drinking_water,
        house_safety_grade,
        created_at,
        updated_at,
        deleted_at,
        deleted_at is not null as is_deleted,
        _extracted_at as extracted_at

    from source

)

select * from renamed
