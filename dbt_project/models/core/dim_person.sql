-- One row per member of a registered household. ID and phone numbers only as hash and masked form.
--
-- Incremental by person (delete+insert keyed on person_id): a run rebuilds the members of the households
-- whose person or household rows were loaded since the latest build, every person who shares an ID number
-- with one of them (id_in_several_households counts across households), and every person whose age on the
-- as-of day is no longer the stored one (a birthday since). The hash of the unchanged members is read from
-- this table, so a daily run hashes only the rebuilt persons' numbers.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='person_id',
        on_schema_change='append_new_columns',
    )
}}

{{ require_columns(['source_extracted_at', 'dbt_built_at']) }}

{% set sources = ['stg_app__persons', 'stg_app__households'] %}
{% set changed = households_loaded_since_build(sources) %}

with

{% if changed is none %}

    persons as (

        select * from {{ ref('stg_app__persons') }}

    ),

    -- every person's ID hash and household, for the count of households sharing an ID
    id_holders as (

        select
            id_number_hash,
            household_id,
            is_deleted
        from persons

    ),

{% else %}

    arrived as (

        select * from {{ ref('stg_app__persons') }}
        where household_id in ({{ changed }})

    ),

    built as (

        select * from {{ this }}

    ),

    -- the ID numbers whose holders may have changed: those of the arrived rows and those they replace
    shared_hashes as (

        select id_number_hash from arrived
        union
        select id_number_hash from built
        where household_id in ({{ changed }})

    ),

    rebuilt_ids as (

        select person_id from arrived
        union
        select person_id from built
        where id_number_hash in (select shared_hashes.id_number_hash from shared_hashes)
        union
        select person_id from built
        where age is distinct from {{ age_on('birth_date', as_of_date()) }}

    ),

    persons as (

        select * from {{ ref('stg_app__persons') }}
        where person_id in (select rebuilt_ids.person_id from rebuilt_ids)

    ),

    -- the holders of the rebuilt persons' ID numbers: the arrived rows, and the stored rows of everyone else
    id_holders as (

        select
            id_number_hash,
            household_id,
            is_deleted
        from arrived
        union all
        select
            built.id_number_hash,
            built.household_id,
            built.is_deleted
        from built
        where
            -- every rebuilt person's ID, not only the shared ones: a birthday alone keeps the flag right
            built.id_number_hash in (select persons.id_number_hash from persons)
            and built.person_id not in (select arrived.person_id from arrived)

    ),

{% endif %}

households as (

    select * from {{ ref('stg_app__households') }}
    {% if changed is not none %}
        where household_id in (select persons.household_id from persons)
    {% endif %}

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
    from id_holders
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
        {{ age_on('persons.birth_date', as_of_date()) }} as age,
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
        {{ local_date('persons.deleted_at') }} as deleted_date,
        {{ sources_extracted_at(sources) }} as source_extracted_at,
        {{ build_time() }} as dbt_built_at
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
