-- Red, yellow and green households at the end of every month for every county, town and village (the as-of
-- month as of the as-of day), from the month-end status of each household.
with

monthly as (

    select * from {{ ref('fct_household_status_monthly') }}

),

regions as (

    select * from {{ ref('dim_region') }}

),

household_regions as (

    select
        month_start,
        snapshot_date,
        village_code as region_code,
        status_label,
        household_size
    from monthly

    union all

    select
        month_start,
        snapshot_date,
        town_code as region_code,
        status_label,
        household_size
    from monthly

    union all

    select
        month_start,
        snapshot_date,
        county_code as region_code,
        status_label,
        household_size
    from monthly

),

counts as (

    select
        month_start,
        snapshot_date,
        region_code,
        count(*) filter (where status_label = 'red') as red_households,
        count(*) filter (where status_label = 'yellow') as yellow_households,
        count(*) filter (where status_label = 'green') as green_households
    from household_regions
    group by month_start, snapshot_date, region_code

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
        counts.red_households,
        counts.yellow_households,
        counts.green_households,
        counts.red_households + counts.yellow_households as poor_households
    from counts
    inner join regions
        on counts.region_code = regions.region_code

)

select * from final
