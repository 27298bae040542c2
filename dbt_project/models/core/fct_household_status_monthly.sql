-- The status label of every household at the end of every month, from its registration month to the as-of
-- month (the as-of month's row is as of the as-of day). Monthly, not daily: the trends the leaders read are
-- monthly, and a daily grain would hold about 30 times the rows (at scale M, 4 million households x 1,400
-- days = 5.6 billion rows against about 190 million) for no question anyone asks. The label on any exact day
-- is one range join away in fct_status_change (valid_from <= day < valid_to). A household leaves the series
-- from the month it was deleted.
with

changes as (

    select * from {{ ref('fct_status_change') }}

),

households as (

    select * from {{ ref('dim_household') }}

),

months as (

    select
        month_start,
        least(month_end, {{ as_of_date() }}) as snapshot_date
    from {{ ref('dim_date') }}
    where is_month_end and month_start <= {{ as_of_date() }}

),

final as (

    select
        months.month_start,
        months.snapshot_date,
        changes.household_id,
        households.county_code,
        households.town_code,
        households.village_code,
        changes.to_label as status_label,
        households.household_size
    from changes
    inner join months
        on
            changes.valid_from <= months.snapshot_date
            -- a current label holds for ever: two plain inequalities make a fast range join
            and coalesce(changes.valid_to, date '9999-12-31') > months.snapshot_date
    inner join households
        on changes.household_id = households.household_id
    where households.deleted_date is null or households.deleted_date > months.snapshot_date

)

select * from final
