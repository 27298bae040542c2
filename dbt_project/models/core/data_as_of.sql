-- The day the data stands at: the latest local day with a logged visit or a status change, unless the
-- variable as_of_date pins it. One row; every mart reads it through the as_of_date() macro.
with

visits as (

    select max(visit_date) as last_day from {{ ref('stg_app__visits') }}
    where not is_deleted

),

status_events as (

    select max(event_date) as last_day from {{ ref('stg_app__status_events') }}

),

final as (

    select
        {% if var('as_of_date', none) %}
            cast('{{ var("as_of_date") }}' as date) as as_of_date,
        {% else %}
            greatest(visits.last_day, status_events.last_day) as as_of_date,
        {% endif %}
        visits.last_day as last_visit_date,
        status_events.last_day as last_status_event_date
    from visits
    cross join status_events

)

select * from final
