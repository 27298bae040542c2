with

source as (

    select * from {{ source('sheets', 'exit_plan') }}

),

renamed as (

    select
        village_code,
        town_code,
        year as plan_year,
        town_name,
        village_name,
        planned_households,
        planned_persons,
        _source_file as source_file,
        _sheet as source_sheet,
        _row_number as source_row_number,
        _file_hash as file_hash,
        _batch_id as batch_id,
        _loaded_at as loaded_at

    from source

)

select * from renamed
