with

source as (

    select * from {{ source('app', 'persons') }}

),

renamed as (

    select
        person_id,
        household_id,
        name as person_name,
        {{ pii_hash('id_number') }} as id_number_hash,
        {{ pii_mask('id_number') }} as id_number_masked,
        {{ pii_hash('phone') }} as phone_hash,
        {{ pii_mask('phone', 3, 4) }} as phone_masked,
        relation_to_head,
        sex,
        birth_date,
        schooling,
        health,
        labour_ability,
        created_at,
        updated_at,
        deleted_at,
        deleted_at is not null as is_deleted,
        _extracted_at as extracted_at

    from source

)

select * from renamed
