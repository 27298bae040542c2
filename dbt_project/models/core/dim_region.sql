-- The region hierarchy: one row per county, town and village, with the codes and names of every level above
-- it and its path, so any figure rolls up by county_code, town_code or village_code.
with

regions as (

    select * from {{ ref('stg_app__regions') }}
    where not is_deleted

),

counties as (

    select
        region_code as county_code,
        region_name as county_name
    from regions
    where region_level = 'county'

),

towns as (

    select
        regions.region_code as town_code,
        regions.region_name as town_name,
        counties.county_code,
        counties.county_name
    from regions
    inner join counties
        on regions.parent_code = counties.county_code
    where regions.region_level = 'town'

),

villages as (

    select
        regions.region_code as village_code,
        regions.region_name as village_name,
        towns.town_code,
        towns.town_name,
        towns.county_code,
        towns.county_name
    from regions
    inner join towns
        on regions.parent_code = towns.town_code
    where regions.region_level = 'village'

),

levels as (

    select
        county_code as region_code,
        county_code,
        county_name,
        null::varchar as town_code,
        null::varchar as town_name,
        null::varchar as village_code,
        null::varchar as village_name,
        county_name as path  -- noqa: RF04
    from counties

    union all

    select
        town_code as region_code,
        county_code,
        county_name,
        town_code,
        town_name,
        null::varchar as village_code,
        null::varchar as village_name,
        county_name || '/' || town_name as path  -- noqa: RF04
    from towns

    union all

    select
        village_code as region_code,
        county_code,
        county_name,
        town_code,
        town_name,
        village_code,
        village_name,
        county_name || '/' || town_name || '/' || village_name as path  -- noqa: RF04
    from villages

),

final as (

    select
        levels.region_code,
        regions.region_level,
        regions.region_name,
        regions.parent_code,
        levels.county_code,
        levels.county_name,
        levels.town_code,
        levels.town_name,
        levels.village_code,
        levels.village_name,
        levels.path,
        case regions.region_level when 'county' then 1 when 'town' then 2 else 3 end as level_depth,
        regions.region_lat as lat,
        regions.region_lon as lon
    from levels
    inner join regions
        on levels.region_code = regions.region_code

)

select * from final
