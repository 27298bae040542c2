with

source as (

    select * from {{ source('app', 'support_teams') }}

),

renamed as (

    select
        team_id,
        team_name,
        village_code,
        sponsor_unit,
        leader_cadre_id,
        created_at,
        updated_at,
        deleted_at,
        deleted_at is not null as is_deleted

    from source

)

select * from renamed
