with

source as (

    select * from {{ source('sheets', 'household_register') }}

),

renamed as (

    select
        try_cast(household_id as bigint) as household_id,
        household_id as household_number,
        village_code,
        head_name,
        {{ pii_hash('head_id_number') }} as head_id_number_hash,
        {{ pii_mask('head_id_number') }} as head_id_number_masked,
        {{ pii_hash('phone') }} as phone_hash,
        {{ pii_mask('phone', 3, 4) }} as phone_masked,
        household_size,
        attribute as household_attribute,
        main_cause as main_poverty_cause,
        -- The register writes the label's Chinese name (未脱贫, 帮扶中, 已脱贫), as in seed status_labels.
        status_label as status_name,
        registered_on,
        _source_file as source_file,
        _sheet as source_sheet,
        _row_number as source_row_number,
        _file_hash as file_hash,
        _batch_id as batch_id,
        _loaded_at as loaded_at

    from source

)

select * from renamed
