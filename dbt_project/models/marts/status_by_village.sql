-- Households and people by status label for every village, with its town and county:
-- the figures of the county overview. Every village has a row for each of the three labels (zero when none).
with

regions as (

    select * from {{ ref('stg_app__regions') }}

),

households as (

    select * from {{ ref('stg_app__households') }}
    where not is_deleted

),

persons as (

    select * from {{ ref('stg_app__persons') }}
    where not is_deleted

),

status_labels as (

    select * from {{ ref('status_labels') }}

),

villages as (

    select
        county.region_code as county_code,
        county.region_name as county_name,
        town.region_code as town_code,
        town.region_name as town_name,
        village.region_code as village_code,
        village.region_name as village_name
    from regions as village
    inner join regions as town
        on village.parent_code = town.region_code
    inner join regions as county
        on town.parent_code = county.region_code
    where village.region_level = 'village'

),

people_per_household as (

    select
        household_id,
        count(*) as persons
    from persons
    group by household_id

),

counts as (

    select
        households.village_code,
        households.status_label,
        count(*) as households,
        coalesce(sum(people_per_household.persons), 0) as persons
    from households
    left join people_per_household
        on households.household_id = people_per_household.household_id
    group by households.village_code, households.status_label

),

final as (

    select
        villages.county_code,
        villages.county_name,
        villages.town_code,
        villages.town_name,
        villages.village_code,
        villages.village_name,
        status_labels.status_label,
        status_labels.status_name,
        coalesce(counts.households, 0)::bigint as households,
        coalesce(counts.persons, 0)::bigint as persons
    from villages
    cross join status_labels
    left join counts
        on
            villages.village_code = counts.village_code
            and status_labels.status_label = counts.status_label

)

select * from final
