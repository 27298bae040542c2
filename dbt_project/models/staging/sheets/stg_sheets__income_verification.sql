with

source as (

    select * from {{ source('sheets', 'income_verification') }}

),

renamed as (

    select
        try_cast(household_id as bigint) as household_id,
        household_id as household_number,
        village_code,
        year as income_year,
        head_name,
        {{ pii_hash('head_id_number') }} as head_id_number_hash,
        {{ pii_mask('head_id_number') }} as head_id_number_masked,
        household_size,
        wage_income,
        operating_income,
        operating_cost,
        transfer_income,
        property_income,
        per_capita_net_income,
        verified_on,
        _source_file as source_file,
        _sheet as source_sheet,
        _row_number as source_row_number,
        _file_hash as file_hash,
        _batch_id as batch_id,
        _loaded_at as loaded_at

    from source

)

select * from renamed
