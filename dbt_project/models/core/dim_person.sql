-- One row per member of a registered household. ID and phone numbers only as hash and masked form.
with

persons as (

    select * from {{ ref('stg_app__persons') }}

),

households as (

    select * from {{ ref('stg_app__households') }}

),

health_conditions as (

    select * from {{ ref('health_conditions') }}

),

labour_abilities as (

    select * from {{ ref('labour_abilities') }}

),

schooling_levels as (

    select * from {{ ref('schooling_levels') }}

),

shared_ids as (

    select
        id_number_hash,
        count(distinct household_id) as households_with_id
    from persons
    where not is_deleted
    group by id_number_hash

),

final as (

    select
        persons.person_id,
        persons.household_id,
        households.village_code,
        persons.id_number_hash,
        persons.id_number_masked,
        persons.phone_hash,
        persons.phone_masked,
        persons.person_name as name,  -- noqa: RF04
        persons.sex,
        persons.birth_date,
        date_diff('year', persons.birth_date, {{ as_of_date() }})
        - case
            when strftime(persons.birth_date, '%m-%d') > strftime({{ as_of_date() }}, '%m-%d') then 1 else 0
        end as age,
        persons.relation_to_head,
        persons.relation_to_head = '户主' as is_head,
        persons.schooling,
        coalesce(schooling_levels.is_in_school, false) as is_in_school,
        persons.health,
        coalesce(health_conditions.is_ill, false) as is_ill,
        coalesce(health_conditions.is_serious, false) as is_seriously_ill,
        coalesce(health_conditions.is_disabled, false) as is_disabled,
        persons.labour_ability,
        coalesce(labour_abilities.is_labour, false) as is_labour,
        coalesce(shared_ids.households_with_id, 1) > 1 as id_in_several_households,
        persons.is_deleted,
        {{ local_date('persons.deleted_at') }} as deleted_date
    from persons
    left join households
        on persons.household_id = households.household_id
    left join health_conditions
        on persons.health = health_conditions.health
    left join labour_abilities
        on persons.labour_ability = labour_abilities.labour_ability
    left join schooling_levels
        on persons.schooling = schooling_levels.schooling
    left join shared_ids
        on persons.id_number_hash = shared_ids.id_number_hash

)

select * from final
