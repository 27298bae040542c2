-- Red, yellow and green households at the end of every month for every county, town and village (the as-of
-- month as of the as-of day). Counted from the label periods of fct_status_change rather than by grouping the
-- household x month fact: a period with label L adds one household to L from the month its first day falls
-- in (the first month-end snapshot on or after it) and takes it away from the month it ends in, or the month
-- the household was deleted in; the running sum of those changes over the months is the count. The work grows
-- with the number of status changes, not households x months, so a daily run rebuilds this table whole in
-- a moment; it gives the same counts as grouping fct_household_status_monthly (a test compares them).
with

changes as (

    select * from {{ ref('fct_status_change') }}

),

households as (

    select * from {{ ref('dim_household') }}

),

regions as (

    select * from {{ ref('dim_region') }}

),

months as (

    select
        month_start,
        least(month_end, {{ as_of_date() }}) as snapshot_date
    from {{ ref('dim_date') }}
    where is_month_end and month_start <= {{ as_of_date() }}

),

periods as (

    select
        households.village_code,
        households.town_code,
        households.county_code,
        changes.to_label as status_label,
        cast(date_trunc('month', changes.valid_from) as date) as first_month,
        cast(date_trunc('month', least(
            coalesce(changes.valid_to, date '9999-12-31'),
            coalesce(households.deleted_date, date '9999-12-31')
        )) as date) as end_month
    from changes
    inner join households
        on changes.household_id = households.household_id

),

period_edges as (

    select
        village_code,
        town_code,
        county_code,
        status_label,
        first_month as month_start,
        1 as label_change
    from periods
    where first_month < end_month

    union all

    select
        village_code,
        town_code,
        county_code,
        status_label,
        end_month as month_start,
        -1 as label_change
    from periods
    where first_month < end_month and end_month <= {{ as_of_date() }}

),

village_changes as (

    select
        month_start,
        village_code,
        town_code,
        county_code,
        sum(label_change) filter (where status_label = 'red') as red_change,
        sum(label_change) filter (where status_label = 'yellow') as yellow_change,
        sum(label_change) filter (where status_label = 'green') as green_change
    from period_edges
    group by month_start, village_code, town_code, county_code

),

village_levels as (

    -- each village's changes count for the village, its town and its county
    select
        month_start,
        unnest([village_code, town_code, county_code]) as region_code,
        red_change,
        yellow_change,
        green_change
    from village_changes

),

region_changes as (

    select
        month_start,
        region_code,
        coalesce(sum(red_change), 0) as red_change,
        coalesce(sum(yellow_change), 0) as yellow_change,
        coalesce(sum(green_change), 0) as green_change
    from village_levels
    group by month_start, region_code

),

-- Every month from the region's first change to the as-of month, so a month without changes still counts.
region_starts as (

    select
        region_code,
        min(month_start) as first_month
    from region_changes
    group by region_code

),

grid as (

    select
        months.month_start,
        months.snapshot_date,
        region_starts.region_code
    from region_starts
    inner join months
        on region_starts.first_month <= months.month_start

),

counts as (

    select
        grid.month_start,
        grid.snapshot_date,
        grid.region_code,
        sum(coalesce(region_changes.red_change, 0)) over running as red_households,
        sum(coalesce(region_changes.yellow_change, 0)) over running as yellow_households,
        sum(coalesce(region_changes.green_change, 0)) over running as green_households
    from grid
    left join region_changes
        on
            grid.region_code = region_changes.region_code
            and grid.month_start = region_changes.month_start
    window running as (
        partition by grid.region_code
        order by grid.month_start
        rows between unbounded preceding and current row
    )

),

final as (

    select
        counts.month_start as month,  -- noqa: RF04
        strftime(counts.month_start, '%Y-%m') as month_label,
        counts.snapshot_date,
        regions.region_code,
        regions.region_level,
        regions.region_name,
        regions.county_code,
        regions.town_code,
        regions.village_code,
        cast(counts.red_households as bigint) as red_households,
        cast(counts.yellow_households as bigint) as yellow_households,
        cast(counts.green_households as bigint) as green_households,
        cast(counts.red_households + counts.yellow_households as bigint) as poor_households
    from counts
    inner join regions
        on counts.region_code = regions.region_code
    where counts.red_households + counts.yellow_households + counts.green_households > 0

)

select * from final
