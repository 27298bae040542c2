-- Households and people by status label for every county, town and village, with the poverty incidence rate
-- (poor persons / population). Population: the official figure of seed region_population when the county
-- has provided it, else the people of all registered households (poor and exited) of the region, the only
-- population the APP and the spreadsheets hold; population_source says which.
with

regions as (

    select * from {{ ref('dim_region') }}

),

households as (

    select * from {{ ref('dim_household') }}
    where not is_deleted

),

region_population as (

    select * from {{ ref('region_population') }}

),

household_regions as (

    select
        village_code as region_code,
        status_label,
        is_poor,
        household_size
    from households

    union all

    select
        town_code as region_code,
        status_label,
        is_poor,
        household_size
    from households

    union all

    select
        county_code as region_code,
        status_label,
        is_poor,
        household_size
    from households

),

counts as (

    select
        region_code,
        count(*) filter (where is_poor) as poor_households,
        coalesce(sum(household_size) filter (where is_poor), 0) as poor_persons,
        count(*) filter (where status_label = 'red') as red_households,
        count(*) filter (where status_label = 'yellow') as yellow_households,
        count(*) filter (where status_label = 'green') as green_households,
        coalesce(sum(household_size) filter (where status_label = 'red'), 0) as red_persons,
        coalesce(sum(household_size) filter (where status_label = 'yellow'), 0) as yellow_persons,
        coalesce(sum(household_size) filter (where status_label = 'green'), 0) as green_persons,
        count(*) as registered_households,
        coalesce(sum(household_size), 0) as registered_persons
    from household_regions
    group by region_code

),

official_population as (

    select
        region_code,
        population,
        population_year
    from region_population
    qualify row_number() over (partition by region_code order by population_year desc) = 1

),

final as (

    select
        regions.region_code,
        regions.region_level,
        regions.region_name,
        regions.parent_code,
        regions.county_code,
        regions.town_code,
        regions.village_code,
        regions.path,  -- noqa: RF04
        coalesce(counts.poor_households, 0)::bigint as poor_households,
        coalesce(counts.poor_persons, 0)::bigint as poor_persons,
        coalesce(counts.red_households, 0)::bigint as red_households,
        coalesce(counts.yellow_households, 0)::bigint as yellow_households,
        coalesce(counts.green_households, 0)::bigint as green_households,
        coalesce(counts.red_persons, 0)::bigint as red_persons,
        coalesce(counts.yellow_persons, 0)::bigint as yellow_persons,
        coalesce(counts.green_persons, 0)::bigint as green_persons,
        coalesce(counts.registered_households, 0)::bigint as registered_households,
        coalesce(counts.registered_persons, 0)::bigint as registered_persons,
        official_population.population as official_population,
        official_population.population_year,
        coalesce(official_population.population, counts.registered_persons)::bigint as population,
        case
            when official_population.population is not null then 'official'
            else 'registered_households'
        end as population_source,
        round(
            coalesce(counts.poor_persons, 0)
            / nullif(coalesce(official_population.population, counts.registered_persons), 0),
            4
        ) as incidence_rate
    from regions
    left join counts
        on regions.region_code = counts.region_code
    left join official_population
        on regions.region_code = official_population.region_code

)

select * from final
