with

source as (

    select * from {{ source('app', 'status_events') }}

),

renamed as (

    select
        event_id,
        household_id,
        from_label,
        to_label,
        reason as change_reason,
        event_at,
        -- The APP's day is Beijing's: an event at 23:30 UTC belongs to the next local day.
        {{ local_date('event_at') }} as event_date,
        created_at,
        updated_at,
        _extracted_at as extracted_at

    from source

)

select * from renamed
