with

source as (

    select * from {{ source('app', 'cadres') }}

),

renamed as (

    select
        cadre_id,
        team_id,
        town_code,
        village_code,
        name as cadre_name,
        sex,
        {{ pii_hash('phone') }} as phone_hash,
        {{ pii_mask('phone', 3, 4) }} as phone_masked,
        work_unit,
        role as cadre_role,
        created_at,
        updated_at,
        deleted_at,
        deleted_at is not null as is_deleted,
        _extracted_at as extracted_at

    from source

)

select * from renamed
