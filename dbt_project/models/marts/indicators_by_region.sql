-- The three indicators of the currently poor households for every county, town and village: household
-- attribute (贫困户属性), degree of poverty (by the latest income against the line, seed poverty_degrees) and
-- main cause of poverty (主要致贫原因); households and people per category.
with

households as (

    select * from {{ ref('dim_household') }}
    where is_poor

),

incomes as (

    select * from {{ ref('fct_income') }}
    where is_latest

),

regions as (

    select * from {{ ref('dim_region') }}

),

indicators as (

    select
        households.household_id,
        households.county_code,
        households.town_code,
        households.village_code,
        households.household_size,
        'attribute' as indicator,
        households.household_attribute as category
    from households

    union all

    select
        households.household_id,
        households.county_code,
        households.town_code,
        households.village_code,
        households.household_size,
        'degree' as indicator,
        coalesce(incomes.poverty_degree, '无收入记录') as category
    from households
    left join incomes
        on households.household_id = incomes.household_id

    union all

    select
        households.household_id,
        households.county_code,
        households.town_code,
        households.village_code,
        households.household_size,
        'main_cause' as indicator,
        households.main_poverty_cause as category
    from households

),

by_region as (

    select
        village_code as region_code,
        indicator,
        category,
        household_size
    from indicators

    union all

    select
        town_code as region_code,
        indicator,
        category,
        household_size
    from indicators

    union all

    select
        county_code as region_code,
        indicator,
        category,
        household_size
    from indicators

),

counts as (

    select
        region_code,
        indicator,
        category,
        count(*) as households,
        sum(household_size) as persons
    from by_region
    group by region_code, indicator, category

),

final as (

    select
        regions.region_code,
        regions.region_level,
        regions.region_name,
        regions.county_code,
        regions.town_code,
        regions.village_code,
        counts.indicator,
        counts.category,
        counts.households,
        counts.persons::bigint as persons,
        round(
            counts.households
            / sum(counts.households) over (partition by counts.region_code, counts.indicator),
            4
        ) as household_share
    from counts
    inner join regions
        on counts.region_code = regions.region_code

)

select * from final
