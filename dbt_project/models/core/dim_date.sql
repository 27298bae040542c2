-- One row per day from the first year of the poverty lines to the end of the as-of year: the calendar the
-- monthly facts and trends join to.
with

bounds as (

    select
        make_date(min(poverty_line_year), 1, 1) as first_day,
        make_date(year({{ as_of_date() }}), 12, 31) as last_day
    from {{ ref('poverty_lines') }}

),

days as (

    select unnest(generate_series(bounds.first_day, bounds.last_day, interval 1 day))::date as date_day
    from bounds

),

final as (

    select
        date_day,
        year(date_day) as year_number,
        quarter(date_day) as quarter_number,
        month(date_day) as month_number,
        date_trunc('month', date_day)::date as month_start,
        last_day(date_day) as month_end,
        strftime(date_day, '%Y-%m') as month_label,
        isodow(date_day) as iso_day_of_week,
        isodow(date_day) <= 5 as is_weekday,
        date_day = last_day(date_day) as is_month_end,
        date_day <= {{ as_of_date() }} as is_on_or_before_as_of
    from days

)

select * from final
