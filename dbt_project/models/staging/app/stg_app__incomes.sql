with

source as (

    select * from {{ source('app', 'incomes') }}

),

renamed as (

    select
        income_id,
        household_id,
        year as income_year,
        household_size,
        wage_income,
        operating_income,
        operating_cost,
        transfer_income,
        property_income,
        net_income,
        per_capita_net_income,
        verified_on,
        created_at,
        updated_at,
        deleted_at,
        deleted_at is not null as is_deleted,
        _extracted_at as extracted_at

    from source

)

select * from renamed
